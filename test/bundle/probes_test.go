package bundle_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// timings are the probe fields the library sets besides the handler.
type timings struct {
	InitialDelaySeconds, PeriodSeconds, TimeoutSeconds, FailureThreshold, SuccessThreshold int32
}

func timingsOf(p *corev1.Probe) *timings {
	if p == nil {
		return nil
	}
	return &timings{p.InitialDelaySeconds, p.PeriodSeconds, p.TimeoutSeconds, p.FailureThreshold, p.SuccessThreshold}
}

func TestProbeDefaultsAndOverrides(t *testing.T) {
	tests := []struct {
		name          string
		config        string
		wantLiveness  *timings
		wantReadiness *timings
		wantStartup   *timings
	}{
		{
			name: "library defaults with the module's own changes",
			// library: 5/5/1/3/1; the module sets timeoutSeconds 2 (liveness,
			// readiness) and failureThreshold 24 (startup).
			wantLiveness:  &timings{5, 5, 2, 3, 1},
			wantReadiness: &timings{5, 5, 2, 3, 1},
			wantStartup:   &timings{5, 5, 1, 24, 1},
		},
		{
			name:          "values override field by field",
			config:        `probes: {liveness: {periodSeconds: 20, failureThreshold: 6}, readiness: {successThreshold: 2, initialDelaySeconds: 0}}`,
			wantLiveness:  &timings{5, 20, 2, 6, 1},
			wantReadiness: &timings{0, 5, 2, 3, 2},
			wantStartup:   &timings{5, 5, 1, 24, 1},
		},
		{
			name:          "disabled probe is left out",
			config:        `probes: {startup: {enabled: false}}`,
			wantLiveness:  &timings{5, 5, 2, 3, 1},
			wantReadiness: &timings{5, 5, 2, 3, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := mustRender(t, "ingress-nginx", nil, mustYAML(t, orEmpty(tt.config)))
			c := find[*appsv1.Deployment](t, objs, "Deployment", "ingress-nginx-controller").Spec.Template.Spec.Containers[0]
			if diff := cmp.Diff(tt.wantLiveness, timingsOf(c.LivenessProbe)); diff != "" {
				t.Errorf("liveness (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantReadiness, timingsOf(c.ReadinessProbe)); diff != "" {
				t.Errorf("readiness (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStartup, timingsOf(c.StartupProbe)); diff != "" {
				t.Errorf("startup (-want +got):\n%s", diff)
			}
			wantHandler := &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(10254), Scheme: corev1.URISchemeHTTP}
			if c.LivenessProbe == nil || !cmp.Equal(wantHandler, c.LivenessProbe.HTTPGet) {
				t.Errorf("liveness handler = %+v, want %+v", c.LivenessProbe, wantHandler)
			}
		})
	}
}

// TestProbeHandlers renders the library directly through a test chart for
// each handler kind and each failure the library must report.
func TestProbeHandlers(t *testing.T) {
	tests := []struct {
		name    string
		call    string // the include, given .Values.probe as overrides
		want    *corev1.Probe
		wantErr string
	}{
		{
			name: "httpGet",
			call: `include "probe-templates.readiness" (list (dict "httpGet" (dict "path" "/ready" "port" "http")) .Values.probe)`,
			want: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}},
				InitialDelaySeconds: 5, PeriodSeconds: 5, TimeoutSeconds: 1, FailureThreshold: 3, SuccessThreshold: 1},
		},
		{
			name: "tcpSocket",
			call: `include "probe-templates.liveness" (list (dict "tcpSocket" (dict "port" 5432)) .Values.probe)`,
			want: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(5432)}},
				InitialDelaySeconds: 5, PeriodSeconds: 5, TimeoutSeconds: 1, FailureThreshold: 3, SuccessThreshold: 1},
		},
		{
			name: "exec",
			call: `include "probe-templates.startup" (list (dict "exec" (dict "command" (list "pg_isready" "-q")) "failureThreshold" 30) .Values.probe)`,
			want: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"pg_isready", "-q"}}},
				InitialDelaySeconds: 5, PeriodSeconds: 5, TimeoutSeconds: 1, FailureThreshold: 30, SuccessThreshold: 1},
		},
		{
			name: "grpc",
			call: `include "probe-templates.liveness" (list (dict "grpc" (dict "port" 9090 "service" "health")) .Values.probe)`,
			want: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090, Service: ptr("health")}},
				InitialDelaySeconds: 5, PeriodSeconds: 5, TimeoutSeconds: 1, FailureThreshold: 3, SuccessThreshold: 1},
		},
		{
			name: "handler replaced from values",
			call: `include "probe-templates.readiness" (list (dict "httpGet" (dict "path" "/ready" "port" 80)) (dict "tcpSocket" (dict "port" 81) "periodSeconds" 9))`,
			want: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(81)}},
				InitialDelaySeconds: 5, PeriodSeconds: 9, TimeoutSeconds: 1, FailureThreshold: 3, SuccessThreshold: 1},
		},
		{name: "no handler", call: `include "probe-templates.liveness" (list (dict "periodSeconds" 3) nil)`, wantErr: "want exactly one handler"},
		{name: "two handlers", call: `include "probe-templates.liveness" (list (dict "tcpSocket" (dict "port" 1) "exec" (dict "command" (list "true"))) nil)`, wantErr: "want exactly one handler"},
		{name: "unknown field", call: `include "probe-templates.liveness" (list (dict "tcpSocket" (dict "port" 1)) (dict "periodSecond" 3))`, wantErr: `unknown field "periodSecond"`},
		{name: "httpGet without port", call: `include "probe-templates.liveness" (list (dict "httpGet" (dict "path" "/")) nil)`, wantErr: "httpGet needs a port"},
		{name: "grpc with a named port", call: `include "probe-templates.liveness" (list (dict "grpc" (dict "port" "grpc")) nil)`, wantErr: "grpc.port must be a port number"},
		{name: "exec without command", call: `include "probe-templates.liveness" (list (dict "exec" (dict)) nil)`, wantErr: "exec needs a command"},
		{name: "liveness successThreshold", call: `include "probe-templates.liveness" (list (dict "tcpSocket" (dict "port" 1)) (dict "successThreshold" 2))`, wantErr: "successThreshold must be 1"},
		{name: "startup successThreshold", call: `include "probe-templates.startup" (list (dict "tcpSocket" (dict "port" 1) "successThreshold" 3) nil)`, wantErr: "successThreshold must be 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := renderProbe(t, tt.call)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("probe (-want +got):\n%s", diff)
			}
		})
	}
}

// renderProbe renders a Pod whose only container gets the probe written by
// call, through a throwaway chart depending on the library by file://.
func renderProbe(t *testing.T, call string) (*corev1.Probe, error) {
	t.Helper()
	dir := t.TempDir()
	lib, err := filepath.Rel(dir, moduleDir(t, "probe-templates"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: probe-test\nversion: 0.1.0\ndependencies:\n  - name: probe-templates\n    version: 0.1.0\n    repository: \"file://" + lib + "\"\n",
		"values.yaml": "probe: {}\n",
		"templates/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: probe\nspec:\n  containers:\n    - name: c\n      image: example.com/c:1\n" +
			"      {{- " + call + " | nindent 6 }}\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ch := loadChart(t, dir)
	objs, err := renderChart(t, ch, "probe-test", map[string]any{"probe": map[string]any{}})
	if err != nil {
		return nil, err
	}
	pod := find[*corev1.Pod](t, objs, "Pod", "probe")
	c := pod.Spec.Containers[0]
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil {
			return p, nil
		}
	}
	t.Fatal("no probe rendered")
	return nil, nil
}

// TestNoProbeWrittenOutsideTheLibrary: module templates get every probe from
// probe-templates; none is written by hand.
func TestNoProbeWrittenOutsideTheLibrary(t *testing.T) {
	literal := regexp.MustCompile(`(livenessProbe|readinessProbe|startupProbe)\s*:`)
	for _, m := range modules(t) {
		if m.name == "probe-templates" {
			continue
		}
		err := filepath.WalkDir(filepath.Join(m.dir, "templates"), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(data), "\n") {
				if literal.MatchString(line) {
					rel, _ := filepath.Rel(root(t), p)
					t.Errorf("%s:%d writes a probe by hand: %s", rel, i+1, strings.TrimSpace(line))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

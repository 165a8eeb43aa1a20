package updater

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/values"
)

func TestParseSettings(t *testing.T) {
	three := 3
	tests := []struct {
		name string
		yaml string
		want Settings
	}{
		{name: "empty: updates off", yaml: "{}", want: Settings{Mode: ModeAuto}},
		{
			name: "everything",
			yaml: `
releaseChannel: early-access
source: oci://registry.example.com/addons/bundle
update:
  mode: Manual
  allowDowngrade: true
  pollInterval: 30s
  windows:
    - {days: [Sat, Sun], from: "01:00", to: "05:00"}
    - {from: "22:30", to: "24:00"}
  rollback: {retries: 3, timeout: 5m}
registry: {secret: regcred, insecure: true}
`,
			want: Settings{
				Channel: "early-access", Source: "oci://registry.example.com/addons/bundle", Mode: ModeManual,
				AllowDowngrade: true, PollInterval: 30 * time.Second,
				Windows: []Window{
					{Days: []time.Weekday{time.Saturday, time.Sunday}, From: 60, To: 300},
					{From: 22*60 + 30, To: 24 * 60},
				},
				Retries: &three, Timeout: 5 * time.Minute, RegistrySecret: "regcred", RegistryInsecure: true,
			},
		},
		{
			name: "drift policy",
			yaml: `
drift:
  policy: Warn
  modules:
    ingress-nginx:
      policy: Correct
      ignore:
        - {kind: Deployment, name: ingress-nginx-controller, paths: [/spec/replicas]}
        - {kind: ConfigMap, name: x, namespace: kube-system, paths: [/data/a, /metadata/annotations/example.com~1owner]}
    prometheus: {policy: Ignore}
`,
			want: Settings{Mode: ModeAuto, Drift: helm.DriftPolicy{Mode: helm.DriftWarn, Modules: map[string]helm.ModuleDriftPolicy{
				"ingress-nginx": {Mode: helm.DriftCorrect, Ignore: []helm.DriftIgnoreRule{
					{Kind: "Deployment", Name: "ingress-nginx-controller", Paths: []string{"/spec/replicas"}},
					{Kind: "ConfigMap", Name: "x", Namespace: "kube-system", Paths: []string{"/data/a", "/metadata/annotations/example.com~1owner"}},
				}},
				"prometheus": {Mode: helm.DriftIgnore},
			}}},
		},
		{name: "a layout directory", yaml: "releaseChannel: stable\nsource: /srv/bundles\n", want: Settings{Channel: "stable", Source: "/srv/bundles", Mode: ModeAuto}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := values.FromYAML([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseSettings(v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSettingsErrorsNameTheField(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{"update: {mode: Sometimes}", "operator.update.mode"},
		{"releaseChanel: stable", "operator.releaseChanel is not allowed"},
		{"releaseChannel: 'bad channel'", "operator.releaseChannel"},
		{"source: registry.example.com/addons", "operator.source"},
		{"source: oci://registry.example.com/addons:stable", "operator.source"},
		{"update: {pollInterval: often}", "operator.update.pollInterval"},
		{"update: {pollInterval: 10ms}", "operator.update.pollInterval"},
		{"update: {rollback: {retries: -1}}", "operator.update.rollback.retries"},
		{"update: {rollback: {timeout: soon}}", "operator.update.rollback.timeout"},
		{"update: {windows: [{from: '25:00', to: '26:00'}]}", "operator.update.windows[0].from"},
		{"update: {windows: [{days: [Monday], from: '01:00', to: '02:00'}]}", "operator.update.windows[0].days[0]"},
		{"update: {windows: [{from: '01:00', to: '01:00'}]}", "operator.update.windows[0]: from and to are equal"},
		{"update: {windows: [{from: '01:00'}]}", "operator.update.windows[0].to is required"},
		{"registry: {ca: not a certificate}", "operator.registry.ca"},
		{"drift: {policy: Fix}", "operator.drift.policy"},
		{"drift: {modules: {x: {policy: warn}}}", "operator.drift.modules.x.policy"},
		{"drift: {modules: {x: {ignore: [{kind: Deployment, name: x, paths: [spec/replicas]}]}}}", "operator.drift.modules.x.ignore[0].paths[0]"},
		{"drift: {modules: {x: {ignore: [{kind: Deployment, paths: [/spec/replicas]}]}}}", "operator.drift.modules.x.ignore[0].name is required"},
		{"drift: {modes: {}}", "operator.drift.modes is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			v, err := values.FromYAML([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(v)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

func TestWindows(t *testing.T) {
	// 2026-11-23 is a Monday.
	at := func(day, hour, minute int) time.Time {
		return time.Date(2026, 11, 23+day, hour, minute, 0, 0, time.UTC)
	}
	weekend := Window{Days: []time.Weekday{time.Saturday, time.Sunday}, From: 60, To: 300}
	overnight := Window{Days: []time.Weekday{time.Monday}, From: 22 * 60, To: 2 * 60}
	daily := Window{From: 9 * 60, To: 17 * 60}
	tests := []struct {
		name    string
		windows []Window
		now     time.Time
		in      bool
		next    time.Time
	}{
		{"no windows: always", nil, at(0, 12, 0), true, time.Time{}},
		{"daily, inside", []Window{daily}, at(2, 9, 0), true, at(2, 9, 0)},
		{"daily, at the end (exclusive)", []Window{daily}, at(2, 17, 0), false, at(3, 9, 0)},
		{"weekend, on Monday", []Window{weekend}, at(0, 3, 0), false, at(5, 1, 0)},
		{"weekend, Sunday night", []Window{weekend}, at(6, 4, 59), true, at(6, 4, 59)},
		{"overnight, Monday evening", []Window{overnight}, at(0, 23, 0), true, at(0, 23, 0)},
		{"overnight, Tuesday morning", []Window{overnight}, at(1, 1, 59), true, at(1, 1, 59)},
		{"overnight, Tuesday evening", []Window{overnight}, at(1, 23, 0), false, at(7, 22, 0)},
		{"overnight, Monday morning", []Window{overnight}, at(0, 1, 0), false, at(0, 22, 0)},
		{"any of several", []Window{weekend, daily}, at(0, 10, 0), true, at(0, 10, 0)},
		{"another time zone is converted", []Window{daily}, time.Date(2026, 11, 23, 12, 0, 0, 0, time.FixedZone("UTC+2", 2*3600)), true, at(0, 10, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inWindows(tt.windows, tt.now); got != tt.in {
				t.Errorf("inWindows = %v, want %v", got, tt.in)
			}
			if got := nextOpening(tt.windows, tt.now); !got.Equal(tt.next) {
				t.Errorf("nextOpening = %v, want %v", got, tt.next)
			}
		})
	}
}

func TestReleaseName(t *testing.T) {
	got := releaseName("addon-operator", "v1.2.0+build.7", "sha256:0123456789abcdef0123")
	if got != "addon-operator-v1.2.0-build.7-0123456789ab" {
		t.Errorf("releaseName = %q", got)
	}
}

// The operator section of deploy/example-configmap.yaml is valid.
func TestExampleOperatorSection(t *testing.T) {
	data, err := os.ReadFile("../../deploy/example-configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	v, err := values.FromYAML([]byte(cm.Data[values.OperatorKey]))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSettings(v)
	if err != nil {
		t.Fatal(err)
	}
	if s.Channel != "stable" || s.Mode != ModeAuto {
		t.Errorf("settings = %+v", s)
	}
}

package bundle_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

func TestPrometheusStorageClass(t *testing.T) {
	tests := []struct {
		name       string
		discovered string
		config     string
		wantClass  *string
		wantSize   string
	}{
		{name: "no default, none set: left out", wantSize: "20Gi"},
		{name: "discovered default", discovered: "standard", wantClass: ptr("standard"), wantSize: "20Gi"},
		{name: "set in config wins", discovered: "standard", config: `storage: {storageClass: fast-ssd, size: 50Gi}`, wantClass: ptr("fast-ssd"), wantSize: "50Gi"},
		{name: "set in config, no default", config: `storage: {storageClass: fast-ssd}`, wantClass: ptr("fast-ssd"), wantSize: "20Gi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			global := mustYAML(t, `discovery: {defaultStorageClass: "`+tt.discovered+`"}`)
			objs := mustRender(t, "prometheus", global, withPassword(t, orEmpty(tt.config)))
			sts := find[*appsv1.StatefulSet](t, objs, "StatefulSet", "prometheus")
			if len(sts.Spec.VolumeClaimTemplates) != 1 {
				t.Fatalf("want one volume claim template, got %d", len(sts.Spec.VolumeClaimTemplates))
			}
			pvc := sts.Spec.VolumeClaimTemplates[0]
			if diff := cmp.Diff(tt.wantClass, pvc.Spec.StorageClassName); diff != "" {
				t.Errorf("storageClassName (-want +got):\n%s", diff)
			}
			if got := pvc.Spec.Resources.Requests.Storage().String(); got != tt.wantSize {
				t.Errorf("size = %s, want %s", got, tt.wantSize)
			}
			mounted := false
			for _, m := range sts.Spec.Template.Spec.Containers[0].VolumeMounts {
				mounted = mounted || (m.Name == pvc.Name && m.MountPath == "/prometheus")
			}
			if !mounted {
				t.Errorf("the claim %q is not mounted at /prometheus in the prometheus container", pvc.Name)
			}
		})
	}
}

func TestPrometheusStatefulSet(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		wantArgs []string
		noArgs   []string
	}{
		{
			name:     "defaults",
			wantArgs: []string{"--storage.tsdb.retention.time=15d", "--web.enable-lifecycle", "--web.enable-admin-api", "--config.file=/etc/prometheus/config/prometheus.yml"},
			noArgs:   []string{"--storage.tsdb.retention.size="},
		},
		{
			name:     "retention and no maintenance",
			config:   `{retention: {time: 30d, size: 40GB}, maintenance: {enabled: false}}`,
			wantArgs: []string{"--storage.tsdb.retention.time=30d", "--storage.tsdb.retention.size=40GB"},
			noArgs:   []string{"--web.enable-admin-api"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := mustRender(t, "prometheus", nil, withPassword(t, orEmpty(tt.config)))
			sts := find[*appsv1.StatefulSet](t, objs, "StatefulSet", "prometheus")
			spec := sts.Spec.Template.Spec
			var names []string
			for _, c := range spec.Containers {
				names = append(names, c.Name)
			}
			if diff := cmp.Diff([]string{"prometheus", "config-reloader"}, names); diff != "" {
				t.Errorf("containers (-want +got):\n%s", diff)
			}
			if len(spec.InitContainers) != 1 || spec.InitContainers[0].Name != "prepare-data-dir" {
				t.Fatalf("want the init container prepare-data-dir, got %v", spec.InitContainers)
			}
			if script := strings.Join(spec.InitContainers[0].Command, " "); !strings.Contains(script, "chown 65534:65534 /prometheus") {
				t.Errorf("init container does not hand /prometheus to the Prometheus user: %s", script)
			}
			args := spec.Containers[0].Args
			for _, want := range tt.wantArgs {
				if !contains(args, want) {
					t.Errorf("args %v lack %s", args, want)
				}
			}
			for _, bad := range tt.noArgs {
				for _, a := range args {
					if strings.HasPrefix(a, bad) {
						t.Errorf("args have %s", a)
					}
				}
			}
			if sts.Spec.ServiceName != "prometheus-headless" {
				t.Errorf("serviceName = %q", sts.Spec.ServiceName)
			}
			headless := find[*corev1.Service](t, objs, "Service", "prometheus-headless")
			if headless.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("governing Service is not headless")
			}
			reloader := spec.Containers[1]
			if !contains(reloader.Args, "--reload-url=http://127.0.0.1:9090/-/reload") || !contains(reloader.Args, "--watched-dir=/etc/prometheus/config") {
				t.Errorf("config-reloader args %v do not watch the config and reload Prometheus", reloader.Args)
			}
		})
	}
}

func TestPrometheusConfig(t *testing.T) {
	objs := mustRender(t, "prometheus", nil, withPassword(t, `
scrapeInterval: 15s
externalLabels: {cluster: prod}
additionalScrapeConfigs:
  - job_name: node-exporter
    static_configs: [{targets: ["10.0.0.10:9100"]}]
`))
	cm := find[*corev1.ConfigMap](t, objs, "ConfigMap", "prometheus-config")
	var cfg struct {
		Global struct {
			ScrapeInterval string            `json:"scrape_interval"`
			ExternalLabels map[string]string `json:"external_labels"`
		} `json:"global"`
		ScrapeConfigs []struct {
			JobName string `json:"job_name"`
		} `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["prometheus.yml"]), &cfg); err != nil {
		t.Fatalf("prometheus.yml is not YAML: %v", err)
	}
	if cfg.Global.ScrapeInterval != "15s" {
		t.Errorf("scrape_interval = %q, want 15s", cfg.Global.ScrapeInterval)
	}
	if diff := cmp.Diff(map[string]string{"cluster": "prod"}, cfg.Global.ExternalLabels); diff != "" {
		t.Errorf("external_labels (-want +got):\n%s", diff)
	}
	var jobs []string
	for _, s := range cfg.ScrapeConfigs {
		jobs = append(jobs, s.JobName)
	}
	want := []string{"prometheus", "kubernetes-apiservers", "kubernetes-nodes", "kubernetes-cadvisor", "kubernetes-pods", "kubernetes-service-endpoints", "node-exporter"}
	if diff := cmp.Diff(want, jobs); diff != "" {
		t.Errorf("scrape jobs (-want +got):\n%s", diff)
	}
}

func TestPrometheusRBAC(t *testing.T) {
	objs := mustRender(t, "prometheus", nil, withPassword(t, `{}`))
	role := find[*rbacv1.ClusterRole](t, objs, "ClusterRole", releaseNamespace+":prometheus")
	granted := map[string]bool{}
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			if contains(r.Verbs, "list") && contains(r.Verbs, "watch") {
				granted[res] = true
			}
		}
	}
	for _, res := range []string{"nodes", "pods", "services", "endpoints", "endpointslices"} {
		if !granted[res] {
			t.Errorf("ClusterRole does not grant list/watch on %s", res)
		}
	}
	binding := find[*rbacv1.ClusterRoleBinding](t, objs, "ClusterRoleBinding", releaseNamespace+":prometheus")
	want := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "prometheus", Namespace: releaseNamespace}}
	if diff := cmp.Diff(want, binding.Subjects); diff != "" {
		t.Errorf("binding subjects (-want +got):\n%s", diff)
	}
	sts := find[*appsv1.StatefulSet](t, objs, "StatefulSet", "prometheus")
	if sts.Spec.Template.Spec.ServiceAccountName != "prometheus" {
		t.Errorf("StatefulSet runs as %q", sts.Spec.Template.Spec.ServiceAccountName)
	}
}

func TestPrometheusMaintenanceCronJob(t *testing.T) {
	objs := mustRender(t, "prometheus", nil, withPassword(t, `
replicas: 2
maintenance:
  schedule: "0 4 * * *"
  deleteSeries:
    - {match: '{__name__="noisy_metric"}', olderThanDays: 3}
`))
	cj := find[*batchv1.CronJob](t, objs, "CronJob", "prometheus-tsdb-maintenance")
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy = %s, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	if cj.Spec.SuccessfulJobsHistoryLimit == nil || cj.Spec.FailedJobsHistoryLimit == nil {
		t.Errorf("history limits not set")
	}
	if cj.Spec.Schedule != "0 4 * * *" {
		t.Errorf("schedule = %q", cj.Spec.Schedule)
	}
	env := map[string]string{}
	c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	want := map[string]string{
		"REPLICAS":               "2",
		"PROMETHEUS_HOST_SUFFIX": "prometheus-headless." + releaseNamespace + ".svc.cluster.local",
		"SELECTORS":              "1",
		"MATCH_0":                `{__name__="noisy_metric"}`,
		"DAYS_0":                 "3",
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("job environment (-want +got):\n%s", diff)
	}
	script := strings.Join(c.Args, "\n")
	for _, call := range []string{"/delete_series", "/clean_tombstones"} {
		if !strings.Contains(script, call) {
			t.Errorf("job script does not call %s", call)
		}
	}

	objs = mustRender(t, "prometheus", nil, withPassword(t, `maintenance: {enabled: false}`))
	if has(objs, "CronJob", "prometheus-tsdb-maintenance") {
		t.Errorf("CronJob rendered with maintenance disabled")
	}
}

func TestPrometheusGrafanaAndBasicAuth(t *testing.T) {
	section := withPassword(t, `{}`)
	password, _ := section.Get("grafana.adminPassword").Value().(string)
	htpasswd, _ := section.Get("internal.basicAuth.htpasswd").Value().(string)

	objs := mustRender(t, "prometheus", nil, section)
	admin := find[*corev1.Secret](t, objs, "Secret", "grafana-admin")
	if got := string(admin.Data["admin-password"]); got != password {
		t.Errorf("grafana-admin admin-password does not hold the configured password")
	}
	auth := find[*corev1.Secret](t, objs, "Secret", "prometheus-basic-auth")
	if diff := cmp.Diff(map[string][]byte{"auth": []byte(htpasswd)}, auth.Data); diff != "" {
		t.Errorf("basic-auth Secret data (-want +got):\n%s", diff)
	}
	d := find[*appsv1.Deployment](t, objs, "Deployment", "grafana")
	refs := map[string]string{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			refs[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
		if strings.Contains(e.Value, password) {
			t.Errorf("env %s carries the password in clear", e.Name)
		}
	}
	if refs["GF_SECURITY_ADMIN_PASSWORD"] != "grafana-admin/admin-password" {
		t.Errorf("Grafana does not read its password from the Secret: %v", refs)
	}
	for _, o := range objs {
		if o.kind() == "Secret" {
			continue
		}
		data, _ := yaml.Marshal(o.raw)
		if strings.Contains(string(data), password) {
			t.Errorf("%s %s contains the password in clear", o.kind(), o.name())
		}
	}

	objs = mustRender(t, "prometheus", nil, withPassword(t, `grafana: {enabled: false}`))
	for _, o := range objs {
		if strings.Contains(o.name(), "grafana") {
			t.Errorf("%s %s rendered with Grafana disabled", o.kind(), o.name())
		}
	}
	if !has(objs, "Secret", "prometheus-basic-auth") {
		t.Errorf("basic-auth Secret missing with Grafana disabled")
	}
}

// TestPrometheusNeedsHookValues: without the password (the hook has not
// run) rendering fails and names the field, instead of shipping an empty
// password.
func TestPrometheusNeedsHookValues(t *testing.T) {
	tests := []struct {
		name    string
		section string
		want    string
	}{
		{"no password", `internal: {basicAuth: {htpasswd: "admin:$6$abc$def"}}`, "prometheus.grafana.adminPassword"},
		{"no htpasswd", `grafana: {adminPassword: Test-Password-0123456789}`, "prometheus.internal.basicAuth.htpasswd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, "prometheus", moduleValues(t, "prometheus", nil, mustYAML(t, tt.section)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("render error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestPrometheusIngress(t *testing.T) {
	objs := mustRender(t, "prometheus", nil, withPassword(t, `
ingress: {enabled: true, prometheusHost: prometheus.example.com, grafanaHost: grafana.example.com, tlsSecretName: monitoring-tls}
`))
	p := find[*networkingv1.Ingress](t, objs, "Ingress", "prometheus")
	wantAnn := map[string]string{
		"nginx.ingress.kubernetes.io/auth-type":   "basic",
		"nginx.ingress.kubernetes.io/auth-secret": "prometheus-basic-auth",
		"nginx.ingress.kubernetes.io/auth-realm":  "Prometheus",
	}
	if diff := cmp.Diff(wantAnn, p.Annotations); diff != "" {
		t.Errorf("prometheus Ingress annotations (-want +got):\n%s", diff)
	}
	if p.Spec.IngressClassName == nil || *p.Spec.IngressClassName != "nginx" {
		t.Errorf("ingressClassName = %v", p.Spec.IngressClassName)
	}
	g := find[*networkingv1.Ingress](t, objs, "Ingress", "grafana")
	if g.Spec.Rules[0].Host != "grafana.example.com" || g.Spec.TLS[0].SecretName != "monitoring-tls" {
		t.Errorf("grafana Ingress = %+v", g.Spec)
	}

	objs = mustRender(t, "prometheus", nil, withPassword(t, `{}`))
	if has(objs, "Ingress", "prometheus") || has(objs, "Ingress", "grafana") {
		t.Errorf("Ingresses rendered while disabled")
	}
	_, err := render(t, "prometheus", moduleValues(t, "prometheus", nil, withPassword(t, `ingress: {enabled: true}`)))
	if err == nil || !strings.Contains(err.Error(), "prometheusHost") {
		t.Errorf("ingress enabled without hosts: render error = %v, want one naming prometheusHost", err)
	}
}

func ptr[T any](v T) *T { return &v }

func orEmpty(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

// TestPrometheusMaintenanceScript runs the CronJob's script with sh and a
// curl that records its calls: per replica, one delete_series per selector
// with the right match[] and end, then clean_tombstones.
func TestPrometheusMaintenanceScript(t *testing.T) {
	objs := mustRender(t, "prometheus", nil, withPassword(t, `
replicas: 2
maintenance:
  deleteSeries:
    - {match: '{__name__=~"a.*", job="x y"}', olderThanDays: 3}
    - {match: up, olderThanDays: 1}
`))
	c := find[*batchv1.CronJob](t, objs, "CronJob", "prometheus-tsdb-maintenance").Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	curl := "#!/bin/sh\nfor a in \"$@\"; do printf '%s|' \"$a\" >>\"" + log + "\"; done\necho >>\"" + log + "\"\n"
	if err := os.WriteFile(filepath.Join(dir, "curl"), []byte(curl), 0o755); err != nil {
		t.Fatal(err)
	}
	fakeDate := "#!/bin/sh\necho 1000000000\n"
	if err := os.WriteFile(filepath.Join(dir, "date"), []byte(fakeDate), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", append(c.Command[1:], c.Args...)...)
	cmd.Env = []string{"PATH=" + dir + ":" + os.Getenv("PATH")}
	for _, e := range c.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script failed: %v\n%s", err, out)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	base := func(i int) string {
		return "http://prometheus-" + strconv.Itoa(i) + ".prometheus-headless.addon-operator.svc.cluster.local:9090/api/v1/admin/tsdb"
	}
	var want []string
	for i := 0; i < 2; i++ {
		want = append(want,
			`-fsS|--retry|3|-X|POST|--data-urlencode|match[]={__name__=~"a.*", job="x y"}|--data-urlencode|end=999740800|`+base(i)+`/delete_series|`,
			`-fsS|--retry|3|-X|POST|--data-urlencode|match[]=up|--data-urlencode|end=999913600|`+base(i)+`/delete_series|`,
			`-fsS|--retry|3|-X|POST|`+base(i)+`/clean_tombstones|`,
		)
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(string(data)), "\n")); diff != "" {
		t.Errorf("curl calls (-want +got):\n%s", diff)
	}
}

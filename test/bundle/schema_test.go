package bundle_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/schema"
	"github.com/seedops/addon-operator/pkg/values"
)

// sections are the values sections of the bundle: global and every module.
func sections(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"global": path(t, "global-hooks")}
	for _, m := range modules(t) {
		out[m.key] = m.dir
	}
	return out
}

// TestSchemasLoad: every openapi/ pair loads with the operator's schema
// package (structure, patterns, defaults valid against their own schema).
func TestSchemasLoad(t *testing.T) {
	for key, dir := range sections(t) {
		t.Run(key, func(t *testing.T) { schemas(t, dir) })
	}
}

// TestStaticValuesMatchSchemaDefaults: the defaults documented in each
// config-values schema are the static values the chart ships, so the two
// cannot drift apart, and the static values pass the values schema.
func TestStaticValuesMatchSchemaDefaults(t *testing.T) {
	for _, m := range modules(t) {
		t.Run(m.key, func(t *testing.T) {
			set := schemas(t, m.dir)
			file := readYAML(t, filepath.Join(m.dir, "values.yaml"))
			if len(file) != 1 || file[m.key] == nil {
				t.Fatalf("values.yaml must hold exactly the key %q, got %v", m.key, keys(file))
			}
			static := file.Section(m.key)
			if err := set.ValidateValues(m.key, static); err != nil {
				t.Errorf("static values refused by the values schema: %v", err)
			}
			configPart := values.Values{}
			for k, v := range static {
				if k != "internal" {
					configPart[k] = v
				}
			}
			if diff := cmp.Diff(map[string]any(set.ConfigDefaults(nil)), map[string]any(configPart)); diff != "" {
				t.Errorf("config-values defaults and values.yaml differ (-schema +values.yaml):\n%s", diff)
			}
		})
	}
	t.Run("global", func(t *testing.T) {
		set := schemas(t, path(t, "global-hooks"))
		global := rootValues(t).Section("global")
		if err := set.ValidateValues("global", global); err != nil {
			t.Errorf("static global values refused by the values schema: %v", err)
		}
		if diff := cmp.Diff(map[string]any(set.ValuesDefaults(nil)), map[string]any(global)); diff != "" {
			t.Errorf("global values defaults and values.yaml differ (-schema +values.yaml):\n%s", diff)
		}
		if discovery := set.ConfigDefaults(nil)["discovery"]; discovery != nil {
			t.Errorf("discovery is settable from the ConfigMap, want values only")
		}
	})
}

func TestConfigRefusesBadInput(t *testing.T) {
	tests := []struct {
		key    string
		config string
		want   []string // substrings of the error: field path and expectation
	}{
		{"global", `clusterDomain: Not_A_Domain`, []string{"global.clusterDomain"}},
		{"global", `discovery: {cloudProvider: aws}`, []string{"global.discovery", "not allowed"}},
		{"global", `imageRegistry: https://registry.internal`, []string{"global.imageRegistry"}},
		{"ingressNginx", `replicas: two`, []string{"ingressNginx.replicas", "integer"}},
		{"ingressNginx", `replicas: 0`, []string{"ingressNginx.replicas", "greater than or equal to 1"}},
		{"ingressNginx", `replica: 2`, []string{"ingressNginx.replica", "not allowed"}},
		{"ingressNginx", `service: {type: Magic}`, []string{"ingressNginx.service.type", "LoadBalancer"}},
		{"ingressNginx", `service: {nodePorts: {http: 70000}}`, []string{"ingressNginx.service.nodePorts.http"}},
		{"ingressNginx", `ingressClass: {name: Bad_Name}`, []string{"ingressNginx.ingressClass.name"}},
		{"ingressNginx", `resources: {requests: {memory: lots}}`, []string{"ingressNginx.resources.requests.memory"}},
		{"ingressNginx", `probes: {liveness: {periodSeconds: 0}}`, []string{"ingressNginx.probes.liveness.periodSeconds"}},
		{"ingressNginx", `tolerations: [{operator: Sometimes}]`, []string{"ingressNginx.tolerations[0].operator"}},
		{"ingressNginx", `config: {proxy-body-size: 64}`, []string{"ingressNginx.config.proxy-body-size", "string"}},
		{"prometheus", `storage: {size: -5Gi}`, []string{"prometheus.storage.size"}},
		{"prometheus", `storage: {size: 10Mi}`, []string{"prometheus.storage.size"}},
		{"prometheus", `storage: {size: 20}`, []string{"prometheus.storage.size", "string"}},
		{"prometheus", `retention: {time: 15 days}`, []string{"prometheus.retention.time"}},
		{"prometheus", `replicas: -1`, []string{"prometheus.replicas"}},
		{"prometheus", `grafana: {adminPassword: short}`, []string{"prometheus.grafana.adminPassword"}},
		{"prometheus", `maintenance: {deleteSeries: [{match: up}]}`, []string{"prometheus.maintenance.deleteSeries[0].olderThanDays", "required"}},
		{"prometheus", `maintenance: {schedule: every day}`, []string{"prometheus.maintenance.schedule"}},
		{"prometheus", `additionalScrapeConfigs: [{static_configs: []}]`, []string{"prometheus.additionalScrapeConfigs[0].job_name", "required"}},
		{"prometheus", `internal: {basicAuth: {htpasswd: "admin:x"}}`, []string{"prometheus.internal", "not allowed"}},
		{"probeTemplates", `anything: 1`, []string{"probeTemplates.anything", "not allowed"}},
	}
	secs := sections(t)
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.config, func(t *testing.T) {
			err := schemas(t, secs[tt.key]).ValidateConfig(tt.key, mustYAML(t, tt.config))
			if !errors.Is(err, schema.ErrInvalidValues) {
				t.Fatalf("error = %v, want ErrInvalidValues", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestConfigAcceptsGoodInput(t *testing.T) {
	tests := []struct {
		key    string
		config string
	}{
		{"global", `clusterDomain: k8s.example.internal`},
		{"global", `imageRegistry: registry.internal:5000/mirror`},
		{"ingressNginx", `{replicas: 2, service: {type: LoadBalancer, internal: true, annotations: {a.example.com/x: "1"}, nodePorts: {http: 30080, https: 30443}}}`},
		{"ingressNginx", `{tolerations: [{key: dedicated, operator: Equal, value: ingress, effect: NoSchedule}], nodeSelector: {role: edge}}`},
		{"prometheus", `{retention: {time: 1y2d, size: 1.5TB}, storage: {size: 100Mi, storageClass: fast-ssd}, replicas: 2}`},
		{"prometheus", `{grafana: {adminPassword: "correct-horse-battery-staple"}, maintenance: {schedule: "@daily", deleteSeries: [{match: 'up{job="x"}', olderThanDays: 7}]}}`},
		{"prometheus", `{additionalScrapeConfigs: [{job_name: x, static_configs: [{targets: ["a:1"]}], scrape_interval: 1m}]}`},
		{"probeTemplates", `{}`},
	}
	secs := sections(t)
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.config, func(t *testing.T) {
			if err := schemas(t, secs[tt.key]).ValidateConfig(tt.key, mustYAML(t, tt.config)); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

// TestSecretFields: only the Grafana admin password is x-secret, so it is
// routed to the Secret and never stored in the ConfigMap.
func TestSecretFields(t *testing.T) {
	want := map[string][][]string{"prometheus": {{"grafana", "adminPassword"}}}
	for key, dir := range sections(t) {
		got := schemas(t, dir).SecretPaths()
		if diff := cmp.Diff(want[key], got); diff != "" {
			t.Errorf("%s secret paths (-want +got):\n%s", key, diff)
		}
	}
}

// TestExampleConfigMap: deploy/example-configmap.yaml is a ConfigMap
// addon-operator/addon-operator whose every section is accepted by its
// schema, with an enable key for every module and no secret in clear.
func TestExampleConfigMap(t *testing.T) {
	data, err := os.ReadFile(path(t, "deploy", "example-configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(data, &cm); err != nil {
		t.Fatalf("not a ConfigMap: %v", err)
	}
	if cm.Kind != "ConfigMap" || cm.Name != "addon-operator" || cm.Namespace != "addon-operator" {
		t.Fatalf("got %s %s/%s, want ConfigMap addon-operator/addon-operator", cm.Kind, cm.Namespace, cm.Name)
	}
	secs := sections(t)
	for key, text := range cm.Data {
		switch {
		case key == "operator":
			continue
		case strings.HasSuffix(key, "Enabled"):
			if _, ok := secs[strings.TrimSuffix(key, "Enabled")]; !ok {
				t.Errorf("%s enables no module of the bundle", key)
			}
			if text != "true" && text != "false" {
				t.Errorf("%s = %q, want \"true\" or \"false\"", key, text)
			}
			continue
		}
		dir, ok := secs[key]
		if !ok {
			t.Errorf("key %s is no section of the bundle", key)
			continue
		}
		section, err := values.FromYAML([]byte(text))
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		set := schemas(t, dir)
		if err := set.ValidateConfig(key, section); err != nil {
			t.Errorf("%s refused: %v", key, err)
		}
		for _, p := range set.SecretPaths() {
			if section.Get(strings.Join(p, ".")).Exists() {
				t.Errorf("%s.%s is a secret and must not be in the example ConfigMap", key, strings.Join(p, "."))
			}
		}
	}
	for _, m := range modules(t) {
		if _, ok := cm.Data[m.key+"Enabled"]; !ok {
			t.Errorf("no %sEnabled in the example", m.key)
		}
		if m.name != "probe-templates" && cm.Data[m.key] == "" {
			t.Errorf("no %s section in the example", m.key)
		}
	}
}

func keys(v values.Values) []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	return out
}

package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// exportedMetrics reads the metric names the operator registers from
// pkg/metrics/metrics.go, with the _bucket, _sum and _count series of its
// histograms.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repo, "pkg", "metrics", "metrics.go"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := regexp.MustCompile(`const prefix = "([a-z_]+)"`).FindSubmatch(src)
	if prefix == nil {
		t.Fatal("pkg/metrics/metrics.go: no `const prefix`")
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(histogram|counter|gauge)\("([a-z_]+)"`).FindAllSubmatch(src, -1) {
		name := string(prefix[1]) + string(m[2])
		names[name] = true
		if string(m[1]) == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[name+s] = true
			}
		}
	}
	for _, m := range regexp.MustCompile(`Name: prefix \+ "([a-z_]+)"`).FindAllSubmatch(src, -1) {
		names[string(prefix[1])+string(m[1])] = true
	}
	if len(names) < 20 {
		t.Fatalf("pkg/metrics/metrics.go: found only %d metric names, the pattern is out of date", len(names))
	}
	return names
}

var operatorMetric = regexp.MustCompile(`addon_operator_[a-zA-Z0-9_]+`)

// checkExpr reports an expression that uses no operator metric, uses one the
// operator does not export, or has unbalanced brackets.
func checkExpr(t *testing.T, where, expr string, exported map[string]bool) {
	t.Helper()
	used := operatorMetric.FindAllString(expr, -1)
	if len(used) == 0 {
		t.Errorf("%s: %q uses no addon_operator_ metric", where, expr)
	}
	for _, name := range used {
		if !exported[name] {
			t.Errorf("%s: %s is not a metric of pkg/metrics", where, name)
		}
	}
	var open []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := false
	for _, r := range expr {
		switch {
		case r == '"':
			inString = !inString
		case inString:
		case r == '(' || r == '[' || r == '{':
			open = append(open, r)
		case pairs[r] != 0:
			if len(open) == 0 || open[len(open)-1] != pairs[r] {
				t.Errorf("%s: unbalanced %q in %q", where, r, expr)
				return
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 || inString {
		t.Errorf("%s: unclosed brackets or quotes in %q", where, expr)
	}
}

type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// The Grafana dashboard parses, every panel queries operator metrics that
// exist, and it shows what an admin looks for.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, "deploy", "monitoring", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: want both", d.UID, d.Title)
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	for _, want := range []string{"datasource", "namespace"} {
		if !slices.Contains(vars, want) {
			t.Errorf("dashboard variables %v: no %s", vars, want)
		}
	}
	exported := exportedMetrics(t)
	ids := map[int]bool{}
	var titles []string
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		titles = append(titles, p.Title)
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, "panel "+p.Title, tg.Expr, exported)
		}
	}
	for _, want := range []string{
		"Modules by phase", "Modules not Ready", "Module run seconds (p90)", "Hook errors per second", "Queue length",
		"Convergence seconds", "Helm operation seconds (p90)", "Releases redeployed",
		"Bundle version", "Update errors",
	} {
		if !slices.Contains(titles, want) {
			t.Errorf("dashboard has no panel %q (panels: %v)", want, titles)
		}
	}
}

type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// The PrometheusRule parses, alerts on the failures an admin must act on,
// and every expression uses operator metrics that exist.
func TestPrometheusRule(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, "deploy", "monitoring", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var r prometheusRule
	if err := yaml.UnmarshalStrict(data, &r); err != nil {
		t.Fatalf("prometheusrule.yaml: %v", err)
	}
	if r.APIVersion != "monitoring.coreos.com/v1" || r.Kind != "PrometheusRule" {
		t.Errorf("apiVersion %q kind %q, want monitoring.coreos.com/v1 PrometheusRule", r.APIVersion, r.Kind)
	}
	exported := exportedMetrics(t)
	var alerts []string
	for _, g := range r.Spec.Groups {
		for _, rule := range g.Rules {
			alerts = append(alerts, rule.Alert)
			where := "alert " + rule.Alert
			if rule.Alert == "" {
				t.Errorf("group %s: a rule without an alert name", g.Name)
			}
			checkExpr(t, where, rule.Expr, exported)
			if rule.Labels["severity"] == "" {
				t.Errorf("%s: no severity label", where)
			}
			if rule.Annotations["summary"] == "" || rule.Annotations["description"] == "" {
				t.Errorf("%s: want summary and description annotations", where)
			}
			if rule.For != "" && !regexp.MustCompile(`^[0-9]+[smh]$`).MatchString(rule.For) {
				t.Errorf("%s: for %q is not a duration", where, rule.For)
			}
		}
	}
	slices.Sort(alerts)
	if len(slices.Compact(slices.Clone(alerts))) != len(alerts) {
		t.Errorf("alert names repeat: %v", alerts)
	}
	for _, want := range []string{
		"AddonOperatorModuleError", "AddonOperatorQueueStuck", "AddonOperatorConfigRejected", "AddonOperatorUpdateFailed",
	} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s (alerts: %v)", want, alerts)
		}
	}
}

// deploy/monitoring renders: the ServiceMonitor, the PrometheusRule and
// the dashboard ConfigMap for Grafana's sidecar, all in the operator's
// namespace.
func TestMonitoringKustomization(t *testing.T) {
	objs := render(t, "monitoring")
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	slices.Sort(got)
	want := []string{
		"ConfigMap/addon-operator/addon-operator-dashboard",
		"PrometheusRule/addon-operator/addon-operator",
		"ServiceMonitor/addon-operator/addon-operator",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("objects of deploy/monitoring (-want +got):\n%s", diff)
	}
	cm := find(t, objs, "ConfigMap", "addon-operator-dashboard")
	if cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels %v: want grafana_dashboard=1", cm.GetLabels())
	}
	file, err := os.ReadFile(filepath.Join(repo, "deploy", "monitoring", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := cm.Object["data"].(map[string]any)
	if got, _ := data["addon-operator.json"].(string); strings.TrimSpace(got) != strings.TrimSpace(string(file)) {
		t.Errorf("dashboard ConfigMap does not carry dashboard.json")
	}
	sm := find(t, objs, "ServiceMonitor", "addon-operator")
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	for _, e := range endpoints {
		if port, _ := e.(map[string]any)["port"].(string); port != "http-metrics" {
			t.Errorf("ServiceMonitor endpoint port %q, want http-metrics (the Service's port name)", port)
		}
	}
	if len(endpoints) == 0 {
		t.Error("ServiceMonitor has no endpoints")
	}
}

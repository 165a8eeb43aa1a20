package bundle_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/seedops/addon-operator/pkg/values"
)

// clusterScoped are the kinds the modules create without a namespace.
var clusterScoped = map[string]bool{"ClusterRole": true, "ClusterRoleBinding": true, "IngressClass": true}

// renderCases are representative value sets for every module that has a
// release: defaults, discovered facts, and most settings switched.
func renderCases(t *testing.T) map[string][]struct {
	global, section values.Values
} {
	t.Helper()
	type c = struct{ global, section values.Values }
	return map[string][]c{
		"ingress-nginx": {
			{nil, mustYAML(t, `{}`)},
			{mustYAML(t, `discovery: {cloudProvider: aws, ingressNodes: {names: [a, b], count: 2}}`), mustYAML(t, `{service: {internal: true}, ingressClass: {default: true}}`)},
			{mustYAML(t, `discovery: {cloudProvider: azure}`), mustYAML(t, `{replicas: 3, service: {type: NodePort, nodePorts: {http: 30080}}, config: {a: b}, probes: {startup: {enabled: false}}}`)},
			{nil, mustYAML(t, `{service: {type: ClusterIP}, nodeSelector: {role: edge}, tolerations: [{operator: Exists}]}`)},
		},
		"prometheus": {
			{nil, withPassword(t, `{}`)},
			{mustYAML(t, `discovery: {defaultStorageClass: standard}`), withPassword(t, `{replicas: 2, retention: {size: 10GB}, externalLabels: {c: d}}`)},
			{nil, withPassword(t, `{grafana: {enabled: false}, maintenance: {enabled: false}, storage: {storageClass: fast, size: 100Mi}}`)},
			{nil, withPassword(t, `{ingress: {enabled: true, prometheusHost: p.example.com, grafanaHost: g.example.com, tlsSecretName: tls}, maintenance: {deleteSeries: [{match: 'up{job="x"}', olderThanDays: 1}]}}`)},
		},
	}
}

// TestRenderedObjectsWellFormed checks every rendered object of every
// module over representative values: strict decoding into its Kubernetes
// type (done by render), namespace set exactly on namespaced kinds, unique
// kind/name, workload selectors matching their Pod templates, every Service
// selecting a Pod template of the module, every long-running container with
// probes and resources, and pinned images.
func TestRenderedObjectsWellFormed(t *testing.T) {
	cases := renderCases(t)
	for _, m := range modules(t) {
		if m.name == "probe-templates" {
			continue
		}
		if len(cases[m.name]) == 0 {
			t.Errorf("module %s has no render cases", m.name)
		}
		for i, c := range cases[m.name] {
			objs := mustRender(t, m.name, c.global, c.section)
			checkObjects(t, m.name, i, objs)
		}
	}
}

func checkObjects(t *testing.T, module string, caseIndex int, objs []object) {
	t.Helper()
	seen := map[string]bool{}
	var podLabels []map[string]string
	for _, o := range objs {
		id := o.kind() + "/" + o.name()
		if seen[id] {
			t.Errorf("%s case %d: %s rendered twice", module, caseIndex, id)
		}
		seen[id] = true
		meta, _ := o.raw["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		if clusterScoped[o.kind()] && ns != "" {
			t.Errorf("%s case %d: cluster-scoped %s has namespace %q", module, caseIndex, id, ns)
		}
		if !clusterScoped[o.kind()] && ns != releaseNamespace {
			t.Errorf("%s case %d: %s has namespace %q, want the release namespace", module, caseIndex, id, ns)
		}
		if l, _ := meta["labels"].(map[string]any); l["app.kubernetes.io/part-of"] != "addon-operator" {
			t.Errorf("%s case %d: %s lacks the label app.kubernetes.io/part-of=addon-operator", module, caseIndex, id)
		}

		var tpl *corev1.PodTemplateSpec
		var selector map[string]string
		longRunning := true
		switch w := o.typed.(type) {
		case *appsv1.Deployment:
			tpl, selector = &w.Spec.Template, w.Spec.Selector.MatchLabels
		case *appsv1.StatefulSet:
			tpl, selector = &w.Spec.Template, w.Spec.Selector.MatchLabels
		case *batchv1.CronJob:
			tpl, longRunning = &w.Spec.JobTemplate.Spec.Template, false
		}
		if tpl == nil {
			continue
		}
		podLabels = append(podLabels, tpl.Labels)
		if selector != nil && !labels.SelectorFromSet(selector).Matches(labels.Set(tpl.Labels)) {
			t.Errorf("%s case %d: %s selector %v does not match its Pod template labels %v", module, caseIndex, id, selector, tpl.Labels)
		}
		for _, c := range append(append([]corev1.Container{}, tpl.Spec.InitContainers...), tpl.Spec.Containers...) {
			if !strings.Contains(c.Image, ":") || strings.HasSuffix(c.Image, ":latest") {
				t.Errorf("%s case %d: %s container %s image %q is not pinned", module, caseIndex, id, c.Name, c.Image)
			}
			if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s case %d: %s container %s lacks a memory request or limit", module, caseIndex, id, c.Name)
			}
		}
		if longRunning {
			for _, c := range tpl.Spec.Containers {
				if c.LivenessProbe == nil && c.ReadinessProbe == nil {
					t.Errorf("%s case %d: %s container %s has no probe", module, caseIndex, id, c.Name)
				}
			}
		}
	}
	for _, o := range objs {
		svc, ok := o.typed.(*corev1.Service)
		if !ok {
			continue
		}
		matched := false
		for _, l := range podLabels {
			matched = matched || labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(l))
		}
		if !matched || len(svc.Spec.Selector) == 0 {
			t.Errorf("%s case %d: Service %s selects no Pod template of the module", module, caseIndex, svc.Name)
		}
	}
}

// TestLibraryChart: probe-templates is a library chart with only partials,
// so it renders nothing of its own and Helm refuses to install it.
func TestLibraryChart(t *testing.T) {
	ch := loadChart(t, moduleDir(t, "probe-templates"))
	if ch.Metadata.Type != "library" {
		t.Fatalf("type = %q, want library", ch.Metadata.Type)
	}
	for _, tpl := range ch.Templates {
		base := tpl.Name[strings.LastIndex(tpl.Name, "/")+1:]
		if !strings.HasPrefix(base, "_") {
			t.Errorf("%s: a library chart holds only partials (_*.tpl)", tpl.Name)
		}
	}
	var dependents []string
	for _, m := range modules(t) {
		for _, dep := range loadChart(t, m.dir).Metadata.Dependencies {
			if dep.Name == "probe-templates" {
				dependents = append(dependents, m.name)
			}
		}
	}
	for _, m := range modules(t) {
		if m.name != "probe-templates" && !contains(dependents, m.name) {
			t.Errorf("module %s does not depend on probe-templates", m.name)
		}
	}
}

package bundle_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/values"
)

// releaseNamespace is the namespace the tests render modules into.
const releaseNamespace = "addon-operator"

// object is one rendered manifest document.
type object struct {
	template string         // template file that produced it
	typed    runtime.Object // strictly decoded into its Go type
	raw      map[string]any
}

func (o object) kind() string { return fmt.Sprint(o.raw["kind"]) }
func (o object) name() string {
	return fmt.Sprint(o.raw["metadata"].(map[string]any)["name"])
}

// loadChart loads a module's chart and resolves its file:// dependencies
// from the bundle, the way the operator's Helm layer does (no charts/ copy,
// no `helm dependency build`).
func loadChart(t *testing.T, dir string) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatalf("load chart %s: %v", dir, err)
	}
	for _, dep := range ch.Metadata.Dependencies {
		repo, ok := strings.CutPrefix(dep.Repository, "file://")
		if !ok {
			t.Fatalf("%s: dependency %s has repository %q, want file://", dir, dep.Name, dep.Repository)
		}
		sub, err := loader.Load(filepath.Join(dir, repo))
		if err != nil {
			t.Fatalf("%s: dependency %s: %v", dir, dep.Name, err)
		}
		if sub.Name() != dep.Name || sub.Metadata.Version != dep.Version {
			t.Fatalf("%s: dependency %s %s resolves to %s %s", dir, dep.Name, dep.Version, sub.Name(), sub.Metadata.Version)
		}
		ch.AddDependency(sub)
	}
	return ch
}

// moduleValues builds the values Helm gets for a module, as the operator
// does: the bundle's global static values with globalOverride merged on top,
// the module's values.yaml section with section merged on top, each filled
// with its schema's defaults and checked against its values schema.
func moduleValues(t *testing.T, name string, globalOverride, section values.Values) map[string]any {
	t.Helper()
	key := values.ValuesKey(name)
	dir := moduleDir(t, name)

	globalSet := schemas(t, path(t, "global-hooks"))
	global := globalSet.ValuesDefaults(values.Merge(rootValues(t).Section("global"), globalOverride))
	if err := globalSet.ValidateValues("global", global); err != nil {
		t.Fatalf("test global values are invalid: %v", err)
	}
	set := schemas(t, dir)
	static := readYAML(t, filepath.Join(dir, "values.yaml")).Section(key)
	sec := set.ValuesDefaults(values.Merge(static, section))
	if err := set.ValidateValues(key, sec); err != nil {
		t.Fatalf("test %s values are invalid: %v", key, err)
	}
	return map[string]any{"global": global, key: sec}
}

// render renders a module's chart with the given values and decodes every
// document strictly (unknown or duplicate fields fail).
func render(t *testing.T, name string, vals map[string]any) ([]object, error) {
	t.Helper()
	return renderChart(t, loadChart(t, moduleDir(t, name)), name, vals)
}

// renderChart renders a loaded chart as release name in releaseNamespace.
func renderChart(t *testing.T, ch *chart.Chart, name string, vals map[string]any) ([]object, error) {
	t.Helper()
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return nil, err
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name: name, Namespace: releaseNamespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	slices.Sort(names)

	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	var out []object
	for _, f := range names {
		if strings.HasSuffix(f, "NOTES.txt") {
			continue
		}
		for i, doc := range splitDocs(files[f]) {
			var raw map[string]any
			if err := yaml.Unmarshal([]byte(doc), &raw); err != nil {
				t.Fatalf("%s document %d is not YAML: %v\n%s", f, i, err, doc)
			}
			if raw == nil {
				continue
			}
			u := unstructured.Unstructured{Object: raw}
			if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
				t.Fatalf("%s document %d lacks apiVersion, kind or metadata.name:\n%s", f, i, doc)
			}
			typed, _, err := decoder.Decode([]byte(doc), nil, nil)
			if err != nil {
				t.Fatalf("%s: %s %s does not decode strictly: %v", f, u.GetKind(), u.GetName(), err)
			}
			out = append(out, object{template: f, typed: typed, raw: raw})
		}
	}
	return out, nil
}

// mustRender renders and fails the test on a render error.
func mustRender(t *testing.T, name string, globalOverride, section values.Values) []object {
	t.Helper()
	objs, err := render(t, name, moduleValues(t, name, globalOverride, section))
	if err != nil {
		t.Fatalf("render %s: %v", name, err)
	}
	return objs
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

func splitDocs(s string) []string {
	var out []string
	for _, d := range docSeparator.Split(s, -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			out = append(out, d)
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// find returns the one object of kind and name, failing the test when it
// is missing.
func find[T runtime.Object](t *testing.T, objs []object, kind, name string) T {
	t.Helper()
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			typed, ok := o.typed.(T)
			if !ok {
				t.Fatalf("%s %s decoded as %T", kind, name, o.typed)
			}
			return typed
		}
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.kind()+"/"+o.name())
	}
	t.Fatalf("no %s %s among %v", kind, name, names)
	var zero T
	return zero
}

func has(objs []object, kind, name string) bool {
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return true
		}
	}
	return false
}

// withPassword adds what the password hook sets before Helm runs.
func withPassword(t *testing.T, section string) values.Values {
	t.Helper()
	v := mustYAML(t, section)
	return values.Merge(mustYAML(t, `
grafana:
  adminPassword: Test-Password-0123456789
internal:
  basicAuth:
    htpasswd: admin:$6$saltsaltsaltsalt$4rTjTdHX2c4A/x9r0lS2o9rVlYt0e0QG6R3t3TzjW0qM3dOZ1bT2iS5xR8D4Fh8mWqjY0Kc9gN1o2p3q4r5s6t
`), v)
}

package bundle_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/schema"
	"github.com/seedops/addon-operator/pkg/values"
)

// root is the bundle: the repository root.
func root(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func path(t *testing.T, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{root(t)}, elem...)...)
}

// moduleDir is the directory of the module named name ("ingress-nginx").
func moduleDir(t *testing.T, name string) string {
	t.Helper()
	for _, m := range modules(t) {
		if m.name == name {
			return m.dir
		}
	}
	t.Fatalf("no module %q in modules/", name)
	return ""
}

type bundleModule struct {
	dir  string // absolute path
	name string // "ingress-nginx"
	key  string // "ingressNginx"
}

// modules lists the bundle's module directories in order.
func modules(t *testing.T) []bundleModule {
	t.Helper()
	entries, err := os.ReadDir(path(t, "modules"))
	if err != nil {
		t.Fatal(err)
	}
	var out []bundleModule
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		_, name, err := values.ModuleDir(e.Name())
		if err != nil {
			t.Fatalf("modules/%s: %v", e.Name(), err)
		}
		out = append(out, bundleModule{dir: path(t, "modules", e.Name()), name: name, key: values.ValuesKey(name)})
	}
	if len(out) == 0 {
		t.Fatal("no modules in modules/")
	}
	return out
}

func readYAML(t *testing.T, file string) values.Values {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	v, err := values.FromYAML(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

// mustYAML parses an inline YAML map written by a test.
func mustYAML(t *testing.T, s string) values.Values {
	t.Helper()
	var raw any
	if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
		t.Fatalf("test YAML: %v\n%s", err, s)
	}
	v, err := values.Normalize(raw)
	if err != nil {
		t.Fatalf("test YAML: %v", err)
	}
	return v
}

// rootValues is the bundle's values.yaml.
func rootValues(t *testing.T) values.Values {
	t.Helper()
	return readYAML(t, path(t, "values.yaml"))
}

// schemas loads the schema set of a module directory or of global-hooks/.
func schemas(t *testing.T, dir string) schema.Set {
	t.Helper()
	set, err := schema.LoadDir(dir)
	if err != nil {
		t.Fatalf("load schemas of %s: %v", dir, err)
	}
	if set.Config == nil || set.Values == nil {
		t.Fatalf("%s: want openapi/config-values.yaml and openapi/values.yaml", dir)
	}
	return set
}

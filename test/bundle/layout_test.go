package bundle_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/seedops/addon-operator/pkg/values"
)

// TestExecutableBits: hooks and enabled scripts are 0755 (git keeps the
// bit; the operator skips hook files that are not executable), and files in
// lib/ are sourced, not run.
func TestExecutableBits(t *testing.T) {
	var dirs []string
	dirs = append(dirs, path(t, "global-hooks"))
	for _, m := range modules(t) {
		dirs = append(dirs, filepath.Join(m.dir, "hooks"))
		if info, err := os.Stat(filepath.Join(m.dir, "enabled")); err == nil && info.Mode().Perm() != 0o755 {
			t.Errorf("%s/enabled has mode %v, want 0755", m.name, info.Mode().Perm())
		}
	}
	checked := 0
	for _, dir := range dirs {
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root(t), p)
			parts := strings.Split(filepath.ToSlash(rel), "/")
			info, err := d.Info()
			if err != nil {
				return err
			}
			mode := info.Mode().Perm()
			switch {
			case contains(parts, "openapi"):
				if mode&0o111 != 0 {
					t.Errorf("%s is executable; schemas are not hooks", rel)
				}
			case contains(parts, "lib"):
				if mode&0o111 != 0 {
					t.Errorf("%s is executable; lib/ files are sourced", rel)
				}
			default:
				checked++
				if mode != 0o755 {
					t.Errorf("%s has mode %v, want 0755", rel, mode)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked == 0 {
		t.Fatal("no hooks found")
	}
}

// TestRootValues: the bundle's values.yaml enables every module and holds
// only global and enable keys.
func TestRootValues(t *testing.T) {
	v := rootValues(t)
	want := map[string]bool{"global": true}
	for _, m := range modules(t) {
		key := values.EnabledKey(m.name)
		want[key] = true
		if v[key] != true {
			t.Errorf("%s = %v, want true", key, v[key])
		}
	}
	for k := range v {
		if !want[k] {
			t.Errorf("unexpected key %s in values.yaml", k)
		}
	}
}

// TestModuleLayout: each module has its chart (named after the module),
// values.yaml keyed by its values key, both schemas and a README that
// documents every top-level setting.
func TestModuleLayout(t *testing.T) {
	for _, m := range modules(t) {
		t.Run(m.name, func(t *testing.T) {
			ch, err := loader.Load(m.dir)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Name() != m.name {
				t.Errorf("Chart.yaml name = %q, want %q", ch.Name(), m.name)
			}
			if err := ch.Validate(); err != nil {
				t.Errorf("Chart.yaml: %v", err)
			}
			readme, err := os.ReadFile(filepath.Join(m.dir, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			schemas(t, m.dir)
			cfgFile := readYAML(t, filepath.Join(m.dir, "openapi", "config-values.yaml"))
			props := cfgFile.Section("properties")
			for name := range props {
				if !strings.Contains(string(readme), "`"+name) {
					t.Errorf("README.md does not document the setting %s", name)
				}
			}
		})
	}
}

package module

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/seedops/addon-operator/pkg/module/moduletest"
	"github.com/seedops/addon-operator/pkg/schema"
	"github.com/seedops/addon-operator/pkg/values"
)

const chart = "apiVersion: v2\nname: foo\nversion: 0.1.0\n"

func TestModuleValuesForms(t *testing.T) {
	tests := []struct {
		name        string
		file        *string // module values.yaml; nil for none
		wantValues  values.Values
		wantEnabled *bool
	}{
		{name: "no file", file: nil, wantValues: values.Values{}},
		{name: "empty file", file: ptr("# nothing\n"), wantValues: values.Values{}},
		{
			name:        "keyed with section and enable key",
			file:        ptr("myModule:\n  replicas: 2\nmyModuleEnabled: true\n"),
			wantValues:  values.Values{"replicas": 2.0},
			wantEnabled: ptr(true),
		},
		{
			name:       "keyed with the section only",
			file:       ptr("myModule:\n  replicas: 2\n"),
			wantValues: values.Values{"replicas": 2.0},
		},
		{
			name:        "keyed with the enable key only",
			file:        ptr("myModuleEnabled: false\n"),
			wantValues:  values.Values{},
			wantEnabled: ptr(false),
		},
		{
			name:       "keyed with a null section",
			file:       ptr("myModule:\n"),
			wantValues: values.Values{},
		},
		{
			name:       "keyed with a null enable key",
			file:       ptr("myModule: {a: 1}\nmyModuleEnabled: null\n"),
			wantValues: values.Values{"a": 1.0},
		},
		{
			name:       "unkeyed: the settings themselves",
			file:       ptr("replicas: 2\nimage: {tag: v1}\n"),
			wantValues: values.Values{"replicas": 2.0, "image": map[string]any{"tag": "v1"}},
		},
		{
			name:       "a settings key next to the values key makes it unkeyed",
			file:       ptr("myModule: {a: 1}\nreplicas: 2\n"),
			wantValues: values.Values{"myModule": map[string]any{"a": 1.0}, "replicas": 2.0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := []moduletest.File{moduletest.Text("modules/050-my-module/Chart.yaml", chart)}
			if tt.file != nil {
				files = append(files, moduletest.Text("modules/050-my-module/values.yaml", *tt.file))
			}
			b, err := Load(DefaultPaths(moduletest.Bundle(t, files...)), nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			m := b.Module("my-module")
			if diff := cmp.Diff(tt.wantValues, m.Values); diff != "" {
				t.Errorf("Values (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEnabled, m.EnabledByDefault); diff != "" {
				t.Errorf("EnabledByDefault (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnabledByDefaultPrecedence(t *testing.T) {
	tests := []struct {
		name                     string
		root, modules, ownValues string // file contents; "" for no file
		want                     *bool
	}{
		{name: "nobody sets it", want: nil},
		{name: "module values.yaml", ownValues: "fooEnabled: true\n", want: ptr(true)},
		{name: "bundle values.yaml wins over the module", root: "fooEnabled: false\n", ownValues: "fooEnabled: true\n", want: ptr(false)},
		{name: "modules/values.yaml wins over values.yaml", root: "fooEnabled: false\n", modules: "fooEnabled: true\n", want: ptr(true)},
		{name: "a null in modules/values.yaml does not unset it", root: "fooEnabled: false\n", modules: "fooEnabled: null\n", want: ptr(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := []moduletest.File{moduletest.Text("modules/010-foo/Chart.yaml", chart)}
			for path, content := range map[string]string{"values.yaml": tt.root, "modules/values.yaml": tt.modules, "modules/010-foo/values.yaml": tt.ownValues} {
				if content != "" {
					files = append(files, moduletest.Text(path, content))
				}
			}
			b, err := Load(DefaultPaths(moduletest.Bundle(t, files...)), nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, b.Module("foo").EnabledByDefault); diff != "" {
				t.Errorf("EnabledByDefault (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadRefusesInvalidBundles(t *testing.T) {
	tests := []struct {
		name   string
		files  []moduletest.File
		want   []string // substrings of the message; <root> is the bundle dir
		alsoIs error    // another error the result must wrap, if any
	}{
		{
			name: "bad yaml in a module's values.yaml",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo/values.yaml", "foo:\n  replicas: 1\n    image: x\n"),
			},
			want: []string{"<root>/modules/010-foo/values.yaml: ", "line 3"},
		},
		{
			name:   "a module's values.yaml is a list",
			files:  []moduletest.File{moduletest.Text("modules/010-foo/values.yaml", "- replicas: 1\n")},
			want:   []string{"<root>/modules/010-foo/values.yaml: ", "want a map, got list"},
			alsoIs: values.ErrNotMap,
		},
		{
			name:  "a keyed section that is not a map",
			files: []moduletest.File{moduletest.Text("modules/010-foo/values.yaml", "foo: [1, 2]\n")},
			want:  []string{"<root>/modules/010-foo/values.yaml: foo must be a map of the module's settings, got list"},
		},
		{
			name:  "an enable key that is not a bool",
			files: []moduletest.File{moduletest.Text("modules/010-foo/values.yaml", "foo: {}\nfooEnabled: \"true\"\n")},
			want:  []string{"<root>/modules/010-foo/values.yaml: fooEnabled must be true or false, got string"},
		},
		{
			name: "bad yaml in Chart.yaml",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo/Chart.yaml", "name: foo\nversion: [0.1.0\n"),
			},
			want: []string{"<root>/modules/010-foo/Chart.yaml: want a chart description (a map with name, version, ...)", "line 2"},
		},
		{
			name:   "Chart.yaml is a list",
			files:  []moduletest.File{moduletest.Text("modules/010-foo/Chart.yaml", "- name: foo\n")},
			want:   []string{"<root>/modules/010-foo/Chart.yaml: want a chart description", "got list"},
			alsoIs: values.ErrNotMap,
		},
		{
			name:  "bad yaml in the bundle's values.yaml",
			files: []moduletest.File{moduletest.Text("values.yaml", "global: {a: 1\n")},
			want:  []string{"<root>/values.yaml: ", "line 1"},
		},
		{
			name:   "the bundle's values.yaml is a list",
			files:  []moduletest.File{moduletest.Text("values.yaml", "- global\n")},
			want:   []string{"<root>/values.yaml: ", "want a map, got list"},
			alsoIs: values.ErrNotMap,
		},
		{
			name:  "global that is not a map",
			files: []moduletest.File{moduletest.Text("modules/values.yaml", "global: 5\n")},
			want:  []string{"<root>/modules/values.yaml: global must be a map of global values, got number"},
		},
		{
			name: "a module section in the bundle values that is not a map",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo/Chart.yaml", chart),
				moduletest.Text("values.yaml", "foo: enabled\n"),
			},
			want: []string{"<root>/values.yaml: foo must be a map of the module's settings, got string"},
		},
		{
			name: "an enable key in the bundle values that is not a bool",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo/Chart.yaml", chart),
				moduletest.Text("modules/values.yaml", "fooEnabled: 1\n"),
			},
			want: []string{"<root>/modules/values.yaml: fooEnabled must be true or false, got number"},
		},
		{
			name: "two directories make one module name",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo/Chart.yaml", chart),
				moduletest.Text("modules/020-foo/Chart.yaml", chart),
			},
			want: []string{`<root>/modules/010-foo and <root>/modules/020-foo both make the module name "foo"; rename one of them`},
		},
		{
			name: "two modules make one values key",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo-bar/Chart.yaml", chart),
				moduletest.Text("modules/020-foo--bar/Chart.yaml", chart),
			},
			want: []string{`<root>/modules/010-foo-bar and <root>/modules/020-foo--bar both make the values key "fooBar"`},
		},
		{
			name: "a values key that is another module's enable key",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo/Chart.yaml", chart),
				moduletest.Text("modules/020-foo-enabled/Chart.yaml", chart),
			},
			want: []string{`<root>/modules/010-foo and <root>/modules/020-foo-enabled both make the values key "fooEnabled"`},
		},
		{
			name:  "a reserved module name",
			files: []moduletest.File{moduletest.Text("modules/010-global/Chart.yaml", chart)},
			want:  []string{`<root>/modules/010-global: module name "global" is reserved`},
		},
		{
			name:  "the operator's own section name",
			files: []moduletest.File{moduletest.Text("modules/operator/Chart.yaml", chart)},
			want:  []string{`<root>/modules/operator: module name "operator" is reserved`},
		},
		{
			name: "an invalid module schema",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo/openapi/config-values.yaml", "type: object\nproperties:\n  replicas: {type: int}\n"),
			},
			want:   []string{"module foo: ", "<root>/modules/010-foo/openapi/config-values.yaml:3: properties.replicas.type must be one of"},
			alsoIs: schema.ErrInvalidSchema,
		},
		{
			name: "a secret under list items, which would land in the ConfigMap",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo/openapi/config-values.yaml", "type: object\nproperties:\n  users:\n    type: array\n    items:\n      type: object\n      properties:\n        password: {type: string, x-secret: true}\n"),
			},
			want:   []string{"module foo: ", "<root>/modules/010-foo/openapi/config-values.yaml:8: properties.users.items.properties.password.x-secret is only supported"},
			alsoIs: schema.ErrInvalidSchema,
		},
		{
			name: "an invalid global schema",
			files: []moduletest.File{
				moduletest.Text("global-hooks/openapi/values.yaml", "type: object\nproperties: [discovery]\n"),
			},
			want:   []string{"global hooks: ", "<root>/global-hooks/openapi/values.yaml:2: properties must be a map"},
			alsoIs: schema.ErrInvalidSchema,
		},
		{
			name: "an enabled script that is not executable",
			files: []moduletest.File{
				moduletest.Text("modules/010-foo/enabled", "#!/bin/sh\necho false > $MODULE_ENABLED_RESULT\n"),
			},
			want: []string{"<root>/modules/010-foo/enabled: the enabled script is not executable; chmod +x it or remove it"},
		},
		{
			name:  "an enabled directory",
			files: []moduletest.File{moduletest.Hook("modules/010-foo/enabled/run.sh")},
			want:  []string{"<root>/modules/010-foo/enabled: want an executable file, got a directory"},
		},
		{
			name:  "a hooks file instead of a directory",
			files: []moduletest.File{moduletest.Hook("modules/010-foo/hooks")},
			want:  []string{"<root>/modules/010-foo/hooks: want a directory of hooks, got a file"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := moduletest.Bundle(t, tt.files...)
			b, err := Load(DefaultPaths(root), nil)
			if !errors.Is(err, ErrInvalidBundle) {
				t.Fatalf("Load: got (%v, %v), want an error wrapping ErrInvalidBundle", b, err)
			}
			if tt.alsoIs != nil && !errors.Is(err, tt.alsoIs) {
				t.Errorf("error does not wrap %v: %v", tt.alsoIs, err)
			}
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "<root>", root)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadSkips(t *testing.T) {
	root := moduletest.Bundle(t,
		moduletest.Text("modules/010-foo/Chart.yaml", chart),
		// Hooks: executables only, lib/ openapi/ and hidden entries skipped.
		moduletest.Hook("modules/010-foo/hooks/a.sh"),
		moduletest.Hook("modules/010-foo/hooks/nested/deeper/b.sh"),
		moduletest.Text("modules/010-foo/hooks/c.sh", "#!/bin/sh\n"),
		moduletest.Hook("modules/010-foo/hooks/lib/d.sh"),
		moduletest.Hook("modules/010-foo/hooks/nested/lib/e.sh"),
		moduletest.Hook("modules/010-foo/hooks/openapi/f.sh"),
		moduletest.Hook("modules/010-foo/hooks/.hidden/g.sh"),
		moduletest.Hook("modules/010-foo/hooks/.h.sh"),
		moduletest.Hook("shared/linked.sh"),
		moduletest.Hook("shared/dir/in-linked-dir.sh"),
		// Directories that are not modules.
		moduletest.Text("modules/Upper/Chart.yaml", chart),
		moduletest.Text("modules/snake_case/Chart.yaml", chart),
		moduletest.Text("modules/010-/Chart.yaml", chart),
		moduletest.Text("modules/.hidden/Chart.yaml", chart),
		moduletest.Text("modules/notes.txt", "not a directory"),
		// Global hooks, including under hooks/.
		moduletest.Hook("global-hooks/hooks/a.sh"),
		moduletest.Hook("global-hooks/b.sh"),
		moduletest.Text("global-hooks/README.md", "docs"),
		moduletest.Hook("global-hooks/lib/c.sh"),
		moduletest.Text("global-hooks/openapi/config-values.yaml", "type: object\n"),
	)
	symlink(t, filepath.Join(root, "shared/linked.sh"), filepath.Join(root, "modules/010-foo/hooks/linked.sh"))
	symlink(t, filepath.Join(root, "shared/dir"), filepath.Join(root, "modules/010-foo/hooks/linked-dir"))
	symlink(t, filepath.Join(root, "absent.sh"), filepath.Join(root, "modules/010-foo/hooks/dangling.sh"))

	log, logged := newLogRecorder()
	b, err := Load(DefaultPaths(root), log)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	mod := filepath.Join(root, "modules/010-foo")
	wantHooks := []Hook{
		{Path: filepath.Join(mod, "hooks/a.sh"), Name: "010-foo/hooks/a.sh", Module: "foo"},
		{Path: filepath.Join(mod, "hooks/linked.sh"), Name: "010-foo/hooks/linked.sh", Module: "foo"},
		{Path: filepath.Join(mod, "hooks/nested/deeper/b.sh"), Name: "010-foo/hooks/nested/deeper/b.sh", Module: "foo"},
	}
	if diff := cmp.Diff(wantHooks, b.Module("foo").Hooks); diff != "" {
		t.Errorf("module hooks (-want +got):\n%s", diff)
	}
	wantGlobal := []Hook{
		{Path: filepath.Join(root, "global-hooks/b.sh"), Name: "b.sh"},
		{Path: filepath.Join(root, "global-hooks/hooks/a.sh"), Name: "hooks/a.sh"},
	}
	if diff := cmp.Diff(wantGlobal, b.GlobalHooks); diff != "" {
		t.Errorf("global hooks (-want +got):\n%s", diff)
	}
	if got := len(b.Modules); got != 1 {
		t.Errorf("got %d modules, want only foo", got)
	}

	const skippedDir = "directory skipped: not a module directory (want NNN-name, lower-case letters, digits and dashes)"
	wantLog := []logEntry{
		{Level: slog.LevelWarn, Msg: "hook file skipped: cannot read it", Attrs: map[string]string{
			"module": "foo", "file": filepath.Join(mod, "hooks/dangling.sh"), "error": "stat " + filepath.Join(mod, "hooks/dangling.sh") + ": no such file or directory",
		}},
		{Level: slog.LevelWarn, Msg: "hook file skipped: not executable", Attrs: map[string]string{"module": "foo", "file": filepath.Join(mod, "hooks/c.sh")}},
		{Level: slog.LevelWarn, Msg: "hook file skipped: not executable", Attrs: map[string]string{"file": filepath.Join(root, "global-hooks/README.md")}},
		{Level: slog.LevelWarn, Msg: skippedDir, Attrs: map[string]string{"file": filepath.Join(root, "modules/010-")}},
		{Level: slog.LevelWarn, Msg: skippedDir, Attrs: map[string]string{"file": filepath.Join(root, "modules/Upper")}},
		{Level: slog.LevelWarn, Msg: skippedDir, Attrs: map[string]string{"file": filepath.Join(root, "modules/snake_case")}},
	}
	sortLog := cmpopts.SortSlices(func(a, b logEntry) bool {
		return a.Msg+a.Attrs["file"] < b.Msg+b.Attrs["file"]
	})
	if diff := cmp.Diff(wantLog, logged(), sortLog); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestLoadSeveralModulesDirs(t *testing.T) {
	root := moduletest.Bundle(t,
		moduletest.Text("values.yaml", "global: {a: 1, b: 1, c: 1}\n"),
		moduletest.Text("builtin/values.yaml", "global: {b: 2, c: 2}\nbarEnabled: false\n"),
		moduletest.Text("builtin/020-bar/Chart.yaml", chart),
		moduletest.Hook("builtin/020-bar/hooks/h.sh"),
		moduletest.Text("extra/values.yaml", "global: {c: 3}\nbarEnabled: true\n"),
		moduletest.Text("extra/010-foo/Chart.yaml", chart),
		moduletest.Hook("extra/010-foo/hooks/h.sh"),
	)
	p := DefaultPaths(root)
	p.ModulesDirs = []string{filepath.Join(root, "builtin"), filepath.Join(root, "missing"), filepath.Join(root, "extra")}
	b, err := Load(p, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	wantValues := values.Values{"global": map[string]any{"a": 1.0, "b": 2.0, "c": 3.0}, "barEnabled": true}
	if diff := cmp.Diff(wantValues, b.Values); diff != "" {
		t.Errorf("Values (-want +got):\n%s", diff)
	}
	type summary struct {
		Name     string
		Dir      string
		Hooks    []string
		Enabled  *bool
		HasChart bool
	}
	var got []summary
	for _, m := range b.Modules {
		s := summary{Name: m.Name, Dir: m.Dir, Enabled: m.EnabledByDefault, HasChart: m.HasChart}
		for _, h := range m.Hooks {
			s.Hooks = append(s.Hooks, h.Name)
		}
		got = append(got, s)
	}
	want := []summary{
		{Name: "foo", Dir: filepath.Join(root, "extra/010-foo"), Hooks: []string{"010-foo/hooks/h.sh"}, HasChart: true},
		{Name: "bar", Dir: filepath.Join(root, "builtin/020-bar"), Hooks: []string{"020-bar/hooks/h.sh"}, Enabled: ptr(true), HasChart: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modules (-want +got):\n%s", diff)
	}

	t.Run("the same module in two dirs is refused", func(t *testing.T) {
		moduletest.Write(t, root, moduletest.Text("extra/030-bar/Chart.yaml", chart))
		_, err := Load(p, nil)
		want := filepath.Join(root, "builtin/020-bar") + " and " + filepath.Join(root, "extra/030-bar") + ` both make the module name "bar"`
		if !errors.Is(err, ErrInvalidBundle) || !strings.Contains(err.Error(), want) {
			t.Fatalf("Load: got %v, want ErrInvalidBundle containing %q", err, want)
		}
	})
}

func TestLoadOrdersModules(t *testing.T) {
	root := moduletest.Bundle(t,
		moduletest.Text("modules/100-zeta/Chart.yaml", chart),
		moduletest.Text("modules/020-beta/Chart.yaml", chart),
		moduletest.Text("modules/020-alpha/Chart.yaml", chart),
		moduletest.Text("modules/5-gamma/Chart.yaml", chart),
		moduletest.Text("modules/unordered/Chart.yaml", chart),
	)
	b, err := Load(DefaultPaths(root), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var got []string
	for _, m := range b.Modules {
		got = append(got, m.Name)
	}
	want := []string{"unordered", "gamma", "alpha", "beta", "zeta"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestLoadRelativePathsGiveAbsolutePaths(t *testing.T) {
	root := moduletest.Bundle(t,
		moduletest.Text("modules/010-foo/Chart.yaml", chart),
		moduletest.Hook("modules/010-foo/hooks/h.sh"),
		moduletest.Hook("global-hooks/g.sh"),
	)
	t.Chdir(root)
	b, err := Load(DefaultPaths("."), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, p := range []string{b.Module("foo").Dir, b.Module("foo").Hooks[0].Path, b.GlobalHooks[0].Path} {
		if !filepath.IsAbs(p) {
			t.Errorf("%s is not absolute", p)
		}
	}
}

// A module installs a release when Helm would render objects from its
// chart: templates, or dependencies that are not all libraries, however they
// are shipped. Library charts and modules without a chart install none.
func TestReleases(t *testing.T) {
	const (
		app     = "apiVersion: v2\nname: %s\nversion: 0.1.0\n"
		library = "apiVersion: v2\nname: %s\nversion: 0.1.0\ntype: library\n"
		cm      = "kind: ConfigMap\n"
		helpers = "{{- define \"x\" }}{{ end }}\n"
	)
	chartOf := func(form, name string) string { return fmt.Sprintf(form, name) }
	withDeps := func(name string, deps ...string) string {
		return chartOf(app, name) + "dependencies:\n" + strings.Join(deps, "")
	}
	tests := []struct {
		name  string
		files []moduletest.File
		want  bool
	}{
		{"templates without Chart.yaml", []moduletest.File{
			moduletest.Text("templates/cm.yaml", cm),
		}, true},
		{"library chart", []moduletest.File{
			moduletest.Text("Chart.yaml", chartOf(library, "lib")),
			moduletest.Text("templates/_helpers.tpl", helpers),
		}, false},
		{"hooks only, no chart", []moduletest.File{
			moduletest.Text("values.yaml", "a: 1\n"),
		}, false},
		{"hooks only, charts/ but no Chart.yaml", []moduletest.File{
			moduletest.Text("charts/upstream/Chart.yaml", chartOf(app, "upstream")),
			moduletest.Text("charts/upstream/templates/cm.yaml", cm),
		}, false},
		{"Chart.yaml alone", []moduletest.File{
			moduletest.Text("Chart.yaml", chartOf(app, "m")),
		}, false},
		{"dependency vendored as a directory, aliased to the values key", []moduletest.File{
			moduletest.Text("Chart.yaml", withDeps("m", "- {name: upstream, version: 1.2.3, alias: m}\n")),
			moduletest.Text("charts/upstream/Chart.yaml", chartOf(app, "upstream")),
			moduletest.Text("charts/upstream/templates/cm.yaml", cm),
		}, true},
		{"dependency vendored without being declared", []moduletest.File{
			moduletest.Text("Chart.yaml", chartOf(app, "m")),
			moduletest.Text("charts/upstream/Chart.yaml", chartOf(app, "upstream")),
		}, true},
		{"dependency packaged as .tgz", []moduletest.File{
			moduletest.Text("Chart.yaml", withDeps("m", "- {name: upstream, version: 1.2.3, repository: https://charts.example.com}\n")),
			moduletest.Text("charts/upstream-1.2.3.tgz", packagedChart(t, "upstream", chartOf(app, "upstream"))),
		}, true},
		{"only a packaged library", []moduletest.File{
			moduletest.Text("Chart.yaml", withDeps("m", "- {name: lib, version: 1.0.0, repository: https://charts.example.com}\n")),
			moduletest.Text("charts/lib-1.0.0.tgz", packagedChart(t, "lib", chartOf(library, "lib"))),
		}, false},
		{"only a vendored library", []moduletest.File{
			moduletest.Text("Chart.yaml", chartOf(app, "m")),
			moduletest.Text("charts/lib/Chart.yaml", chartOf(library, "lib")),
		}, false},
		{"file:// dependency", []moduletest.File{
			moduletest.Text("Chart.yaml", withDeps("m", "- {name: upstream, version: 1.2.3, repository: 'file://../../upstream'}\n")),
		}, true},
		{"file:// library", []moduletest.File{
			moduletest.Text("Chart.yaml", withDeps("m", "- {name: lib, version: 1.0.0, repository: 'file://../../lib'}\n")),
		}, false},
		{"remote dependency not vendored (Helm reports it)", []moduletest.File{
			moduletest.Text("Chart.yaml", withDeps("m", "- {name: upstream, version: 1.2.3, repository: https://charts.example.com}\n")),
		}, true},
		{"library with vendored dependencies", []moduletest.File{
			moduletest.Text("Chart.yaml", chartOf(library, "m")),
			moduletest.Text("charts/upstream/Chart.yaml", chartOf(app, "upstream")),
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := []moduletest.File{
				moduletest.Text("upstream/Chart.yaml", chartOf(app, "upstream")),
				moduletest.Text("lib/Chart.yaml", chartOf(library, "lib")),
			}
			for _, f := range tt.files {
				f.Path = "modules/010-m/" + f.Path
				files = append(files, f)
			}
			b, err := Load(DefaultPaths(moduletest.Bundle(t, files...)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Module("m").Releases; got != tt.want {
				t.Errorf("Releases %v, want %v", got, tt.want)
			}
		})
	}
}

// packagedChart is a chart packaged as helm package does: a gzipped tar with
// the chart's files under a directory named after it.
func packagedChart(t *testing.T, name, chartYAML string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for file, content := range map[string]string{"Chart.yaml": chartYAML, "templates/cm.yaml": "kind: ConfigMap\n"} {
		if err := tw.WriteHeader(&tar.Header{Name: name + "/" + file, Mode: 0o644, Size: int64(len(content))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

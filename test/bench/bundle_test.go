package bench

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/values"
)

// The generated bundle loads as the operator loads it: every module
// enabled, with its chart, schemas and the two lifecycle hooks, and the
// watch hook binds ConfigMaps of the namespace it is given.
func TestWriteBundleLoads(t *testing.T) {
	for _, tc := range []struct {
		name        string
		opts        BundleOptions
		modules     int
		orders      int
		definitions int
		watchHooks  int
	}{
		{name: "default", opts: BundleOptions{}, modules: DefaultModules, orders: DefaultModules},
		{name: "same order with the watch hook", opts: BundleOptions{Modules: 3, SameOrder: true, WatchHook: true}, modules: 3, orders: 1, watchHooks: 1},
		{
			name:    "module.yaml with the watch, noise and sync hooks",
			opts:    BundleOptions{Modules: 3, ModuleYAML: true, WatchHook: true, NoiseHook: true, NoiseQueue: "noise", SyncHook: true},
			modules: 3, orders: 3, definitions: 3, watchHooks: 3,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvWatchNamespace, "bench-test")
			dir := filepath.Join(t.TempDir(), "bundle")
			if err := WriteBundle(dir, tc.opts); err != nil {
				t.Fatal(err)
			}
			b, err := module.Load(module.DefaultPaths(dir), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Modules) != tc.modules {
				t.Fatalf("%d modules, want %d", len(b.Modules), tc.modules)
			}
			orders := map[int]bool{}
			definitions := 0
			r := hook.NewRunner(hook.Config{TmpDir: t.TempDir(), PassEnv: []string{EnvWatchNamespace}}, slog.New(slog.DiscardHandler))
			for i, m := range b.Modules {
				orders[m.Order] = true
				if m.Definition != nil {
					definitions++
				}
				if m.Name != ModuleName(i+1) || m.ValuesKey != ModuleKey(i+1) {
					t.Errorf("module %d is %s (%s), want %s (%s)", i+1, m.Name, m.ValuesKey, ModuleName(i+1), ModuleKey(i+1))
				}
				if m.EnabledByDefault == nil || !*m.EnabledByDefault || !m.Releases {
					t.Errorf("module %s: enabled %v, releases %v; want both", m.Name, m.EnabledByDefault, m.Releases)
				}
				var sources []hook.Source
				for _, h := range m.Hooks {
					sources = append(sources, hook.Source{Name: h.Name, Path: h.Path, Module: m.Name, ValuesKey: m.ValuesKey})
				}
				hooks, err := hook.Load(context.Background(), r, sources)
				if err != nil {
					t.Fatal(err)
				}
				if len(hook.Ordered(hooks, hook.OnStartup)) != 1 || len(hook.Ordered(hooks, hook.BeforeHelm)) != 1 {
					t.Errorf("module %s: want one onStartup and one beforeHelm hook", m.Name)
				}
				if err := m.Schema.ValidateValues(m.ValuesKey, m.Values); err != nil {
					t.Errorf("module %s: static values: %v", m.Name, err)
				}
			}
			if len(orders) != tc.orders {
				t.Errorf("%d distinct orders, want %d", len(orders), tc.orders)
			}
			if definitions != tc.definitions {
				t.Errorf("%d modules with module.yaml, want %d", definitions, tc.definitions)
			}
			var sources []hook.Source
			for _, h := range b.GlobalHooks {
				sources = append(sources, hook.Source{Name: h.Name, Path: h.Path, ValuesKey: values.GlobalKey})
			}
			global, err := hook.Load(context.Background(), r, sources)
			if err != nil {
				t.Fatal(err)
			}
			watches := 0
			for _, h := range global {
				watches += len(h.Bindings.Kubernetes)
			}
			if watches != tc.watchHooks {
				t.Errorf("%d kubernetes bindings in global hooks, want %d", watches, tc.watchHooks)
			}
		})
	}
}

package bundle_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/module"
)

// TestOperatorLoadsBundle loads the repository root with the operator's own
// bundle loader: no error, no warning (no skipped directory, no hook file
// that is not executable), the modules in order with their keys, the library
// chart recognised as having no release, every module enabled by default.
func TestOperatorLoadsBundle(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := module.Load(module.DefaultPaths(root(t)), log)
	if err != nil {
		t.Fatalf("load bundle: %v", err)
	}
	if logs.Len() > 0 {
		t.Errorf("loader warnings:\n%s", logs.String())
	}

	type mod struct {
		Name, ValuesKey string
		Order           int
		Releases        bool
		Enabled         bool
		Hooks           []string
	}
	var got []mod
	for _, m := range b.Modules {
		var hooks []string
		for _, h := range m.Hooks {
			hooks = append(hooks, h.Name)
		}
		got = append(got, mod{m.Name, m.ValuesKey, m.Order, m.Releases, m.EnabledByDefault != nil && *m.EnabledByDefault, hooks})
	}
	want := []mod{
		{"probe-templates", "probeTemplates", 0, false, true, nil},
		{"ingress-nginx", "ingressNginx", 10, true, true, nil},
		{"prometheus", "prometheus", 20, true, true, []string{
			"020-prometheus/hooks/generate_grafana_password.sh",
			"020-prometheus/hooks/recreate_statefulset_on_storage_change.sh",
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modules (-want +got):\n%s", diff)
	}

	var globalHooks []string
	for _, h := range b.GlobalHooks {
		globalHooks = append(globalHooks, h.Name)
	}
	wantGlobal := []string{"default_storage_class.sh", "ingress_nodes.sh", "kubernetes_version.sh", "nodes.sh"}
	if diff := cmp.Diff(wantGlobal, globalHooks); diff != "" {
		t.Errorf("global hooks (-want +got):\n%s", diff)
	}
	if b.GlobalSchema.Config == nil || b.GlobalSchema.Values == nil {
		t.Errorf("global schemas not loaded")
	}
	if secrets := b.Module("prometheus").Schema.SecretPaths(); !cmp.Equal(secrets, [][]string{{"grafana", "adminPassword"}}) {
		t.Errorf("prometheus secret paths = %v", secrets)
	}
}

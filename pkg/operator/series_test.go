package operator

import (
	"slices"
	"testing"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/metrics"
	"github.com/seedops/addon-operator/pkg/module"
)

func parsedHook(t *testing.T, module, name, config string) *hook.Hook {
	t.Helper()
	b, err := hook.ParseConfig([]byte(config), module == "")
	if err != nil {
		t.Fatal(err)
	}
	return &hook.Hook{Name: name, Module: module, Bindings: b}
}

// The preset series are the ones the converger's runs count into, so that
// the first failure of a hook moves an existing series from 0.
func TestSeriesOfTheBundle(t *testing.T) {
	mods := loadBundle(t, "010-ingress", "020-dns")
	b := module.Loaded{
		Modules: mods,
		GlobalHooks: []*hook.Hook{
			parsedHook(t, "", "nodes.sh", `{"configVersion":"v1","onStartup":1,"afterAll":1,"kubernetes":[{"name":"nodes","apiVersion":"v1","kind":"Node","queue":"nodes"}]}`),
		},
		ModuleHooks: map[string][]*hook.Hook{
			"ingress": {parsedHook(t, "ingress", "010-ingress/hooks/a.sh", `{"configVersion":"v1","beforeHelm":1,"afterDeleteHelm":1,"schedule":[{"crontab":"* * * * *"}]}`)},
		},
	}
	s := seriesOf(b)
	if want := []string{"ingress", "dns"}; !slices.Equal(s.Modules, want) {
		t.Errorf("modules = %v, want %v", s.Modules, want)
	}
	if want := []string{"main", "nodes"}; !slices.Equal(s.Queues, want) {
		t.Errorf("queues = %v, want %v", s.Queues, want)
	}
	for _, tc := range []struct {
		name string
		want metrics.HookSeries
	}{
		{"global onStartup at start", metrics.HookSeries{Hook: "nodes.sh", Binding: "onStartup", Activation: "OnStartup", Queue: "main"}},
		{"global afterAll after a config change", metrics.HookSeries{Hook: "nodes.sh", Binding: "afterAll", Activation: "ConfigChanged", Queue: "main"}},
		{"kubernetes Synchronization on main", metrics.HookSeries{Hook: "nodes.sh", Binding: "nodes", Activation: "Synchronization", Queue: "main"}},
		{"kubernetes Synchronization on its queue", metrics.HookSeries{Hook: "nodes.sh", Binding: "nodes", Activation: "Synchronization", Queue: "nodes"}},
		{"kubernetes events on its queue", metrics.HookSeries{Hook: "nodes.sh", Binding: "nodes", Activation: "Kubernetes", Queue: "nodes"}},
		{"module hook retried after a failure", metrics.HookSeries{Module: "ingress", Hook: "010-ingress/hooks/a.sh", Binding: "beforeHelm", Activation: "Retry", Queue: "main"}},
		{"module hook at start", metrics.HookSeries{Module: "ingress", Hook: "010-ingress/hooks/a.sh", Binding: "beforeHelm", Activation: "OnStartup", Queue: "main"}},
		{"module delete hook", metrics.HookSeries{Module: "ingress", Hook: "010-ingress/hooks/a.sh", Binding: "afterDeleteHelm", Activation: "ModuleDelete", Queue: "main"}},
		{"schedule with the default binding name", metrics.HookSeries{Module: "ingress", Hook: "010-ingress/hooks/a.sh", Binding: "schedule", Activation: "Schedule", Queue: "main"}},
	} {
		if !slices.Contains(s.Hooks, tc.want) {
			t.Errorf("%s: %+v not preset", tc.name, tc.want)
		}
	}
	if slices.Contains(s.Hooks, metrics.HookSeries{Hook: "nodes.sh", Binding: "onStartup", Activation: "Retry", Queue: "main"}) {
		t.Error("a global onStartup hook is preset with activation Retry, which it never runs with")
	}
	// binding_count, as flant/addon-operator reports it: every binding of
	// the hook's configuration counts one.
	wantBindings := []metrics.HookBindings{
		{Hook: "nodes.sh", Count: 3},
		{Module: "ingress", Hook: "010-ingress/hooks/a.sh", Count: 3},
	}
	if !slices.Equal(s.Bindings, wantBindings) {
		t.Errorf("bindings = %+v, want %+v", s.Bindings, wantBindings)
	}
}

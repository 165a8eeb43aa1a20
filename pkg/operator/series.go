package operator

import (
	"cmp"
	"slices"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/metrics"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
)

// The activation label values the converger runs hooks with (see
// pkg/converge: tasks.go, lifecycle.go), by what runs the hook.
var (
	// A module run: on start, after a config change, a retry after a
	// failure, healing of missing objects, a values change of a global or
	// a module hook.
	moduleRunActivations = []string{"OnStartup", "ConfigChanged", "Retry", "Healing", "GlobalValuesChanged", "ModuleValuesChanged"}
	// A converge of all modules (global beforeAll and afterAll).
	convergeActivations = []string{"OnStartup", "ConfigChanged", "GlobalValuesChanged"}
)

const (
	activationStartup         = "OnStartup"
	activationDelete          = "ModuleDelete"
	activationSynchronization = "Synchronization"
	activationKubernetes      = "Kubernetes"
	activationSchedule        = "Schedule"
)

// seriesOf lists the label values of b's modules, hooks and queues, for
// metrics.Preset: every binding of every hook with each activation and
// queue the converger can run it with.
func seriesOf(b module.Loaded) metrics.Series {
	s := metrics.Series{
		HelmOperations: []string{helm.OpRender, helm.OpInstall, helm.OpUpgrade, helm.OpUninstall},
		Queues:         []string{queue.MainQueue},
	}
	for _, m := range b.Modules.Modules {
		s.Modules = append(s.Modules, m.Name)
	}
	hooks := slices.Clone(b.GlobalHooks)
	for _, m := range b.Modules.Modules {
		hooks = append(hooks, b.ModuleHooks[m.Name]...)
	}
	for _, h := range hooks {
		add := func(binding, queue string, activations ...string) {
			for _, a := range activations {
				s.Hooks = append(s.Hooks, metrics.HookSeries{Module: h.Module, Hook: h.Name, Binding: binding, Activation: a, Queue: queue})
			}
			if !slices.Contains(s.Queues, queue) {
				s.Queues = append(s.Queues, queue)
			}
		}
		for _, bt := range h.Bindings.Types() {
			switch {
			case bt == hook.OnStartup && h.Global():
				add(string(bt), queue.MainQueue, activationStartup)
			case bt == hook.BeforeAll, bt == hook.AfterAll:
				add(string(bt), queue.MainQueue, convergeActivations...)
			case bt == hook.OnStartup, bt == hook.BeforeHelm, bt == hook.AfterHelm:
				add(string(bt), queue.MainQueue, moduleRunActivations...)
			case bt == hook.BeforeDeleteHelm, bt == hook.AfterDeleteHelm:
				add(string(bt), queue.MainQueue, activationDelete)
			}
		}
		for _, k := range h.Bindings.Kubernetes {
			q := cmp.Or(k.Queue, queue.MainQueue)
			add(k.BindingName, queue.MainQueue, activationSynchronization)
			if q != queue.MainQueue {
				add(k.BindingName, q, activationSynchronization)
			}
			add(k.BindingName, q, activationKubernetes)
		}
		for _, sc := range h.Bindings.Schedules {
			add(sc.BindingName, cmp.Or(sc.Queue, queue.MainQueue), activationSchedule)
		}
	}
	return s
}

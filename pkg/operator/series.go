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

// seriesOf lists the label values of b's modules, hooks and queues, for
// metrics.Preset: every binding of every hook with each activation and
// queue the converger can run it with, and each hook's number of bindings
// (each lifecycle, kubernetes and schedule binding counts one).
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
		n := len(h.Bindings.Orders) + len(h.Bindings.Kubernetes) + len(h.Bindings.Schedules)
		s.Bindings = append(s.Bindings, metrics.HookBindings{Module: h.Module, Hook: h.Name, Count: n})
		add := func(binding, queue string, activations ...module.Activation) {
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
				add(string(bt), queue.MainQueue, module.ActivationOnStartup)
			case bt == hook.BeforeAll, bt == hook.AfterAll:
				add(string(bt), queue.MainQueue, module.ConvergeActivations()...)
			case bt == hook.OnStartup, bt == hook.BeforeHelm, bt == hook.AfterHelm:
				add(string(bt), queue.MainQueue, module.ModuleRunActivations()...)
			case bt == hook.BeforeDeleteHelm, bt == hook.AfterDeleteHelm:
				add(string(bt), queue.MainQueue, module.ActivationModuleDelete)
			}
		}
		for _, k := range h.Bindings.Kubernetes {
			q := cmp.Or(k.Queue, queue.MainQueue)
			add(k.BindingName, queue.MainQueue, module.ActivationSynchronization)
			if q != queue.MainQueue {
				add(k.BindingName, q, module.ActivationSynchronization)
			}
			add(k.BindingName, q, module.ActivationKubernetes)
		}
		for _, sc := range h.Bindings.Schedules {
			add(sc.BindingName, cmp.Or(sc.Queue, queue.MainQueue), module.ActivationSchedule)
		}
	}
	return s
}

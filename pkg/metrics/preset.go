package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seedops/addon-operator/pkg/module"
)

// Series are the label values of the bundle in force, for Preset.
type Series struct {
	// Modules are the module names.
	Modules []string
	// HelmOperations are the operations (helm.Op*) whose error counter
	// every module gets.
	HelmOperations []string
	// Queues are the queue names hooks run on.
	Queues []string
	// Hooks are the label values the hooks run with: one item per hook,
	// binding, activation and queue the converger uses.
	Hooks []HookSeries
	// Bindings are the number of bindings of each hook, for binding_count.
	Bindings []HookBindings
}

// HookBindings is the number of bindings in one hook's configuration.
type HookBindings struct {
	// Module is "" for a global hook.
	Module, Hook string
	Count        int
}

// HookSeries are the label values of one hook's runs.
type HookSeries struct {
	// Module is "" for a global hook.
	Module, Hook, Binding string
	Activation            module.Activation
	Queue                 string
}

// Preset makes the series of s exist, so that alerts and dashboards see 0
// rather than no data before the first failure: per module the run, delete
// and Helm error counters and the redeployed and absent resources
// counters; per hook the error, allowed error and success counters; per
// queue the length gauge. A series that exists keeps its value. It sets
// binding_count for each hook of s. The series of modules and global hooks
// that the previous Preset had and s has not are removed (the bundle in
// force no longer has them). Histograms and the hooks' max RSS gauges are
// not preset: their series appear with the first observation.
//
// Call it on start and after every bundle swap; safe for concurrent use.
func (m *Metrics) Preset(s Series) {
	m.mu.Lock()
	defer m.mu.Unlock()
	modules := make(map[string]bool, len(s.Modules))
	for _, name := range s.Modules {
		modules[name] = true
		m.moduleRunErrors.WithLabelValues(name)
		m.moduleDeleteErrors.WithLabelValues(name)
		m.redeployed.WithLabelValues(name)
		m.absentResources.WithLabelValues(name)
		for _, op := range s.HelmOperations {
			m.helmErrors.WithLabelValues(name, op)
		}
	}
	globalHooks := map[string]bool{}
	for _, h := range s.Hooks {
		if h.Module == "" {
			globalHooks[h.Hook] = true
			l := prometheus.Labels{"hook": h.Hook, "binding": h.Binding, "activation": string(h.Activation), "queue": h.Queue}
			m.globalHookErrors.With(l)
			m.globalHookAllowedErrors.With(l)
			m.globalHookSuccess.With(l)
			continue
		}
		l := prometheus.Labels{"module": h.Module, "hook": h.Hook, "binding": h.Binding, "activation": string(h.Activation), "queue": h.Queue}
		m.moduleHookErrors.With(l)
		m.moduleHookAllowedErrors.With(l)
		m.moduleHookSuccess.With(l)
	}
	for _, q := range s.Queues {
		m.queueLength.WithLabelValues(q)
	}
	for name := range m.presetModules {
		if !modules[name] {
			m.forgetModule(name)
		}
	}
	for name := range m.presetGlobalHooks {
		if !globalHooks[name] {
			l := prometheus.Labels{"hook": name}
			for _, v := range []*prometheus.CounterVec{m.globalHookErrors, m.globalHookAllowedErrors, m.globalHookSuccess} {
				v.DeletePartialMatch(l)
			}
			for _, v := range []*prometheus.HistogramVec{m.globalHookSeconds, m.globalHookUserCPU, m.globalHookSysCPU} {
				v.DeletePartialMatch(l)
			}
			m.globalHookMaxRSS.DeletePartialMatch(l)
			m.kube.forget(prometheus.Labels{"module": "", "hook": name})
		}
	}
	m.presetBindings(s.Bindings)
	m.presetModules, m.presetGlobalHooks = modules, globalHooks
}

// presetBindings sets binding_count to bindings and drops the hooks of the
// previous Preset that bindings lacks. Called with mu held.
func (m *Metrics) presetBindings(bindings []HookBindings) {
	bound := make(map[[2]string]bool, len(bindings))
	for _, b := range bindings {
		bound[[2]string{b.Module, b.Hook}] = true
		m.bindingCount.WithLabelValues(b.Module, b.Hook).Set(float64(b.Count))
	}
	for k := range m.bound {
		if !bound[k] {
			m.bindingCount.DeleteLabelValues(k[0], k[1])
		}
	}
	m.bound = bound
}

// forgetModule removes the series labelled with the module, except
// module_phase (ModulePhases keeps that one).
func (m *Metrics) forgetModule(name string) {
	l := prometheus.Labels{"module": name}
	for _, v := range []*prometheus.CounterVec{
		m.moduleHookErrors, m.moduleHookAllowedErrors, m.moduleHookSuccess,
		m.moduleRunErrors, m.moduleDeleteErrors, m.helmErrors, m.redeployed, m.absentResources, m.taskWait,
	} {
		v.DeletePartialMatch(l)
	}
	for _, v := range []*prometheus.HistogramVec{
		m.moduleHookSeconds, m.moduleHookUserCPU, m.moduleHookSysCPU,
		m.moduleRunSeconds, m.helmSeconds, m.moduleHelmSeconds,
	} {
		v.DeletePartialMatch(l)
	}
	m.moduleHookMaxRSS.DeletePartialMatch(l)
	m.kube.forget(l)
}

// ModulePhases sets module_phase: for each module of phases, 1 for its
// phase and 0 for the other phases. Modules of the previous call that
// phases lacks lose their series. Safe for concurrent use.
func (m *Metrics) ModulePhases(phases map[string]module.Phase) {
	all := module.Phases()
	m.mu.Lock()
	defer m.mu.Unlock()
	for module, phase := range phases {
		for _, p := range all {
			if p != phase {
				m.modulePhase.WithLabelValues(module, string(p)).Set(0)
			}
		}
		m.modulePhase.WithLabelValues(module, string(phase)).Set(1)
	}
	for module := range m.phased {
		if _, ok := phases[module]; !ok {
			m.modulePhase.DeletePartialMatch(prometheus.Labels{"module": module})
		}
	}
	m.phased = make(map[string]bool, len(phases))
	for module := range phases {
		m.phased[module] = true
	}
}

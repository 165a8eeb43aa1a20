package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/module"
)

const prefix = "addon_operator_"

var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// cpuBuckets are for the CPU time of a hook run, usually far below its wall
// time; fewer than durationBuckets, as every hook binding has two such
// histograms.
var cpuBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60}

// Metrics are the collectors. All methods are safe for concurrent use.
type Metrics struct {
	globalHookSeconds       *prometheus.HistogramVec
	globalHookErrors        *prometheus.CounterVec
	globalHookAllowedErrors *prometheus.CounterVec
	globalHookSuccess       *prometheus.CounterVec
	globalHookUserCPU       *prometheus.HistogramVec
	globalHookSysCPU        *prometheus.HistogramVec
	globalHookMaxRSS        *prometheus.GaugeVec
	moduleHookSeconds       *prometheus.HistogramVec
	moduleHookErrors        *prometheus.CounterVec
	moduleHookAllowedErrors *prometheus.CounterVec
	moduleHookSuccess       *prometheus.CounterVec
	moduleHookUserCPU       *prometheus.HistogramVec
	moduleHookSysCPU        *prometheus.HistogramVec
	moduleHookMaxRSS        *prometheus.GaugeVec
	moduleRunSeconds        *prometheus.HistogramVec
	moduleRunErrors         *prometheus.CounterVec
	moduleDeleteErrors      *prometheus.CounterVec
	discoverErrors          prometheus.Counter
	helmSeconds             *prometheus.HistogramVec
	helmErrors              *prometheus.CounterVec
	redeployed              *prometheus.CounterVec
	absentResources         *prometheus.CounterVec
	convergenceSeconds      *prometheus.CounterVec
	convergenceTotal        *prometheus.CounterVec
	queueLength             *prometheus.GaugeVec
	taskWait                *prometheus.CounterVec
	configErrors            prometheus.Counter
	configUnknownKeys       prometheus.Gauge
	liveTicks               prometheus.Counter
	releaseInfo             *prometheus.GaugeVec
	updateLastCheck         prometheus.Gauge
	updateErrors            *prometheus.CounterVec
	pendingReleases         prometheus.Gauge
	modulePhase             *prometheus.GaugeVec
	driftChecks             *prometheus.CounterVec
	driftCorrections        *prometheus.CounterVec
	moduleHelmSeconds       *prometheus.HistogramVec
	bindingCount            *prometheus.GaugeVec
	kube                    kubeCollectors

	clock clock.WithTicker // ticks live_ticks

	mu sync.Mutex
	// preset: the modules and global hooks of the last Preset.
	presetModules, presetGlobalHooks map[string]bool
	// phased: the modules of the last ModulePhases.
	phased map[string]bool
	// bound: the module and hook of each binding_count series of the last
	// Preset.
	bound map[[2]string]bool
}

// liveTick is how often Start increases live_ticks.
const liveTick = 10 * time.Second

// Option configures Metrics.
type Option func(*Metrics)

// WithClock replaces the real clock (k8s.io/utils/clock.RealClock), which
// ticks live_ticks. A nil c keeps the real clock.
func WithClock(c clock.WithTicker) Option {
	return func(m *Metrics) {
		if c != nil {
			m.clock = c
		}
	}
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer, opts ...Option) *Metrics {
	hookLabels := []string{"hook", "binding", "activation", "queue"}
	moduleHookLabels := append([]string{"module"}, hookLabels...)
	m := &Metrics{
		globalHookSeconds:       histogram("global_hook_run_seconds", "Global hook run time.", hookLabels),
		globalHookErrors:        counter("global_hook_run_errors_total", "Global hook runs that failed (allowFailure off).", hookLabels),
		globalHookAllowedErrors: counter("global_hook_run_allowed_errors_total", "Global hook runs that failed with allowFailure.", hookLabels),
		globalHookSuccess:       counter("global_hook_run_success_total", "Global hook runs that succeeded.", hookLabels),
		globalHookUserCPU:       cpuHistogram("global_hook_run_user_cpu_seconds", "User CPU time of a global hook run (its process and the children it waited for).", hookLabels),
		globalHookSysCPU:        cpuHistogram("global_hook_run_sys_cpu_seconds", "System CPU time of a global hook run (its process and the children it waited for).", hookLabels),
		globalHookMaxRSS:        gauge("global_hook_run_max_rss_bytes", "Largest resident set size of one process of the last global hook run (the hook or a child it waited for), in bytes.", hookLabels),
		moduleHookSeconds:       histogram("module_hook_run_seconds", "Module hook run time.", moduleHookLabels),
		moduleHookErrors:        counter("module_hook_run_errors_total", "Module hook runs that failed (allowFailure off).", moduleHookLabels),
		moduleHookAllowedErrors: counter("module_hook_run_allowed_errors_total", "Module hook runs that failed with allowFailure.", moduleHookLabels),
		moduleHookSuccess:       counter("module_hook_run_success_total", "Module hook runs that succeeded.", moduleHookLabels),
		moduleHookUserCPU:       cpuHistogram("module_hook_run_user_cpu_seconds", "User CPU time of a module hook run (its process and the children it waited for).", moduleHookLabels),
		moduleHookSysCPU:        cpuHistogram("module_hook_run_sys_cpu_seconds", "System CPU time of a module hook run (its process and the children it waited for).", moduleHookLabels),
		moduleHookMaxRSS:        gauge("module_hook_run_max_rss_bytes", "Largest resident set size of one process of the last module hook run (the hook or a child it waited for), in bytes.", moduleHookLabels),
		moduleRunSeconds:        histogram("module_run_seconds", "Module run time (hooks and Helm).", []string{"module", "activation"}),
		moduleRunErrors:         counter("module_run_errors_total", "Module runs that failed.", []string{"module"}),
		moduleDeleteErrors:      counter("module_delete_errors_total", "Module deletions that failed.", []string{"module"}),
		discoverErrors:          prometheus.NewCounter(prometheus.CounterOpts{Name: prefix + "module_discover_errors_total", Help: "Errors while discovering enabled modules."}),
		helmSeconds:             histogram("helm_operation_seconds", "Helm operation time.", []string{"module", "operation"}),
		helmErrors:              counter("helm_operation_errors_total", "Helm operations that failed.", []string{"module", "operation"}),
		redeployed:              counter("modules_helm_release_redeployed_total", "Releases re-applied because objects were missing.", []string{"module"}),
		absentResources:         counter("modules_absent_resources_total", "Objects of a module's release found missing from the cluster (and re-created).", []string{"module"}),
		convergenceSeconds:      counter("convergence_seconds", "Seconds spent converging all modules.", []string{"activation"}),
		convergenceTotal:        counter("convergence_total", "Converges of all modules.", []string{"activation"}),
		queueLength:             gauge("tasks_queue_length", "Tasks waiting or running in a queue.", []string{"queue"}),
		taskWait:                counter("task_wait_in_queue_seconds_total", "Seconds tasks waited in their queue.", []string{"module", "hook", "binding", "queue"}),
		configErrors:            prometheus.NewCounter(prometheus.CounterOpts{Name: prefix + "config_values_errors_total", Help: "Rejected ConfigMap edits."}),
		configUnknownKeys:       prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + "config_unknown_keys", Help: "ConfigMap and Secret keys of no module of the running bundle, ignored (see the ConfigUnknownKeys Event)."}),
		liveTicks:               prometheus.NewCounter(prometheus.CounterOpts{Name: prefix + "live_ticks", Help: "Increases every 10 seconds while the operator lives."}),
		releaseInfo:             gauge("release_info", "1 for the bundle version in force and the release channel followed (version built-in: the built-in bundle).", []string{"version", "channel"}),
		updateLastCheck:         prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + "update_last_check_timestamp_seconds", Help: "When the release channel was last checked successfully (Unix seconds)."}),
		updateErrors:            counter("update_errors_total", "Update problems by stage: check (source, channel), download, load (invalid bundle), converge (rolled back), restore.", []string{"stage"}),
		pendingReleases:         prometheus.NewGauge(prometheus.GaugeOpts{Name: prefix + "pending_releases", Help: "Releases in phase Pending (waiting for a window, an approval, or held)."}),
		modulePhase:             gauge("module_phase", "1 for the phase of a module's Module object (Ready, Reconciling, Error, Disabled), 0 for the other phases.", []string{"module", "phase"}),
		driftChecks:             counter("drift_checks_total", "Objects of a module's release compared with the deployed revision (server-side apply dry runs) after a change.", []string{"module"}),
		driftCorrections:        counter("drift_corrections_total", "Objects of a module's release re-applied because they had drifted from the deployed revision.", []string{"module", "kind"}),
		moduleHelmSeconds:       histogram("module_helm_seconds", "Time of the Helm step of a module run (values check, CRDs, render, install or upgrade).", []string{"module", "activation"}),
		bindingCount:            gauge("binding_count", "Bindings in a hook's configuration (module is empty for a global hook).", []string{"module", "hook"}),
		kube:                    newKubeCollectors(),
		clock:                   clock.RealClock{},
	}
	for _, o := range opts {
		o(m)
	}
	// flant/addon-operator's code emits these facts under names other than
	// its documentation's (which are ours); existing alerts use either.
	const peerHelp = "Same series as %s (the name flant/addon-operator's code emits)."
	peer := func(c prometheus.Collector, ours, theirs string, labels []string) prometheus.Collector {
		return withPeerName(c, theirs, fmt.Sprintf(peerHelp, prefix+ours), labels)
	}
	reg.MustRegister(
		m.globalHookSeconds,
		peer(m.globalHookErrors, "global_hook_run_errors_total", "global_hook_errors_total", hookLabels),
		peer(m.globalHookAllowedErrors, "global_hook_run_allowed_errors_total", "global_hook_allowed_errors_total", hookLabels),
		peer(m.globalHookSuccess, "global_hook_run_success_total", "global_hook_success_total", hookLabels),
		m.globalHookUserCPU, m.globalHookSysCPU, m.globalHookMaxRSS,
		m.moduleHookSeconds,
		peer(m.moduleHookErrors, "module_hook_run_errors_total", "module_hook_errors_total", moduleHookLabels),
		peer(m.moduleHookAllowedErrors, "module_hook_run_allowed_errors_total", "module_hook_allowed_errors_total", moduleHookLabels),
		peer(m.moduleHookSuccess, "module_hook_run_success_total", "module_hook_success_total", moduleHookLabels),
		m.moduleHookUserCPU, m.moduleHookSysCPU, m.moduleHookMaxRSS,
		m.moduleRunSeconds, m.moduleRunErrors, m.moduleDeleteErrors,
		peer(m.discoverErrors, "module_discover_errors_total", "modules_discover_errors_total", nil),
		m.helmSeconds, m.helmErrors, m.redeployed, m.absentResources,
		m.convergenceSeconds, m.convergenceTotal, m.queueLength, m.taskWait,
		m.configErrors, m.configUnknownKeys, m.liveTicks,
		m.releaseInfo, m.updateLastCheck, m.updateErrors, m.pendingReleases,
		m.modulePhase, newModuleInfo(m.modulePhase), m.driftChecks, m.driftCorrections,
		m.moduleHelmSeconds, m.bindingCount,
	)
	reg.MustRegister(m.kube.collectors()...)
	return m
}

func histogram(name, help string, labels []string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: prefix + name, Help: help, Buckets: durationBuckets}, labels)
}

func cpuHistogram(name, help string, labels []string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: prefix + name, Help: help, Buckets: cpuBuckets}, labels)
}

func counter(name, help string, labels []string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: prefix + name, Help: help}, labels)
}

func gauge(name, help string, labels []string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: prefix + name, Help: help}, labels)
}

// Start increases live_ticks every 10 seconds until ctx is done.
func (m *Metrics) Start(ctx context.Context) error {
	t := m.clock.NewTicker(liveTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			m.liveTicks.Inc()
		}
	}
}

// HookRun records one hook run. module is "" for a global hook.
func (m *Metrics) HookRun(module, hook, binding string, activation module.Activation, queue string, d time.Duration, err error, allowFailure bool) {
	if module == "" {
		l := prometheus.Labels{"hook": hook, "binding": binding, "activation": string(activation), "queue": queue}
		m.globalHookSeconds.With(l).Observe(d.Seconds())
		switch {
		case err == nil:
			m.globalHookSuccess.With(l).Inc()
		case allowFailure:
			m.globalHookAllowedErrors.With(l).Inc()
		default:
			m.globalHookErrors.With(l).Inc()
		}
		return
	}
	l := prometheus.Labels{"module": module, "hook": hook, "binding": binding, "activation": string(activation), "queue": queue}
	m.moduleHookSeconds.With(l).Observe(d.Seconds())
	switch {
	case err == nil:
		m.moduleHookSuccess.With(l).Inc()
	case allowFailure:
		m.moduleHookAllowedErrors.With(l).Inc()
	default:
		m.moduleHookErrors.With(l).Inc()
	}
}

// HookUsage records the resource usage of one hook run: the user and system
// CPU time and the largest resident set size in bytes (which replaces the
// previous run's). The label values are those of HookRun; module is "" for
// a global hook.
func (m *Metrics) HookUsage(module, hook, binding string, activation module.Activation, queue string, user, system time.Duration, maxRSS int64) {
	l := prometheus.Labels{"hook": hook, "binding": binding, "activation": string(activation), "queue": queue}
	userCPU, sysCPU, rss := m.globalHookUserCPU, m.globalHookSysCPU, m.globalHookMaxRSS
	if module != "" {
		l["module"] = module
		userCPU, sysCPU, rss = m.moduleHookUserCPU, m.moduleHookSysCPU, m.moduleHookMaxRSS
	}
	userCPU.With(l).Observe(user.Seconds())
	sysCPU.With(l).Observe(system.Seconds())
	rss.With(l).Set(float64(maxRSS))
}

// ModuleRun records one module run.
func (m *Metrics) ModuleRun(module string, activation module.Activation, d time.Duration, err error) {
	m.moduleRunSeconds.WithLabelValues(module, string(activation)).Observe(d.Seconds())
	if err != nil {
		m.moduleRunErrors.WithLabelValues(module).Inc()
	} else {
		m.moduleRunErrors.WithLabelValues(module).Add(0)
	}
}

// ModuleDelete records a module deletion.
func (m *Metrics) ModuleDelete(module string, err error) {
	c := m.moduleDeleteErrors.WithLabelValues(module)
	if err != nil {
		c.Inc()
	}
}

// ModuleHelm records the Helm step of a module run: everything between
// its beforeHelm and afterHelm hooks.
func (m *Metrics) ModuleHelm(module string, activation module.Activation, d time.Duration) {
	m.moduleHelmSeconds.WithLabelValues(module, string(activation)).Observe(d.Seconds())
}

// DiscoverError counts a failed module discovery.
func (m *Metrics) DiscoverError() { m.discoverErrors.Inc() }

// HelmOperation records one Helm operation on a module's release.
func (m *Metrics) HelmOperation(module, op string, seconds float64, err error) {
	m.helmSeconds.WithLabelValues(module, op).Observe(seconds)
	c := m.helmErrors.WithLabelValues(module, op)
	if err != nil {
		c.Inc()
	}
}

// Redeployed counts a release re-applied because absent of its objects
// were missing from the cluster, and those objects.
func (m *Metrics) Redeployed(module string, absent int) {
	m.redeployed.WithLabelValues(module).Inc()
	m.absentResources.WithLabelValues(module).Add(float64(absent))
}

// Convergence records a converge of all modules.
func (m *Metrics) Convergence(activation module.Activation, d time.Duration) {
	m.convergenceSeconds.WithLabelValues(string(activation)).Add(d.Seconds())
	m.convergenceTotal.WithLabelValues(string(activation)).Inc()
}

// QueueLength sets a queue's length.
func (m *Metrics) QueueLength(queue string, n int) {
	m.queueLength.WithLabelValues(queue).Set(float64(n))
}

// TaskWait adds the time a task waited in its queue.
func (m *Metrics) TaskWait(queue, module, hook, binding string, d time.Duration) {
	m.taskWait.WithLabelValues(module, hook, binding, queue).Add(d.Seconds())
}

// ConfigError counts a rejected configuration.
func (m *Metrics) ConfigError() { m.configErrors.Inc() }

// ConfigUnknownKeys sets the number of ignored keys of the configuration in
// force.
func (m *Metrics) ConfigUnknownKeys(n int) { m.configUnknownKeys.Set(float64(n)) }

// ReleaseInfo sets the bundle version in force and the channel followed,
// replacing the previous pair.
func (m *Metrics) ReleaseInfo(version, channel string) {
	m.releaseInfo.Reset()
	m.releaseInfo.WithLabelValues(version, channel).Set(1)
}

// UpdateChecked records a successful check of the release channel.
func (m *Metrics) UpdateChecked(at time.Time) {
	m.updateLastCheck.Set(float64(at.UnixNano()) / 1e9)
}

// UpdateError counts an update problem at a stage.
func (m *Metrics) UpdateError(stage string) { m.updateErrors.WithLabelValues(stage).Inc() }

// PendingReleases sets the number of Pending releases.
func (m *Metrics) PendingReleases(n int) { m.pendingReleases.Set(float64(n)) }

// DriftChecked counts a drift check of an object of a module's release.
func (m *Metrics) DriftChecked(module string) { m.driftChecks.WithLabelValues(module).Inc() }

// DriftCorrected counts a corrected object of a module's release.
func (m *Metrics) DriftCorrected(module, kind string) {
	m.driftCorrections.WithLabelValues(module, kind).Inc()
}

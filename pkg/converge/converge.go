package converge

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/deckhouse/deckhouse/pkg/metrics-storage/operation"
	sdkpkg "github.com/deckhouse/module-sdk/pkg"
	bctx "github.com/flant/shell-operator/pkg/hook/binding_context"
	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
	"github.com/seedops/addon-operator/pkg/values"
)

// ConfigStore is the accepted configuration and the way to change it.
type ConfigStore interface {
	Current() configstore.Snapshot
	Patch(ctx context.Context, p values.Patch) error
	Events() <-chan configstore.Event
}

// Releases deploys modules' charts.
type Releases interface {
	Deploy(ctx context.Context, name, chartDir string, vals values.Values) (helm.Result, error)
	Uninstall(ctx context.Context, name string) error
	List(ctx context.Context) ([]helm.Release, error)
	ApplyCRDs(ctx context.Context, files []string) error
}

// Engine delivers hooks' kubernetes and schedule events and applies what
// hooks ask of the cluster (*hook.Engine).
type Engine interface {
	Enable(h *hook.Hook) ([]hook.Event, error)
	Unlock(h *hook.Hook)
	Disable(h *hook.Hook)
	Snapshots(h *hook.Hook, contexts []bctx.BindingContext) []bctx.BindingContext
	LifecycleContexts(h *hook.Hook, b hook.Binding) []bctx.BindingContext
	ApplyKubernetes(ops []sdkpkg.PatchCollectorOperation) error
	ApplyMetrics(h *hook.Hook, ops []operation.MetricOperation) error
}

// Runner runs hook processes (*hook.Runner).
type Runner interface {
	Run(ctx context.Context, h *hook.Hook, in hook.Input) (hook.Output, error)
	Enabled(ctx context.Context, module, path string, vals, configVals values.Values) (bool, string, error)
}

// Tracker watches released objects for healing (*helm.Monitor).
type Tracker interface {
	Track(release string, objects []helm.ObjectRef)
	Untrack(release string)
}

// Queues take tasks (*queue.Set).
type Queues interface {
	Add(queue string, t *queue.Task)
	AddFirst(queue string, tasks ...*queue.Task)
}

// Observer records metrics (*metrics.Metrics).
type Observer interface {
	HookRun(module, hook, binding string, activation module.Activation, queue string, d time.Duration, err error, allowFailure bool)
	HookUsage(module, hook, binding string, activation module.Activation, queue string, user, system time.Duration, maxRSS int64)
	ModuleRun(module string, activation module.Activation, d time.Duration, err error)
	ModuleHelm(module string, activation module.Activation, d time.Duration)
	ModuleDelete(module string, err error)
	DiscoverError()
	Convergence(activation module.Activation, d time.Duration)
	ConfigError()
	Redeployed(module string, absent int)
}

// Deps are the converger's collaborators.
type Deps struct {
	Config   ConfigStore
	Releases Releases
	Tracker  Tracker
	Engine   Engine
	Runner   Runner
	Queues   Queues
	Observer Observer
	// Backoff gives the wait before re-running a module after its n-th
	// consecutive failure (queue.Config.Backoff).
	Backoff func(n int) time.Duration
	// Clock times runs and schedules module retries; nil is the real
	// clock. AfterFunc callbacks take the converger's lock, so a fake clock
	// is stepped while the converger is idle.
	Clock clock.WithDelayedExecution
	Log   *slog.Logger
	// ModuleParallelism is how many module runs a converge of all modules
	// runs at once (Config.ModuleParallelism); below 1, the number of CPUs.
	ModuleParallelism int
	// KubeVersion returns the cluster's Kubernetes version as the API
	// server reports it ("v1.34.4"), for modules' requirements.kubernetes.
	// Discovery calls it once per pass, only when a module of the bundle
	// has such a requirement; nil makes those passes fail.
	KubeVersion func(ctx context.Context) (string, error)
}

// Converger keeps modules converged. Its methods are safe for concurrent
// use; the work itself runs in tasks on the queues.
type Converger struct {
	deps  Deps
	log   *slog.Logger
	clock clock.WithDelayedExecution
	// limits holds the hooks' execution rate limits (settings).
	limits hookLimits
	// parallelism bounds the module runs of one pass (runEnabled).
	parallelism int

	mu            sync.Mutex
	bundle        module.Loaded
	modules       []*moduleState // in module order
	starts        []*moduleState // in the order of starts (startOrder), that of discovery
	byName        map[string]*moduleState
	globalDynamic values.Patch
	enabledNames  []string
	// globalHooksState is how far the global hooks started.
	globalHooksState hookState
	// firstDone: Ready is closed. Not a hookState: Ready closes once per
	// process, a bundle swap does not reopen it.
	firstDone bool
	ready     chan struct{}
	changes   chan struct{}
	global    module.GlobalStatus
	// subs are the channels of Subscribe; guarded by subsMu, not mu,
	// because notify is called with mu held.
	subsMu sync.Mutex
	subs   map[chan struct{}]struct{}
	// generation counts bundle swaps; tasks made for an older bundle do
	// nothing when they run.
	generation int
}

// New returns a converger for the bundle.
func New(b module.Loaded, deps Deps) *Converger {
	c := &Converger{deps: deps, log: deps.Log, clock: deps.Clock, ready: make(chan struct{}), changes: make(chan struct{}, 1), global: module.GlobalStatus{Phase: module.PhaseReconciling}}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	c.parallelism = deps.ModuleParallelism
	if c.parallelism < 1 {
		c.parallelism = runtime.NumCPU()
	}
	c.setBundle(b)
	return c
}

func (c *Converger) setBundle(b module.Loaded) {
	c.bundle = b
	c.modules = nil
	c.byName = map[string]*moduleState{}
	for _, m := range b.Modules.Modules {
		ms := &moduleState{mod: m, hooks: b.ModuleHooks[m.Name], status: module.Status{Module: m.Name, Phase: module.PhaseDisabled, Readiness: m.Readiness}}
		c.modules = append(c.modules, ms)
		c.byName[m.Name] = ms
	}
	c.starts = startOrder(b.Modules, c.modules)
}

// Ready is closed once the first converge of all modules has finished
// (every enabled module attempted once, whatever the outcome).
func (c *Converger) Ready() <-chan struct{} { return c.ready }

// Start queues the startup work once a configuration is accepted (rejected
// configurations before it are reported and otherwise ignored), then turns
// configuration events and healing signals into tasks until ctx is done.
// healing delivers release names whose objects went missing; hookEvents
// the hook engine's events (*hook.Engine.Events), each queued as a run of
// its hook, also before a configuration is accepted. Start handles one
// event at a time and never blocks on a send.
func (c *Converger) Start(ctx context.Context, healing <-chan string, hookEvents <-chan hook.Event) error {
	events := c.deps.Config.Events()
	// The first accepted event carries the configuration the startup runs
	// with.
	for accepted := false; !accepted; {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			c.reportConfig(ev)
			accepted = ev.Err == nil
		case ev := <-hookEvents:
			c.onHookEvent(ev)
		}
	}
	c.deps.Queues.Add(queue.MainQueue, c.startupTask())
	for {
		select {
		case <-ctx.Done():
			c.stopRetries()
			return nil
		case ev := <-events:
			c.reportConfig(ev)
			c.onConfig(ev.Change)
		case name := <-healing:
			if c.moduleRunning(name) {
				c.log.Info("release objects missing, re-applying", "module", name)
				c.deps.Queues.Add(queue.MainQueue, c.moduleRunTask(name, module.ActivationHealing))
			}
		case ev := <-hookEvents:
			c.onHookEvent(ev)
		}
	}
}

func (c *Converger) reportConfig(ev configstore.Event) {
	if ev.Err != nil {
		c.deps.Observer.ConfigError()
		c.log.Error("configuration rejected, the last accepted configuration stays in force", "error", ev.Err)
	}
}

// onConfig queues the work a configuration change calls for.
func (c *Converger) onConfig(ch configstore.Change) {
	if ch.Empty() {
		return
	}
	if ch.Initial || ch.Global || len(ch.Enabled) > 0 {
		c.deps.Queues.Add(queue.MainQueue, c.convergeTask(module.ActivationConfigChanged))
		return
	}
	for _, key := range ch.Modules {
		m := c.bundleModules().ModuleByValuesKey(key)
		if m != nil && c.moduleRunning(m.Name) {
			c.deps.Queues.Add(queue.MainQueue, c.moduleRunTask(m.Name, module.ActivationConfigChanged))
		}
	}
}

func (c *Converger) bundleModules() *module.Bundle {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bundle.Modules
}

// moduleRunning reports whether the module is enabled by the last discovery.
func (c *Converger) moduleRunning(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := c.byName[name]
	return ms != nil && ms.enabled
}

func (c *Converger) stopRetries() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ms := range c.modules {
		ms.stopRetry()
	}
}

// Changes signals (coalesced) that some module's status changed; read
// Statuses after a signal. The channel is never closed.
func (c *Converger) Changes() <-chan struct{} { return c.changes }

// Subscribe returns a channel signalled like Changes, for one more reader:
// after every change of a module's or the global steps' status (coalesced:
// one pending signal), and cancel, which stops the signals. The channel is
// never closed. Safe for concurrent use.
func (c *Converger) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	if c.subs == nil {
		c.subs = map[chan struct{}]struct{}{}
	}
	c.subs[ch] = struct{}{}
	return ch, func() {
		c.subsMu.Lock()
		defer c.subsMu.Unlock()
		delete(c.subs, ch)
	}
}

func (c *Converger) notify() {
	signal(c.changes)
	c.subsMu.Lock()
	defer c.subsMu.Unlock()
	for ch := range c.subs {
		signal(ch)
	}
}

// signal sends on ch unless a signal is pending already.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// GlobalStatus returns the state of the global steps.
func (c *Converger) GlobalStatus() module.GlobalStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.global
}

// current reports whether gen is the bundle generation in force.
func (c *Converger) current(gen int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return gen == c.generation
}

func (c *Converger) gen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generation
}

// globalStep runs a global step and records its outcome.
func (c *Converger) globalStep(step func() error) error {
	err := step()
	c.mu.Lock()
	switch {
	case err == nil:
		c.global = module.GlobalStatus{Phase: module.PhaseReady}
	case errors.Is(err, context.Canceled):
	default:
		if c.global.Phase != module.PhaseError {
			c.global.Since = c.clock.Now()
		}
		c.global.Phase, c.global.Message = module.PhaseError, err.Error()
		c.global.Failures++
	}
	c.mu.Unlock()
	c.notify()
	return err
}

// Statuses returns every module's status, in module order.
func (c *Converger) Statuses() []module.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]module.Status, 0, len(c.modules))
	for _, ms := range c.modules {
		out = append(out, ms.status)
	}
	return out
}

// markReady closes Ready after the first full converge.
func (c *Converger) markReady() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.firstDone {
		c.firstDone = true
		close(c.ready)
	}
}

// errGlobal marks failures of global steps in task errors.
var errGlobal = errors.New("global step failed")

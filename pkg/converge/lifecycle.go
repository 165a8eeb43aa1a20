package converge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bctx "github.com/flant/shell-operator/pkg/hook/binding_context"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
	"github.com/seedops/addon-operator/pkg/values"
)

// adoptReleases takes over the releases found in the cluster at start:
// those of known modules are tracked for healing and deleted when their
// module is disabled; the operator's releases of modules the bundle no
// longer has are uninstalled.
func (c *Converger) adoptReleases(ctx context.Context, log *slog.Logger) error {
	releases, err := c.deps.Releases.List(ctx)
	if err != nil {
		return fmt.Errorf("%w: list releases: %w", errGlobal, err)
	}
	for _, r := range releases {
		c.mu.Lock()
		ms := c.byName[r.Name]
		if ms != nil {
			ms.deployed = true
			ms.status.Revision = r.Revision
			ms.status.Objects = r.Objects
		}
		c.mu.Unlock()
		switch {
		case ms != nil:
			c.deps.Tracker.Track(r.Name, r.Objects)
		case r.Checksum != "":
			log.Info("uninstalling the release of a module the bundle no longer has", "release", r.Name)
			if err := c.deps.Releases.Uninstall(ctx, r.Name); err != nil {
				return fmt.Errorf("%w: uninstall %s: %w", errGlobal, r.Name, err)
			}
		}
	}
	return nil
}

// startGlobal runs global onStartup hooks once, then enables the global
// hooks' kubernetes and schedule bindings, running each Synchronization
// (inline when the binding waits for it, on its queue otherwise).
func (c *Converger) startGlobal(ctx context.Context, log *slog.Logger) error {
	c.mu.Lock()
	started, startupDone := c.globalStarted, c.globalStartupDone
	hooks := c.bundle.GlobalHooks
	c.mu.Unlock()
	if started {
		return nil
	}
	if !startupDone {
		// onStartup runs once, not again when a later step is retried.
		for _, h := range hook.Ordered(hooks, hook.OnStartup) {
			if _, err := c.runLifecycleHook(ctx, h, hook.OnStartup, "OnStartup", log); err != nil {
				return fmt.Errorf("%w: %w", errGlobal, err)
			}
		}
		c.mu.Lock()
		c.globalStartupDone = true
		c.mu.Unlock()
	}
	if _, err := c.enableBindings(ctx, hooks, log); err != nil {
		return fmt.Errorf("%w: %w", errGlobal, err)
	}
	c.mu.Lock()
	c.globalStarted = true
	c.mu.Unlock()
	return nil
}

// enableBindings starts the hooks' monitors and schedules and runs their
// Synchronization. It reports whether a hook changed values.
func (c *Converger) enableBindings(ctx context.Context, hooks []*hook.Hook, log *slog.Logger) (bool, error) {
	changed := false
	for _, h := range hooks {
		if len(h.Bindings.Kubernetes) == 0 && len(h.Bindings.Schedules) == 0 {
			continue
		}
		syncs, err := c.deps.Engine.Enable(h)
		if err != nil {
			return changed, err
		}
		for _, ev := range syncs {
			if !ev.Execute {
				continue
			}
			if !ev.Wait {
				c.deps.Queues.Add(ev.Queue, c.hookTask(ev, "Synchronization"))
				continue
			}
			ch, err := c.runHook(ctx, h, ev.Binding, c.deps.Engine.Snapshots(h, ev.Contexts), "Synchronization", queue.MainQueue, ev.AllowFailure, log)
			if err != nil {
				return changed, err
			}
			changed = changed || ch
		}
		c.deps.Engine.Unlock(h)
	}
	return changed, nil
}

// convergeAll runs beforeAll, discovery, deletes of disabled modules, runs
// of enabled ones (same order in parallel) and afterAll.
func (c *Converger) convergeAll(ctx context.Context, activation string, log *slog.Logger) error {
	start := time.Now()
	c.mu.Lock()
	globalHooks := c.bundle.GlobalHooks
	c.mu.Unlock()
	for _, h := range hook.Ordered(globalHooks, hook.BeforeAll) {
		if _, err := c.runLifecycleHook(ctx, h, hook.BeforeAll, activation, log); err != nil {
			return fmt.Errorf("%w: %w", errGlobal, err)
		}
	}
	enable, disable := c.discover(ctx, log)
	for i := len(disable) - 1; i >= 0; i-- {
		c.deleteModule(ctx, disable[i], log)
	}
	for _, group := range byOrder(enable) {
		var wg sync.WaitGroup
		for _, ms := range group {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.runModule(ctx, ms, activation, log.With("module", ms.mod.Name))
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	for _, h := range hook.Ordered(globalHooks, hook.AfterAll) {
		changed, err := c.runLifecycleHook(ctx, h, hook.AfterAll, activation, log)
		if err != nil {
			return fmt.Errorf("%w: %w", errGlobal, err)
		}
		if changed {
			// Global values moved after the modules ran: converge again.
			c.deps.Queues.Add(queue.MainQueue, c.convergeTask("GlobalValuesChanged"))
		}
	}
	c.deps.Observer.Convergence(activation, time.Since(start))
	log.Info("modules converged", "activation", activation, "duration", time.Since(start).String())
	c.markReady()
	return nil
}

// discover decides which modules are enabled: the `<key>Enabled` flag of
// the configuration, else the bundle's default, then the module's
// `enabled` script (which sees the modules enabled before it in
// global.enabledModules). A failing script keeps the module's previous
// state and marks it in Error. It returns the modules to run and the
// disabled ones to delete, in module order.
func (c *Converger) discover(ctx context.Context, log *slog.Logger) (enable, disable []*moduleState) {
	cfg := c.deps.Config.Current()
	c.mu.Lock()
	mods := append([]*moduleState(nil), c.modules...)
	c.mu.Unlock()
	var names []string
	for _, ms := range mods {
		on := false
		if v, ok := cfg.Enabled[ms.mod.ValuesKey]; ok {
			on = v
		} else if ms.mod.EnabledByDefault != nil {
			on = *ms.mod.EnabledByDefault
		}
		byConfig := on
		var byScript *bool
		reason, scriptErr := "", ""
		if on && ms.mod.EnabledScript != "" {
			c.mu.Lock()
			c.enabledNames = names
			vals, cfgVals := c.hookValues(&hook.Hook{Module: ms.mod.Name, ValuesKey: ms.mod.ValuesKey})
			prev := ms.enabled
			c.mu.Unlock()
			var err error
			on, reason, err = c.deps.Runner.Enabled(ctx, ms.mod.Name, ms.mod.EnabledScript, vals, cfgVals)
			if err == nil {
				byScript = &on
			} else {
				c.deps.Observer.DiscoverError()
				log.Error("enabled script failed, keeping the module's state", "module", ms.mod.Name, "error", err)
				on = prev
				scriptErr = "enabled script: " + err.Error()
				c.mu.Lock()
				ms.status.Phase, ms.status.FailedStep, ms.status.Message = module.PhaseError, module.StepEnabled, scriptErr
				c.mu.Unlock()
			}
		}
		c.mu.Lock()
		ms.status.Enabled, ms.status.EnabledReason = on, reason
		ms.status.EnabledByConfig, ms.status.EnabledByScript = byConfig, byScript
		if on != ms.enabled {
			// A pending retry is for the state the module leaves.
			ms.stopRetry()
		}
		ms.enabled = on
		ms.enabledErr = scriptErr
		switch {
		case on:
			names = append(names, ms.mod.Name)
			enable = append(enable, ms)
		case ms.bindings || ms.deployed:
			disable = append(disable, ms)
		default:
			ms.settle(module.PhaseDisabled)
		}
		c.mu.Unlock()
	}
	c.notify()
	c.mu.Lock()
	c.enabledNames = names
	c.mu.Unlock()
	return enable, disable
}

// runModule runs one enabled module and records the outcome; a failure
// schedules a re-run after a backoff.
//
// A module waiting for its retry is left alone by events that do not come
// from an admin (values changed by hooks, Kubernetes events, healing): the
// retry picks up the latest values anyway, and a failing module is not
// hammered. A configuration change or the retry itself runs it at once.
func (c *Converger) runModule(ctx context.Context, ms *moduleState, activation string, log *slog.Logger) {
	c.mu.Lock()
	if ms.retry != nil {
		if activation != activationConfigChanged && activation != activationRetry {
			c.mu.Unlock()
			log.Debug("module waits for its retry", "module", ms.mod.Name, "activation", activation)
			return
		}
		ms.stopRetry()
	}
	ms.status.Phase = module.PhaseReconciling
	c.mu.Unlock()
	c.notify()

	start := time.Now()
	rev, err := c.doRunModule(ctx, ms, activation, log)
	c.deps.Observer.ModuleRun(ms.mod.Name, activation, time.Since(start), err)
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.notify()
	ms.status.LastRun = time.Now()
	if err == nil {
		ms.failures = 0
		ms.status.Failures = 0
		ms.settle(module.PhaseReady)
		if rev > 0 {
			ms.status.Revision = rev
		}
		return
	}
	ms.failures++
	step := module.StepHooks
	var se *stepError
	if errors.As(err, &se) {
		step = se.step
	}
	ms.status.Phase, ms.status.FailedStep, ms.status.Message, ms.status.Failures = module.PhaseError, step, err.Error(), ms.failures
	wait := c.deps.Backoff(ms.failures)
	log.Error("module run failed, retrying later", "module", ms.mod.Name, "error", err, "attempt", ms.failures, "retry_in", wait.String())
	name := ms.mod.Name
	c.retryAfter(ms, wait, func() *queue.Task { return c.moduleRunTask(name, activationRetry) })
}

// retryAfter queues the task next makes after wait, as the module's pending
// retry: the retry is cleared when it fires, and a retry stopped (or
// replaced) before it is queued queues nothing. Caller holds c.mu.
func (c *Converger) retryAfter(ms *moduleState, wait time.Duration, next func() *queue.Task) {
	ms.stopRetry()
	var t *time.Timer
	t = time.AfterFunc(wait, func() {
		c.mu.Lock()
		current := ms.retry == t
		if current {
			ms.retry = nil
		}
		c.mu.Unlock()
		if current {
			c.deps.Queues.Add(queue.MainQueue, next())
		}
	})
	ms.retry = t
}

func (c *Converger) doRunModule(ctx context.Context, ms *moduleState, activation string, log *slog.Logger) (int, error) {
	c.mu.Lock()
	bindings, started := ms.bindings, ms.started
	c.mu.Unlock()
	if !bindings {
		// onStartup runs once, not again when enabling bindings is retried.
		for _, h := range hook.Ordered(ms.hooks, hook.OnStartup) {
			if _, err := c.runLifecycleHook(ctx, h, hook.OnStartup, activation, log); err != nil {
				return 0, err
			}
		}
		// Set before enableBindings: Synchronization queued on other
		// queues may run before it returns.
		c.mu.Lock()
		ms.bindings = true
		c.mu.Unlock()
	}
	if !started {
		if _, err := c.enableBindings(ctx, ms.hooks, log); err != nil {
			return 0, err
		}
		c.mu.Lock()
		ms.started = true
		c.mu.Unlock()
	}
	for _, h := range hook.Ordered(ms.hooks, hook.BeforeHelm) {
		if _, err := c.runLifecycleHook(ctx, h, hook.BeforeHelm, activation, log); err != nil {
			return 0, err
		}
	}
	rev, err := c.deploy(ctx, ms, log)
	if err != nil {
		return 0, &stepError{step: module.StepHelm, err: err}
	}
	changed := false
	for _, h := range hook.Ordered(ms.hooks, hook.AfterHelm) {
		ch, err := c.runLifecycleHook(ctx, h, hook.AfterHelm, activation, log)
		if err != nil {
			return rev, err
		}
		changed = changed || ch
	}
	if changed {
		// The release lacks what afterHelm hooks set: deploy again.
		c.deps.Queues.Add(queue.MainQueue, c.moduleRunTask(ms.mod.Name, "ModuleValuesChanged"))
	}
	return rev, nil
}

// deploy applies the module's CRDs and its chart with the current values.
func (c *Converger) deploy(ctx context.Context, ms *moduleState, log *slog.Logger) (int, error) {
	if !ms.mod.Releases {
		return 0, nil
	}
	c.mu.Lock()
	cfg := c.deps.Config.Current()
	vals := values.Values{
		values.GlobalKey: map[string]any(c.globalValues(cfg)),
		ms.mod.ValuesKey: map[string]any(c.moduleValues(ms, cfg)),
	}
	c.mu.Unlock()
	if err := ms.mod.Schema.ValidateValues(ms.mod.ValuesKey, vals.Section(ms.mod.ValuesKey)); err != nil {
		return 0, fmt.Errorf("module values: %w", err)
	}
	if len(ms.mod.CRDs) > 0 {
		if err := c.deps.Releases.ApplyCRDs(ctx, ms.mod.CRDs); err != nil {
			return 0, err
		}
	}
	res, err := c.deps.Releases.Deploy(ctx, ms.mod.Name, ms.mod.Dir, vals)
	if err != nil {
		return 0, err
	}
	c.deps.Tracker.Track(ms.mod.Name, res.Objects)
	c.mu.Lock()
	ms.deployed = true
	ms.status.Objects = res.Objects
	c.mu.Unlock()
	if res.Reason == helm.ReasonResourcesMissing {
		c.deps.Observer.Redeployed(ms.mod.Name, len(res.Missing))
	}
	log.Info("helm release", "release", ms.mod.Name, "revision", res.Revision, "result", string(res.Reason))
	return res.Revision, nil
}

// deleteModule runs beforeDeleteHelm, uninstalls and runs afterDeleteHelm,
// then stops the module's bindings. A failure is retried after a backoff.
func (c *Converger) deleteModule(ctx context.Context, ms *moduleState, log *slog.Logger) {
	log = log.With("module", ms.mod.Name)
	err := c.doDeleteModule(ctx, ms, log)
	c.deps.Observer.ModuleDelete(ms.mod.Name, err)
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.notify()
	if err == nil {
		ms.failures = 0
		ms.status.Failures, ms.status.Revision, ms.status.Objects = 0, 0, nil
		ms.settle(module.PhaseDisabled)
		return
	}
	ms.failures++
	ms.status.Phase, ms.status.FailedStep, ms.status.Message, ms.status.Failures = module.PhaseError, module.StepDelete, "delete: "+err.Error(), ms.failures
	wait := c.deps.Backoff(ms.failures)
	log.Error("module delete failed, retrying later", "error", err, "attempt", ms.failures, "retry_in", wait.String())
	name := ms.mod.Name
	c.retryAfter(ms, wait, func() *queue.Task { return c.moduleDeleteTask(name) })
}

func (c *Converger) doDeleteModule(ctx context.Context, ms *moduleState, log *slog.Logger) error {
	for _, h := range hook.Ordered(ms.hooks, hook.BeforeDeleteHelm) {
		if _, err := c.runLifecycleHook(ctx, h, hook.BeforeDeleteHelm, "ModuleDelete", log); err != nil {
			return err
		}
	}
	c.deps.Tracker.Untrack(ms.mod.Name)
	if err := c.deps.Releases.Uninstall(ctx, ms.mod.Name); err != nil {
		return err
	}
	c.mu.Lock()
	ms.deployed = false
	c.mu.Unlock()
	for _, h := range hook.Ordered(ms.hooks, hook.AfterDeleteHelm) {
		if _, err := c.runLifecycleHook(ctx, h, hook.AfterDeleteHelm, "ModuleDelete", log); err != nil {
			return err
		}
	}
	for _, h := range ms.hooks {
		c.deps.Engine.Disable(h)
	}
	c.mu.Lock()
	ms.bindings, ms.started = false, false
	ms.dynamic = nil
	c.mu.Unlock()
	return nil
}

func (c *Converger) runLifecycleHook(ctx context.Context, h *hook.Hook, b hook.Binding, activation string, log *slog.Logger) (bool, error) {
	return c.runHook(ctx, h, string(b), c.deps.Engine.LifecycleContexts(h, b), activation, queue.MainQueue, false, log)
}

// runEventHook runs a hook for a kubernetes or schedule event and queues
// what a values change calls for.
func (c *Converger) runEventHook(ctx context.Context, ev hook.Event, activation string, log *slog.Logger) error {
	h := ev.Hook
	if !h.Global() {
		c.mu.Lock()
		ms := c.byName[h.Module]
		running := ms != nil && ms.enabled && ms.bindings
		c.mu.Unlock()
		if !running {
			return nil
		}
	}
	changed, err := c.runHook(ctx, h, ev.Binding, c.deps.Engine.Snapshots(h, ev.Contexts), activation, ev.Queue, ev.AllowFailure, log)
	if err != nil {
		return err
	}
	if changed {
		if h.Global() {
			c.deps.Queues.Add(queue.MainQueue, c.convergeTask("GlobalValuesChanged"))
		} else {
			c.deps.Queues.Add(queue.MainQueue, c.moduleRunTask(h.Module, "ModuleValuesChanged"))
		}
	}
	return nil
}

// runHook runs a hook once and applies its results, in an order that never
// half-applies: the values patch is checked first, then config values are
// saved, values committed, Kubernetes operations executed and metrics
// recorded. It reports whether the hook changed values. With allowFailure a
// failed run is logged and reported as success.
func (c *Converger) runHook(ctx context.Context, h *hook.Hook, binding string, contexts []bctx.BindingContext, activation, queueName string, allowFailure bool, log *slog.Logger) (bool, error) {
	log = log.With("hook", h.Name, "binding", binding)
	data, err := hook.ContextsJSON(contexts)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	vals, cfgVals := c.hookValues(h)
	c.mu.Unlock()
	start := time.Now()
	out, err := c.deps.Runner.Run(ctx, h, hook.Input{Binding: binding, Contexts: data, Values: vals, ConfigValues: cfgVals})
	changed := false
	if err == nil {
		changed, err = c.applyOutput(ctx, h, out)
	}
	d := time.Since(start)
	c.deps.Observer.HookRun(h.Module, h.Name, binding, activation, queueName, d, err, allowFailure)
	if err != nil {
		if allowFailure && ctx.Err() == nil {
			log.Warn("hook failed, failure allowed", "error", err, "duration", d.String())
			return false, nil
		}
		return false, fmt.Errorf("hook %s (%s): %w", h.Name, binding, err)
	}
	log.Debug("hook finished", "duration", d.String())
	return changed, nil
}

// applyOutput applies a hook's results in an order that never half-applies:
// the values patch is checked first (paths and values schema), then config
// values are saved, Kubernetes operations executed, metrics recorded, and
// the values patch committed last. It reports whether values changed.
func (c *Converger) applyOutput(ctx context.Context, h *hook.Hook, out hook.Output) (bool, error) {
	c.mu.Lock()
	_, err := c.checkValuesPatch(h, out.ValuesPatch)
	c.mu.Unlock()
	if err != nil {
		return false, fmt.Errorf("values patch: %w", err)
	}
	if len(out.ConfigValuesPatch) > 0 {
		if err := c.deps.Config.Patch(ctx, out.ConfigValuesPatch); err != nil {
			return false, fmt.Errorf("config values patch: %w", err)
		}
	}
	if err := c.deps.Engine.ApplyKubernetes(out.KubernetesOperations); err != nil {
		return false, err
	}
	if err := c.deps.Engine.ApplyMetrics(h, out.Metrics); err != nil {
		c.log.Warn("hook metrics rejected", "hook", h.Name, "error", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	changed, err := c.checkValuesPatch(h, out.ValuesPatch)
	if err != nil {
		return false, fmt.Errorf("values patch: %w", err)
	}
	c.commitValuesPatch(h, out.ValuesPatch)
	return changed, nil
}

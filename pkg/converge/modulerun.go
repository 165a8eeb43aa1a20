package converge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/helm"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
)

// runModule runs one enabled module and records the outcome; a failure
// schedules a re-run after a backoff.
//
// A module waiting for its retry is left alone by events that do not come
// from an admin (values changed by hooks, Kubernetes events, healing): the
// retry picks up the latest values anyway, and a failing module is not
// hammered. A configuration change or the retry itself runs it at once.
func (c *Converger) runModule(ctx context.Context, ms *moduleState, activation module.Activation, log *slog.Logger) {
	c.mu.Lock()
	if ms.retry != nil {
		if activation != module.ActivationConfigChanged && activation != module.ActivationRetry {
			c.mu.Unlock()
			log.Debug("module waits for its retry", "module", ms.mod.Name, "activation", string(activation))
			return
		}
		ms.stopRetry()
	}
	ms.status.Phase = module.PhaseReconciling
	c.mu.Unlock()
	c.notify()

	start := c.clock.Now()
	rev, err := c.doRunModule(ctx, ms, activation, log)
	c.deps.Observer.ModuleRun(ms.mod.Name, activation, c.clock.Since(start), err)
	if ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.notify()
	ms.status.LastRun = c.clock.Now()
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
	c.retryAfter(ms, wait, func() *queue.Task { return c.moduleRunTask(name, module.ActivationRetry) })
}

// retryAfter queues the task next makes after wait, as the module's pending
// retry: the retry is cleared when it fires, and a retry stopped (or
// replaced) before it is queued queues nothing. Caller holds c.mu.
func (c *Converger) retryAfter(ms *moduleState, wait time.Duration, next func() *queue.Task) {
	ms.stopRetry()
	var t clock.Timer
	t = c.clock.AfterFunc(wait, func() {
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

func (c *Converger) doRunModule(ctx context.Context, ms *moduleState, activation module.Activation, log *slog.Logger) (int, error) {
	c.mu.Lock()
	state := ms.hooksState
	c.mu.Unlock()
	if !state.started() {
		// onStartup runs once, not again when enabling bindings is retried.
		for _, h := range hook.Ordered(ms.hooks, hook.OnStartup) {
			if _, err := c.runLifecycleHook(ctx, h, hook.OnStartup, activation, log); err != nil {
				return 0, err
			}
		}
		// Set before enableBindings: Synchronization queued on other
		// queues may run before it returns.
		c.mu.Lock()
		ms.hooksState.startupDone()
		c.mu.Unlock()
	}
	if !state.running() {
		if _, err := c.enableBindings(ctx, ms.hooks, log); err != nil {
			return 0, err
		}
		c.mu.Lock()
		ms.hooksState.markRunning()
		c.mu.Unlock()
	}
	for _, h := range hook.Ordered(ms.hooks, hook.BeforeHelm) {
		if _, err := c.runLifecycleHook(ctx, h, hook.BeforeHelm, activation, log); err != nil {
			return 0, err
		}
	}
	helmStart := c.clock.Now()
	rev, err := c.deploy(ctx, ms, log)
	if ms.mod.Releases {
		c.deps.Observer.ModuleHelm(ms.mod.Name, activation, c.clock.Since(helmStart))
	}
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
		c.deps.Queues.Add(queue.MainQueue, c.moduleRunTask(ms.mod.Name, module.ActivationModuleValuesChanged))
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
	global, section := c.globalValues(cfg), c.moduleValues(ms, cfg)
	c.mu.Unlock()
	if err := ms.mod.Schema.ValidateValues(ms.mod.ValuesKey, section); err != nil {
		return 0, fmt.Errorf("module values: %w", err)
	}
	vals := releaseValues(ms.mod, global, section)
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

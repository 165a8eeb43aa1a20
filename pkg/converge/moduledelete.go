package converge

import (
	"context"
	"log/slog"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
)

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
		if _, err := c.runLifecycleHook(ctx, h, hook.BeforeDeleteHelm, module.ActivationModuleDelete, log); err != nil {
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
		if _, err := c.runLifecycleHook(ctx, h, hook.AfterDeleteHelm, module.ActivationModuleDelete, log); err != nil {
			return err
		}
	}
	for _, h := range ms.hooks {
		c.deps.Engine.Disable(h)
	}
	c.mu.Lock()
	ms.hooksState.stop()
	ms.dynamic = nil
	c.mu.Unlock()
	return nil
}

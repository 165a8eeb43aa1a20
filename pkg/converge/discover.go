package converge

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
)

// convergeAll runs beforeAll, discovery, deletes of disabled modules, runs
// of enabled ones (same order in parallel) and afterAll.
func (c *Converger) convergeAll(ctx context.Context, activation module.Activation, log *slog.Logger) error {
	start := c.clock.Now()
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
			c.deps.Queues.Add(queue.MainQueue, c.convergeTask(module.ActivationGlobalValuesChanged))
		}
	}
	c.deps.Observer.Convergence(activation, c.clock.Since(start))
	log.Info("modules converged", "activation", string(activation), "duration", c.clock.Since(start).String())
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
		case ms.hasLeftovers():
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

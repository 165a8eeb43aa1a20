package converge

import (
	"context"
	"fmt"
	"log/slog"

	bctx "github.com/flant/shell-operator/pkg/hook/binding_context"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
)

func (c *Converger) runLifecycleHook(ctx context.Context, h *hook.Hook, b hook.Binding, activation module.Activation, log *slog.Logger) (bool, error) {
	return c.runHook(ctx, h, string(b), c.deps.Engine.LifecycleContexts(h, b), activation, queue.MainQueue, false, log)
}

// runEventHook runs a hook for a kubernetes or schedule event and queues
// what a values change calls for.
func (c *Converger) runEventHook(ctx context.Context, ev hook.Event, activation module.Activation, log *slog.Logger) error {
	h := ev.Hook
	if !h.Global() {
		c.mu.Lock()
		ms := c.byName[h.Module]
		running := ms != nil && ms.enabled && ms.hooksState.started()
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
			c.deps.Queues.Add(queue.MainQueue, c.convergeTask(module.ActivationGlobalValuesChanged))
		} else {
			c.deps.Queues.Add(queue.MainQueue, c.moduleRunTask(h.Module, module.ActivationModuleValuesChanged))
		}
	}
	return nil
}

// runHook runs a hook once and applies its results, in an order that never
// half-applies: the values patch is checked first, then config values are
// saved, values committed, Kubernetes operations executed and metrics
// recorded. It reports whether the hook changed values. With allowFailure a
// failed run is logged and reported as success. The Observer gets every
// run, and the resource usage of every run whose process was waited for,
// failed or not.
func (c *Converger) runHook(ctx context.Context, h *hook.Hook, binding string, contexts []bctx.BindingContext, activation module.Activation, queueName string, allowFailure bool, log *slog.Logger) (bool, error) {
	log = log.With("hook", h.Name, "binding", binding)
	data, err := hook.ContextsJSON(contexts)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	vals, cfgVals := c.hookValues(h)
	c.mu.Unlock()
	start := c.clock.Now()
	out, err := c.deps.Runner.Run(ctx, h, hook.Input{Binding: binding, Contexts: data, Values: vals, ConfigValues: cfgVals})
	changed := false
	if err == nil {
		changed, err = c.applyOutput(ctx, h, out)
	}
	d := c.clock.Since(start)
	c.deps.Observer.HookRun(h.Module, h.Name, binding, activation, queueName, d, err, allowFailure)
	if u := out.Usage; u != nil {
		c.deps.Observer.HookUsage(h.Module, h.Name, binding, activation, queueName, u.User, u.System, u.MaxRSS)
	}
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

package converge

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
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
	state := c.globalHooksState
	hooks := c.bundle.GlobalHooks
	c.mu.Unlock()
	if state.running() {
		return nil
	}
	if !state.started() {
		// onStartup runs once, not again when a later step is retried.
		for _, h := range hook.Ordered(hooks, hook.OnStartup) {
			if _, err := c.runLifecycleHook(ctx, h, hook.OnStartup, module.ActivationOnStartup, log); err != nil {
				return fmt.Errorf("%w: %w", errGlobal, err)
			}
		}
		c.mu.Lock()
		c.globalHooksState.startupDone()
		c.mu.Unlock()
	}
	if _, err := c.enableBindings(ctx, hooks, log); err != nil {
		return fmt.Errorf("%w: %w", errGlobal, err)
	}
	c.mu.Lock()
	c.globalHooksState.markRunning()
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
				c.deps.Queues.Add(ev.Queue, c.hookTask(ev, module.ActivationSynchronization))
				continue
			}
			ch, err := c.runHook(ctx, h, ev.Binding, c.deps.Engine.Snapshots(h, ev.Contexts), module.ActivationSynchronization, queue.MainQueue, ev.AllowFailure, log)
			if err != nil {
				return changed, err
			}
			changed = changed || ch
		}
		c.deps.Engine.Unlock(h)
	}
	return changed, nil
}

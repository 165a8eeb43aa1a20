package converge

import (
	"context"
	"log/slog"
	"slices"

	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
)

// Swap replaces the bundle in force without restarting the process. It
// queues a task on the main queue (behind the work queued before it) that
//   - deletes the modules the new bundle no longer has, with the old
//     bundle's delete hooks;
//   - stops every hook binding of the old bundle;
//   - installs the new bundle and starts it like a process start (global
//     onStartup, Synchronization, converge of all modules).
//
// Swap returns once the old bundle is stopped and the new one's start is
// queued, or when ctx is done. Follow the outcome with GlobalStatus and
// Statuses.
//
// Work queued for the old bundle is dropped when it comes to run, including
// a failing global step waiting for its retry (which would otherwise hold the
// main queue): a swap away from a broken bundle waits at most one backoff.
func (c *Converger) Swap(ctx context.Context, b module.Loaded) error {
	c.mu.Lock()
	c.generation++
	c.mu.Unlock()
	done := make(chan error, 1)
	c.deps.Queues.AddFirst(queue.MainQueue, &queue.Task{
		Kind: KindSwap,
		Work: queue.WorkFunc(func(ctx context.Context, log *slog.Logger) error {
			done <- c.swap(ctx, b, log)
			return nil
		}),
	})
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Converger) swap(ctx context.Context, b module.Loaded, log *slog.Logger) error {
	c.mu.Lock()
	var removed []*moduleState
	for _, ms := range c.modules {
		ms.stopRetry()
		if b.Modules.Module(ms.mod.Name) == nil && ms.hasLeftovers() {
			removed = append(removed, ms)
		}
	}
	c.mu.Unlock()
	for _, ms := range slices.Backward(removed) {
		c.mu.Lock()
		ms.enabled = false
		c.mu.Unlock()
		c.deleteModule(ctx, ms, log)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	// The engine is called without c.mu: it holds its own lock while it
	// hands an event over, and taking the event needs c.mu.
	c.mu.Lock()
	old := slices.Clone(c.bundle.GlobalHooks)
	for _, ms := range c.modules {
		ms.stopRetry()
		old = append(old, ms.hooks...)
	}
	c.mu.Unlock()
	for _, h := range old {
		c.deps.Engine.Disable(h)
	}
	c.mu.Lock()
	deployed := map[string]bool{}
	for _, ms := range c.modules {
		deployed[ms.mod.Name] = ms.deployed
	}
	c.setBundle(b)
	for _, ms := range c.modules {
		ms.deployed = deployed[ms.mod.Name]
	}
	c.globalHooksState.stop()
	c.globalDynamic = nil
	c.enabledNames = nil
	c.global = module.GlobalStatus{Phase: module.PhaseReconciling}
	c.mu.Unlock()
	c.notify()
	log.Info("bundle swapped, starting the new bundle", "modules", len(b.Modules.Modules))
	c.deps.Queues.Add(queue.MainQueue, c.startupTask())
	return nil
}

package converge

import (
	"context"
	"log/slog"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
)

// Task kinds.
const (
	KindStartup      = "Startup"
	KindConverge     = "Converge"
	KindModuleRun    = "ModuleRun"
	KindModuleDelete = "ModuleDelete"
	KindHookRun      = "HookRun"
	KindSwap         = "Swap"
)

func (c *Converger) startupTask() *queue.Task {
	gen := c.gen()
	return &queue.Task{Kind: KindStartup, Key: KindStartup, Work: queue.WorkFunc(func(ctx context.Context, log *slog.Logger) error {
		if !c.current(gen) {
			return nil
		}
		return c.globalStep(func() error {
			if err := c.adoptReleases(ctx, log); err != nil {
				return err
			}
			if err := c.startGlobal(ctx, log); err != nil {
				return err
			}
			return c.convergeAll(ctx, module.ActivationOnStartup, log)
		})
	})}
}

// convergeTask re-runs beforeAll, discovery, every module and afterAll.
// Waiting converge tasks are deduplicated.
func (c *Converger) convergeTask(activation module.Activation) *queue.Task {
	gen := c.gen()
	return &queue.Task{
		Kind: KindConverge, Key: KindConverge,
		Attrs: []slog.Attr{slog.String("activation", string(activation))},
		Work: queue.WorkFunc(func(ctx context.Context, log *slog.Logger) error {
			if !c.current(gen) {
				return nil
			}
			return c.globalStep(func() error { return c.convergeAll(ctx, activation, log) })
		}),
	}
}

// moduleRunTask re-runs one module. Module failures are handled by the
// module's own retry, so the task itself never fails.
func (c *Converger) moduleRunTask(name string, activation module.Activation) *queue.Task {
	gen := c.gen()
	return &queue.Task{
		Kind: KindModuleRun, Key: KindModuleRun + "/" + name,
		Attrs: []slog.Attr{slog.String("module", name), slog.String("activation", string(activation))},
		Work: queue.WorkFunc(func(ctx context.Context, log *slog.Logger) error {
			c.mu.Lock()
			ms := c.byName[name]
			enabled := ms != nil && ms.enabled && gen == c.generation
			c.mu.Unlock()
			if !enabled {
				return nil
			}
			c.runModule(ctx, ms, activation, log)
			return nil
		}),
	}
}

// moduleDeleteTask retries the deletion of a disabled module.
func (c *Converger) moduleDeleteTask(name string) *queue.Task {
	gen := c.gen()
	return &queue.Task{
		Kind: KindModuleDelete, Key: KindModuleDelete + "/" + name,
		Attrs: []slog.Attr{slog.String("module", name)},
		Work: queue.WorkFunc(func(ctx context.Context, log *slog.Logger) error {
			c.mu.Lock()
			ms := c.byName[name]
			pending := ms != nil && !ms.enabled && ms.deployed && gen == c.generation
			c.mu.Unlock()
			if pending {
				c.deleteModule(ctx, ms, log)
			}
			return nil
		}),
	}
}

// hookWork runs a hook for a kubernetes or schedule event. Later events of
// the same hook on the same queue merge into a waiting run. A run the hook's
// settings put off leaves the queue and comes back when due (hookLimits).
type hookWork struct {
	c          *Converger
	ev         hook.Event
	activation module.Activation
	gen        int
	// due is set once the run holds its token from the hook's bucket: it
	// runs when next taken from the queue.
	due bool
}

func (c *Converger) hookTask(ev hook.Event, activation module.Activation) *queue.Task {
	return c.hookTaskOf(&hookWork{c: c, ev: ev, activation: activation, gen: c.gen()})
}

func (c *Converger) hookTaskOf(w *hookWork) *queue.Task {
	ev := w.ev
	attrs := []slog.Attr{slog.String("hook", ev.Hook.Name), slog.String("binding", ev.Binding)}
	if ev.Hook.Module != "" {
		attrs = append([]slog.Attr{slog.String("module", ev.Hook.Module)}, attrs...)
	}
	return &queue.Task{
		Kind: KindHookRun, Key: KindHookRun + "/" + ev.Hook.Name,
		Attrs: attrs, AllowFailure: ev.AllowFailure,
		Work: w,
	}
}

// Merge absorbs a later event of the same hook: contexts are concatenated
// (a group keeps its last context only). A run made for an older bundle
// absorbs nothing: it is dropped when it runs, the events would be lost.
func (w *hookWork) Merge(incoming queue.Work) bool {
	in, ok := incoming.(*hookWork)
	if !ok || in.ev.Hook != w.ev.Hook || in.gen != w.gen || in.ev.Sync || w.ev.Sync {
		return false
	}
	w.ev.Contexts = hook.MergeContexts(w.ev.Contexts, in.ev.Contexts)
	w.due = w.due || in.due
	return true
}

func (w *hookWork) Run(ctx context.Context, log *slog.Logger) error {
	if !w.c.current(w.gen) {
		return nil
	}
	run, queueIn := w.c.limits.admit(w, w.c.clock.Now())
	if !run {
		if queueIn > 0 {
			log.Debug("hook run put off by its settings", "queue_in", queueIn.String())
			w.c.clock.AfterFunc(queueIn, func() { w.c.requeue(w) })
		}
		return nil
	}
	return w.c.runEventHook(ctx, w.ev, w.activation, log)
}

// requeue queues a run put off by its hook's settings once its token is due.
func (c *Converger) requeue(w *hookWork) {
	c.limits.release(w)
	c.deps.Queues.Add(w.ev.Queue, c.hookTaskOf(w))
}

// onHookEvent queues the run of a hook engine's event; Start calls it for
// every event it reads. It never blocks.
func (c *Converger) onHookEvent(ev hook.Event) {
	activation := module.ActivationKubernetes
	if len(ev.Contexts) > 0 && ev.Contexts[0].Metadata.BindingType == "schedule" {
		activation = module.ActivationSchedule
	}
	c.deps.Queues.Add(ev.Queue, c.hookTask(ev, activation))
}

package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/seedops/addon-operator/pkg/queue"
)

type attemptSeen struct {
	Number    int
	LastError string
	At        time.Time
}

func TestRetryBackoff(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name      string
		cfg       queue.Config
		failures  int
		wantWaits []time.Duration
	}{
		{name: "defaults", cfg: queue.Config{}, failures: 5, wantWaits: []time.Duration{5 * s, 10 * s, 20 * s, 30 * s, 30 * s}},
		{name: "configured", cfg: queue.Config{MinBackoff: s, MaxBackoff: 4 * s}, failures: 4, wantWaits: []time.Duration{s, 2 * s, 4 * s, 4 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			// Unbuffered: the worker cannot start the next backoff before
			// the test has taken the attempt.
			attempts := make(chan attemptSeen)
			h.set.Add(queue.MainQueue, &queue.Task{Kind: "Flaky", Work: queue.WorkFunc(func(ctx context.Context, _ *slog.Logger) error {
				a, ok := queue.AttemptFrom(ctx)
				if !ok {
					return errors.New("no attempt in ctx")
				}
				seen := attemptSeen{Number: a.Number, At: h.clk.Now()}
				if a.LastError != nil {
					seen.LastError = a.LastError.Error()
				}
				select {
				case attempts <- seen:
				case <-ctx.Done():
					return ctx.Err()
				}
				if a.Number <= tt.failures {
					return fmt.Errorf("attempt %d failed", a.Number)
				}
				return nil
			})})
			h.start(t)

			var seen []attemptSeen
			var waits []time.Duration
			seen = append(seen, receive(t, "attempt 1", attempts))
			for i := range tt.failures {
				h.waitBackoff(t)
				// Walk the clock a second at a time; the retry fires in
				// Step, so the timer is gone right after the step that
				// reaches it, and the next one cannot exist before the
				// test receives the next attempt.
				var waited time.Duration
				for h.clk.HasWaiters() {
					if waited > time.Minute {
						t.Fatalf("retry %d did not fire within a minute", i+1)
					}
					h.clk.Step(s)
					waited += s
				}
				waits = append(waits, waited)
				seen = append(seen, receive(t, fmt.Sprintf("attempt %d", i+2), attempts))
			}
			h.waitIdle(t, queue.MainQueue)

			if diff := cmp.Diff(tt.wantWaits, waits); diff != "" {
				t.Errorf("waits between attempts (-want +got):\n%s", diff)
			}
			var want []attemptSeen
			at := t0
			for n := 1; n <= tt.failures+1; n++ {
				a := attemptSeen{Number: n, At: at}
				if n > 1 {
					a.LastError = fmt.Sprintf("attempt %d failed", n-1)
				}
				want = append(want, a)
				if n <= len(tt.wantWaits) {
					at = at.Add(tt.wantWaits[n-1])
				}
			}
			if diff := cmp.Diff(want, seen); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAllowFailureDrops(t *testing.T) {
	h := newHarness(t, queue.Config{})
	rec := &recorder{}
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "Optional", AllowFailure: true, Work: queue.WorkFunc(func(context.Context, *slog.Logger) error {
		rec.add("optional")
		return errors.New("optional step failed")
	})})
	h.set.Add(queue.MainQueue, rec.task("next"))
	h.start(t)
	h.waitIdle(t, queue.MainQueue)

	if diff := cmp.Diff([]string{"optional", "next"}, rec.runs()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	if h.clk.HasWaiters() {
		t.Error("a retry is scheduled for a task that allows failure")
	}
	_, _, finished := h.obs.events()
	if diff := cmp.Diff([]queue.Outcome{queue.Dropped, queue.Succeeded}, outcomes(finished)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func outcomes(events []finishEvent) []queue.Outcome {
	var out []queue.Outcome
	for _, e := range events {
		out = append(out, e.Outcome)
	}
	return out
}

func TestPanicIsAFailure(t *testing.T) {
	h := newHarness(t, queue.Config{})
	lastErrs := make(chan error, 2)
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "Panicky", Work: queue.WorkFunc(func(ctx context.Context, _ *slog.Logger) error {
		a, _ := queue.AttemptFrom(ctx)
		lastErrs <- a.LastError
		if a.Number == 1 {
			panic("boom")
		}
		return nil
	})})
	h.start(t)
	if err := receive(t, "attempt 1", lastErrs); err != nil {
		t.Errorf("first attempt's last error = %v, want nil", err)
	}
	h.waitBackoff(t)
	h.clk.Step(queue.DefaultMinBackoff)
	if err := receive(t, "attempt 2", lastErrs); !errors.Is(err, queue.ErrPanicked) {
		t.Errorf("second attempt's last error = %v, want it to wrap ErrPanicked", err)
	}
	h.waitIdle(t, queue.MainQueue)
}

func TestShutdown(t *testing.T) {
	t.Run("idle workers stop", func(t *testing.T) {
		h := newHarness(t, queue.Config{})
		h.set.Add(queue.MainQueue, (&recorder{}).task("a"))
		h.start(t)
		h.waitIdle(t, queue.MainQueue)
		h.stop(t)
	})

	t.Run("Start waits for running tasks", func(t *testing.T) {
		h := newHarness(t, queue.Config{})
		sawCancel := make(chan struct{})
		release := make(chan struct{})
		h.set.Add(queue.MainQueue, &queue.Task{Kind: "Slow", Work: queue.WorkFunc(func(ctx context.Context, _ *slog.Logger) error {
			<-ctx.Done()
			close(sawCancel)
			<-release
			return ctx.Err()
		})})
		h.start(t)
		eventually(t, "the task to run", func() bool { return h.head(t, queue.MainQueue).Running })
		h.cancel()
		receive(t, "the task to see the cancellation", sawCancel)
		select {
		case <-h.done:
			t.Fatal("Start returned while a task was still running")
		default:
		}
		close(release)
		receive(t, "Start to return", h.done)
		h.cancel = nil
	})

	t.Run("a backoff wait is interrupted", func(t *testing.T) {
		h := newHarness(t, queue.Config{})
		errDown := errors.New("down")
		h.set.Add(queue.MainQueue, &queue.Task{Kind: "Broken", Work: queue.WorkFunc(func(context.Context, *slog.Logger) error {
			return errDown
		})})
		h.start(t)
		h.waitBackoff(t)
		// The fake clock is never stepped: Start can only return if the
		// wait is interrupted.
		h.stop(t)
		if h.clk.HasWaiters() {
			t.Error("the backoff timer is still armed after shutdown")
		}
		head := h.head(t, queue.MainQueue)
		if head.Attempts != 1 || !errors.Is(head.LastError, errDown) || head.RetryAt.IsZero() {
			t.Errorf("after shutdown head = attempts %d, last error %v, retry at %v; want 1, %v, set", head.Attempts, head.LastError, head.RetryAt, errDown)
		}
	})

	t.Run("an interrupted task stays queued and runs on the next Start", func(t *testing.T) {
		h := newHarness(t, queue.Config{})
		attempts := make(chan int, 2)
		var runs atomic.Int32
		h.set.Add(queue.MainQueue, &queue.Task{Kind: "Long", Work: queue.WorkFunc(func(ctx context.Context, _ *slog.Logger) error {
			a, _ := queue.AttemptFrom(ctx)
			attempts <- a.Number
			if runs.Add(1) == 1 {
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		})})
		h.set.Add(queue.MainQueue, (&recorder{}).task("after"))
		h.start(t)
		receive(t, "the first run", attempts)
		h.stop(t)

		if n := h.set.Len(queue.MainQueue); n != 2 {
			t.Fatalf("Len after shutdown = %d, want 2", n)
		}
		head := h.head(t, queue.MainQueue)
		if head.Kind != "Long" || head.Attempts != 0 || head.Running || head.LastError != nil {
			t.Errorf("after shutdown head = %+v, want the interrupted task, not running, with no attempt counted", head)
		}
		_, _, finished := h.obs.events()
		if diff := cmp.Diff([]queue.Outcome{queue.Interrupted}, outcomes(finished)); diff != "" {
			t.Errorf("outcomes (-want +got):\n%s", diff)
		}

		h.start(t)
		if n := receive(t, "the second run", attempts); n != 1 {
			t.Errorf("attempt number after restart = %d, want 1", n)
		}
		h.waitIdle(t, queue.MainQueue)
	})
}

func TestSnapshot(t *testing.T) {
	h := newHarness(t, queue.Config{})
	rec := &recorder{}
	g := newGate(rec, "helm")
	errDown := errors.New("down")
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "ModuleRun", Key: "ModuleRun/foo", Attrs: []slog.Attr{slog.String("module", "foo")}, Work: g})
	h.clk.Step(time.Second)
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "ModuleRun", Key: "ModuleRun/bar", Attrs: []slog.Attr{slog.String("module", "bar")}, Work: rec.work("bar")})
	h.set.Add("ingress", &queue.Task{Kind: "HookRun", AllowFailure: false, Attrs: []slog.Attr{slog.String("hook", "nodes"), slog.String("binding", "watch")}, Work: queue.WorkFunc(func(context.Context, *slog.Logger) error {
		return errDown
	})})
	h.start(t)
	g.waitStarted(t)
	h.waitBackoff(t)

	want := []queue.QueueInfo{
		{Name: "ingress", Tasks: []queue.TaskInfo{
			{Queue: "ingress", ID: 3, Kind: "HookRun", Attrs: []slog.Attr{slog.String("hook", "nodes"), slog.String("binding", "watch")}, Attempts: 1, LastError: errDown, QueuedAt: t0.Add(time.Second), RetryAt: t0.Add(time.Second + queue.DefaultMinBackoff)},
		}},
		{Name: queue.MainQueue, Tasks: []queue.TaskInfo{
			{Queue: queue.MainQueue, ID: 1, Kind: "ModuleRun", Key: "ModuleRun/foo", Attrs: []slog.Attr{slog.String("module", "foo")}, Attempts: 1, QueuedAt: t0, Running: true},
			{Queue: queue.MainQueue, ID: 2, Kind: "ModuleRun", Key: "ModuleRun/bar", Attrs: []slog.Attr{slog.String("module", "bar")}, QueuedAt: t0.Add(time.Second)},
		}},
	}
	got := h.set.Snapshot()
	if diff := cmp.Diff(want, got, cmpopts.EquateErrors(), cmp.Comparer(func(a, b slog.Value) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
	if a := got[0].Tasks[0].Attr("binding"); a != "watch" {
		t.Errorf(`Attr("binding") = %q, want "watch"`, a)
	}
	if a := got[0].Tasks[0].Attr("module"); a != "" {
		t.Errorf(`Attr("module") of a task without it = %q, want ""`, a)
	}
	if n := h.set.Len(queue.MainQueue); n != 2 {
		t.Errorf("Len(main) = %d, want 2", n)
	}
	g.open()
	h.waitIdle(t, queue.MainQueue)
}

package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seedops/addon-operator/pkg/queue"
)

func TestFIFOWithinQueue(t *testing.T) {
	h := newHarness(t, queue.Config{})
	rec := &recorder{}
	for _, name := range []string{"a", "b", "c"} {
		h.set.Add(queue.MainQueue, rec.task(name))
	}
	h.start(t)
	for _, name := range []string{"d", "e"} {
		h.set.Add(queue.MainQueue, rec.task(name))
	}
	h.waitIdle(t, queue.MainQueue)

	if diff := cmp.Diff([]string{"a", "b", "c", "d", "e"}, rec.runs()); diff != "" {
		t.Errorf("run order (-want +got):\n%s", diff)
	}
}

func TestQueueRunsOneTaskAtATime(t *testing.T) {
	h := newHarness(t, queue.Config{})
	h.start(t)
	var mu sync.Mutex
	running, most := 0, 0
	work := queue.WorkFunc(func(context.Context, *slog.Logger) error {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		for range 100 {
			// Give a second worker of the same queue, if there were one, the
			// chance to enter.
			runtime.Gosched()
		}
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	})
	for range 20 {
		h.set.Add("hooks", &queue.Task{Kind: "Test", Work: work})
	}
	h.waitIdle(t, "hooks")
	if most != 1 {
		t.Errorf("at most %d tasks of one queue ran at once, want 1", most)
	}
}

func TestQueuesDoNotBlockEachOther(t *testing.T) {
	t.Run("a retrying queue", func(t *testing.T) {
		h := newHarness(t, queue.Config{})
		errBroken := errors.New("broken")
		h.set.Add("a", &queue.Task{Kind: "Broken", Work: queue.WorkFunc(func(context.Context, *slog.Logger) error {
			return errBroken
		})})
		h.start(t)
		h.waitBackoff(t)

		rec := &recorder{}
		for _, name := range []string{"b1", "b2", "b3"} {
			h.set.Add("b", rec.task(name))
		}
		// The fake clock never moves: queue a waits for its retry forever.
		h.waitIdle(t, "b")
		if diff := cmp.Diff([]string{"b1", "b2", "b3"}, rec.runs()); diff != "" {
			t.Errorf("queue b runs (-want +got):\n%s", diff)
		}
		head := h.head(t, "a")
		if head.Attempts != 1 || !errors.Is(head.LastError, errBroken) || head.Running {
			t.Errorf("queue a head = attempts %d, last error %v, running %t; want 1, %v, false", head.Attempts, head.LastError, head.Running, errBroken)
		}
	})
	t.Run("a busy queue", func(t *testing.T) {
		h := newHarness(t, queue.Config{})
		rec := &recorder{}
		slow := newGate(rec, "slow")
		h.set.Add("a", &queue.Task{Kind: "Slow", Work: slow})
		h.set.Add("a", rec.task("a2"))
		h.start(t)
		slow.waitStarted(t)

		h.set.Add("b", rec.task("b1"))
		h.waitIdle(t, "b")
		if diff := cmp.Diff([]string{"slow", "b1"}, rec.runs()); diff != "" {
			t.Errorf("runs while queue a is busy (-want +got):\n%s", diff)
		}
		slow.open()
		h.waitIdle(t, "a")
		if diff := cmp.Diff([]string{"slow", "b1", "a2"}, rec.runs()); diff != "" {
			t.Errorf("runs (-want +got):\n%s", diff)
		}
	})
}

func TestAddFirst(t *testing.T) {
	t.Run("before waiting tasks, behind the running one", func(t *testing.T) {
		h := newHarness(t, queue.Config{})
		rec := &recorder{}
		g := newGate(rec, "running")
		h.set.Add(queue.MainQueue, &queue.Task{Kind: "Gate", Work: g})
		h.start(t)
		g.waitStarted(t)
		h.set.Add(queue.MainQueue, rec.task("a"))
		h.set.Add(queue.MainQueue, rec.task("b"))
		h.set.AddFirst(queue.MainQueue, rec.task("x"), rec.task("y"))
		g.open()
		h.waitIdle(t, queue.MainQueue)

		if diff := cmp.Diff([]string{"running", "x", "y", "a", "b"}, rec.runs()); diff != "" {
			t.Errorf("run order (-want +got):\n%s", diff)
		}
	})
	t.Run("before start", func(t *testing.T) {
		h := newHarness(t, queue.Config{})
		rec := &recorder{}
		h.set.Add(queue.MainQueue, rec.task("a"))
		h.set.AddFirst(queue.MainQueue, rec.task("x"))
		h.set.AddFirst("other", rec.task("new queue"))
		h.start(t)
		h.waitIdle(t, queue.MainQueue)
		h.waitIdle(t, "other")

		got := rec.runs()
		if diff := cmp.Diff([]string{"x", "a"}, without(got, "new queue")); diff != "" {
			t.Errorf("main run order (-want +got):\n%s", diff)
		}
		if len(got) != 3 {
			t.Errorf("runs = %q, want the task of the queue AddFirst created too", got)
		}
	})
	t.Run("follow-up work from a running task", func(t *testing.T) {
		h := newHarness(t, queue.Config{})
		rec := &recorder{}
		parent := queue.WorkFunc(func(context.Context, *slog.Logger) error {
			rec.add("parent")
			h.set.AddFirst(queue.MainQueue, rec.task("child1"), rec.task("child2"))
			return nil
		})
		h.set.Add(queue.MainQueue, &queue.Task{Kind: "Parent", Work: parent})
		h.set.Add(queue.MainQueue, rec.task("queued"))
		h.start(t)
		h.waitIdle(t, queue.MainQueue)

		if diff := cmp.Diff([]string{"parent", "child1", "child2", "queued"}, rec.runs()); diff != "" {
			t.Errorf("run order (-want +got):\n%s", diff)
		}
	})
	t.Run("behind a task waiting for its retry", func(t *testing.T) {
		h := newHarness(t, queue.Config{})
		rec := &recorder{}
		failed := false
		h.set.Add(queue.MainQueue, &queue.Task{Kind: "Flaky", Work: queue.WorkFunc(func(context.Context, *slog.Logger) error {
			rec.add("flaky")
			if !failed {
				failed = true
				return errors.New("first attempt fails")
			}
			return nil
		})})
		h.start(t)
		h.waitBackoff(t)
		h.set.AddFirst(queue.MainQueue, rec.task("x"))
		h.clk.Step(queue.DefaultMinBackoff)
		h.waitIdle(t, queue.MainQueue)

		if diff := cmp.Diff([]string{"flaky", "flaky", "x"}, rec.runs()); diff != "" {
			t.Errorf("run order (-want +got):\n%s", diff)
		}
	})
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

func TestAddFromManyGoroutines(t *testing.T) {
	h := newHarness(t, queue.Config{})
	const producers, perProducer, queues = 4, 200, 3

	var mu sync.Mutex
	runs := map[string][]int{} // "queue/producer" -> sequence numbers in run order
	task := func(q string, p, i int) *queue.Task {
		return &queue.Task{Kind: "Test", Work: queue.WorkFunc(func(context.Context, *slog.Logger) error {
			mu.Lock()
			defer mu.Unlock()
			k := fmt.Sprintf("%s/%d", q, p)
			runs[k] = append(runs[k], i)
			return nil
		})}
	}
	// Half the producers start before Start, half race with it.
	var wg sync.WaitGroup
	for p := range producers {
		if p == producers/2 {
			h.start(t)
		}
		wg.Go(func() {
			for i := range perProducer {
				q := fmt.Sprintf("q%d", i%queues)
				h.set.Add(q, task(q, p, i))
			}
		})
	}
	wg.Wait()
	for i := range queues {
		h.waitIdle(t, fmt.Sprintf("q%d", i))
	}

	mu.Lock()
	defer mu.Unlock()
	for p := range producers {
		for qi := range queues {
			q := fmt.Sprintf("q%d", qi)
			var want []int
			for i := qi; i < perProducer; i += queues {
				want = append(want, i)
			}
			if diff := cmp.Diff(want, runs[fmt.Sprintf("%s/%d", q, p)]); diff != "" {
				t.Errorf("queue %s, producer %d: runs (-want +got):\n%s", q, p, diff)
			}
		}
	}
}

func TestWaitIdle(t *testing.T) {
	h := newHarness(t, queue.Config{})
	if err := h.set.WaitIdle(context.Background(), "never used"); err != nil {
		t.Errorf("WaitIdle on an unknown queue = %v, want nil", err)
	}

	rec := &recorder{}
	g := newGate(rec, "stuck")
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "Gate", Work: g})
	h.start(t)
	g.waitStarted(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.set.WaitIdle(ctx, queue.MainQueue); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitIdle with a running task and a cancelled ctx = %v, want context.Canceled", err)
	}

	g.open()
	h.waitIdle(t, queue.MainQueue)
	if n := h.set.Len(queue.MainQueue); n != 0 {
		t.Errorf("Len after WaitIdle = %d, want 0", n)
	}
}

func TestStartTwiceFails(t *testing.T) {
	h := newHarness(t, queue.Config{})
	h.start(t)
	// A task that ran proves the first Start is under way.
	h.set.Add(queue.MainQueue, (&recorder{}).task("a"))
	h.waitIdle(t, queue.MainQueue)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.set.Start(ctx); err == nil {
		t.Fatal("second concurrent Start returned nil, want an error")
	}
}

func TestAddRefusesBrokenTasks(t *testing.T) {
	h := newHarness(t, queue.Config{})
	tests := []struct {
		name  string
		queue string
		task  *queue.Task
	}{
		{name: "nil task", queue: queue.MainQueue, task: nil},
		{name: "nil work", queue: queue.MainQueue, task: &queue.Task{Kind: "Test"}},
		{name: "no queue name", queue: "", task: (&recorder{}).task("a")},
	}
	for _, tt := range tests {
		for _, add := range []struct {
			name string
			fn   func()
		}{
			{"Add", func() { h.set.Add(tt.queue, tt.task) }},
			{"AddFirst", func() { h.set.AddFirst(tt.queue, tt.task) }},
		} {
			t.Run(tt.name+"/"+add.name, func(t *testing.T) {
				defer func() {
					if recover() == nil {
						t.Error("no panic")
					}
				}()
				add.fn()
			})
		}
	}
	if got := h.set.Snapshot(); len(got) != 0 {
		t.Errorf("queues after refused adds = %+v, want none", got)
	}
}

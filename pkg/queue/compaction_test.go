package queue_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seedops/addon-operator/pkg/queue"
)

// batch is Work that merges like a hook run for a group binding: it
// concatenates the incoming batch's items and refuses other Work.
type batch struct {
	rec   *recorder
	items []string
}

func (b *batch) Run(context.Context, *slog.Logger) error {
	b.rec.add(strings.Join(b.items, "+"))
	return nil
}

func (b *batch) Merge(incoming queue.Work) bool {
	in, ok := incoming.(*batch)
	if !ok {
		return false
	}
	b.items = append(b.items, in.items...)
	return true
}

func TestCompactionOfWaitingTasks(t *testing.T) {
	type add struct {
		queue, key, name string
		batch            bool
	}
	tests := []struct {
		name     string
		adds     []add
		wantLens map[string]int // before the blocking tasks finish
		wantRuns []string       // after the gates
	}{
		{
			name:     "same key without Merger is deduplicated",
			adds:     []add{{key: "ModuleRun/foo", name: "foo#1"}, {key: "ModuleRun/foo", name: "foo#2"}, {key: "ModuleRun/foo", name: "foo#3"}},
			wantLens: map[string]int{"a": 2},
			wantRuns: []string{"foo#1"},
		},
		{
			name:     "Merger concatenates",
			adds:     []add{{key: "g", name: "a", batch: true}, {key: "g", name: "b", batch: true}, {key: "g", name: "c", batch: true}},
			wantLens: map[string]int{"a": 2},
			wantRuns: []string{"a+b+c"},
		},
		{
			name:     "merged task keeps its place",
			adds:     []add{{key: "g", name: "a", batch: true}, {key: "other", name: "other"}, {key: "g", name: "b", batch: true}},
			wantLens: map[string]int{"a": 3},
			wantRuns: []string{"a+b", "other"},
		},
		{
			name:     "different keys are kept",
			adds:     []add{{key: "ModuleRun/foo", name: "foo"}, {key: "ModuleRun/bar", name: "bar"}},
			wantLens: map[string]int{"a": 3},
			wantRuns: []string{"foo", "bar"},
		},
		{
			name:     "empty key is never merged",
			adds:     []add{{name: "x"}, {name: "y"}},
			wantLens: map[string]int{"a": 3},
			wantRuns: []string{"x", "y"},
		},
		{
			name:     "refused merge queues both",
			adds:     []add{{key: "k", name: "batch", batch: true}, {key: "k", name: "plain"}},
			wantLens: map[string]int{"a": 3},
			wantRuns: []string{"batch", "plain"},
		},
		{
			name:     "same key in another queue is not merged",
			adds:     []add{{key: "k", name: "in a"}, {queue: "b", key: "k", name: "in b"}},
			wantLens: map[string]int{"a": 2, "b": 2},
			wantRuns: []string{"in a", "in b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, queue.Config{})
			rec := &recorder{}
			// Each queue is held by a running gate so that every added task
			// waits.
			gates := map[string]*gate{}
			for _, q := range []string{"a", "b"} {
				gates[q] = newGate(&recorder{}, "gate "+q)
				h.set.Add(q, &queue.Task{Kind: "Gate", Work: gates[q]})
			}
			h.start(t)
			for _, g := range gates {
				g.waitStarted(t)
			}
			for _, a := range tt.adds {
				q := a.queue
				if q == "" {
					q = "a"
				}
				task := &queue.Task{Kind: "Test", Key: a.key, Work: rec.work(a.name)}
				if a.batch {
					task.Work = &batch{rec: rec, items: []string{a.name}}
				}
				h.set.Add(q, task)
			}
			gotLens := map[string]int{}
			for q := range tt.wantLens {
				gotLens[q] = h.set.Len(q)
			}
			if diff := cmp.Diff(tt.wantLens, gotLens); diff != "" {
				t.Errorf("queue lengths (-want +got):\n%s", diff)
			}
			// Release the queues one after the other so that runs are
			// recorded in a known order.
			for _, q := range []string{"a", "b"} {
				gates[q].open()
				h.waitIdle(t, q)
			}
			if diff := cmp.Diff(tt.wantRuns, rec.runs()); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompactionNeverMergesARunningTask(t *testing.T) {
	h := newHarness(t, queue.Config{})
	rec := &recorder{}
	running := newGate(rec, "first")
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "ModuleRun", Key: "ModuleRun/foo", Work: running})
	h.start(t)
	running.waitStarted(t)

	h.set.Add(queue.MainQueue, &queue.Task{Kind: "ModuleRun", Key: "ModuleRun/foo", Work: rec.work("second")})
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "ModuleRun", Key: "ModuleRun/foo", Work: rec.work("third")})
	if n := h.set.Len(queue.MainQueue); n != 2 {
		t.Errorf("Len = %d, want 2: the running task and one merged waiting task", n)
	}
	running.open()
	h.waitIdle(t, queue.MainQueue)
	if diff := cmp.Diff([]string{"first", "second"}, rec.runs()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

func TestCompactionIntoATaskWaitingForRetry(t *testing.T) {
	h := newHarness(t, queue.Config{})
	rec := &recorder{}
	failing := &failOnce{batch: batch{rec: rec, items: []string{"a"}}}
	h.set.Add("hooks", &queue.Task{Kind: "HookRun", Key: "group", Work: failing})
	h.start(t)
	h.waitBackoff(t)

	h.set.Add("hooks", &queue.Task{Kind: "HookRun", Key: "group", Work: &batch{rec: rec, items: []string{"b"}}})
	if n := h.set.Len("hooks"); n != 1 {
		t.Errorf("Len = %d, want 1: merged into the task waiting for its retry", n)
	}
	head := h.head(t, "hooks")
	if head.Attempts != 1 || head.RetryAt.IsZero() {
		t.Errorf("head after merge = attempts %d, retry at %v; want its attempts and backoff kept", head.Attempts, head.RetryAt)
	}
	h.clk.Step(queue.DefaultMinBackoff)
	h.waitIdle(t, "hooks")
	if diff := cmp.Diff([]string{"a", "a+b"}, rec.runs()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

// failOnce is a batch whose first run fails.
type failOnce struct {
	batch
	failed bool
}

func (f *failOnce) Run(ctx context.Context, log *slog.Logger) error {
	if err := f.batch.Run(ctx, log); err != nil {
		return err
	}
	if !f.failed {
		f.failed = true
		return errors.New("first run fails")
	}
	return nil
}

func (f *failOnce) Merge(incoming queue.Work) bool {
	if in, ok := incoming.(*batch); ok {
		return f.batch.Merge(in)
	}
	return false
}

func TestAddFirstDoesNotCompact(t *testing.T) {
	h := newHarness(t, queue.Config{})
	rec := &recorder{}
	g := newGate(rec, "gate")
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "Gate", Work: g})
	h.start(t)
	g.waitStarted(t)
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "ModuleRun", Key: "ModuleRun/foo", Work: rec.work("queued")})
	h.set.AddFirst(queue.MainQueue, &queue.Task{Kind: "ModuleRun", Key: "ModuleRun/foo", Work: rec.work("first")})
	// Add merges into the last waiting task with the key.
	h.set.Add(queue.MainQueue, &queue.Task{Kind: "ModuleRun", Key: "ModuleRun/foo", Work: rec.work("dropped")})
	g.open()
	h.waitIdle(t, queue.MainQueue)
	if diff := cmp.Diff([]string{"gate", "first", "queued"}, rec.runs()); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

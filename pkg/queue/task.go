package queue

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// MainQueue is the queue that serialises lifecycle work: global hooks,
// module discovery, module runs and deletes.
const MainQueue = "main"

// ErrPanicked is wrapped by the error recorded for a task whose Work
// panicked. The panic is treated like any other failure.
var ErrPanicked = errors.New("task panicked")

// Work is what a task does.
//
// The queue calls Run from its worker goroutine, one attempt at a time, and
// never while the task's Work is being merged into. ctx is cancelled when
// the Set shuts down; Run must return soon after, because Start waits for it.
// log carries queue, task_id, kind and the task's Attrs. A nil error ends
// the task; an error makes the queue retry it (or drop it, see
// Task.AllowFailure). AttemptFrom(ctx) tells which attempt this is.
type Work interface {
	Run(ctx context.Context, log *slog.Logger) error
}

// WorkFunc adapts a function to Work.
type WorkFunc func(ctx context.Context, log *slog.Logger) error

// Run calls f.
func (f WorkFunc) Run(ctx context.Context, log *slog.Logger) error { return f(ctx, log) }

// Merger is implemented by Work that can absorb the Work of a later task
// with the same Key, such as a hook run that concatenates the binding
// contexts of a group binding.
//
// When Add finds a waiting task with the new task's Key (the one nearest the
// tail, should AddFirst have queued several), it calls Merge on the waiting
// task's Work with the new task's Work. Merge reports whether it
// absorbed incoming; if it did, the new task is discarded, otherwise it is
// queued as usual. Work without a Merge method is deduplicated: the waiting
// task stays as it is and the new one is discarded.
//
// Merge is called with the queue's lock held: it must be quick and must not
// call back into the Set. The waiting task may be one that failed and waits
// for its retry, never one that is running.
type Merger interface {
	Merge(incoming Work) bool
}

// Task is one unit of work on a queue. The caller fills it in and hands it
// to Set.Add or Set.AddFirst; after that the queue owns it and the caller
// must not change it.
type Task struct {
	// Kind names what the task does ("ModuleRun", "HookRun", ...) for logs,
	// introspection and metrics. It should come from a small fixed set.
	Kind string
	// Key, when not empty, makes the task compactable with other tasks of
	// the same queue and Key (see Merger). Tasks sharing a Key should share
	// Kind, Attrs and AllowFailure too: the waiting task's are kept.
	Key string
	// Attrs describe the task (module, hook, binding, ...). They are added
	// to the task's logger and shown by Snapshot.
	Attrs []slog.Attr
	// AllowFailure drops the task when it fails, after logging the error,
	// instead of retrying it.
	AllowFailure bool
	// Work is run by the queue's worker. It must not be nil.
	Work Work
}

// Attempt describes the current run of a task.
type Attempt struct {
	// Number is 1 on the first run and grows by one on each retry. A run
	// interrupted by shutdown is not counted.
	Number int
	// LastError is the error of the previous failed run, nil on the first.
	LastError error
}

type attemptKey struct{}

// AttemptFrom returns the attempt of the task whose Work was called with
// ctx. ok is false for a ctx that does not come from a queue.
func AttemptFrom(ctx context.Context) (a Attempt, ok bool) {
	a, ok = ctx.Value(attemptKey{}).(Attempt)
	return a, ok
}

// Outcome is how one run of a task ended. Its values are fit for a metric
// label.
type Outcome string

// Outcomes of a task run.
const (
	// Succeeded: Work returned nil; the task left its queue.
	Succeeded Outcome = "success"
	// Failed: Work returned an error; the task stays at the head of its
	// queue and is retried after a backoff.
	Failed Outcome = "error"
	// Dropped: Work of an AllowFailure task returned an error; the task left
	// its queue.
	Dropped Outcome = "dropped"
	// Interrupted: Work returned an error after the Set started shutting
	// down; the task stays queued, the run is not counted as an attempt.
	Interrupted Outcome = "interrupted"
)

// TaskInfo is a copy of a queued task's state, for introspection and
// metrics. Attrs must be treated as read-only.
type TaskInfo struct {
	Queue        string
	ID           uint64
	Kind         string
	Key          string
	Attrs        []slog.Attr
	AllowFailure bool
	// Attempts counts the runs so far, including the one in progress.
	Attempts int
	// LastError is the error of the last failed run, nil if none failed.
	LastError error
	// QueuedAt is when the task was added.
	QueuedAt time.Time
	// Running is true while Work runs.
	Running bool
	// RetryAt is when a failed task runs again; zero unless it waits for a
	// retry.
	RetryAt time.Time
}

// Attr returns the string form of the first attribute named key, or "".
func (t TaskInfo) Attr(key string) string {
	for _, a := range t.Attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

package queue_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/queue"
	"github.com/seedops/addon-operator/test/logbuf"
	"github.com/seedops/addon-operator/test/poll"
	clocktesting "k8s.io/utils/clock/testing"
)

// timeout bounds every wait of a test; reaching it fails the test.
const timeout = 10 * time.Second

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// harness is a Set on a fake clock with a recording observer and a JSON log.
type harness struct {
	set  *queue.Set
	clk  *clocktesting.FakeClock
	obs  *recordingObserver
	logs *logbuf.Buffer

	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, cfg queue.Config) *harness {
	t.Helper()
	h := &harness{clk: clocktesting.NewFakeClock(t0), obs: &recordingObserver{}, logs: &logbuf.Buffer{}}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	set, err := queue.New(cfg, log, queue.WithClock(h.clk), queue.WithObserver(h.obs))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.set = set
	return h
}

// start runs Start in the background; the test's cleanup stops it.
func (h *harness) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.set.Start(ctx) }()
	t.Cleanup(func() { h.stop(t) })
}

// stop cancels Start's ctx and waits for Start to return. It may be called
// more than once.
func (h *harness) stop(t *testing.T) {
	t.Helper()
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Start returned %v, want nil", err)
		}
	case <-time.After(timeout):
		t.Fatal("Start did not return after its ctx was cancelled")
	}
}

func (h *harness) waitIdle(t *testing.T, queueName string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := h.set.WaitIdle(ctx, queueName); err != nil {
		t.Fatalf("queue %q did not drain: %v\nqueues: %+v", queueName, err, h.set.Snapshot())
	}
}

// waitBackoff waits until a worker sleeps on the fake clock.
func (h *harness) waitBackoff(t *testing.T) {
	t.Helper()
	eventually(t, "a worker waiting for a retry", h.clk.HasWaiters)
}

// head returns the first task of a queue.
func (h *harness) head(t *testing.T, queueName string) queue.TaskInfo {
	t.Helper()
	for _, q := range h.set.Snapshot() {
		if q.Name == queueName && len(q.Tasks) > 0 {
			return q.Tasks[0]
		}
	}
	t.Fatalf("queue %q has no task", queueName)
	return queue.TaskInfo{}
}

// eventually polls cond until it holds, failing the test after timeout. It
// synchronises with goroutines; it never stands in for an assertion.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.True(t, time.Millisecond, timeout, what, cond)
}

// receive takes one value from ch, failing the test after timeout.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// recorder records the order in which tasks ran.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) add(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, name)
}

func (r *recorder) runs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// task returns a task that records name and succeeds.
func (r *recorder) task(name string) *queue.Task {
	return &queue.Task{Kind: "Test", Work: r.work(name)}
}

func (r *recorder) work(name string) queue.Work {
	return queue.WorkFunc(func(context.Context, *slog.Logger) error {
		r.add(name)
		return nil
	})
}

// gate is Work that records its name, reports that it started and blocks
// until released (or its ctx is done).
type gate struct {
	rec     *recorder
	name    string
	started chan struct{}
	release chan struct{}
}

func newGate(rec *recorder, name string) *gate {
	return &gate{rec: rec, name: name, started: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) Run(ctx context.Context, _ *slog.Logger) error {
	g.rec.add(g.name)
	close(g.started)
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) waitStarted(t *testing.T) {
	t.Helper()
	receive(t, g.name+" to start", g.started)
}

func (g *gate) open() { close(g.release) }

type lengthEvent struct {
	Queue string
	Len   int
}

type waitEvent struct {
	Queue, Kind string
	Wait        time.Duration
}

type finishEvent struct {
	Queue, Kind string
	Duration    time.Duration
	Outcome     queue.Outcome
}

type recordingObserver struct {
	mu       sync.Mutex
	lengths  []lengthEvent
	waits    []waitEvent
	finished []finishEvent
}

func (o *recordingObserver) QueueLength(q string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lengths = append(o.lengths, lengthEvent{q, n})
}

func (o *recordingObserver) TaskWaited(t queue.TaskInfo, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.waits = append(o.waits, waitEvent{t.Queue, t.Kind, d})
}

func (o *recordingObserver) TaskFinished(t queue.TaskInfo, d time.Duration, out queue.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.finished = append(o.finished, finishEvent{t.Queue, t.Kind, d, out})
}

func (o *recordingObserver) events() ([]lengthEvent, []waitEvent, []finishEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]lengthEvent(nil), o.lengths...), append([]waitEvent(nil), o.waits...), append([]finishEvent(nil), o.finished...)
}

package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
)

// Clock is the time source of a Set: k8s.io/utils/clock.RealClock in
// production, k8s.io/utils/clock/testing.FakeClock in tests.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) clock.Timer
}

// Option configures a Set.
type Option func(*Set)

// WithClock replaces the real clock, which times backoffs, waits and
// durations.
func WithClock(c Clock) Option { return func(s *Set) { s.clock = c } }

// WithObserver sends the queues' measurements to o.
func WithObserver(o Observer) Option { return func(s *Set) { s.obs = o } }

// Set is a set of named task queues and their workers.
type Set struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	obs   Observer

	lastID atomic.Uint64
	// created has a pending signal when a queue was created that Start
	// may not have a worker for yet.
	created chan struct{}

	mu      sync.Mutex
	queues  map[string]*taskQueue
	running bool
}

// New returns a Set with no queues. Zero Config fields get their defaults;
// a nil log discards. Nothing runs before Start.
func New(cfg Config, log *slog.Logger, opts ...Option) (*Set, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Set{
		cfg:     cfg,
		log:     log,
		clock:   clock.RealClock{},
		obs:     nopObserver{},
		created: make(chan struct{}, 1),
		queues:  map[string]*taskQueue{},
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Add puts t at the tail of the named queue, creating the queue if needed,
// unless t's Key matches a waiting task of that queue: then t is merged into
// it (see Merger). Add never blocks on running tasks. It panics if t or
// t.Work is nil or the queue name is empty.
func (s *Set) Add(queue string, t *Task) {
	checkTask(queue, t)
	q := s.queue(queue)
	q.mu.Lock()
	if w := q.mergeTarget(t.Key); w != nil && merge(w.task, t) {
		id := w.id
		q.mu.Unlock()
		s.log.Debug("task merged", "queue", queue, "task_id", id, "kind", t.Kind)
		return
	}
	e := s.newEntry(t)
	q.tasks = append(q.tasks, e)
	q.changed(s.obs)
	q.mu.Unlock()
	q.notify()
	s.log.Debug("task queued", "queue", queue, "task_id", e.id, "kind", t.Kind)
}

// AddFirst puts tasks, in the given order, at the head of the named queue,
// before every waiting task, creating the queue if needed. A task the worker
// has already taken (running, or failed and waiting for its retry) keeps the
// head: called from a task's Work, AddFirst queues follow-up work right
// behind that task, and if the task then fails it is retried before them.
// AddFirst does not compact. It panics like Add.
func (s *Set) AddFirst(queue string, tasks ...*Task) {
	if len(tasks) == 0 {
		return
	}
	entries := make([]*entry, len(tasks))
	for i, t := range tasks {
		checkTask(queue, t)
		entries[i] = s.newEntry(t)
	}
	q := s.queue(queue)
	q.mu.Lock()
	at := 0
	if q.taken {
		at = 1
	}
	q.tasks = slices.Insert(q.tasks, at, entries...)
	q.changed(s.obs)
	q.mu.Unlock()
	q.notify()
	for _, e := range entries {
		s.log.Debug("task queued first", "queue", queue, "task_id", e.id, "kind", e.task.Kind)
	}
}

// WaitIdle blocks until the named queue has no tasks (none waiting, waiting
// for a retry or running) and returns nil, or returns ctx's error wrapped.
// A queue that does not exist yet is idle. A task added right after the
// queue became idle is not waited for.
func (s *Set) WaitIdle(ctx context.Context, queue string) error {
	s.mu.Lock()
	q := s.queues[queue]
	s.mu.Unlock()
	if q == nil {
		return nil
	}
	q.mu.Lock()
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for queue %q to be idle: %w", queue, ctx.Err())
	}
}

// Start runs one worker per queue, including queues created while it runs,
// until ctx is done; then it waits for running tasks to return and returns
// nil. Tasks left in the queues keep their place for a later Start. Only one
// Start may run at a time; a second one returns an error at once.
func (s *Set) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("queue set is already running")
	}
	s.running = true
	s.mu.Unlock()

	var wg sync.WaitGroup
	workers := map[string]bool{}
	for {
		for _, q := range s.queuesWithout(workers) {
			workers[q.name] = true
			wg.Go(func() { s.work(ctx, q) })
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			s.mu.Lock()
			s.running = false
			s.mu.Unlock()
			return nil
		case <-s.created:
		}
	}
}

// queue returns the named queue, creating it if needed.
func (s *Set) queue(name string) *taskQueue {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queues[name]
	if ok {
		return q
	}
	q = newTaskQueue(name)
	s.queues[name] = q
	select {
	case s.created <- struct{}{}:
	default:
	}
	return q
}

// queuesWithout returns the queues not in names.
func (s *Set) queuesWithout(names map[string]bool) []*taskQueue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*taskQueue
	for name, q := range s.queues {
		if !names[name] {
			out = append(out, q)
		}
	}
	return out
}

func (s *Set) newEntry(t *Task) *entry {
	return &entry{task: t, id: s.lastID.Add(1), queuedAt: s.clock.Now()}
}

func checkTask(queue string, t *Task) {
	switch {
	case queue == "":
		panic("queue: task added to a queue without a name")
	case t == nil:
		panic("queue: nil task added")
	case t.Work == nil:
		panic("queue: task without Work added")
	}
}

// merge folds incoming into waiting and reports whether incoming is
// absorbed.
func merge(waiting, incoming *Task) bool {
	if m, ok := waiting.Work.(Merger); ok {
		return m.Merge(incoming.Work)
	}
	return true
}

package queue

import (
	"log/slog"
	"sync"
	"time"
)

// taskQueue is one named FIFO queue. Its worker is the only goroutine that
// removes tasks, and only the head.
type taskQueue struct {
	name string
	// wake has a pending signal when tasks were added since the worker
	// last looked.
	wake chan struct{}

	mu    sync.Mutex
	tasks []*entry
	// taken is true while the worker holds tasks[0]: running it or waiting
	// for its retry. AddFirst queues behind a taken head.
	taken bool
	// idle is closed while tasks is empty.
	idle chan struct{}
}

// entry is a task with the state the queue keeps for it. Fields other than
// task and id are guarded by the queue's mu.
type entry struct {
	task     *Task
	id       uint64
	queuedAt time.Time
	attempts int
	lastErr  error
	running  bool
	retryAt  time.Time
	started  bool
	// log is built on the first run; only the worker touches it.
	log *slog.Logger
}

func newTaskQueue(name string) *taskQueue {
	idle := make(chan struct{})
	close(idle)
	return &taskQueue{name: name, wake: make(chan struct{}, 1), idle: idle}
}

// notify wakes the worker if it waits for tasks.
func (q *taskQueue) notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// changed reports the length and keeps idle in step. q.mu must be held.
func (q *taskQueue) changed(obs Observer) {
	obs.QueueLength(q.name, len(q.tasks))
	select {
	case <-q.idle:
		if len(q.tasks) > 0 {
			q.idle = make(chan struct{})
		}
	default:
		if len(q.tasks) == 0 {
			close(q.idle)
		}
	}
}

// mergeTarget returns the last waiting task with key, or nil. q.mu must be
// held.
func (q *taskQueue) mergeTarget(key string) *entry {
	if key == "" {
		return nil
	}
	for i := len(q.tasks) - 1; i >= 0; i-- {
		e := q.tasks[i]
		if e.task.Key == key && !e.running {
			return e
		}
	}
	return nil
}

// take marks the head as held by the worker and returns it with the time
// its retry is due, or returns nil when the queue is empty.
func (q *taskQueue) take() (*entry, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.tasks) == 0 {
		return nil, time.Time{}
	}
	q.taken = true
	return q.tasks[0], q.tasks[0].retryAt
}

// release gives the head back without removing it.
func (q *taskQueue) release() {
	q.mu.Lock()
	q.taken = false
	q.mu.Unlock()
}

func (q *taskQueue) info(e *entry) TaskInfo {
	return TaskInfo{
		Queue:        q.name,
		ID:           e.id,
		Kind:         e.task.Kind,
		Key:          e.task.Key,
		Attrs:        e.task.Attrs,
		AllowFailure: e.task.AllowFailure,
		Attempts:     e.attempts,
		LastError:    e.lastErr,
		QueuedAt:     e.queuedAt,
		Running:      e.running,
		RetryAt:      e.retryAt,
	}
}

package queue

import (
	"slices"
	"strings"
)

// QueueInfo is a copy of one queue's state.
type QueueInfo struct {
	Name string
	// Tasks in run order; the head may be running or waiting for a retry.
	Tasks []TaskInfo
}

// Snapshot returns every queue, sorted by name, with its tasks. Each queue
// is copied consistently; different queues may be copied at slightly
// different moments.
func (s *Set) Snapshot() []QueueInfo {
	s.mu.Lock()
	queues := make([]*taskQueue, 0, len(s.queues))
	for _, q := range s.queues {
		queues = append(queues, q)
	}
	s.mu.Unlock()
	slices.SortFunc(queues, func(a, b *taskQueue) int { return strings.Compare(a.name, b.name) })

	out := make([]QueueInfo, 0, len(queues))
	for _, q := range queues {
		q.mu.Lock()
		qi := QueueInfo{Name: q.name, Tasks: make([]TaskInfo, 0, len(q.tasks))}
		for _, e := range q.tasks {
			ti := q.info(e)
			ti.Attrs = slices.Clone(ti.Attrs)
			qi.Tasks = append(qi.Tasks, ti)
		}
		q.mu.Unlock()
		out = append(out, qi)
	}
	return out
}

// Len returns the number of tasks in the named queue (waiting, waiting for
// a retry, or running); 0 for a queue that does not exist.
func (s *Set) Len(queue string) int {
	s.mu.Lock()
	q := s.queues[queue]
	s.mu.Unlock()
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.tasks)
}

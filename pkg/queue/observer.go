package queue

import "time"

// Observer receives the queues' measurements, for example to export them as
// metrics. Its methods are called synchronously from Add, AddFirst and the
// workers, QueueLength with the queue's lock held: they must be quick, must
// not block and must not call back into the Set. They may be called
// concurrently for different queues.
type Observer interface {
	// QueueLength reports the number of tasks in queue (waiting, waiting
	// for a retry, or running) after every change.
	QueueLength(queue string, n int)
	// TaskWaited reports, once per task, how long it waited between being
	// queued and its first run starting.
	TaskWaited(t TaskInfo, wait time.Duration)
	// TaskFinished reports each run of a task: how long Work ran and how
	// the run ended.
	TaskFinished(t TaskInfo, d time.Duration, outcome Outcome)
}

type nopObserver struct{}

func (nopObserver) QueueLength(string, int)                       {}
func (nopObserver) TaskWaited(TaskInfo, time.Duration)            {}
func (nopObserver) TaskFinished(TaskInfo, time.Duration, Outcome) {}

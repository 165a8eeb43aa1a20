// Package queue runs the operator's work as tasks on named FIFO queues.
//
// A Set owns the queues. Event sources put tasks on a queue by name with Add
// (or AddFirst); a queue is created on first use. The "main" queue
// (MainQueue) serialises lifecycle work; other queues run hook tasks that
// ask for them.
//
// Guarantees:
//
//   - Each queue runs one task at a time, in FIFO order. Different queues run
//     concurrently and never wait for each other.
//   - A task whose Work fails stays at the head of its queue and is retried
//     after an exponential backoff (Config.Backoff); its queue waits, other
//     queues keep running. A task with AllowFailure is logged and dropped
//     instead. A panic in Work counts as a failure (ErrPanicked).
//   - Tasks that share a non-empty Key are compacted: a task added with Add
//     while a task with the same Key waits (is not running) in the same queue
//     is merged into the waiting one (see Merger) instead of being queued.
//   - Work gets a logger carrying queue, task_id, kind and the task's Attrs;
//     the queue logs one "task finished" line per attempt with its duration
//     and outcome.
//   - Start runs the workers until its ctx is done, then waits for running
//     tasks to return. Tasks left in the queues stay there and run when
//     Start is called again.
//
// Every method of Set is safe for concurrent use, before, during and after
// Start.
//
// It must not import any other package of the operator: it knows nothing of
// hooks, modules or Helm, and never talks to the API server.
package queue

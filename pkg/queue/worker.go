package queue

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// work runs q's tasks one at a time until ctx is done.
func (s *Set) work(ctx context.Context, q *taskQueue) {
	for {
		e, retryAt := q.take()
		if e == nil {
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		if !s.sleepUntil(ctx, retryAt) {
			q.release()
			return
		}
		s.run(ctx, q, e)
		if ctx.Err() != nil {
			return
		}
	}
}

// sleepUntil waits for the clock to reach t and reports whether it did
// before ctx was done.
func (s *Set) sleepUntil(ctx context.Context, t time.Time) bool {
	if ctx.Err() != nil {
		return false
	}
	d := t.Sub(s.clock.Now())
	if t.IsZero() || d <= 0 {
		return true
	}
	timer := s.clock.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// run makes one attempt at e, the head of q, and settles its place in q.
func (s *Set) run(ctx context.Context, q *taskQueue, e *entry) {
	q.mu.Lock()
	e.running = true
	e.retryAt = time.Time{}
	e.attempts++
	attempt := Attempt{Number: e.attempts, LastError: e.lastErr}
	first := !e.started
	e.started = true
	info := q.info(e)
	q.mu.Unlock()

	start := s.clock.Now()
	if first {
		s.obs.TaskWaited(info, start.Sub(e.queuedAt))
	}
	if e.log == nil {
		e.log = s.taskLogger(q.name, e)
	}
	err := runWork(context.WithValue(ctx, attemptKey{}, attempt), e.task.Work, e.log)
	d := s.clock.Now().Sub(start)

	var outcome Outcome
	var retryIn time.Duration
	q.mu.Lock()
	e.running = false
	switch {
	case err == nil:
		outcome = Succeeded
	case ctx.Err() != nil:
		outcome = Interrupted
		e.attempts--
	case e.task.AllowFailure:
		outcome = Dropped
	default:
		outcome = Failed
		e.lastErr = err
		retryIn = s.cfg.Backoff(e.attempts)
		e.retryAt = s.clock.Now().Add(retryIn)
	}
	if outcome != Failed {
		q.taken = false
	}
	if outcome == Succeeded || outcome == Dropped {
		q.tasks[0] = nil
		q.tasks = q.tasks[1:]
		q.changed(s.obs)
	}
	info = q.info(e)
	q.mu.Unlock()

	s.obs.TaskFinished(info, d, outcome)
	logFinished(e.log, attempt.Number, d, outcome, err, retryIn)
}

func (s *Set) taskLogger(queue string, e *entry) *slog.Logger {
	args := make([]any, 0, 3+len(e.task.Attrs))
	args = append(args, slog.String("queue", queue), slog.Uint64("task_id", e.id), slog.String("kind", e.task.Kind))
	for _, a := range e.task.Attrs {
		args = append(args, a)
	}
	return s.log.With(args...)
}

// runWork calls w.Run and turns a panic into an error wrapping ErrPanicked.
func runWork(ctx context.Context, w Work, log *slog.Logger) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("task panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %v", ErrPanicked, r)
		}
	}()
	return w.Run(ctx, log)
}

func logFinished(log *slog.Logger, attempt int, d time.Duration, outcome Outcome, err error, retryIn time.Duration) {
	attrs := []slog.Attr{
		slog.String("outcome", string(outcome)),
		slog.Int("attempt", attempt),
		slog.Duration("duration", d),
	}
	level := slog.LevelInfo
	switch outcome {
	case Failed:
		level = slog.LevelError
		attrs = append(attrs, slog.Any("error", err), slog.Duration("retry_in", retryIn))
	case Dropped:
		level = slog.LevelWarn
		attrs = append(attrs, slog.Any("error", err))
	case Interrupted:
		attrs = append(attrs, slog.Any("error", err))
	}
	log.LogAttrs(context.Background(), level, "task finished", attrs...)
}

package converge

import (
	"sync"
	"time"

	htypes "github.com/flant/shell-operator/pkg/hook/types"
	"golang.org/x/time/rate"
)

// hookLimits enforces the hooks' settings (executionMinInterval,
// executionBurst) as shell-operator does: a token bucket per hook holding
// executionBurst runs (1 when unset) and refilled with one run every
// executionMinInterval; a hook without executionMinInterval is not limited.
// Only the runs of kubernetes and schedule events count; a Synchronization
// and lifecycle bindings are never put off.
//
// Unlike shell-operator, a run that finds the bucket empty does not wait in
// its queue's worker: it leaves the queue and is queued again when its token
// is due, so the rest of the queue keeps running. Events of the hook that
// arrive meanwhile merge into that deferred run. The zero value is ready for
// use; its methods are safe for concurrent use.
type hookLimits struct {
	mu     sync.Mutex
	byHook map[string]*hookLimit
}

type hookLimit struct {
	settings htypes.Settings
	bucket   *rate.Limiter
	// deferred is the run waiting for its token, nil when none.
	deferred *hookWork
}

// admit reports whether w may run at now. When it may not, w has been put
// off: merged into the hook's deferred run, or made the deferred run, in
// which case queueIn > 0 says when to queue it again (see hookWork.due).
func (l *hookLimits) admit(w *hookWork, now time.Time) (run bool, queueIn time.Duration) {
	s := w.ev.Hook.Bindings.Settings
	if w.ev.Sync || w.due || s.ExecutionMinInterval <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	hl := l.limit(w.ev.Hook.Name, s)
	if hl.deferred != nil && hl.deferred.Merge(w) {
		return false, 0
	}
	// A deferred run of an older copy of the hook (before a reload) cannot
	// absorb w; w then waits for a token of its own.
	r := hl.bucket.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d <= 0 {
		return true, 0
	}
	w.due = true
	hl.deferred = w
	return false, d
}

// limit returns the hook's bucket, a new one if its settings changed.
func (l *hookLimits) limit(name string, s htypes.Settings) *hookLimit {
	if l.byHook == nil {
		l.byHook = map[string]*hookLimit{}
	}
	hl := l.byHook[name]
	if hl == nil || hl.settings != s {
		burst := s.ExecutionBurst
		if burst <= 0 {
			burst = 1
		}
		hl = &hookLimit{settings: s, bucket: rate.NewLimiter(rate.Every(s.ExecutionMinInterval), burst)}
		l.byHook[name] = hl
	}
	return hl
}

// release hands back w, the hook's deferred run, once its token is due:
// later events can no longer merge into it here, they merge into it in its
// queue instead.
func (l *hookLimits) release(w *hookWork) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if hl := l.byHook[w.ev.Hook.Name]; hl != nil && hl.deferred == w {
		hl.deferred = nil
	}
}

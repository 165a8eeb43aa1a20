package configstore

import (
	"slices"
	"time"
)

// recentVersions is how many resourceVersions per object echoTracker keeps.
const recentVersions = 32

// echoTracker tells when the informer caches show the Store's own last
// write. A write changes the Secret and then the ConfigMap; the caches can
// show one without the other for a moment, and that mix must not be taken for
// an edit. Versions are compared for equality only (they are opaque).
type echoTracker struct {
	recent  map[string][]string // versions the informer delivered, newest last
	pending map[string]string   // versions written but not delivered yet
	until   time.Time
}

func newEchoTracker() echoTracker {
	return echoTracker{recent: map[string][]string{}, pending: map[string]string{}}
}

// observe records a version the informer delivered; a deletion ends the wait
// for that object.
func (e *echoTracker) observe(kind, rv string, deleted bool) {
	if deleted || e.pending[kind] == rv {
		delete(e.pending, kind)
	}
	if rv == "" {
		return
	}
	r := append(e.recent[kind], rv)
	if len(r) > recentVersions {
		r = r[len(r)-recentVersions:]
	}
	e.recent[kind] = r
}

// expect starts waiting for the versions rvs (by kind) that the informer has
// not delivered yet, until the deadline. It reports whether it waits.
func (e *echoTracker) expect(rvs map[string]string, until time.Time) bool {
	for kind, rv := range rvs {
		if rv == "" || slices.Contains(e.recent[kind], rv) {
			delete(e.pending, kind)
			continue
		}
		e.pending[kind] = rv
	}
	e.until = until
	return len(e.pending) > 0
}

// waiting reports whether an own write is still on its way; past the
// deadline it gives up (a re-list can skip versions).
func (e *echoTracker) waiting(now time.Time) bool {
	if len(e.pending) == 0 {
		return false
	}
	if now.After(e.until) {
		clear(e.pending)
		return false
	}
	return true
}

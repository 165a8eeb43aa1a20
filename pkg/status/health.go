package status

import (
	"maps"
	"slices"
	"sync"

	"github.com/seedops/addon-operator/pkg/module"
)

// healthBoard holds the last judgement of every module's workloads for
// readers on other goroutines (the updater) and signals its changes.
type healthBoard struct {
	mu     sync.Mutex
	health map[string]module.Health
	subs   map[chan struct{}]struct{}
}

func newHealthBoard() *healthBoard {
	return &healthBoard{health: map[string]module.Health{}, subs: map[chan struct{}]struct{}{}}
}

// publish replaces the board with the reports judged for statuses (the
// modules that are not Disabled) and signals the subscribers when it
// changed.
func (b *healthBoard) publish(statuses []module.Status, reports map[string]report) {
	next := make(map[string]module.Health, len(reports))
	for _, st := range statuses {
		rep, ok := reports[st.Module]
		if !ok {
			continue
		}
		next[st.Module] = module.Health{Revision: st.Revision, Waiting: rep.waiting, Failed: rep.failed}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if maps.EqualFunc(b.health, next, sameHealth) {
		return
	}
	b.health = next
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func sameHealth(a, b module.Health) bool {
	return a.Revision == b.Revision && slices.Equal(a.Waiting, b.Waiting) && slices.Equal(a.Failed, b.Failed)
}

// Health returns the last judgement of the workloads of every module that
// is not Disabled, keyed by module; a module is missing until the Writer
// judged it once. Each entry carries the Revision of the module status it
// was judged for: a reader comparing it with the converger's status knows
// whether it speaks of the release in force. Safe for concurrent use; the
// caller must not modify the slices.
func (w *Writer) Health() map[string]module.Health {
	w.health.mu.Lock()
	defer w.health.mu.Unlock()
	return maps.Clone(w.health.health)
}

// HealthChanges signals (coalesced) every change of Health until cancel is
// called. Safe for concurrent use.
func (w *Writer) HealthChanges() (changes <-chan struct{}, cancel func()) {
	ch := make(chan struct{}, 1)
	b := w.health
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// Package stepclock holds Clock, a fake clock that tells a test when the
// code under test waits on it, so that the test steps it then instead of
// sleeping. It is for tests only: production code must not import it.
package stepclock

import (
	"slices"
	"sync"
	"time"

	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
)

// limit bounds Await: longer than any test should wait, so a hang fails
// rather than blocks; it is no timing assertion.
const limit = 10 * time.Second

// Clock is a k8s.io/utils/clock/testing.FakeClock that records the delays
// asked of it: After's apart from the timers' (NewTimer, and Reset of a
// timer it made). A delay is recorded once its waiter is registered, so a
// Step made after Await saw it fires it. Safe for concurrent use.
type Clock struct {
	*clocktesting.FakeClock
	mu      sync.Mutex
	afters  []time.Duration
	timers  []time.Duration
	changed chan struct{}
}

// New returns a Clock at t0.
func New(t0 time.Time) *Clock {
	return &Clock{FakeClock: clocktesting.NewFakeClock(t0), changed: make(chan struct{}, 1)}
}

// After is FakeClock.After, recorded.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := c.FakeClock.After(d)
	c.record(&c.afters, d)
	return ch
}

// NewTimer is FakeClock.NewTimer, recorded, and so are the timer's Resets.
func (c *Clock) NewTimer(d time.Duration) clock.Timer {
	t := c.FakeClock.NewTimer(d)
	c.record(&c.timers, d)
	return timer{Timer: t, c: c}
}

type timer struct {
	clock.Timer
	c *Clock
}

func (t timer) Reset(d time.Duration) bool {
	active := t.Timer.Reset(d)
	t.c.record(&t.c.timers, d)
	return active
}

func (c *Clock) record(list *[]time.Duration, d time.Duration) {
	c.mu.Lock()
	*list = append(*list, d)
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// Afters returns the delays After was asked for, in order.
func (c *Clock) Afters() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.afters)
}

// Timers returns the delays timers were set to (made or Reset), in order.
func (c *Clock) Timers() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.timers)
}

// TimersOf counts the timers set to d.
func (c *Clock) TimersOf(d time.Duration) int {
	n := 0
	for _, x := range c.Timers() {
		if x == d {
			n++
		}
	}
	return n
}

// Await waits until cond holds, looking again after each delay recorded;
// false when that takes longer than any test should.
func (c *Clock) Await(cond func() bool) bool {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-c.changed:
		case <-deadline.C:
			return false
		}
	}
	return true
}

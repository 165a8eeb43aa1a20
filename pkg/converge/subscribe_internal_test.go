package converge

import "testing"

// Every subscriber and the Changes reader see a status change, each once
// however many changes came since its last read; a cancelled subscriber
// is no longer signalled.
func TestSubscribe(t *testing.T) {
	c := &Converger{changes: make(chan struct{}, 1)}
	a, cancelA := c.Subscribe()
	b, cancelB := c.Subscribe()
	defer cancelB()
	c.notify()
	c.notify()
	for name, ch := range map[string]<-chan struct{}{"changes": c.Changes(), "a": a, "b": b} {
		if n := drain(ch); n != 1 {
			t.Errorf("%s signalled %d times after two changes, want 1", name, n)
		}
	}
	cancelA()
	c.notify()
	if n := drain(a); n != 0 {
		t.Errorf("a cancelled subscriber was signalled %d times", n)
	}
	if n := drain(b); n != 1 {
		t.Errorf("b signalled %d times, want 1", n)
	}
}

// drain counts the signals pending on ch.
func drain(ch <-chan struct{}) int {
	n := 0
	for {
		select {
		case <-ch:
			n++
		default:
			return n
		}
	}
}

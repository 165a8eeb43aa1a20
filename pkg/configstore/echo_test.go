package configstore

import (
	"testing"
	"time"
)

// The Store ignores the caches only while a version it wrote has not been
// delivered yet, and never longer than the deadline.
func TestEchoTracker(t *testing.T) {
	now := time.Now()
	type step struct {
		observe string // "kind=rv", "kind!" for a deletion
		expect  map[string]string
	}
	tests := []struct {
		name        string
		steps       []step
		wantWaiting bool
		at          time.Time
	}{
		{name: "nothing written", wantWaiting: false, at: now},
		{
			name:        "written, not delivered",
			steps:       []step{{expect: map[string]string{kindSecret: "11", kindConfigMap: "12"}}},
			wantWaiting: true, at: now,
		},
		{
			name:        "only the secret delivered",
			steps:       []step{{expect: map[string]string{kindSecret: "11", kindConfigMap: "12"}}, {observe: "secret=11"}},
			wantWaiting: true, at: now,
		},
		{
			name:        "both delivered",
			steps:       []step{{expect: map[string]string{kindSecret: "11", kindConfigMap: "12"}}, {observe: "secret=11"}, {observe: "configmap=12"}},
			wantWaiting: false, at: now,
		},
		{
			name:        "delivered before the write returned",
			steps:       []step{{observe: "secret=11"}, {observe: "configmap=12"}, {observe: "configmap=13"}, {expect: map[string]string{kindSecret: "11", kindConfigMap: "12"}}},
			wantWaiting: false, at: now,
		},
		{
			name:        "another version delivered is not the echo",
			steps:       []step{{expect: map[string]string{kindConfigMap: "12"}}, {observe: "configmap=10"}},
			wantWaiting: true, at: now,
		},
		{
			name:        "a deletion ends the wait",
			steps:       []step{{expect: map[string]string{kindConfigMap: "12"}}, {observe: "configmap!"}},
			wantWaiting: false, at: now,
		},
		{
			name:        "past the deadline",
			steps:       []step{{expect: map[string]string{kindConfigMap: "12"}}},
			wantWaiting: false, at: now.Add(2 * echoTimeout),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEchoTracker()
			for _, s := range tt.steps {
				if s.expect != nil {
					e.expect(s.expect, now.Add(echoTimeout))
				}
				if s.observe != "" {
					kind, rv, deleted := parseObserve(s.observe)
					e.observe(kind, rv, deleted)
				}
			}
			if got := e.waiting(tt.at); got != tt.wantWaiting {
				t.Errorf("waiting = %v, want %v", got, tt.wantWaiting)
			}
		})
	}
}

func parseObserve(s string) (kind, rv string, deleted bool) {
	for i := range len(s) {
		switch s[i] {
		case '=':
			return s[:i], s[i+1:], false
		case '!':
			return s[:i], "", true
		}
	}
	return s, "", false
}

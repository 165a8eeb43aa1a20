package operator

import (
	"errors"
	"strings"
	"testing"
)

// /readyz: a leader whose Deployed release is not restored is not ready,
// with the reason, whatever else holds.
func TestLeaderReadiness(t *testing.T) {
	notRestored := errors.New("deployed release not restored: registry down")
	converged := make(chan struct{})
	close(converged)
	tests := []struct {
		name        string
		converged   <-chan struct{}
		notRestored error
		want        string
	}{
		{name: "follower", want: ""},
		{name: "leader before its first converge", converged: make(chan struct{}), want: "first converge not finished"},
		{name: "leader converged", converged: converged, want: ""},
		{name: "leader restoring", converged: make(chan struct{}), notRestored: notRestored, want: "registry down"},
		{name: "elected leader restoring", notRestored: notRestored, want: "registry down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l leaderState
			if tt.converged != nil {
				l.lead(tt.converged)
			}
			l.restoring(tt.notRestored)
			err := l.ready()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("ready() = %v, want ready", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("ready() = %v, want %q", err, tt.want)
			}
			l.restoring(nil)
			if tt.notRestored != nil && tt.converged == nil && l.ready() != nil {
				t.Errorf("ready() after the restore = %v", l.ready())
			}
		})
	}
}

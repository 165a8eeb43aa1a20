package operator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

func TestHAConfigValidate(t *testing.T) {
	tests := []struct {
		name          string
		lease, renew  time.Duration
		retry         time.Duration
		disabled      bool
		wantErrSubstr string
	}{
		{name: "defaults", lease: 15 * time.Second, renew: 10 * time.Second, retry: 2 * time.Second},
		{name: "short test timings", lease: 4 * time.Second, renew: 3 * time.Second, retry: 500 * time.Millisecond},
		{name: "disabled is not checked", lease: time.Second, renew: time.Second, retry: time.Second, disabled: true},
		{name: "no margin", lease: 10 * time.Second, renew: 10 * time.Second, retry: 2 * time.Second, wantErrSubstr: "must exceed --ha-renew-deadline"},
		{name: "margin under a second", lease: 4 * time.Second, renew: 3500 * time.Millisecond, retry: 500 * time.Millisecond, wantErrSubstr: "by at least 1s"},
		{name: "fractional lease counts whole seconds", lease: 4900 * time.Millisecond, renew: 3500 * time.Millisecond, retry: 500 * time.Millisecond, wantErrSubstr: "counted in whole seconds: 4s"},
		{name: "retry too close to the renew deadline", lease: 15 * time.Second, renew: 2 * time.Second, retry: 2 * time.Second, wantErrSubstr: "1.2 × --ha-retry-period"},
		{name: "no retry period", lease: 15 * time.Second, renew: 10 * time.Second, wantErrSubstr: "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := HAConfig{Enabled: !tt.disabled, LeaseDuration: tt.lease, RenewDeadline: tt.renew, RetryPeriod: tt.retry}.Validate()
			if tt.wantErrSubstr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErrSubstr)
			}
		})
	}
}

// memLock is a Lease in memory; cut makes every call fail, as a partition
// from the API server would.
type memLock struct {
	id string

	mu  sync.Mutex
	cut bool
	rec *resourcelock.LeaderElectionRecord
}

var errCut = errors.New("connection refused")

func (l *memLock) Get(context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return nil, nil, errCut
	}
	if l.rec == nil {
		return nil, nil, apierrors.NewNotFound(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "lease")
	}
	rec := *l.rec
	raw, _ := json.Marshal(rec)
	return &rec, raw, nil
}

func (l *memLock) Create(_ context.Context, rec resourcelock.LeaderElectionRecord) error {
	return l.write(rec)
}

func (l *memLock) Update(_ context.Context, rec resourcelock.LeaderElectionRecord) error {
	return l.write(rec)
}

func (l *memLock) write(rec resourcelock.LeaderElectionRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return errCut
	}
	l.rec = &rec
	return nil
}

func (l *memLock) setCut(cut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = cut
}

func (l *memLock) holder() (string, int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rec == nil {
		return "", 0, time.Time{}
	}
	return l.rec.HolderIdentity, l.rec.LeaseDurationSeconds, l.rec.RenewTime.Time
}

func (l *memLock) RecordEvent(string) {}
func (l *memLock) Identity() string   { return l.id }
func (l *memLock) Describe() string   { return "memory/lease" }

var testHA = HAConfig{Enabled: true, Lease: "lease", LeaseDuration: 3 * time.Second, RenewDeadline: time.Second, RetryPeriod: 200 * time.Millisecond}

// A leader cut off from the API cancels its work and calls halt once the
// work has returned, or at the latest before another replica may take the
// lease over (the last successful renewal plus the lease duration), also
// when the work ignores the cancellation.
func TestElectLostLeaseHalts(t *testing.T) {
	tests := []struct {
		name string
		// stubborn work does not return when cancelled.
		stubborn bool
	}{{name: "work stops when cancelled"}, {name: "work ignores the cancellation", stubborn: true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lock := &memLock{id: "a"}
			var mu sync.Mutex
			var events []string
			note := func(s string) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, s)
			}
			started := make(chan struct{})
			forever := make(chan struct{})
			defer close(forever)
			work := func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				note("work cancelled")
				if tt.stubborn {
					<-forever
				}
				note("work returned")
				return ctx.Err()
			}
			var cutAt time.Time
			var haltAt time.Time
			halt := func() {
				haltAt = time.Now()
				note("halt")
			}
			done := make(chan error, 1)
			go func() {
				done <- elect(context.Background(), testHA, lock, work, halt, slog.New(slog.NewTextHandler(io.Discard, nil)))
			}()
			<-started
			// Renewals go on for a while; the lease expires a lease duration
			// after the last renewal that began before the cut. Real time on
			// purpose: client-go's elector renews on the real clock, and
			// the test measures the halt against real lease expiry.
			time.Sleep(3 * testHA.RetryPeriod)
			cutAt = time.Now()
			lock.setCut(true)
			if err := <-done; !errors.Is(err, errLeadershipLost) {
				t.Fatalf("elect() = %v, want errLeadershipLost", err)
			}
			want := []string{"work cancelled", "work returned", "halt"}
			if tt.stubborn {
				want = []string{"work cancelled", "halt"}
			}
			mu.Lock()
			got := strings.Join(events, ", ")
			mu.Unlock()
			if got != strings.Join(want, ", ") {
				t.Errorf("events: %s, want %s", got, strings.Join(want, ", "))
			}
			if expiry := cutAt.Add(testHA.LeaseDuration); !haltAt.Before(expiry) {
				t.Errorf("halt at %s, after the lease could pass to another replica (%s)", haltAt.Format(time.StampMilli), expiry.Format(time.StampMilli))
			}
		})
	}
}

// On shutdown the leader keeps its lease while the work winds down, then
// releases it (a follower takes over at once) and halt is not called.
func TestElectShutdownReleasesAfterWork(t *testing.T) {
	lock := &memLock{id: "a"}
	ctx, cancel := context.WithCancel(context.Background())
	started, winding, finish := make(chan struct{}), make(chan struct{}), make(chan struct{})
	work := func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		close(winding)
		<-finish
		return nil
	}
	halted := false
	done := make(chan error, 1)
	go func() {
		done <- elect(ctx, testHA, lock, work, func() { halted = true }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	<-started
	cancel()
	<-winding
	_, _, before := lock.holder()
	// Longer than the lease: renewals go on while the work winds down.
	// Real time on purpose: client-go's elector renews on the real clock.
	time.Sleep(testHA.LeaseDuration + testHA.RetryPeriod)
	if h, _, renewed := lock.holder(); h != "a" || !renewed.After(before) {
		t.Errorf("while the work winds down the lease names %q, renewed at %s (before: %s); want a, renewed", h, renewed.Format(time.StampMilli), before.Format(time.StampMilli))
	}
	close(finish)
	if err := <-done; err != nil {
		t.Fatalf("elect() = %v, want nil", err)
	}
	if h, secs, _ := lock.holder(); h != "" || secs != 1 {
		t.Errorf("after shutdown the lease names %q for %ds, want released (no holder, 1s)", h, secs)
	}
	if halted {
		t.Error("halt was called on a clean shutdown")
	}
}

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

package operator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// HAConfig switches on leader election between replicas.
type HAConfig struct {
	Enabled bool
	// Lease is the Lease object's name in the operator's namespace.
	Lease         string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Identity names this replica in the Lease; default: hostname + pid.
	Identity string
}

// BindFlags registers --ha and the lease timings.
func (c *HAConfig) BindFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.Enabled, "ha", os.Getenv("ADDON_OPERATOR_HA") == "true", "elect a leader among replicas on a Lease; only the leader runs hooks and Helm (env ADDON_OPERATOR_HA)")
	fs.StringVar(&c.Lease, "ha-lease", "addon-operator-leader", "name of the Lease in the operator's namespace")
	fs.DurationVar(&c.LeaseDuration, "ha-lease-duration", 15*time.Second, "how long a leader's lease lasts without renewal, in whole seconds; a follower takes over after it. At least 1s longer than --ha-renew-deadline")
	fs.DurationVar(&c.RenewDeadline, "ha-renew-deadline", 10*time.Second, "the leader gives up leadership, stops its work and exits when it cannot renew within this time")
	fs.DurationVar(&c.RetryPeriod, "ha-retry-period", 2*time.Second, "how often candidates try to acquire or renew the lease")
	fs.StringVar(&c.Identity, "ha-identity", os.Getenv("POD_NAME"), "this replica's identity in the Lease (env POD_NAME); default hostname-pid")
}

// minHandover is the least margin between the renew deadline and the lease
// duration: a leader that cannot renew stops within the first half of it,
// and the second half covers its exit.
const minHandover = time.Second

// Validate checks the lease timings when HA is enabled. The Lease stores
// its duration in whole seconds, and followers count that.
func (c HAConfig) Validate() error {
	if !c.Enabled {
		return nil
	}
	lease := c.LeaseDuration.Truncate(time.Second)
	switch {
	case c.RetryPeriod <= 0:
		return fmt.Errorf("--ha-retry-period %s: must be positive", c.RetryPeriod)
	case c.RenewDeadline <= c.RetryPeriod*6/5:
		return fmt.Errorf("--ha-renew-deadline %s must be longer than 1.2 × --ha-retry-period (%s)", c.RenewDeadline, c.RetryPeriod)
	case lease-c.RenewDeadline < minHandover:
		return fmt.Errorf("--ha-lease-duration %s (counted in whole seconds: %s) must exceed --ha-renew-deadline %s by at least %s: a leader that cannot renew stops its work in that margin, before another replica may take over", c.LeaseDuration, lease, c.RenewDeadline, minHandover)
	}
	return nil
}

// stopBy is when a leader whose last successful renewal began at last must
// have stopped all work: halfway between giving up (last + RenewDeadline)
// and the earliest take-over by another replica (last + lease duration).
func (c HAConfig) stopBy(last time.Time) time.Time {
	lease := c.LeaseDuration.Truncate(time.Second)
	return last.Add(c.RenewDeadline + (lease-c.RenewDeadline)/2)
}

// errLeadershipLost: the leader could not renew its lease. halt has been
// called; in the process it does not return.
var errLeadershipLost = errors.New("leadership lost")

// leaderState answers /readyz: a follower is ready (standing by); the
// leader is not ready while its Deployed release is not restored (with the
// reason), and ready once its first converge is done. Safe for concurrent
// use.
type leaderState struct {
	mu        sync.Mutex
	converged <-chan struct{}
	// notRestored is why the Deployed release is not restored yet.
	notRestored error
}

// restoring records why the Deployed release is not restored yet; nil once
// it is (updater.Deps.Restoring).
func (l *leaderState) restoring(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notRestored = err
}

func (l *leaderState) lead(converged <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.converged = converged
}

func (l *leaderState) ready() error {
	l.mu.Lock()
	ch, notRestored := l.converged, l.notRestored
	l.mu.Unlock()
	if notRestored != nil {
		return notRestored
	}
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	default:
		return errors.New("first converge not finished")
	}
}

// newLeaseLock returns the Lease lock of this replica. It talks to the API
// on a connection of its own with a request timeout of half the renew
// deadline, so that neither the operator's other traffic nor one hung
// request starves the renewals.
func newLeaseLock(cfg HAConfig, restCfg *rest.Config, namespace string) (resourcelock.Interface, error) {
	id := cfg.Identity
	if id == "" {
		host, _ := os.Hostname()
		id = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	lc := rest.CopyConfig(restCfg)
	lc.Timeout = cfg.RenewDeadline / 2
	// A Dial of its own keeps client-go from sharing the cached transport.
	lc.Dial = (&net.Dialer{Timeout: lc.Timeout, KeepAlive: 30 * time.Second}).DialContext
	client, err := kubernetes.NewForConfig(lc)
	if err != nil {
		return nil, fmt.Errorf("lease client: %w", err)
	}
	return &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: cfg.Lease, Namespace: namespace},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}, nil
}

// elect campaigns for the lease and runs work while leading.
//
// On shutdown (ctx done) the work's ctx is cancelled and the lease kept
// renewed until work returns; then the lease is released so that another
// replica takes over at once, and elect returns work's error.
//
// When work returns on its own, the lease is released and elect returns its
// error.
//
// When no renewal succeeds within RenewDeadline, the leadership is lost:
// work's ctx is cancelled, elect waits for it until stopBy (well before
// another replica may take the lease over), and then calls halt whether or
// not work has returned: a Helm operation may go on in the background
// after its call returned, and hooks run in process groups of their own,
// so only ending the process stops everything. halt does not return in the
// process; elect then returns errLeadershipLost.
func elect(ctx context.Context, cfg HAConfig, lock resourcelock.Interface, work func(context.Context) error, halt func(), log *slog.Logger) error {
	id := lock.Identity()
	renewed := &renewals{Interface: lock}
	leading := make(chan struct{})
	// The election outlives ctx: the lease stays ours while work winds down.
	electCtx, stopElecting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElecting()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:          renewed,
		LeaseDuration: cfg.LeaseDuration,
		RenewDeadline: cfg.RenewDeadline,
		RetryPeriod:   cfg.RetryPeriod,
		Name:          cfg.Lease,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { close(leading) },
			OnStoppedLeading: func() {},
			OnNewLeader: func(current string) {
				if current != id {
					log.Info("following", "leader", current)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	electing := make(chan struct{})
	go func() {
		defer close(electing)
		le.Run(electCtx)
	}()
	select {
	case <-ctx.Done():
		stopElecting()
		<-electing
		return nil
	case <-leading:
	}
	log.Info("leading", "identity", id)

	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	workDone := make(chan error, 1)
	go func() { workDone <- work(workCtx) }()
	select {
	case err := <-workDone:
		stopElecting()
		<-electing
		release(lock, cfg.RenewDeadline, log)
		log.Info("not leading", "identity", id)
		return err
	case <-renewed.overdue(electCtx, cfg.RenewDeadline):
	case <-electing:
	}

	stopWork()
	stopBy := cfg.stopBy(renewed.last())
	log.Error("lease not renewed, stopping all work", "identity", id, "stop_by", stopBy.Format(time.RFC3339Nano))
	timer := time.NewTimer(time.Until(stopBy))
	defer timer.Stop()
	select {
	case err := <-workDone:
		log.Error("leadership lost, work stopped", "identity", id, "error", err)
	case <-timer.C:
		log.Error("leadership lost, work still running at the deadline", "identity", id)
	}
	halt()
	return errLeadershipLost
}

// release gives the lease up if this replica still holds it, so that
// another replica need not wait for it to expire. Errors are only logged:
// the lease then expires.
func release(lock resourcelock.Interface, timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rec, _, err := lock.Get(ctx)
	if err != nil {
		if !apierrors.IsNotFound(err) {
			log.Warn("cannot release the lease", "error", err)
		}
		return
	}
	if rec.HolderIdentity != lock.Identity() {
		return
	}
	now := metav1.Now()
	err = lock.Update(ctx, resourcelock.LeaderElectionRecord{
		LeaseDurationSeconds: 1,
		AcquireTime:          now,
		RenewTime:            now,
		LeaderTransitions:    rec.LeaderTransitions,
	})
	if err != nil {
		log.Warn("cannot release the lease", "error", err)
	}
}

// renewals wraps the lease lock and records when the last successful write
// naming this replica as the holder began: another replica may take the
// lease over a lease duration after that moment, not before. It is safe
// for concurrent use.
type renewals struct {
	resourcelock.Interface

	mu    sync.Mutex
	start time.Time
}

func (r *renewals) Create(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	start := time.Now()
	err := r.Interface.Create(ctx, rec)
	r.record(start, rec, err)
	return err
}

func (r *renewals) Update(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	start := time.Now()
	err := r.Interface.Update(ctx, rec)
	r.record(start, rec, err)
	return err
}

func (r *renewals) record(start time.Time, rec resourcelock.LeaderElectionRecord, err error) {
	if err != nil || rec.HolderIdentity != r.Identity() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if start.After(r.start) {
		r.start = start
	}
}

// last is when the last successful renewal began.
func (r *renewals) last() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.start
}

// overdue returns a channel closed once no renewal has begun successfully
// for deadline, or never if ctx is done first.
func (r *renewals) overdue(ctx context.Context, deadline time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		for {
			last := r.last()
			t := time.NewTimer(time.Until(last.Add(deadline)))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if r.last().Equal(last) {
				close(ch)
				return
			}
		}
	}()
	return ch
}

package operator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

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
	fs.DurationVar(&c.LeaseDuration, "ha-lease-duration", 15*time.Second, "how long a leader's lease lasts without renewal; a follower takes over after it")
	fs.DurationVar(&c.RenewDeadline, "ha-renew-deadline", 10*time.Second, "the leader gives up leadership when it cannot renew within this time")
	fs.DurationVar(&c.RetryPeriod, "ha-retry-period", 2*time.Second, "how often candidates try to acquire or renew the lease")
	fs.StringVar(&c.Identity, "ha-identity", envFirst("", "POD_NAME"), "this replica's identity in the Lease (env POD_NAME); default hostname-pid")
}

// errLeadershipLost ends the process when the leader loses its lease: a
// fresh start as a follower is simpler and safer than winding down.
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

// elect campaigns for the Lease and runs work while leading. It returns
// when ctx is done (releasing the lease) or with errLeadershipLost.
func elect(ctx context.Context, cfg HAConfig, restCfg *rest.Config, namespace string, leader *leaderState, work func(context.Context) error, log *slog.Logger) error {
	id := cfg.Identity
	if id == "" {
		host, _ := os.Hostname()
		id = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaFor(cfg.Lease, namespace),
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	workErr := make(chan error, 1)
	electCtx, stopElecting := context.WithCancel(ctx)
	defer stopElecting()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.Lease,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(lctx context.Context) {
				log.Info("leading", "identity", id)
				workErr <- work(lctx)
				// The work ended (ctx done or a part failed): give the lease up.
				stopElecting()
			},
			OnStoppedLeading: func() {
				log.Info("not leading", "identity", id)
			},
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
	le.Run(electCtx)
	select {
	case err := <-workErr:
		if err != nil || ctx.Err() != nil {
			return err
		}
	default:
		if ctx.Err() != nil {
			return nil
		}
	}
	return errLeadershipLost
}

func metaFor(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace}
}

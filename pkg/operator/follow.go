package operator

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/updater"
)

// followInterval is how often a follower lists the Release objects.
const followInterval = 5 * time.Second

// releaseFollower keeps the schemas of a replica that does not lead (its
// webhook's) on the bundle of the Deployed release, which the leader runs:
// every followInterval it lists the Release objects and, when the Deployed
// one changed, loads its bundle from the release cache or pulls it by
// digest (fetch), then puts it in force with bundleSchemas.follow. With no
// Deployed release (or no Release CRD) it follows builtin. A bundle that
// cannot be fetched or loaded leaves the schemas as they are and is tried
// again at the next listing. Start returns once this replica leads (the
// updater then sets the schemas) or ctx is done.
type releaseFollower struct {
	releases interface {
		List(ctx context.Context) ([]updater.Release, error)
	}
	fetch   func(ctx context.Context, rel updater.Release) (string, error)
	load    func(dir string) (*module.Bundle, error)
	schemas *bundleSchemas
	builtin *module.Bundle
	// clock runs the followInterval ticker; nil means clock.RealClock.
	clock clock.WithTicker
	log   *slog.Logger

	// Used by Start's goroutine only.
	digest   string // of the bundle followed; "" for builtin
	reported string // the last problem logged
}

// Start follows until this replica leads or ctx is done; it returns nil.
// It lists the releases on a ticker rather than watching them: a watch
// would need an informer on the Release kind in every replica for an
// event that comes once per deployed release.
func (f *releaseFollower) Start(ctx context.Context) error {
	clk := f.clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	tick := clk.NewTicker(followInterval)
	defer tick.Stop()
	for {
		if !f.sync(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C():
		}
	}
}

// sync brings the schemas to the Deployed release; false once the replica
// leads.
func (f *releaseFollower) sync(ctx context.Context) bool {
	if f.schemas.isLeading() {
		return false
	}
	list, err := f.releases.List(ctx)
	if err != nil && !errors.Is(err, updater.ErrNoCRD) {
		f.problem("releases not listed; the webhook keeps its schemas", "", err)
		return true
	}
	rel := updater.Deployed(list)
	digest, name := "", updater.BuiltinVersion
	if rel != nil {
		digest, name = rel.Digest, rel.Name
	}
	if digest == f.digest {
		return true
	}
	b := f.builtin
	if rel != nil {
		dir, err := f.fetch(ctx, *rel)
		if err != nil {
			f.problem("deployed release not fetched; the webhook keeps its schemas", name, err)
			return true
		}
		if b, err = f.load(dir); err != nil {
			f.problem("deployed release does not load; the webhook keeps its schemas", name, err)
			return true
		}
	}
	if !f.schemas.follow(b) {
		return false
	}
	f.digest, f.reported = digest, ""
	f.log.Info("webhook schemas follow the deployed release", "release", name)
	return true
}

// problem logs msg unless it repeats the last one.
func (f *releaseFollower) problem(msg, release string, err error) {
	if s := msg + release + err.Error(); s != f.reported {
		f.reported = s
		f.log.Warn(msg, "release", release, "error", err)
	}
}

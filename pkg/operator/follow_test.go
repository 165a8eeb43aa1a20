package operator

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/updater"
)

type listedReleases struct {
	list []updater.Release
	err  error
}

func (l *listedReleases) List(context.Context) ([]updater.Release, error) { return l.list, l.err }

// A follower's schemas are the Deployed release's bundle, fetched once per
// digest; a release that cannot be fetched leaves the schemas as they are
// and is tried again; once the replica leads, the follower stops.
func TestReleaseFollower(t *testing.T) {
	ctx := context.Background()
	builtin, v1, v2 := loadBundle(t, "010-builtin"), loadBundle(t, "010-first"), loadBundle(t, "010-second")
	bundles := map[string]*module.Bundle{"/cache/d1": v1, "/cache/d2": v2}
	rels := &listedReleases{}
	fetchFails := false
	var fetched []string
	var s bundleSchemas
	s.follow(builtin)
	f := &releaseFollower{
		releases: rels,
		fetch: func(_ context.Context, rel updater.Release) (string, error) {
			fetched = append(fetched, rel.Digest)
			if fetchFails {
				return "", errors.New("registry unreachable")
			}
			return "/cache/" + rel.Digest, nil
		},
		load:    func(dir string) (*module.Bundle, error) { return bundles[dir], nil },
		schemas: &s, builtin: builtin, log: slog.New(slog.DiscardHandler),
	}
	known := func(step, key string) {
		t.Helper()
		if !s.KnownSection(key) {
			t.Errorf("%s: the schemas do not know %q", step, key)
		}
	}

	rels.list = []updater.Release{{Name: "r1", Digest: "d1", Phase: updater.PhaseDeployed}, {Name: "r2", Digest: "d2", Phase: updater.PhasePending}}
	if !f.sync(ctx) {
		t.Fatal("sync says the replica leads")
	}
	known("deployed r1", "first")
	f.sync(ctx)
	if len(fetched) != 1 {
		t.Errorf("fetched %q, want the deployed digest once", fetched)
	}

	rels.list[0].Phase, rels.list[1].Phase = updater.PhaseSuperseded, updater.PhaseDeployed
	fetchFails = true
	f.sync(ctx)
	known("r2 not fetched", "first")
	fetchFails = false
	f.sync(ctx)
	known("r2 fetched on the next listing", "second")

	rels.list, rels.err = nil, updater.ErrNoCRD
	f.sync(ctx)
	known("no Release CRD", "builtin")

	s.set(v1)
	rels.err = nil
	rels.list = []updater.Release{{Name: "r2", Digest: "d2", Phase: updater.PhaseDeployed}}
	if f.sync(ctx) {
		t.Error("sync goes on after the replica leads")
	}
	known("leading", "first")
}

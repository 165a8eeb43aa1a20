package operator

import (
	"context"

	"github.com/seedops/addon-operator/pkg/updater"
)

// debugReleases lets the debug socket list and approve the Release objects
// of this operator. An approval asks the updater to check at once, so the
// release is applied without waiting for the next poll.
type debugReleases struct {
	store *updater.KubeReleases
	up    *updater.Updater
}

func (d debugReleases) List(ctx context.Context) ([]updater.Release, error) {
	return d.store.List(ctx)
}

func (d debugReleases) Approve(ctx context.Context, name string, a updater.Approval) error {
	if err := d.store.Approve(ctx, name, a); err != nil {
		return err
	}
	d.up.CheckNow()
	return nil
}

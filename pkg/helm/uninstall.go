package helm

import (
	"context"
	"errors"
	"fmt"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// Uninstall deletes the release's objects (background propagation, no wait
// for their finalizers) and all its revision records. An unknown release is
// not an error. Chart CRDs (crds/) are left in place, and so are objects
// annotated helm.sh/resource-policy: keep (Helm's rule, which upstream
// charts put on the CRDs they render from templates/); a later install of
// the same release takes them back. ctx is honoured until the
// SDK's uninstall starts; from then on Config.Timeout bounds its hooks.
// Call Monitor.Untrack first, or the Monitor reports the deletions.
func (c *Client) Uninstall(ctx context.Context, name string) error {
	unlock, err := c.locks.lock(ctx, name)
	if err != nil {
		return fmt.Errorf("uninstall release %q: %w", name, err)
	}
	defer unlock()
	if err := c.uninstall(ctx, name); err != nil {
		return fmt.Errorf("uninstall release %q: %w", name, err)
	}
	return nil
}

func (c *Client) uninstall(ctx context.Context, name string) error {
	cfg, err := c.actionConfig(c.releaseStore(name))
	if err != nil {
		return err
	}
	_, err = cfg.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read release: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	start := c.clock.Now()
	u := action.NewUninstall(cfg)
	u.Timeout = c.cfg.Timeout
	u.DeletionPropagation = "background"
	_, err = u.Run(name)
	c.observe(name, OpUninstall, start, err)
	if err != nil {
		return err
	}
	c.log.Info("release uninstalled", "release", name)
	return nil
}

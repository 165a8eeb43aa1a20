package helm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// Status returns the release's last revision, whatever its status, or
// ErrNotFound.
func (c *Client) Status(ctx context.Context, name string) (Release, error) {
	if err := ctx.Err(); err != nil {
		return Release{}, fmt.Errorf("release %q: %w", name, err)
	}
	last, err := c.store().Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return Release{}, fmt.Errorf("release %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Release{}, fmt.Errorf("release %q: %w", name, err)
	}
	return c.toRelease(last)
}

// List returns the last revision of every release in the namespace (those
// of any Helm client, not only the operator's), sorted by name.
func (c *Client) List(ctx context.Context) ([]Release, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	all, err := c.store().ListReleases()
	if err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	latest := map[string]*release.Release{}
	for _, r := range all {
		if cur, ok := latest[r.Name]; !ok || r.Version > cur.Version {
			latest[r.Name] = r
		}
	}
	out := make([]Release, 0, len(latest))
	for _, r := range latest {
		rel, err := c.toRelease(r)
		if err != nil {
			return nil, fmt.Errorf("list releases: %w", err)
		}
		out = append(out, rel)
	}
	slices.SortFunc(out, func(a, b Release) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

package updater

import (
	"context"
	"fmt"

	"github.com/seedops/addon-operator/pkg/values"
)

// Deployed returns the release of releases in phase Deployed that changed
// phase last: the one the leader runs once it converged. Nil when there is
// none (the built-in bundle runs).
func Deployed(releases []Release) *Release {
	var deployed *Release
	for i := range releases {
		r := &releases[i]
		if r.Phase == PhaseDeployed && (deployed == nil || r.Transition.After(deployed.Transition)) {
			deployed = r
		}
	}
	return deployed
}

// Fetch returns the directory of rel's bundle: from the release cache, or
// pulled by digest from rel.Source with the registry settings of section
// (the ConfigMap's operator section) and the flags. It changes nothing but
// the cache, so a replica that does not lead may call it; safe for
// concurrent use with the Updater's own work.
func (u *Updater) Fetch(ctx context.Context, rel Release, section values.Values) (string, error) {
	settings, _ := ParseSettings(section)
	path, err := u.cache.Fill(rel.Digest, func(dir string) error {
		src, err := u.openSource(ctx, settings, rel.Source)
		if err != nil {
			return err
		}
		dctx, cancel := context.WithTimeout(ctx, downloadTimeout)
		defer cancel()
		_, err = src.Pull(dctx, rel.Digest, dir)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("fetch release %s: %w", rel.Name, err)
	}
	return path, nil
}

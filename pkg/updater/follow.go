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
// (the ConfigMap's operator section) and the flags. rel must come from the
// configured, allowed source (ErrSourceNotAllowed otherwise), and with
// --verify-key its signature is checked before anything is unpacked. It
// changes nothing but the cache, so a replica that does not lead may call
// it; safe for concurrent use with the Updater's own work.
func (u *Updater) Fetch(ctx context.Context, rel Release, section values.Values) (string, error) {
	settings, _ := ParseSettings(section)
	return u.fetch(ctx, rel, settings)
}

func (u *Updater) fetch(ctx context.Context, rel Release, settings Settings) (string, error) {
	if err := u.checkRestore(rel, settings); err != nil {
		return "", fmt.Errorf("release %s (%s): %w", rel.Name, rel.Version, err)
	}
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
		return "", fmt.Errorf("release %s (%s): %w", rel.Name, rel.Version, err)
	}
	return path, nil
}

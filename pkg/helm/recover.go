package helm

import (
	"fmt"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
)

// stuck reports whether a last revision's status is one that only an
// operation in progress may leave, and that would make Helm refuse to
// upgrade: pending-install, pending-upgrade, pending-rollback, or
// uninstalling.
func stuck(s release.Status) bool {
	return s.IsPending() || s == release.StatusUninstalling
}

// markFailed records rel, a revision left pending by an interrupted
// operation, as failed. Helm then upgrades from the last deployed revision
// (or, if none, from rel's manifest) and adopts what the interrupted
// operation had already created, since those objects carry the release's
// ownership annotations. Nothing in the cluster is touched here.
func markFailed(store *storage.Storage, rel *release.Release) error {
	was := rel.Info.Status
	rel.Info.Status = release.StatusFailed
	rel.Info.Description = fmt.Sprintf("Interrupted while %s; marked failed by addon-operator", was)
	if err := store.Update(rel); err != nil {
		return fmt.Errorf("mark %s revision %d failed: %w", was, rel.Version, err)
	}
	return nil
}

package helm

import (
	"context"
	"errors"
	"fmt"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/seedops/addon-operator/pkg/values"
)

// Reason says why Deploy applied a chart, or why it did not.
type Reason string

// Reasons of a Result.
const (
	// ReasonInstalled: the release did not exist and was installed.
	ReasonInstalled Reason = "installed"
	// ReasonUpgraded: the chart's inputs and its rendered manifests changed,
	// or the last revision was not deployed (failed); a new revision was
	// applied.
	ReasonUpgraded Reason = "upgraded"
	// ReasonUnchanged: same inputs or same manifests, release deployed, all
	// objects present; nothing was applied.
	ReasonUnchanged Reason = "unchanged"
	// ReasonResourcesMissing: same inputs or same manifests, but objects of
	// the release were missing from the cluster; a new revision re-created
	// them.
	ReasonResourcesMissing Reason = "resources-missing"
	// ReasonRecovered: the last revision was stuck pending (an operation
	// was interrupted); it was marked failed and a new revision applied.
	ReasonRecovered Reason = "recovered"
)

// Result is the outcome of Deploy.
type Result struct {
	// Revision is the release's revision after Deploy.
	Revision int
	// Applied is false when nothing was applied (ReasonUnchanged).
	Applied bool
	Reason  Reason
	// Checksum of the rendered manifests and InputsChecksum of what they
	// were rendered from (see Rendered), as stored on the revision.
	Checksum       string
	InputsChecksum string
	// Objects of the release after Deploy (see Monitor.Track).
	Objects []ObjectRef
	// Missing are the objects found missing (ReasonResourcesMissing).
	Missing []ObjectRef
}

// Deploy installs or upgrades the release name with the chart in chartDir
// and vals (helm upgrade --install, without waiting for readiness). vals is
// the whole .Values tree, it replaces the values of the previous revision.
//
// The upgrade is skipped when the last revision is deployed, none of its
// objects is missing, and it was applied from the same inputs
// (Rendered.InputsChecksum: chart files, values, release, cluster version)
// or with the same rendered manifests (Rendered.Checksum). The inputs keep a
// chart with random output (generated certificates, passwords) from being
// upgraded on every call; the manifests keep values that no template reads,
// and revisions labelled before the inputs were recorded, from causing one. A last revision stuck in a pending state is marked failed first
// (the operator holds the only lock on its releases, so a pending revision
// is one an interrupted operator left behind). Chart CRDs are never
// installed by Helm; use ApplyCRDs.
//
// Config.Timeout bounds the call. A chart that does not render gives
// ErrRender and changes nothing. Other errors may leave a failed revision;
// the caller retries.
func (c *Client) Deploy(ctx context.Context, name, chartDir string, vals values.Values) (Result, error) {
	unlock, err := c.locks.lock(ctx, name)
	if err != nil {
		return Result{}, fmt.Errorf("deploy release %q: %w", name, err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	res, err := c.deploy(ctx, name, chartDir, vals)
	if err != nil {
		return res, fmt.Errorf("deploy release %q: %w", name, err)
	}
	return res, nil
}

func (c *Client) deploy(ctx context.Context, name, chartDir string, vals values.Values) (Result, error) {
	start := c.clock.Now()
	rendered, err := c.render(name, chartDir, vals)
	c.observe(name, OpRender, start, err)
	if err != nil {
		return Result{}, err
	}

	store := c.releaseStore(name)
	last, err := store.Last(name)
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		last = nil
	case err != nil:
		return Result{}, fmt.Errorf("read release: %w", err)
	}

	res := Result{Checksum: rendered.Checksum, InputsChecksum: rendered.InputsChecksum, Reason: ReasonUpgraded}
	switch {
	case last == nil || last.Info.Status == release.StatusUninstalled:
		res.Reason = ReasonInstalled
	case stuck(last.Info.Status):
		c.log.Warn("release stuck in a pending state, marking it failed", "release", name, "revision", last.Version, "status", last.Info.Status.String())
		if err := markFailed(store, last); err != nil {
			return Result{}, err
		}
		res.Reason = ReasonRecovered
	case last.Info.Status == release.StatusDeployed && sameRender(last.Labels, rendered):
		objs, err := c.objects(last.Manifest)
		if err != nil {
			return Result{}, err
		}
		missing, err := c.absent(ctx, name, objs)
		if err != nil {
			return Result{}, err
		}
		if len(missing) == 0 {
			res.Revision, res.Reason, res.Objects = last.Version, ReasonUnchanged, objs
			return res, nil
		}
		c.log.Info("release objects missing, re-applying", "release", name, "revision", last.Version, "missing", len(missing))
		res.Reason, res.Missing = ReasonResourcesMissing, missing
	}

	// Rendering processed the chart's dependencies in place; Helm gets a
	// fresh copy.
	ch, err := loadChart(chartDir, name)
	if err != nil {
		return Result{}, err
	}
	var rel *release.Release
	if res.Reason == ReasonInstalled {
		rel, err = c.install(ctx, store, name, ch, vals, rendered, last != nil)
	} else {
		rel, err = c.upgrade(ctx, store, name, ch, vals, rendered)
	}
	if err != nil {
		return Result{}, err
	}
	res.Revision, res.Applied = rel.Version, true
	if res.Objects, err = c.objects(rel.Manifest); err != nil {
		return Result{}, err
	}
	c.log.Info("release applied", "release", name, "revision", rel.Version, "reason", string(res.Reason))
	return res, nil
}

// sameRender reports whether a revision with labels was applied from the
// same inputs as rendered, or with the same manifests.
func sameRender(labels map[string]string, rendered Rendered) bool {
	return labels[InputsChecksumLabel] == rendered.InputsChecksum || labels[ChecksumLabel] == rendered.Checksum
}

// renderLabels are the labels of a revision applied from rendered.
func renderLabels(rendered Rendered) map[string]string {
	return map[string]string{ChecksumLabel: rendered.Checksum, InputsChecksumLabel: rendered.InputsChecksum}
}

func (c *Client) install(ctx context.Context, store *storage.Storage, name string, ch *chart.Chart, vals values.Values, rendered Rendered, replace bool) (*release.Release, error) {
	start := c.clock.Now()
	rel, err := func() (*release.Release, error) {
		cfg, err := c.actionConfig(store)
		if err != nil {
			return nil, err
		}
		i := action.NewInstall(cfg)
		i.ReleaseName = name
		i.Namespace = c.cfg.Namespace
		i.Replace = replace
		i.SkipCRDs = true
		i.Timeout = c.cfg.Timeout
		i.Labels = renderLabels(rendered)
		i.PostRenderer = moduleLabeler{module: name}
		return i.RunWithContext(ctx, ch, map[string]any(vals.DeepCopy()))
	}()
	c.observe(name, OpInstall, start, err)
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	return rel, nil
}

func (c *Client) upgrade(ctx context.Context, store *storage.Storage, name string, ch *chart.Chart, vals values.Values, rendered Rendered) (*release.Release, error) {
	start := c.clock.Now()
	rel, err := func() (*release.Release, error) {
		cfg, err := c.actionConfig(store)
		if err != nil {
			return nil, err
		}
		u := action.NewUpgrade(cfg)
		u.Install = true
		u.Namespace = c.cfg.Namespace
		u.MaxHistory = c.cfg.HistoryMax
		u.ResetValues = true
		u.SkipCRDs = true
		u.Timeout = c.cfg.Timeout
		u.Labels = renderLabels(rendered)
		u.PostRenderer = moduleLabeler{module: name}
		return u.RunWithContext(ctx, name, ch, map[string]any(vals.DeepCopy()))
	}()
	c.observe(name, OpUpgrade, start, err)
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	return rel, nil
}

package helm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"

	"github.com/seedops/addon-operator/pkg/values"
)

// checksumLength is the number of hex digits kept of the SHA-256; a label
// value holds at most 63 characters.
const checksumLength = 48

// Rendered is a chart rendered with values, as Deploy would apply it.
type Rendered struct {
	// Manifest holds the objects in install order, labelled with
	// ModuleLabel and HeritageLabel; Helm hooks are not part of it.
	Manifest string
	// Objects are the objects of Manifest, sorted.
	Objects []ObjectRef
	// Checksum identifies Manifest and the chart's hooks: equal output gives
	// an equal checksum, whatever values produced it.
	Checksum string
	// InputsChecksum identifies what the chart was rendered from: its files
	// and its dependencies' files, the values, the release name and
	// namespace, the cluster's version (and its API versions when a template
	// reads them) and the operator's rendering. Equal inputs give an equal
	// checksum even when the chart's output is random (generated
	// certificates or passwords, now).
	InputsChecksum string
}

// Render templates the chart in chartDir for the release name with vals,
// without changing anything in the cluster. It reads the API server's
// capabilities (cached) so that charts see the same .Capabilities as on
// Deploy. Templates are rendered as for a first install (.Release.Revision
// 1, .Release.IsInstall true) and without cluster access (lookup returns
// nothing), so the checksum does not change from revision to revision.
// A chart that does not load or render gives ErrRender.
func (c *Client) Render(ctx context.Context, name, chartDir string, vals values.Values) (Rendered, error) {
	if err := ctx.Err(); err != nil {
		return Rendered{}, fmt.Errorf("render release %q: %w", name, err)
	}
	start := c.clock.Now()
	r, err := c.render(name, chartDir, vals)
	c.observe(name, OpRender, start, err)
	if err != nil {
		return Rendered{}, fmt.Errorf("render release %q: %w", name, err)
	}
	return r, nil
}

func (c *Client) render(name, chartDir string, vals values.Values) (Rendered, error) {
	caps, err := c.api.capabilities()
	if err != nil {
		return Rendered{}, err
	}
	ch, err := loadChart(chartDir, name)
	if err != nil {
		return Rendered{}, err
	}
	// Rendering processes the chart's dependencies in place: hash it first.
	inputs := inputsChecksum(ch, name, c.cfg.Namespace, vals, caps)
	manifest, hooks, err := renderChart(ch, name, c.cfg.Namespace, vals, caps)
	if err != nil {
		return Rendered{}, fmt.Errorf("%w: %w", ErrRender, err)
	}
	objs, err := c.objects(manifest)
	if err != nil {
		return Rendered{}, fmt.Errorf("%w: %w", ErrRender, err)
	}
	return Rendered{Manifest: manifest, Objects: objs, Checksum: checksum(manifest, hooks), InputsChecksum: inputs}, nil
}

// renderChart produces what a Helm install of ch would apply: the
// post-rendered manifest and the hooks, each in Helm's order.
func renderChart(ch *chart.Chart, name, namespace string, vals values.Values, caps *chartutil.Capabilities) (manifest string, hooks []string, err error) {
	if err := chartutil.ValidateReleaseName(name); err != nil {
		return "", nil, fmt.Errorf("release name %q: %w", name, err)
	}
	if kv := ch.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return "", nil, fmt.Errorf("chart requires kubeVersion %s, the cluster runs %s", kv, caps.KubeVersion.String())
	}
	v := map[string]any(vals.DeepCopy())
	if err := chartutil.ProcessDependenciesWithMerge(ch, v); err != nil {
		return "", nil, err
	}
	opts := chartutil.ReleaseOptions{Name: name, Namespace: namespace, Revision: 1, IsInstall: true}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, v, opts, caps, false)
	if err != nil {
		return "", nil, err
	}
	var e engine.Engine
	files, err := e.Render(ch, top)
	if err != nil {
		return "", nil, err
	}
	for f := range files {
		if isNotes(f) {
			delete(files, f)
		}
	}
	hs, manifests, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		return "", nil, err
	}
	var b bytes.Buffer
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	out, err := moduleLabeler{module: name}.Run(&b)
	if err != nil {
		return "", nil, err
	}
	for _, h := range hs {
		hooks = append(hooks, fmt.Sprintf("# Source: %s\n%s", h.Path, h.Manifest))
	}
	return out.String(), hooks, nil
}

// checksum hashes a manifest and hooks into a label value.
func checksum(manifest string, hooks []string) string {
	h := sha256.New()
	io.WriteString(h, manifest)
	for _, hook := range hooks {
		io.WriteString(h, "\n---\n# Hook\n")
		io.WriteString(h, hook)
	}
	return hex.EncodeToString(h.Sum(nil))[:checksumLength]
}

// isNotes reports whether a rendered file is a chart's NOTES.txt.
func isNotes(file string) bool { return strings.HasSuffix(file, "NOTES.txt") }

package helm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/seedops/addon-operator/pkg/values"
)

// InputsChecksumLabel is the label of a release record that holds the
// checksum of what the revision was rendered from (see
// Rendered.InputsChecksum).
const InputsChecksumLabel = "addons.seedops.io/inputs-checksum"

// renderScheme names how this operator turns a chart into a manifest beyond
// what the chart's files say: the post-renderer's labels and the release
// options. Change it when that changes, so that every release is rendered
// and applied again.
const renderScheme = "addon-operator/render/v1 revision=1 install=true labels=" + ModuleLabel + "," + HeritageLabel + "=" + HeritageValue

// inputsChecksum hashes everything Helm rendering of ch depends on: the
// files of the chart and of all its dependencies (vendored, packaged or
// file://), the values, the release name and namespace, the cluster's
// version, Helm's version and renderScheme. The API versions list is part
// of it only when a template reads it (see readsAPIVersions): it changes
// whenever any CRD is installed, and charts that do not look at it must not
// be re-applied for that. ch must be as loaded, before its dependencies are
// processed.
func inputsChecksum(ch *chart.Chart, name, namespace string, vals values.Values, caps *chartutil.Capabilities) string {
	h := sha256.New()
	field(h, "scheme", renderScheme)
	field(h, "release", name)
	field(h, "namespace", namespace)
	field(h, "values", vals.Checksum())
	field(h, "kube-version", caps.KubeVersion.Version+" "+caps.KubeVersion.Major+"."+caps.KubeVersion.Minor)
	field(h, "helm-version", caps.HelmVersion.Version)
	if readsAPIVersions(ch) {
		apis := slices.Clone([]string(caps.APIVersions))
		slices.Sort(apis)
		field(h, "api-versions", strings.Join(apis, ","))
	}
	hashChart(h, ch, ch.Name())
	return hex.EncodeToString(h.Sum(nil))[:checksumLength]
}

// hashChart writes the files of ch and of its dependencies, each named by
// its chart path, in a fixed order.
func hashChart(h hash.Hash, ch *chart.Chart, path string) {
	files := slices.Clone(ch.Raw)
	slices.SortFunc(files, func(a, b *chart.File) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range files {
		field(h, "file "+path+"/"+f.Name, string(f.Data))
	}
	deps := slices.Clone(ch.Dependencies())
	slices.SortFunc(deps, func(a, b *chart.Chart) int { return strings.Compare(a.Name(), b.Name()) })
	for _, d := range deps {
		hashChart(h, d, path+"/charts/"+d.Name())
	}
}

// field writes a length-prefixed key and value, so that no two different
// sequences of fields hash the same.
func field(h hash.Hash, key, value string) {
	fmt.Fprintf(h, "%d:%s%d:", len(key), key, len(value))
	io.WriteString(h, value)
}

// readsAPIVersions reports whether a template of ch or of a dependency may
// read .Capabilities.APIVersions: it names APIVersions, or it uses
// Capabilities other than through .KubeVersion or .HelmVersion (passing the
// whole of it to a function, say). Templates are text, so this errs on the
// side of yes.
func readsAPIVersions(ch *chart.Chart) bool {
	for _, t := range ch.Templates {
		if templateReadsAPIVersions(string(t.Data)) {
			return true
		}
	}
	return slices.ContainsFunc(ch.Dependencies(), readsAPIVersions)
}

func templateReadsAPIVersions(text string) bool {
	if strings.Contains(text, "APIVersions") {
		return true
	}
	for rest := text; ; {
		i := strings.Index(rest, "Capabilities")
		if i < 0 {
			return false
		}
		rest = rest[i+len("Capabilities"):]
		if !strings.HasPrefix(rest, ".KubeVersion") && !strings.HasPrefix(rest, ".HelmVersion") {
			return true
		}
	}
}

package module

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/seedops/addon-operator/pkg/values"
)

// maxChartYAML bounds the Chart.yaml read from a packaged dependency.
const maxChartYAML = 1 << 20

// rendersRelease reports whether Helm would render objects from the chart in
// dir described by meta (its Chart.yaml; nil when there is none). A library
// chart renders nothing. A chart renders its templates/ and the charts it
// depends on: the ones vendored under charts/ (directories or packaged
// .tgz) and the ones Chart.yaml declares, unless every one of them is a
// library. A module without Chart.yaml is a chart only through templates/:
// without them it is a hooks-only module.
//
// What cannot be read here (a packaged chart that does not open, a
// dependency from a remote repository) counts as rendering: the Helm layer
// then loads it and reports what is wrong, instead of the module silently
// installing nothing.
func rendersRelease(dir string, meta values.Values) bool {
	if isDirPath(filepath.Join(dir, "templates")) {
		return meta == nil || !isLibrary(meta)
	}
	if meta == nil || isLibrary(meta) {
		return false
	}
	vendored, renders := vendoredCharts(filepath.Join(dir, "charts"))
	if renders {
		return true
	}
	for _, dep := range declaredDependencies(meta) {
		if vendored[dep.name] {
			continue
		}
		ref, ok := strings.CutPrefix(dep.repository, "file://")
		if !ok {
			return true
		}
		if !filepath.IsAbs(ref) {
			ref = filepath.Join(dir, ref)
		}
		if sub, err := readChartMeta(filepath.Join(ref, "Chart.yaml")); err != nil || sub == nil || !isLibrary(sub) {
			return true
		}
	}
	return false
}

func isLibrary(meta values.Values) bool { return meta["type"] == "library" }

// vendoredCharts reads the charts under a charts/ directory: the names of
// those it found, and whether one of them is not a library.
func vendoredCharts(dir string) (names map[string]bool, renders bool) {
	names = map[string]bool{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return names, false
	}
	for _, e := range entries {
		full := filepath.Join(dir, e.Name())
		var meta values.Values
		switch {
		case strings.HasPrefix(e.Name(), "."):
			continue
		case isDirPath(full):
			meta, err = readChartMeta(filepath.Join(full, "Chart.yaml"))
			if err == nil && meta == nil {
				continue // not a chart; Helm skips it too
			}
		case strings.HasSuffix(e.Name(), ".tgz"):
			meta, err = packagedChartMeta(full)
		default:
			continue
		}
		if err != nil {
			return names, true
		}
		if name, ok := meta["name"].(string); ok {
			names[name] = true
		}
		if !isLibrary(meta) {
			renders = true
		}
	}
	return names, renders
}

// dependency is an entry of Chart.yaml's dependencies.
type dependency struct {
	name, repository string
}

// declaredDependencies lists Chart.yaml's dependencies; entries that are not
// maps with a name are left for Helm to refuse.
func declaredDependencies(meta values.Values) []dependency {
	list, _ := meta["dependencies"].([]any)
	var out []dependency
	for _, item := range list {
		m, _ := item.(map[string]any)
		name, _ := m["name"].(string)
		repo, _ := m["repository"].(string)
		if name != "" {
			out = append(out, dependency{name: name, repository: repo})
		}
	}
	return out
}

// readChartMeta parses a Chart.yaml; nil and no error when it does not exist.
func readChartMeta(file string) (values.Values, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return values.FromYAML(data)
}

// packagedChartMeta reads <chart>/Chart.yaml from a packaged chart.
func packagedChartMeta(file string) (values.Values, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return nil, err // io.EOF: no Chart.yaml
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "/"))
		if dir, base := path.Split(name); base == "Chart.yaml" && dir != "" && !strings.Contains(strings.TrimSuffix(dir, "/"), "/") {
			data, err := io.ReadAll(io.LimitReader(tr, maxChartYAML))
			if err != nil {
				return nil, err
			}
			return values.FromYAML(data)
		}
	}
}

package helm

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"
)

// moduleIgnore lists what a module directory holds beside its chart. These
// files are not chart content: hooks may be large binaries, and CRDs are
// applied by ApplyCRDs, never by Helm. Keeping them out also keeps the
// release record (which embeds the chart) small. A .helmignore adds to this.
const moduleIgnore = `
/hooks/
/enabled
/openapi/
/crds/
`

// maxDependencyDepth bounds file:// dependencies that refer to each other.
const maxDependencyDepth = 10

// utf8BOM is stripped from the start of chart files, as Helm does.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// loadChart reads the chart of the module name from dir. Symlinked files and
// directories are followed. A missing Chart.yaml is synthesized (apiVersion
// v2, name = the module name, version 0.1.0). Dependencies declared with a
// file:// repository and not vendored under charts/ are loaded from the
// referenced directory.
func loadChart(dir, name string) (*chart.Chart, error) {
	ch, err := loadChartDir(dir, name, true, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRender, err)
	}
	return ch, nil
}

func loadChartDir(dir, name string, module bool, depth int) (*chart.Chart, error) {
	if depth > maxDependencyDepth {
		return nil, fmt.Errorf("load chart %s: file:// dependencies nested deeper than %d", dir, maxDependencyDepth)
	}
	files, err := readChartFiles(dir, module)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	if !hasFile(files, "Chart.yaml") {
		meta := fmt.Sprintf("apiVersion: v2\nname: %s\nversion: 0.1.0\n", name)
		files = append(files, &loader.BufferedFile{Name: "Chart.yaml", Data: []byte(meta)})
	}
	ch, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	if err := loadFileDependencies(ch, dir, depth); err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	return ch, nil
}

// loadFileDependencies adds the dependencies of ch that Chart.yaml declares
// with a file:// repository and that charts/ does not vendor.
func loadFileDependencies(ch *chart.Chart, dir string, depth int) error {
	vendored := map[string]bool{}
	for _, d := range ch.Dependencies() {
		vendored[d.Name()] = true
	}
	for _, dep := range ch.Metadata.Dependencies {
		if dep == nil || vendored[dep.Name] {
			continue
		}
		ref, ok := strings.CutPrefix(dep.Repository, "file://")
		if !ok {
			return fmt.Errorf("dependency %q is not vendored under charts/ and its repository %q is not a file:// path", dep.Name, dep.Repository)
		}
		if !filepath.IsAbs(ref) {
			ref = filepath.Join(dir, ref)
		}
		sub, err := loadChartDir(ref, dep.Name, false, depth+1)
		if err != nil {
			return fmt.Errorf("dependency %q: %w", dep.Name, err)
		}
		if sub.Name() != dep.Name {
			return fmt.Errorf("dependency %q: chart at %s is named %q", dep.Name, ref, sub.Name())
		}
		ch.AddDependency(sub)
		vendored[dep.Name] = true
	}
	return nil
}

// readChartFiles returns the files of the chart in dir, with slash-separated
// paths relative to dir, skipping what .helmignore (and, for a module,
// moduleIgnore) excludes.
func readChartFiles(dir string, module bool) ([]*loader.BufferedFile, error) {
	patterns := ""
	if module {
		patterns = moduleIgnore
	}
	helmignore, err := os.ReadFile(filepath.Join(dir, ignore.HelmIgnore))
	switch {
	case err == nil:
		patterns += "\n" + string(bytes.TrimPrefix(helmignore, utf8BOM))
	case !os.IsNotExist(err):
		return nil, err
	}
	rules, err := ignore.Parse(strings.NewReader(patterns))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", ignore.HelmIgnore, err)
	}
	rules.AddDefaults()

	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	w := &chartWalker{rules: rules, onPath: map[string]bool{root: true}}
	if err := w.walk(root, ""); err != nil {
		return nil, err
	}
	return w.files, nil
}

// chartWalker collects a chart's files, following symlinks and refusing
// directory cycles.
type chartWalker struct {
	rules  *ignore.Rules
	onPath map[string]bool
	files  []*loader.BufferedFile
}

func (w *chartWalker) walk(dir, rel string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		full := filepath.Join(dir, e.Name())
		name := path.Join(rel, e.Name())
		fi, err := os.Stat(full)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if w.rules.Ignore(name, fi) {
			continue
		}
		if fi.IsDir() {
			if err := w.walkDir(full, name); err != nil {
				return err
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file", name)
		}
		if fi.Size() > loader.MaxDecompressedFileSize {
			return fmt.Errorf("%s: larger than %d bytes", name, loader.MaxDecompressedFileSize)
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return err
		}
		w.files = append(w.files, &loader.BufferedFile{Name: name, Data: bytes.TrimPrefix(data, utf8BOM)})
	}
	return nil
}

func (w *chartWalker) walkDir(full, name string) error {
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if w.onPath[real] {
		return fmt.Errorf("%s: symlink cycle", name)
	}
	w.onPath[real] = true
	defer delete(w.onPath, real)
	return w.walk(real, name)
}

func hasFile(files []*loader.BufferedFile, name string) bool {
	for _, f := range files {
		if f.Name == name {
			return true
		}
	}
	return false
}

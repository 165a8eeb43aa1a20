package module

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/seedops/addon-operator/pkg/schema"
	"github.com/seedops/addon-operator/pkg/values"
)

// Module is one module of a bundle, as found on disk. It is read-only after
// Load.
type Module struct {
	// Name is the directory name without its order prefix ("ingress-nginx").
	Name string
	// Order is the directory's numeric prefix (10 for "010-ingress-nginx");
	// 0 without a prefix.
	Order int
	// Dir is the absolute path of the module directory.
	Dir string
	// ValuesKey is the camelCase name ("ingressNginx"): the key of the
	// module's section in values, the ConfigMap and JSON patches.
	ValuesKey string
	// EnabledKey is ValuesKey + "Enabled", the key that switches the module
	// on or off.
	EnabledKey string
	// Values are the static settings from the module's values.yaml (the
	// section itself, not keyed by ValuesKey); empty, never nil, without a
	// file.
	Values values.Values
	// EnabledByDefault is the static enable switch: EnabledKey from the
	// bundle's values files, or else from the module's values.yaml; nil when
	// neither sets it.
	EnabledByDefault *bool
	// Schema holds openapi/config-values.yaml and openapi/values.yaml.
	Schema schema.Set
	// Hooks are the executables under hooks/, sorted by name.
	Hooks []Hook
	// EnabledScript is the absolute path of the executable `enabled` file;
	// "" when there is none.
	EnabledScript string
	// CRDs are the absolute paths of the manifests in crds/ (.yaml, .yml,
	// .json; names starting with "doc-" or "_" skipped), sorted.
	CRDs []string
	// HasChart reports whether the module has a Chart.yaml. A module without
	// one is still a module; the Helm layer synthesizes its chart.
	HasChart bool
	// Releases reports whether the module installs a Helm release: its
	// chart is not a library chart (a library is only a dependency of other
	// charts) and it has a templates/ directory or, with a Chart.yaml,
	// dependencies that are not all libraries (vendored under charts/, as
	// directories or .tgz, or declared in Chart.yaml).
	Releases bool
	// Readiness is how the module's workloads gate it, from its Chart.yaml
	// annotations.
	Readiness Readiness
	// Version is the version in its Chart.yaml; "" without one.
	Version string
	// Definition is its module.yaml; nil without one.
	Definition *Definition
}

// Unwrapped reports whether the chart sees the module's values at the top
// level of .Values (module.yaml `values: unwrapped`).
func (m *Module) Unwrapped() bool {
	return m.Definition != nil && m.Definition.Values == ValuesUnwrapped
}

// moduleDir is a module directory found in a modules dir, before loading.
type moduleDir struct {
	modulesDir string // absolute
	dirName    string // "010-ingress-nginx"
	order      int
	name       string
}

func (d moduleDir) path() string { return filepath.Join(d.modulesDir, d.dirName) }

// loadModule reads one module directory. globals are the bundle's values
// files, lowest precedence first.
func loadModule(d moduleDir, globals []valuesFile, log *slog.Logger) (*Module, error) {
	m := &Module{
		Name:       d.name,
		Order:      d.order,
		Dir:        d.path(),
		ValuesKey:  values.ValuesKey(d.name),
		EnabledKey: values.EnabledKey(d.name),
	}
	var err error
	if m.Definition, err = readDefinition(m); err != nil {
		return nil, err
	}
	if m.Definition != nil && m.Definition.Weight != nil {
		if d.dirName == d.name {
			m.Order = *m.Definition.Weight
		} else if *m.Definition.Weight != d.order {
			log.Warn("module.yaml weight ignored: the directory's order prefix wins", "module", m.Name, "weight", *m.Definition.Weight, "order", d.order)
		}
	}
	own, ownEnabled, err := m.readValues(filepath.Join(m.Dir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	m.Values = own
	m.EnabledByDefault = ownEnabled
	for _, g := range globals {
		if err := m.checkGlobals(g); err != nil {
			return nil, err
		}
		if on, err := enabledValue(g.file, m.EnabledKey, g.values[m.EnabledKey]); err != nil {
			return nil, err
		} else if on != nil {
			m.EnabledByDefault = on
		}
	}
	meta, err := readChart(filepath.Join(m.Dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	m.HasChart = meta != nil
	if v, ok := meta["version"].(string); ok {
		m.Version = v
	}
	m.Releases = rendersRelease(m.Dir, meta)
	if m.Readiness, err = readinessOf(filepath.Join(m.Dir, "Chart.yaml"), meta); err != nil {
		return nil, err
	}
	if m.Schema, err = loadSchema(m); err != nil {
		return nil, fmt.Errorf("%w: module %s: %w", ErrInvalidBundle, m.Name, err)
	}
	if m.Hooks, err = findHooks(filepath.Join(m.Dir, "hooks"), d.modulesDir, m.Name, log.With("module", m.Name)); err != nil {
		return nil, err
	}
	if m.EnabledScript, err = findEnabledScript(filepath.Join(m.Dir, "enabled")); err != nil {
		return nil, err
	}
	if m.CRDs, err = findCRDs(filepath.Join(m.Dir, "crds")); err != nil {
		return nil, err
	}
	return m, nil
}

// loadSchema loads the module's openapi/ schemas. An unwrapped module
// without an openapi/ directory is an upstream chart: its own
// values.schema.json, when it has one, validates the config section (over
// the chart's values.yaml) and the effective values.
func loadSchema(m *Module) (schema.Set, error) {
	if !m.Unwrapped() || isDirPath(filepath.Join(m.Dir, "openapi")) {
		return schema.LoadDir(m.Dir)
	}
	file := filepath.Join(m.Dir, schema.ChartSchemaFile)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return schema.Set{}, nil
	}
	if err != nil {
		return schema.Set{}, fmt.Errorf("read schema: %w", err)
	}
	s, err := schema.LoadChart(file, data, m.Values)
	if err != nil {
		return schema.Set{}, err
	}
	return schema.Set{Config: s}, nil
}

// readValues reads the module's values.yaml. The file is keyed
// ({ingressNginx: {...}, ingressNginxEnabled: true}) when its top-level keys
// are only ValuesKey and/or EnabledKey; otherwise its top-level keys are the
// settings themselves.
func (m *Module) readValues(file string) (values.Values, *bool, error) {
	v, err := readValuesFile(file)
	if err != nil || v == nil {
		return values.Values{}, nil, err
	}
	// An unwrapped module's values.yaml is an upstream chart's: its keys
	// are always the settings.
	keyed := len(v) > 0 && !m.Unwrapped()
	for k := range v {
		if k != m.ValuesKey && k != m.EnabledKey {
			keyed = false
			break
		}
	}
	if !keyed {
		return v, nil, nil
	}
	enabled, err := enabledValue(file, m.EnabledKey, v[m.EnabledKey])
	if err != nil {
		return nil, nil, err
	}
	switch section := v[m.ValuesKey].(type) {
	case nil:
		return values.Values{}, enabled, nil
	case map[string]any:
		return values.Values(section), enabled, nil
	default:
		return nil, nil, fmt.Errorf("%w: %s: %s must be a map of the module's settings, got %s", ErrInvalidBundle, file, m.ValuesKey, values.KindOf(section))
	}
}

// checkGlobals checks the module's section in a bundle values file.
func (m *Module) checkGlobals(g valuesFile) error {
	switch section := g.values[m.ValuesKey].(type) {
	case nil, map[string]any:
		return nil
	default:
		return fmt.Errorf("%w: %s: %s must be a map of the module's settings, got %s", ErrInvalidBundle, g.file, m.ValuesKey, values.KindOf(section))
	}
}

// enabledValue reads an enable switch: true, false, or absent (nil).
func enabledValue(file, key string, v any) (*bool, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return &t, nil
	default:
		return nil, fmt.Errorf("%w: %s: %s must be true or false, got %s", ErrInvalidBundle, file, key, values.KindOf(v))
	}
}

// readValuesFile parses a values file that must be a map; a missing file
// gives nil Values and no error.
func readValuesFile(file string) (values.Values, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read values: %w", err)
	}
	v, err := values.FromYAML(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidBundle, file, err)
	}
	return v, nil
}

// readChart reads Chart.yaml (nil when it does not exist), after checking
// that it is a YAML map. Beyond what decides whether the module installs a
// release, what the chart says is for the Helm layer to judge.
func readChart(file string) (values.Values, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read chart: %w", err)
	}
	meta, err := values.FromYAML(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: want a chart description (a map with name, version, ...): %w", ErrInvalidBundle, file, err)
	}
	if meta == nil {
		meta = values.Values{}
	}
	return meta, nil
}

func isDirPath(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// findEnabledScript returns file when it is an executable file, "" when it
// does not exist.
func findEnabledScript(file string) (string, error) {
	info, err := os.Stat(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read enabled script: %w", err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s: want an executable file, got %s", ErrInvalidBundle, file, fileKind(info))
	}
	if info.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%w: %s: the enabled script is not executable; chmod +x it or remove it", ErrInvalidBundle, file)
	}
	return file, nil
}

// crdExtensions are the file types of CRD manifests.
var crdExtensions = []string{".yaml", ".yml", ".json"}

// findCRDs lists the manifests directly in dir, sorted.
func findCRDs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read crds: %w", err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "doc-") || strings.HasPrefix(name, "_") {
			continue
		}
		if !slices.Contains(crdExtensions, strings.ToLower(filepath.Ext(name))) {
			continue
		}
		out = append(out, filepath.Join(dir, name))
	}
	slices.Sort(out)
	return out, nil
}

func fileKind(info fs.FileInfo) string {
	if info.IsDir() {
		return "a directory"
	}
	return "a special file (" + info.Mode().Type().String() + ")"
}

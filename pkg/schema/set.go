package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/seedops/addon-operator/pkg/values"
)

// File names of a module's (or the global hooks') schemas, under openapi/.
const (
	ConfigValuesFile = "config-values.yaml"
	ValuesFile       = "values.yaml"
)

// Set is the pair of schemas of one values section. Config
// (openapi/config-values.yaml) describes what users may set in the
// ConfigMap; Values (openapi/values.yaml) describes the effective values
// that hooks and Helm see. Either may be nil. A Set is read-only and safe for
// concurrent use; its zero value accepts anything.
type Set struct {
	Config *Schema
	Values *Schema
}

// LoadDir loads dir/openapi/config-values.yaml and dir/openapi/values.yaml;
// a missing file leaves its schema nil, and a missing openapi/ directory
// gives an empty Set.
//
// values.yaml may start with x-extend: {schema: config-values.yaml}; its
// schema is then the config-values properties and required list plus its
// own, its own properties winning on a name clash. Without x-extend the
// values schema stands alone, so it refuses config fields it does not
// declare. Errors wrap ErrInvalidSchema and name the file.
func LoadDir(dir string) (Set, error) {
	base := filepath.Join(dir, "openapi")
	cfg, err := loadFile(filepath.Join(base, ConfigValuesFile))
	if err != nil {
		return Set{}, err
	}
	vals, err := loadFile(filepath.Join(base, ValuesFile))
	if err != nil {
		return Set{}, err
	}
	if vals != nil {
		if vals, err = extend(vals, cfg); err != nil {
			return Set{}, err
		}
	}
	return Set{Config: cfg, Values: vals}, nil
}

func loadFile(file string) (*Schema, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	return Load(file, data)
}

// extend applies values.yaml's x-extend, if any.
func extend(vals, cfg *Schema) (*Schema, error) {
	ext, ok := vals.root.Extensions["x-extend"]
	if !ok {
		return vals, nil
	}
	m, _ := ext.(map[string]any)
	target, _ := m["schema"].(string)
	if target == "" {
		return nil, fmt.Errorf("%w: %s: x-extend must be a map {schema: %s}, got %s", ErrInvalidSchema, vals.file, ConfigValuesFile, values.KindOf(ext))
	}
	if target != ConfigValuesFile {
		return nil, fmt.Errorf("%w: %s: x-extend.schema must be %q, the only schema a values schema can extend, got %q", ErrInvalidSchema, vals.file, ConfigValuesFile, target)
	}
	if cfg == nil {
		return nil, fmt.Errorf("%w: %s: x-extend.schema names %s, which does not exist next to it", ErrInvalidSchema, vals.file, ConfigValuesFile)
	}
	merged := *vals.root
	merged.Properties = map[string]spec.Schema{}
	for name, p := range cfg.root.Properties {
		merged.Properties[name] = p
	}
	for name, p := range vals.root.Properties {
		merged.Properties[name] = p
	}
	merged.Required = slices.Clone(cfg.root.Required)
	for _, r := range vals.root.Required {
		if !slices.Contains(merged.Required, r) {
			merged.Required = append(merged.Required, r)
		}
	}
	closeObject(&merged)
	return &Schema{file: vals.file, root: &merged}, nil
}

// ValidateConfig validates a ConfigMap section against the config-values
// schema. See Schema.Validate.
func (s Set) ValidateConfig(root string, v map[string]any) error {
	return s.Config.Validate(root, v)
}

// ValidateValues validates effective values against the values schema, or
// the config-values schema when there is no values schema. See
// Schema.Validate.
func (s Set) ValidateValues(root string, v map[string]any) error {
	return s.values().Validate(root, v)
}

// ConfigDefaults fills a config section with the config-values defaults.
// See Schema.ApplyDefaults.
func (s Set) ConfigDefaults(v map[string]any) map[string]any {
	return s.Config.ApplyDefaults(v)
}

// ValuesDefaults fills effective values with the values schema's defaults,
// or the config-values ones when there is no values schema. See
// Schema.ApplyDefaults.
func (s Set) ValuesDefaults(v map[string]any) map[string]any {
	return s.values().ApplyDefaults(v)
}

// SecretPaths lists the x-secret fields of the config-values schema: the
// fields stored in the Secret rather than the ConfigMap. See
// Schema.SecretPaths.
func (s Set) SecretPaths() [][]string {
	return s.Config.SecretPaths()
}

func (s Set) values() *Schema {
	if s.Values != nil {
		return s.Values
	}
	return s.Config
}

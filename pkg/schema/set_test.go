package schema

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	configValues = `
type: object
required: [class]
properties:
  class: {type: string, default: nginx}
  replicas: {type: integer, default: 1}
  password: {type: string, x-secret: true}
`
	extendingValues = `
x-extend:
  schema: config-values.yaml
type: object
required: [internal]
properties:
  replicas: {type: integer, minimum: 2, default: 2}
  internal:
    type: object
    default: {}
    properties:
      podIP: {type: string}
`
)

// writeModule writes files (path relative to dir: content) and returns dir.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDir(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		// checks on the loaded Set
		config, values       map[string]any // validated with ValidateConfig / ValidateValues
		configErr, valuesErr string         // "" when valid
		configDefaults       map[string]any // ConfigDefaults(nil)
		valuesDefaults       map[string]any // ValuesDefaults(nil)
	}{
		{
			name:           "no openapi dir accepts anything",
			files:          map[string]string{"Chart.yaml": "name: x\n"},
			config:         map[string]any{"any": 1.0},
			values:         map[string]any{"any": 1.0},
			configDefaults: map[string]any{},
			valuesDefaults: map[string]any{},
		},
		{
			name:           "config only: values are checked against the config schema",
			files:          map[string]string{"openapi/config-values.yaml": configValues},
			config:         map[string]any{"class": "a", "replicas": 3.0},
			values:         map[string]any{"class": "a", "internal": map[string]any{}},
			valuesErr:      "ingressNginx.internal is not allowed",
			configDefaults: map[string]any{"class": "nginx", "replicas": 1.0},
			valuesDefaults: map[string]any{"class": "nginx", "replicas": 1.0},
		},
		{
			name: "x-extend: values schema = config properties + its own, its own win",
			files: map[string]string{
				"openapi/config-values.yaml": configValues,
				"openapi/values.yaml":        extendingValues,
			},
			config:         map[string]any{"class": "a", "replicas": 1.0, "password": "p"},
			values:         map[string]any{"class": "a", "replicas": 1.0, "password": "p", "internal": map[string]any{"podIP": "10.0.0.1"}},
			valuesErr:      "ingressNginx.replicas should be greater than or equal to 2",
			configDefaults: map[string]any{"class": "nginx", "replicas": 1.0},
			valuesDefaults: map[string]any{"class": "nginx", "replicas": 2.0, "internal": map[string]any{}},
		},
		{
			name: "x-extend: required lists are merged",
			files: map[string]string{
				"openapi/config-values.yaml": configValues,
				"openapi/values.yaml":        extendingValues,
			},
			config:         map[string]any{"class": "a"},
			values:         map[string]any{"replicas": 2.0},
			valuesErr:      "ingressNginx.class is required\ningressNginx.internal is required",
			configDefaults: map[string]any{"class": "nginx", "replicas": 1.0},
			valuesDefaults: map[string]any{"class": "nginx", "replicas": 2.0, "internal": map[string]any{}},
		},
		{
			name: "without x-extend the values schema stands alone",
			files: map[string]string{
				"openapi/config-values.yaml": configValues,
				"openapi/values.yaml":        "type: object\nproperties:\n  internal: {type: object}\n",
			},
			config:         map[string]any{"class": "a"},
			values:         map[string]any{"class": "a", "internal": map[string]any{}},
			valuesErr:      "ingressNginx.class is not allowed",
			configDefaults: map[string]any{"class": "nginx", "replicas": 1.0},
			valuesDefaults: map[string]any{},
		},
		{
			name: "x-extend with only the extension",
			files: map[string]string{
				"openapi/config-values.yaml": configValues,
				"openapi/values.yaml":        "x-extend: {schema: config-values.yaml}\n",
			},
			config:         map[string]any{"class": "a"},
			values:         map[string]any{"class": "a", "other": 1.0},
			valuesErr:      "ingressNginx.other is not allowed",
			configDefaults: map[string]any{"class": "nginx", "replicas": 1.0},
			valuesDefaults: map[string]any{"class": "nginx", "replicas": 1.0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := LoadDir(writeModule(t, tt.files))
			if err != nil {
				t.Fatalf("LoadDir: %v", err)
			}
			checkErr(t, "ValidateConfig", set.ValidateConfig("ingressNginx", tt.config), tt.configErr)
			checkErr(t, "ValidateValues", set.ValidateValues("ingressNginx", tt.values), tt.valuesErr)
			if diff := cmp.Diff(tt.configDefaults, set.ConfigDefaults(nil)); diff != "" {
				t.Errorf("ConfigDefaults (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.valuesDefaults, set.ValuesDefaults(nil)); diff != "" {
				t.Errorf("ValuesDefaults (-want +got):\n%s", diff)
			}
		})
	}
}

func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
		return
	}
	if !errors.Is(err, ErrInvalidValues) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: got %v, want ErrInvalidValues containing %q", what, err, want)
	}
}

func TestLoadDirErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "invalid config schema",
			files: map[string]string{"openapi/config-values.yaml": "type: object\nproperties:\n  a: {type: strnig}\n"},
			want:  []string{"openapi/config-values.yaml:3: properties.a.type must be one of"},
		},
		{
			name: "invalid values schema",
			files: map[string]string{
				"openapi/config-values.yaml": configValues,
				"openapi/values.yaml":        "- internal\n",
			},
			want: []string{"openapi/values.yaml: want an OpenAPI schema (a map), got a list"},
		},
		{
			name: "x-extend of another file",
			files: map[string]string{
				"openapi/config-values.yaml": configValues,
				"openapi/values.yaml":        "x-extend: {schema: common.yaml}\n",
			},
			want: []string{`openapi/values.yaml: x-extend.schema must be "config-values.yaml", the only schema a values schema can extend, got "common.yaml"`},
		},
		{
			name:  "x-extend without config-values.yaml",
			files: map[string]string{"openapi/values.yaml": "x-extend: {schema: config-values.yaml}\n"},
			want:  []string{"openapi/values.yaml: x-extend.schema names config-values.yaml, which does not exist next to it"},
		},
		{
			name: "x-extend not a map",
			files: map[string]string{
				"openapi/config-values.yaml": configValues,
				"openapi/values.yaml":        "x-extend: config-values.yaml\n",
			},
			want: []string{"openapi/values.yaml: x-extend must be a map {schema: config-values.yaml}, got string"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadDir(writeModule(t, tt.files))
			if !errors.Is(err, ErrInvalidSchema) {
				t.Fatalf("LoadDir: got %v, want ErrInvalidSchema", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestSetSecretPathsComeFromConfig(t *testing.T) {
	set, err := LoadDir(writeModule(t, map[string]string{
		"openapi/config-values.yaml": configValues,
		"openapi/values.yaml":        "x-extend: {schema: config-values.yaml}\nproperties:\n  internal:\n    type: object\n    properties:\n      token: {type: string, x-secret: true}\n",
	}))
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if diff := cmp.Diff([][]string{{"password"}}, set.SecretPaths()); diff != "" {
		t.Errorf("SecretPaths (-want +got):\n%s", diff)
	}
	if got := (Set{}).SecretPaths(); got != nil {
		t.Errorf("empty Set: got %v, want nil", got)
	}
}

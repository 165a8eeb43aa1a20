package schema

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// certManagerLike is a values.schema.json in the style cert-manager's
// helm-tool generates: $defs and $ref, draft-07, a closed root, an open
// global.
const certManagerLike = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$ref": "#/$defs/helm-values",
  "$defs": {
    "helm-values": {
      "type": "object",
      "additionalProperties": false,
      "required": ["image"],
      "properties": {
        "global": {"type": "object"},
        "installCRDs": {"type": "boolean"},
        "replicaCount": {"type": "integer", "minimum": 1},
        "logFormat": {"enum": ["text", "json"]},
        "image": {"$ref": "#/$defs/image"},
        "extraArgs": {"type": "array", "items": {"type": "string"}},
        "resources": {"oneOf": [{"type": "string"}, {"type": "object"}]}
      }
    },
    "image": {
      "type": "object",
      "required": ["repository"],
      "properties": {"repository": {"type": "string"}, "tag": {"type": "string"}}
    }
  }
}`

func TestLoadChartValidate(t *testing.T) {
	base := map[string]any{"image": map[string]any{"repository": "quay.io/example/controller"}, "replicaCount": 1}
	s, err := LoadChart("cert-manager/values.schema.json", []byte(certManagerLike), base)
	if err != nil {
		t.Fatalf("LoadChart: %v", err)
	}
	tests := []struct {
		name   string
		values map[string]any
		want   []string
	}{
		{name: "empty section: values.yaml supplies what is required"},
		{name: "valid override", values: map[string]any{"replicaCount": 3, "logFormat": "json", "global": map[string]any{"anything": true}}},
		{
			name:   "wrong type",
			values: map[string]any{"replicaCount": "three"},
			want:   []string{"certManager.replicaCount must be of type integer, got string"},
		},
		{
			name:   "unknown key at the closed root",
			values: map[string]any{"replicas": 2},
			want:   []string{"certManager.replicas is not allowed"},
		},
		{
			name:   "below minimum",
			values: map[string]any{"replicaCount": 0},
			want:   []string{"certManager.replicaCount should be greater than or equal to 1"},
		},
		{
			name:   "enum",
			values: map[string]any{"logFormat": "xml"},
			want:   []string{`certManager.logFormat should be one of ["text","json"]`},
		},
		{
			name:   "list element, through a ref",
			values: map[string]any{"extraArgs": []any{"--v=2", 3}, "image": map[string]any{"tag": 1}},
			want:   []string{"certManager.extraArgs[1] must be of type string, got number", "certManager.image.tag must be of type string, got number"},
		},
		{
			name:   "oneOf reported once",
			values: map[string]any{"resources": 3},
			want:   []string{"certManager.resources should match exactly one schema of oneOf"},
		},
		{
			name:   "required removed by a null",
			values: map[string]any{"image": nil},
			want:   []string{"certManager.image must be of type object, got null"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate("certManager", tt.values)
			var got []string
			if err != nil {
				var ve ViolationsError
				if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidValues) {
					t.Fatalf("Validate: %v, want a ViolationsError wrapping ErrInvalidValues", err)
				}
				got = ve.Violations()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			if err != nil && strings.Contains(err.Error(), "three") {
				t.Errorf("the message quotes the value: %v", err)
			}
		})
	}
}

func TestLoadChartNoDefaultsNoSecrets(t *testing.T) {
	s, err := LoadChart("values.schema.json", []byte(`{"type":"object","properties":{"a":{"type":"string","default":"x"}}}`), nil)
	if err != nil {
		t.Fatalf("LoadChart: %v", err)
	}
	if got := s.ApplyDefaults(map[string]any{}); len(got) != 0 {
		t.Errorf("ApplyDefaults = %v, want nothing added: the chart's values.yaml holds the defaults", got)
	}
	if got := s.SecretPaths(); got != nil {
		t.Errorf("SecretPaths = %v, want none", got)
	}
}

func TestLoadChartErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{name: "not JSON", doc: `{"type": `, want: "values.schema.json: want a JSON document"},
		{name: "not an object", doc: `[1]`, want: "want a JSON Schema (an object), got a list"},
		{name: "remote ref", doc: `{"$ref": "https://example.com/s.json"}`, want: "only refs inside values.schema.json are supported"},
		{name: "bad keyword", doc: `{"type": "integr"}`, want: "values.schema.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadChart("values.schema.json", []byte(tt.doc), nil)
			if !errors.Is(err, ErrInvalidSchema) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadChart error = %v, want ErrInvalidSchema containing %q", err, tt.want)
			}
		})
	}
}

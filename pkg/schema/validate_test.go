package schema

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/seedops/addon-operator/pkg/values"
)

func mustLoad(t *testing.T, doc string) *Schema {
	t.Helper()
	s, err := Load("openapi/config-values.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

func TestValidate(t *testing.T) {
	s := mustLoad(t, ingressSchema)
	tests := []struct {
		name   string
		values map[string]any
		want   []string // the violations, in order; nil for valid
	}{
		{
			name:   "valid",
			values: map[string]any{"class": "nginx", "replicas": 2.0, "mode": "DaemonSet", "hosts": []any{map[string]any{"name": "a", "port": 443.0}}},
		},
		{
			name:   "defaulted fields may be absent",
			values: map[string]any{"class": "nginx"},
		},
		{
			name:   "nullable object accepts null",
			values: map[string]any{"class": "nginx", "annotations": nil},
		},
		{
			name:   "explicit additionalProperties true accepts unknown fields",
			values: map[string]any{"class": "nginx", "annotations": map[string]any{"owner": "me", "team": "ops"}},
		},
		{
			name:   "wrong type",
			values: map[string]any{"class": "nginx", "replicas": "two"},
			want:   []string{"ingressNginx.replicas must be of type integer, got string"},
		},
		{
			name:   "fraction for an integer",
			values: map[string]any{"class": "nginx", "replicas": 1.5},
			want:   []string{"ingressNginx.replicas must be of type integer, got number"},
		},
		{
			name:   "unknown field",
			values: map[string]any{"class": "nginx", "repicas": 2.0},
			want:   []string{"ingressNginx.repicas is not allowed"},
		},
		{
			name:   "below minimum",
			values: map[string]any{"class": "nginx", "replicas": -1.0},
			want:   []string{"ingressNginx.replicas should be greater than or equal to 0"},
		},
		{
			name:   "above maximum in a list item",
			values: map[string]any{"class": "nginx", "hosts": []any{map[string]any{"name": "a"}, map[string]any{"name": "b", "port": 70000.0}}},
			want:   []string{"ingressNginx.hosts[1].port should be less than or equal to 65535"},
		},
		{
			name:   "fraction for an int32 field is reported once",
			values: map[string]any{"class": "nginx", "hosts": []any{map[string]any{"name": "a", "weight": 0.5}}},
			want:   []string{"ingressNginx.hosts[0].weight must be of type int32"},
		},
		{
			name:   "int32 overflow",
			values: map[string]any{"class": "nginx", "hosts": []any{map[string]any{"name": "a", "weight": 1e10}}},
			want:   []string{"ingressNginx.hosts[0].weight must be of type integer with format int32"},
		},
		{
			name:   "not in enum",
			values: map[string]any{"class": "nginx", "mode": "StatefulSet"},
			want:   []string{`ingressNginx.mode should be one of ["Deployment","DaemonSet"]`},
		},
		{
			name:   "missing required",
			values: map[string]any{"replicas": 1.0},
			want:   []string{"ingressNginx.class is required"},
		},
		{
			name:   "missing required in a list item",
			values: map[string]any{"class": "nginx", "hosts": []any{map[string]any{"port": 80.0}}},
			want:   []string{"ingressNginx.hosts[0].name is required"},
		},
		{
			name:   "pattern",
			values: map[string]any{"class": "Nginx"},
			want:   []string{"ingressNginx.class should match '^[a-z][a-z0-9-]*$'"},
		},
		{
			name:   "too long",
			values: map[string]any{"class": "a-very-long-ingress-class"},
			want:   []string{"ingressNginx.class should be at most 20 chars long"},
		},
		{
			name:   "additionalProperties schema",
			values: map[string]any{"class": "nginx", "nodeSelector": map[string]any{"role": "ingress", "zone": 3.0}},
			want:   []string{"ingressNginx.nodeSelector.zone must be of type string, got number"},
		},
		{
			name:   "null for a non-nullable field",
			values: map[string]any{"class": "nginx", "resources": nil},
			want:   []string{"ingressNginx.resources must be of type object, got null"},
		},
		{
			name: "every violation is reported, sorted",
			values: map[string]any{
				"replicas": "two", "mode": "x", "extra": true,
				"resources": map[string]any{"cpu": 1.0, "gpu": 1.0},
			},
			want: []string{
				"ingressNginx.class is required",
				"ingressNginx.extra is not allowed",
				`ingressNginx.mode should be one of ["Deployment","DaemonSet"]`,
				"ingressNginx.replicas must be of type integer, got string",
				"ingressNginx.resources.cpu must be of type string, got number",
				"ingressNginx.resources.gpu is not allowed",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate("ingressNginx", tt.values)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidValues) {
				t.Fatalf("Validate: got %v, want an error wrapping ErrInvalidValues", err)
			}
			got := strings.Split(strings.TrimPrefix(err.Error(), ErrInvalidValues.Error()+": "), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateNeverQuotesValues(t *testing.T) {
	s := mustLoad(t, `
type: object
properties:
  email: {type: string, format: email}
  token: {type: string, pattern: '^[a-f0-9]+$', maxLength: 8}
  mode: {type: string, enum: [a]}
  count: {type: integer}
`)
	const secret = "s3cr3t-Pa55w0rd"
	err := s.Validate("app", map[string]any{"email": secret, "token": secret, "mode": secret, "count": secret})
	if !errors.Is(err, ErrInvalidValues) {
		t.Fatalf("Validate: got %v, want ErrInvalidValues", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("the error quotes a value:\n%v", err)
	}
	for _, path := range []string{"app.email", "app.token", "app.mode", "app.count"} {
		if !strings.Contains(err.Error(), path) {
			t.Errorf("the error does not name %s:\n%v", path, err)
		}
	}
}

func TestValidateAcceptsValuesTrees(t *testing.T) {
	s := mustLoad(t, ingressSchema)
	// Values built by hand may hold values.Values at any depth.
	v := values.Values{
		"class":     "nginx",
		"resources": values.Values{"cpu": "1"},
		"hosts":     []any{values.Values{"name": "a"}},
	}
	if err := s.Validate("ingressNginx", v); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if _, ok := v["resources"].(values.Values); !ok {
		t.Fatal("Validate modified its input")
	}
}

func TestValidateNilSchemaAcceptsAnything(t *testing.T) {
	var s *Schema
	if err := s.Validate("anything", map[string]any{"a": []any{1.0, "b"}}); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

// TestConcurrentUse is meaningful under -race: a loaded schema is shared by
// all goroutines that validate or default values.
func TestConcurrentUse(t *testing.T) {
	s := mustLoad(t, ingressSchema)
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 20 {
				v := s.ApplyDefaults(map[string]any{"class": "nginx", "hosts": []any{map[string]any{"name": "a"}}})
				if err := s.Validate("ingressNginx", v); err != nil {
					t.Errorf("Validate: %v", err)
				}
				_ = s.Validate("ingressNginx", map[string]any{"replicas": "x"})
				_ = s.SecretPaths()
			}
		}()
	}
	for range 4 {
		<-done
	}
}

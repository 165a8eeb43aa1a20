package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApplyDefaults(t *testing.T) {
	s := mustLoad(t, `
type: object
properties:
  replicas: {type: integer, default: 1}
  mode: {type: string, default: Deployment}
  tls:
    type: object
    properties:
      enabled: {type: boolean, default: false}
      issuer: {type: string}
  resources:
    type: object
    default: {}
    properties:
      cpu: {type: string, default: 100m}
      limits:
        type: object
        default: {memory: 1Gi}
        properties:
          memory: {type: string}
          cpu: {type: string, default: "1"}
  hosts:
    type: array
    items:
      type: object
      properties:
        name: {type: string}
        port: {type: integer, default: 443}
  pools:
    type: object
    additionalProperties:
      type: object
      properties:
        size: {type: integer, default: 3}
  tags:
    type: array
    default: [a, b]
    items: {type: string}
`)
	tests := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{
			name: "empty section gets top-level defaults and objects with a default",
			in:   nil,
			want: map[string]any{
				"replicas":  1.0,
				"mode":      "Deployment",
				"resources": map[string]any{"cpu": "100m", "limits": map[string]any{"memory": "1Gi", "cpu": "1"}},
				"tags":      []any{"a", "b"},
			},
		},
		{
			name: "set values are kept, including null",
			in:   map[string]any{"replicas": 3.0, "mode": nil, "tags": []any{}},
			want: map[string]any{
				"replicas":  3.0,
				"mode":      nil,
				"resources": map[string]any{"cpu": "100m", "limits": map[string]any{"memory": "1Gi", "cpu": "1"}},
				"tags":      []any{},
			},
		},
		{
			name: "an existing object gets its children defaulted",
			in:   map[string]any{"tls": map[string]any{"issuer": "letsencrypt"}},
			want: map[string]any{
				"replicas":  1.0,
				"mode":      "Deployment",
				"tls":       map[string]any{"issuer": "letsencrypt", "enabled": false},
				"resources": map[string]any{"cpu": "100m", "limits": map[string]any{"memory": "1Gi", "cpu": "1"}},
				"tags":      []any{"a", "b"},
			},
		},
		{
			name: "nested values win over defaults at every depth",
			in:   map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "2"}}},
			want: map[string]any{
				"replicas":  1.0,
				"mode":      "Deployment",
				"resources": map[string]any{"cpu": "100m", "limits": map[string]any{"cpu": "2"}},
				"tags":      []any{"a", "b"},
			},
		},
		{
			name: "list items and map entries get their defaults",
			in: map[string]any{
				"hosts": []any{map[string]any{"name": "a"}, map[string]any{"name": "b", "port": 80.0}},
				"pools": map[string]any{"blue": map[string]any{}, "green": map[string]any{"size": 5.0}},
			},
			want: map[string]any{
				"replicas":  1.0,
				"mode":      "Deployment",
				"resources": map[string]any{"cpu": "100m", "limits": map[string]any{"memory": "1Gi", "cpu": "1"}},
				"tags":      []any{"a", "b"},
				"hosts":     []any{map[string]any{"name": "a", "port": 443.0}, map[string]any{"name": "b", "port": 80.0}},
				"pools":     map[string]any{"blue": map[string]any{"size": 3.0}, "green": map[string]any{"size": 5.0}},
			},
		},
		{
			name: "fields the schema does not know are kept",
			in:   map[string]any{"internal": map[string]any{"x": 1.0}},
			want: map[string]any{
				"replicas":  1.0,
				"mode":      "Deployment",
				"resources": map[string]any{"cpu": "100m", "limits": map[string]any{"memory": "1Gi", "cpu": "1"}},
				"tags":      []any{"a", "b"},
				"internal":  map[string]any{"x": 1.0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.ApplyDefaults(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ApplyDefaults (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyDefaultsSharesNothing(t *testing.T) {
	s := mustLoad(t, `
type: object
properties:
  tls:
    type: object
    properties:
      enabled: {type: boolean, default: true}
  resources:
    type: object
    default: {cpu: 100m}
    properties:
      cpu: {type: string}
`)
	in := map[string]any{"tls": map[string]any{}}
	out := s.ApplyDefaults(in)

	if diff := cmp.Diff(map[string]any{"tls": map[string]any{}}, in); diff != "" {
		t.Fatalf("ApplyDefaults modified its input (-want +got):\n%s", diff)
	}
	// Changing the result must not change the input or the schema's
	// defaults seen by the next call.
	out["tls"].(map[string]any)["enabled"] = false
	out["resources"].(map[string]any)["cpu"] = "2"
	again := s.ApplyDefaults(nil)
	want := map[string]any{"resources": map[string]any{"cpu": "100m"}}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Fatalf("a result shares data with the schema (-want +got):\n%s", diff)
	}
}

func TestApplyDefaultsNilSchemaCopies(t *testing.T) {
	var s *Schema
	in := map[string]any{"a": map[string]any{"b": 1.0}}
	out := s.ApplyDefaults(in)
	if diff := cmp.Diff(in, out); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	out["a"].(map[string]any)["b"] = 2.0
	if in["a"].(map[string]any)["b"] != 1.0 {
		t.Fatal("the result shares data with the input")
	}
	if got := s.ApplyDefaults(nil); got == nil {
		t.Fatal("ApplyDefaults(nil) returned nil")
	}
}

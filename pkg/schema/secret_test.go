package schema

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSecretPaths(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want [][]string
	}{
		{
			name: "none",
			doc:  "type: object\nproperties:\n  a: {type: string}\n",
			want: nil,
		},
		{
			name: "top level and nested, sorted",
			doc: `
type: object
properties:
  tokens:
    type: array
    items: {type: string}
    x-secret: true
  grafana:
    type: object
    properties:
      adminPassword: {type: string, x-secret: true}
      adminUser: {type: string}
  auth:
    type: object
    properties:
      oidc:
        type: object
        properties:
          clientSecret: {type: string, x-secret: true}
`,
			want: [][]string{{"auth", "oidc", "clientSecret"}, {"grafana", "adminPassword"}, {"tokens"}},
		},
		{
			name: "a secret object is listed once, not its children",
			doc: `
type: object
properties:
  credentials:
    type: object
    x-secret: true
    properties:
      user: {type: string}
      password: {type: string, x-secret: true}
`,
			want: [][]string{{"credentials"}},
		},
		{
			name: "list items and map entries are not followed",
			doc: `
type: object
properties:
  users:
    type: array
    items:
      type: object
      properties:
        password: {type: string, x-secret: true}
  byName:
    type: object
    additionalProperties:
      type: object
      properties:
        password: {type: string, x-secret: true}
`,
			want: nil,
		},
		{
			name: "x-secret false or not a bool is not secret",
			doc:  "type: object\nproperties:\n  a: {type: string, x-secret: false}\n  b: {type: string, x-secret: 'yes'}\n",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustLoad(t, tt.doc).SecretPaths()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SecretPaths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecretPathsNilSchema(t *testing.T) {
	var s *Schema
	if got := s.SecretPaths(); got != nil {
		t.Fatalf("got %v, want nil", got)
	}
}

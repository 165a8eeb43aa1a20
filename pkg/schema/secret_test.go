package schema

import (
	"errors"
	"strings"
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
			name: "x-secret false is not secret",
			doc:  "type: object\nproperties:\n  a: {type: string, x-secret: false}\n",
			want: nil,
		},
		{
			name: "below a secret property anything may be marked",
			doc: `
type: object
properties:
  users:
    type: array
    x-secret: true
    items:
      type: object
      properties:
        password: {type: string, x-secret: true}
`,
			want: [][]string{{"users"}},
		},
		{
			name: "through a local ref",
			doc: `
definitions:
  credentials:
    type: object
    properties:
      password: {type: string, x-secret: true}
type: object
properties:
  db: {$ref: '#/definitions/credentials'}
`,
			want: [][]string{{"db", "password"}},
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

// TestLoadRefusesUnlistedSecrets: an x-secret mark SecretPaths cannot list
// would leave the value in the ConfigMap, so the schema is refused with the
// file, line and keyword path of the mark.
func TestLoadRefusesUnlistedSecrets(t *testing.T) {
	const file = "modules/010-users/openapi/config-values.yaml"
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{
			name: "list items",
			doc:  "type: object\nproperties:\n  users:\n    type: array\n    items:\n      type: object\n      properties:\n        password: {type: string, x-secret: true}\n",
			want: file + ":8: properties.users.items.properties.password.x-secret is only supported",
		},
		{
			name: "a list item itself",
			doc:  "type: object\nproperties:\n  tokens:\n    type: array\n    items: {type: string, x-secret: true}\n",
			want: file + ":5: properties.tokens.items.x-secret is only supported",
		},
		{
			name: "map entries",
			doc:  "type: object\nproperties:\n  byName:\n    type: object\n    additionalProperties:\n      type: string\n      x-secret: true\n",
			want: file + ":7: properties.byName.additionalProperties.x-secret is only supported",
		},
		{
			name: "pattern properties",
			doc:  "type: object\npatternProperties:\n  '^token':\n    type: string\n    x-secret: true\n",
			want: file + ":5: patternProperties.^token.x-secret is only supported",
		},
		{
			name: "allOf branch",
			doc:  "type: object\nallOf:\n  - properties:\n      password: {type: string, x-secret: true}\n",
			want: file + ":4: allOf.0.properties.password.x-secret is only supported",
		},
		{
			name: "oneOf branch below a property",
			doc:  "type: object\nproperties:\n  auth:\n    type: object\n    oneOf:\n      - properties:\n          token: {type: string, x-secret: true}\n",
			want: file + ":7: properties.auth.oneOf.0.properties.token.x-secret is only supported",
		},
		{
			name: "anyOf and not",
			doc:  "type: object\nanyOf:\n  - {x-secret: true}\nnot:\n  x-secret: true\n",
			want: file + ":3: anyOf.0.x-secret is only supported",
		},
		{
			name: "the section root",
			doc:  "type: object\nx-secret: true\nproperties:\n  a: {type: string}\n",
			want: file + ":2: x-secret is only supported",
		},
		{
			name: "through a ref into list items",
			doc:  "definitions:\n  user:\n    type: object\n    properties:\n      password: {type: string, x-secret: true}\ntype: object\nproperties:\n  users:\n    type: array\n    items: {$ref: '#/definitions/user'}\n",
			want: file + ":10: properties.users.items.properties.password.x-secret is only supported",
		},
		{
			name: "not a bool",
			doc:  "type: object\nproperties:\n  a: {type: string, x-secret: 'yes'}\n",
			want: file + ":3: properties.a.x-secret must be true or false, got string",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(file, []byte(tt.doc))
			if !errors.Is(err, ErrInvalidSchema) {
				t.Fatalf("Load: got (%v, %v), want an error wrapping ErrInvalidSchema", s, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not contain %q:\n%v", tt.want, err)
			}
		})
	}
}

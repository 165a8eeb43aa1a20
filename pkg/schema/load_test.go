package schema

import (
	"errors"
	"strings"
	"testing"
)

// ingressSchema is a config-values.yaml in the style of flant modules.
const ingressSchema = `
type: object
x-examples:
  - replicas: 2
    mode: DaemonSet
required: [class]
properties:
  class:
    type: string
    description: Ingress class to serve.
    pattern: '^[a-z][a-z0-9-]*$'
    maxLength: 20
  replicas:
    type: integer
    minimum: 0
    default: 1
  mode:
    type: string
    enum: [Deployment, DaemonSet]
    default: Deployment
  hosts:
    type: array
    items:
      type: object
      required: [name]
      properties:
        name: {type: string}
        port: {type: integer, minimum: 1, maximum: 65535}
        weight: {type: integer, format: int32}
  nodeSelector:
    type: object
    additionalProperties: {type: string}
  resources:
    type: object
    default: {}
    properties:
      cpu: {type: string, default: 100m}
      memory: {type: string}
  annotations:
    type: object
    nullable: true
    additionalProperties: true
    properties:
      owner: {type: string}
  auth:
    type: object
    properties:
      password:
        type: string
        x-secret: true
`

func TestLoadAcceptsValidSchemas(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{name: "flant style yaml", doc: ingressSchema},
		{name: "json", doc: `{"type": "object", "properties": {"replicas": {"type": "integer", "default": 1}}}`},
		{name: "scalar root schema", doc: `type: string`},
		{name: "no type, only properties", doc: "properties:\n  a: {type: boolean}\n"},
		{name: "empty required list", doc: "type: object\nrequired: []\n"},
		{name: "type list", doc: "type: [string, 'null']\n"},
		{name: "x extensions are kept", doc: "type: object\nx-extend: {schema: config-values.yaml}\nx-doc-default: 3\n"},
		{name: "unknown keywords are kept", doc: "type: object\nexample: {a: 1}\nx-description: hi\n"},
		{name: "local ref", doc: `
definitions:
  port: {type: integer, minimum: 1}
type: object
properties:
  http: {$ref: '#/definitions/port'}
  https: {$ref: '#/definitions/port'}
`},
		{name: "nested default filled before the check", doc: `
type: object
properties:
  tls:
    type: object
    default: {}
    required: [mode]
    properties:
      mode: {type: string, enum: [auto, manual], default: auto}
`},
		{name: "nullable default", doc: "type: object\nproperties:\n  a: {type: string, nullable: true, default: null}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load("openapi/config-values.yaml", []byte(tt.doc))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if s == nil {
				t.Fatal("Load returned a nil schema")
			}
		})
	}
}

func TestLoadRefusesInvalidSchemas(t *testing.T) {
	const file = "modules/010-ingress-nginx/openapi/config-values.yaml"
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error message
	}{
		{
			name: "not yaml",
			doc:  "type: object\nproperties: [a\n",
			want: []string{file + ": want a YAML or JSON document", "line 2"},
		},
		{
			name: "a list",
			doc:  "- type: object\n",
			want: []string{file + ": want an OpenAPI schema (a map), got a list"},
		},
		{
			name: "a scalar",
			doc:  "object\n",
			want: []string{file + ": want an OpenAPI schema (a map), got a string"},
		},
		{
			name: "empty",
			doc:  "# nothing yet\n",
			want: []string{file + ": want an OpenAPI schema (a map), got an empty document"},
		},
		{
			name: "misspelled type",
			doc:  "type: object\nproperties:\n  replicas:\n    type: strnig\n",
			want: []string{file + `:4: properties.replicas.type must be one of array, boolean, integer, null, number, object, string, got "strnig"`},
		},
		{
			name: "type not a string",
			doc:  "type: 5\n",
			want: []string{file + ":1: type must be one of array, boolean, integer, null, number, object, string, got number"},
		},
		{
			name: "properties is a list",
			doc:  "type: object\nproperties:\n  - replicas\n",
			want: []string{file + ":2: properties must be a map of property names to schemas, got list"},
		},
		{
			name: "a property is not a schema",
			doc:  "type: object\nproperties:\n  replicas: integer\n",
			want: []string{file + ":3: properties.replicas must be a schema (a map), got string"},
		},
		{
			name: "required is not a list",
			doc:  "type: object\nrequired: class\n",
			want: []string{file + ":2: required must be a list of property names, got string"},
		},
		{
			name: "required holds a number",
			doc:  "type: object\nrequired:\n  - class\n  - 3\n",
			want: []string{file + ":4: required.1 must be a property name (a string), got number"},
		},
		{
			name: "enum is a scalar",
			doc:  "type: string\nenum: Deployment\n",
			want: []string{file + `:2: enum must be a non-empty list of allowed values, got "Deployment"`},
		},
		{
			name: "minimum is a string",
			doc:  "type: integer\nminimum: '0'\n",
			want: []string{file + ":2: minimum must be a number, got string"},
		},
		{
			name: "negative maxLength",
			doc:  "type: string\nmaxLength: -1\n",
			want: []string{file + ":2: maxLength must be a non-negative integer, got -1"},
		},
		{
			name: "bad pattern",
			doc:  "type: string\npattern: '(['\n",
			want: []string{file + ":2: pattern must be a valid regular expression"},
		},
		{
			name: "multipleOf zero",
			doc:  "type: number\nmultipleOf: 0\n",
			want: []string{file + ":2: multipleOf must be a number greater than 0, got 0"},
		},
		{
			name: "patternProperties key is not a regexp",
			doc:  "type: object\npatternProperties:\n  '([': {type: string}\n",
			want: []string{file + ":3: patternProperties.([ must be a valid regular expression"},
		},
		{
			name: "nullable is not a bool",
			doc:  "type: string\nnullable: 'yes'\n",
			want: []string{file + ":2: nullable must be true or false, got string"},
		},
		{
			name: "description is not a string",
			doc:  "type: string\ndescription: [a]\n",
			want: []string{file + ":2: description must be a string, got list"},
		},
		{
			name: "items is a string",
			doc:  "type: array\nitems: string\n",
			want: []string{file + ":2: items must be a schema or a list of schemas, got string"},
		},
		{
			name: "additionalProperties is a string",
			doc:  "type: object\nadditionalProperties: 'no'\n",
			want: []string{file + ":2: additionalProperties must be true, false or a schema, got string"},
		},
		{
			name: "empty oneOf",
			doc:  "type: object\noneOf: []\n",
			want: []string{file + ":2: oneOf must be a non-empty list of schemas, got an empty list"},
		},
		{
			name: "error deep in items",
			doc:  "type: object\nproperties:\n  hosts:\n    type: array\n    items:\n      type: object\n      properties:\n        port: {type: int}\n",
			want: []string{file + `:8: properties.hosts.items.properties.port.type must be one of`},
		},
		{
			name: "every problem is listed",
			doc:  "type: object\nrequired: 3\nproperties:\n  a: {type: strnig}\n  b: {minimum: x}\n",
			want: []string{file + ":2: required", file + ":4: properties.a.type", file + ":5: properties.b.minimum"},
		},
		{
			name: "remote ref",
			doc:  "type: object\nproperties:\n  port: {$ref: 'common.yaml#/port'}\n",
			want: []string{file + `:3: properties.port.$ref must be a local reference (#/definitions/...), got "common.yaml#/port"`},
		},
		{
			name: "dangling ref",
			doc:  "type: object\nproperties:\n  port: {$ref: '#/definitions/port'}\n",
			want: []string{file + `:3: properties.port.$ref points to nothing: "#/definitions/port" is not in this document`},
		},
		{
			name: "circular ref",
			doc:  "definitions:\n  node:\n    type: object\n    properties:\n      child: {$ref: '#/definitions/node'}\n",
			want: []string{file + ":5: definitions.node.properties.child.$ref is circular (#/definitions/node -> #/definitions/node)"},
		},
		{
			name: "default of the wrong type",
			doc:  "type: object\nproperties:\n  replicas:\n    type: integer\n    default: two\n",
			want: []string{file + ":5: properties.replicas.default must be of type integer, got string"},
		},
		{
			name: "default outside the enum",
			doc:  "type: string\nenum: [a, b]\ndefault: c\n",
			want: []string{file + `:3: default should be one of ["a","b"]`},
		},
		{
			name: "object default with an unknown field",
			doc:  "type: object\nproperties:\n  tls:\n    type: object\n    default: {mode: auto}\n    properties:\n      enabled: {type: boolean}\n",
			want: []string{file + ":5: properties.tls.default.mode is not allowed"},
		},
		{
			name: "object default whose nested default is wrong",
			doc:  "type: object\nproperties:\n  tls:\n    type: object\n    default: {}\n    properties:\n      port: {type: integer, default: https}\n",
			want: []string{
				file + ":5: properties.tls.default.port must be of type integer, got string",
				file + ":7: properties.tls.properties.port.default must be of type integer, got string",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(file, []byte(tt.doc))
			if !errors.Is(err, ErrInvalidSchema) {
				t.Fatalf("Load: got (%v, %v), want an error wrapping ErrInvalidSchema", s, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadClosesObjects(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		values  map[string]any
		wantErr string // "" for valid
	}{
		{
			name:    "root without additionalProperties refuses unknown fields",
			doc:     "type: object\nproperties:\n  a: {type: string}\n",
			values:  map[string]any{"a": "x", "b": "y"},
			wantErr: "m.b is not allowed",
		},
		{
			name:    "nested object is closed too",
			doc:     "type: object\nproperties:\n  tls:\n    type: object\n    properties:\n      mode: {type: string}\n",
			values:  map[string]any{"tls": map[string]any{"mode": "auto", "port": 443.0}},
			wantErr: "m.tls.port is not allowed",
		},
		{
			name:    "objects in items are closed",
			doc:     "type: object\nproperties:\n  hosts:\n    type: array\n    items:\n      type: object\n      properties:\n        name: {type: string}\n",
			values:  map[string]any{"hosts": []any{map[string]any{"name": "a"}, map[string]any{"name": "b", "nmae": "c"}}},
			wantErr: "m.hosts[1].nmae is not allowed",
		},
		{
			name:    "objects under an additionalProperties schema are closed",
			doc:     "type: object\nproperties:\n  pools:\n    type: object\n    additionalProperties:\n      type: object\n      properties:\n        size: {type: integer}\n",
			values:  map[string]any{"pools": map[string]any{"blue": map[string]any{"size": 1.0, "color": "blue"}}},
			wantErr: "m.pools.blue.color is not allowed",
		},
		{
			name:   "explicit additionalProperties true is kept",
			doc:    "type: object\nadditionalProperties: true\nproperties:\n  a: {type: string}\n",
			values: map[string]any{"a": "x", "anything": []any{1.0}},
		},
		{
			name:    "explicit additionalProperties schema is kept",
			doc:     "type: object\nadditionalProperties: {type: integer}\nproperties:\n  a: {type: string}\n",
			values:  map[string]any{"a": "x", "b": 1.0, "c": "three"},
			wantErr: "m.c must be of type integer, got string",
		},
		{
			name:   "object without properties stays open",
			doc:    "type: object\nproperties:\n  labels: {type: object}\n",
			values: map[string]any{"labels": map[string]any{"any": "thing"}},
		},
		{
			name:   "allOf branches are left open",
			doc:    "type: object\nproperties:\n  a: {type: string}\n  b: {type: string}\nallOf:\n  - properties: {a: {minLength: 1}}\n  - properties: {b: {minLength: 1}}\n",
			values: map[string]any{"a": "x", "b": "y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load("values.yaml", []byte(tt.doc))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = s.Validate("m", tt.values)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidValues) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate: got %v, want ErrInvalidValues containing %q", err, tt.wantErr)
			}
		})
	}
}

// Package schema validates values sections against OpenAPI v3 schemas and
// fills in their defaults, the way modules written for flant/addon-operator
// declare them in openapi/config-values.yaml and openapi/values.yaml. An
// upstream chart's values.schema.json (JSON Schema, as Helm reads it) can
// stand in for the config schema: LoadChart.
//
// A loaded Schema is read-only and safe for concurrent use; every method
// returns new data and never modifies its arguments. Validation messages name
// field paths and expectations but never quote the values, which may be
// secret.
//
// It owns schema loading, validation and defaulting. It must not import
// module, configstore or converge: callers name the schema files and hand
// it the values, and it never talks to the API server.
package schema

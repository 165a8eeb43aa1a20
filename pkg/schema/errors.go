package schema

import "errors"

// Sentinel errors; check them with errors.Is.
var (
	// ErrInvalidSchema: a schema file is not YAML or JSON, is not a map, or
	// is not a valid OpenAPI schema. The message names the file, the line
	// when known, the keyword path and what was expected.
	ErrInvalidSchema = errors.New("invalid schema")
	// ErrInvalidValues: values violate their schema. The message lists every
	// violation with its full field path; it never quotes the values, which
	// may be secret.
	ErrInvalidValues = errors.New("invalid values")
)

package values

import "errors"

// Sentinel errors; check them with errors.Is.
var (
	// ErrNotMap: a document or section that must be a map is a list or scalar.
	ErrNotMap = errors.New("not a map")
	// ErrInvalidPatch: a patch document is not a JSON array of RFC 6902
	// operations, or an operation is malformed.
	ErrInvalidPatch = errors.New("invalid json patch")
	// ErrPatchFailed: a well-formed operation could not be applied (for
	// example replace on a path that does not exist).
	ErrPatchFailed = errors.New("json patch failed")
)

package helm

import "errors"

// Sentinel errors; check them with errors.Is.
var (
	// ErrNotFound: the release does not exist in the namespace.
	ErrNotFound = errors.New("release not found")
	// ErrRender: the chart cannot be loaded or its templates do not render
	// with the values. Nothing was changed in the cluster, and retrying with
	// the same chart and values fails the same way. The message carries
	// Helm's explanation, which names the template file and line.
	ErrRender = errors.New("chart does not render")
)

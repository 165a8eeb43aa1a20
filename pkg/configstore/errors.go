package configstore

import "errors"

// Sentinel errors; check them with errors.Is. Every problem of a rejected
// configuration wraps ErrInvalidConfig and one of the more specific ones.
var (
	// ErrInvalidConfig: the ConfigMap and Secret (or the result of a Patch)
	// do not form an acceptable configuration; nothing of it is in force.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrBadSection: a section is not valid YAML or not a YAML map. A list
	// or scalar section also wraps values.ErrNotMap.
	ErrBadSection = errors.New("bad section")
	// ErrBadEnabled: a "<key>Enabled" value is not "true" or "false".
	ErrBadEnabled = errors.New("bad enabled flag")
	// ErrUnknownKey: a data key names no known section or module.
	ErrUnknownKey = errors.New("unknown key")
	// ErrSchema: a section violates its config-values schema.
	ErrSchema = errors.New("schema violation")
	// ErrNoNamespace: Config.Namespace is empty.
	ErrNoNamespace = errors.New("config namespace is not set")
)

package configstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/seedops/addon-operator/pkg/values"
)

// Schemas knows which sections exist and what they may hold; the bundle
// implements it. The Store calls it on every parse and every Patch and keeps
// no answer, so an implementation may change its answers over time (a new
// bundle) — call Store.Resync after such a change. Methods must be safe for
// concurrent use.
type Schemas interface {
	// KnownSection reports whether key is "global", "operator" or the
	// values key of a module of the bundle.
	KnownSection(key string) bool
	// ValidateSection checks one section's content against its
	// config-values schema. Errors (possibly joined) should name the field
	// paths and must not quote values, which may be secret.
	ValidateSection(key string, v values.Values) error
	// SecretPaths lists the field paths of section key whose schema marks
	// them x-secret, e.g. {"grafana", "adminPassword"}. Paths go through
	// maps only.
	SecretPaths(key string) [][]string
}

// Where a key came from, for error messages.
const (
	fromConfigMap = "configmap"
	fromSecret    = "secret"
)

// parsed is an accepted configuration with the ConfigMap part and the
// Secret part of every section.
type parsed struct {
	snap        Snapshot
	cmParts     map[string]values.Values
	secretParts map[string]values.Values
}

// parse turns ConfigMap and Secret data into a configuration. It checks
// every key and returns all problems at once, joined, wrapping
// ErrInvalidConfig; any problem rejects the whole configuration. Keys of no
// known section are not problems: they are ignored and listed in the
// Snapshot's Unknown.
func parse(cm map[string]string, secret map[string][]byte, schemas Schemas) (parsed, error) {
	out, errs := check(cm, secret, schemas)
	if len(errs) > 0 {
		return parsed{}, invalid(errs)
	}
	return out, nil
}

// check is parse with the problems unjoined, one per key, enabled flag or
// schema violation; the parsed configuration is only meaningful without
// problems.
func check(cm map[string]string, secret map[string][]byte, schemas Schemas) (parsed, []error) {
	out := parsed{snap: emptySnapshot(), cmParts: map[string]values.Values{}, secretParts: map[string]values.Values{}}
	secretParts := out.secretParts
	broken := map[string]bool{}
	var errs []error

	for _, key := range sortedKeys(cm) {
		kind, module := classify(key, schemas)
		switch kind {
		case keyEnabled:
			on, err := parseEnabled(key, cm[key])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out.snap.Enabled[module] = on
		case keySection:
			v, err := parseSection(fromConfigMap, key, []byte(cm[key]))
			if err != nil {
				errs = append(errs, err)
				broken[key] = true
				continue
			}
			out.cmParts[key] = v
		default:
			if key == values.GlobalKey+enabledSuffix || key == values.OperatorKey+enabledSuffix {
				errs = append(errs, fmt.Errorf("configmap key %q: %w: %q and %q cannot be switched off; remove the key", key, ErrUnknownKey, values.GlobalKey, values.OperatorKey))
				continue
			}
			out.snap.Unknown = append(out.snap.Unknown, unknownKeyError(fromConfigMap, key).Error())
		}
	}
	for _, key := range sortedKeys(secret) {
		kind, _ := classify(key, schemas)
		switch kind {
		case keySection:
			v, err := parseSection(fromSecret, key, secret[key])
			if err != nil {
				errs = append(errs, err)
				broken[key] = true
				continue
			}
			secretParts[key] = v
		case keyEnabled:
			errs = append(errs, fmt.Errorf("secret key %q: %w: enabled flags belong in the configmap; the secret holds only sections", key, ErrUnknownKey))
		default:
			out.snap.Unknown = append(out.snap.Unknown, unknownKeyError(fromSecret, key).Error())
		}
	}

	for _, key := range unionKeys(out.cmParts, secretParts) {
		if broken[key] {
			continue
		}
		section := values.Merge(out.cmParts[key], secretParts[key])
		if err := schemas.ValidateSection(key, section); err != nil {
			for _, v := range violations(err) {
				errs = append(errs, schemaError{key: key, err: v})
			}
			continue
		}
		switch key {
		case values.GlobalKey:
			out.snap.Global = section
		case values.OperatorKey:
			out.snap.Operator = section
		default:
			out.snap.Modules[key] = section
		}
	}
	return out, errs
}

// invalid wraps the problems of one configuration into one error.
func invalid(errs []error) error {
	if len(errs) == 1 {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, errs[0])
	}
	return fmt.Errorf("%w, %d problems:\n%w", ErrInvalidConfig, len(errs), errors.Join(errs...))
}

type keyKind int

const (
	keyUnknown keyKind = iota
	keySection
	keyEnabled
)

// classify tells a section key from a module's enabled flag. A key ending in
// "Enabled" is a flag when the rest is a module's values key; otherwise it
// may still be a section of its own.
func classify(key string, schemas Schemas) (keyKind, string) {
	if module, ok := strings.CutSuffix(key, enabledSuffix); ok && module != "" &&
		module != values.GlobalKey && module != values.OperatorKey && schemas.KnownSection(module) {
		return keyEnabled, module
	}
	if schemas.KnownSection(key) {
		return keySection, key
	}
	return keyUnknown, ""
}

// unknownKeyError describes a key of no known section: a warning when it
// is read (the key is ignored and kept), an error when a Patch targets it.
func unknownKeyError(from, key string) error {
	if module, ok := strings.CutSuffix(key, enabledSuffix); ok && module != "" {
		return fmt.Errorf("%s key %q: %w: no module of the running bundle has values key %q; ignored", from, key, ErrUnknownKey, module)
	}
	return fmt.Errorf("%s key %q: %w: no module of the running bundle has this values key (not %q, %q or a module's values key); ignored", from, key, ErrUnknownKey, values.GlobalKey, values.OperatorKey)
}

// violations splits a section's schema error into one error per
// violation when it lists them (schema.ViolationsError does); each still
// wraps err's sentinels. Any other error is one violation.
func violations(err error) []error {
	var list interface{ Violations() []string }
	if !errors.As(err, &list) || len(list.Violations()) == 0 {
		return []error{err}
	}
	out := make([]error, 0, len(list.Violations()))
	for _, msg := range list.Violations() {
		out = append(out, violation{msg: msg, err: err})
	}
	return out
}

// violation is one violation of a section: its own message,
// and the section's whole error for errors.Is.
type violation struct {
	msg string
	err error
}

func (v violation) Error() string { return v.msg }
func (v violation) Unwrap() error { return v.err }

func parseEnabled(key, text string) (bool, error) {
	switch strings.TrimSpace(text) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	// The value is not quoted: messages end up in logs.
	return false, fmt.Errorf("configmap key %q: %w: want \"true\" or \"false\"", key, ErrBadEnabled)
}

func parseSection(from, key string, text []byte) (values.Values, error) {
	v, err := values.FromYAML(text)
	if errors.Is(err, values.ErrNotMap) {
		return nil, fmt.Errorf("%s key %q: %w: %w", from, key, ErrBadSection, err)
	}
	if err != nil {
		msg := err.Error()
		// The YAML parser names no line for a problem on the first line.
		if !strings.Contains(msg, "line ") {
			msg += " (line 1)"
		}
		return nil, fmt.Errorf("%s key %q: %w: not valid YAML, want a YAML map of settings: %s", from, key, ErrBadSection, msg)
	}
	return v, nil
}

// schemaError is a section's schema violation; a multi-line message (joined
// errors, one per field path) is indented under the section.
type schemaError struct {
	key string
	err error
}

func (e schemaError) Error() string {
	msg := e.err.Error()
	if strings.Contains(msg, "\n") {
		return fmt.Sprintf("section %q: %v:\n  %s", e.key, ErrSchema, strings.ReplaceAll(msg, "\n", "\n  "))
	}
	return fmt.Sprintf("section %q: %v: %s", e.key, ErrSchema, msg)
}

func (e schemaError) Unwrap() []error { return []error{ErrSchema, e.err} }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package configstore

import "slices"

// Validate checks ConfigMap and Secret data exactly as the Store does when
// it loads them: every key, all problems joined into one error wrapping
// ErrInvalidConfig (and ErrBadSection, ErrBadEnabled, ErrUnknownKey or
// ErrSchema), nil when the Store would accept the configuration. Keys of
// no known section are not problems (see Snapshot.Unknown). Messages name
// keys, YAML lines and field paths, never values. It reads nothing but its
// arguments and schemas, so it is safe for concurrent use when schemas is.
func Validate(cm map[string]string, secret map[string][]byte, schemas Schemas) error {
	_, err := parse(cm, secret, schemas)
	return err
}

// Findings is what Check found in a configuration.
type Findings struct {
	// Problems are the reasons the Store would reject it, one message per
	// key, enabled flag or schema violation (as in Validate's error), sorted
	// by key.
	Problems []string
	// Warnings describe the keys that are ignored (Snapshot.Unknown).
	Warnings []string
}

// Check is Validate with the problems listed one by one and the warnings,
// for comparing two versions of a configuration (see Added). Same
// guarantees as Validate.
func Check(cm map[string]string, secret map[string][]byte, schemas Schemas) Findings {
	p, errs := check(cm, secret, schemas)
	f := Findings{Warnings: p.snap.Unknown}
	for _, err := range errs {
		f.Problems = append(f.Problems, err.Error())
	}
	return f
}

// Added returns the problems of f that before does not have: what an edit
// from before to f broke. A problem is identified by its message, which
// names the key and, for schema violations, the field path and the
// expectation.
func (f Findings) Added(before Findings) []string {
	var out []string
	for _, p := range f.Problems {
		if !slices.Contains(before.Problems, p) {
			out = append(out, p)
		}
	}
	return out
}

package configstore

// Validate checks ConfigMap and Secret data exactly as the Store does when
// it loads them: every key, all problems joined into one error wrapping
// ErrInvalidConfig (and ErrBadSection, ErrBadEnabled, ErrUnknownKey or
// ErrSchema), nil when the Store would accept the configuration. Messages
// name keys, YAML lines and field paths, never values. It reads nothing
// but its arguments and schemas, so it is safe for concurrent use when
// schemas is.
func Validate(cm map[string]string, secret map[string][]byte, schemas Schemas) error {
	_, err := parse(cm, secret, schemas)
	return err
}

package operator

import (
	"bytes"
	"io"
	"os"
)

// ANSI colours of the levels for LOG_TYPE=color; info stays plain.
var levelColors = []struct {
	marker, color []byte
}{
	{[]byte(" level=ERROR "), []byte("\x1b[31m")},
	{[]byte(" level=WARN "), []byte("\x1b[33m")},
	{[]byte(" level=DEBUG "), []byte("\x1b[90m")},
}

// colorWriter colours each record written by a slog.TextHandler, which
// writes one whole line per Write call, by the record's level.
type colorWriter struct {
	w io.Writer
}

func (c colorWriter) Write(p []byte) (int, error) {
	for _, lc := range levelColors {
		if !bytes.Contains(p, lc.marker) {
			continue
		}
		line := bytes.TrimSuffix(p, []byte("\n"))
		out := append(append(append(append([]byte{}, lc.color...), line...), "\x1b[0m"...), p[len(line):]...)
		if _, err := c.w.Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.w.Write(p)
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

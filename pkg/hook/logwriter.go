package hook

import (
	"bytes"
	"log/slog"
	"sync"
)

const (
	maxLineBytes = 16 << 10
	tailBytes    = 2 << 10
)

// logWriter turns a hook's output stream into one log record per line, up to
// a byte budget; it keeps the last bytes for error messages. Write never
// fails so a chatty hook is never blocked or killed by its logging.
type logWriter struct {
	log    *slog.Logger
	stream string
	budget int

	mu        sync.Mutex
	line      []byte
	tail      []byte
	truncated bool
}

func newLogWriter(log *slog.Logger, stream string, budget int) *logWriter {
	return &logWriter{log: log, stream: stream, budget: budget}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tail = append(w.tail, p...)
	if len(w.tail) > 2*tailBytes {
		w.tail = append([]byte(nil), w.tail[len(w.tail)-tailBytes:]...)
	}
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			w.appendLine(rest)
			break
		}
		w.appendLine(rest[:i])
		w.flush()
		rest = rest[i+1:]
	}
	return len(p), nil
}

func (w *logWriter) appendLine(p []byte) {
	if room := maxLineBytes - len(w.line); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		w.line = append(w.line, p...)
	}
}

func (w *logWriter) flush() {
	line := w.line
	w.line = w.line[:0]
	if w.budget <= 0 {
		if !w.truncated {
			w.truncated = true
			w.log.Warn("hook output truncated", "stream", w.stream)
		}
		return
	}
	w.budget -= len(line)
	w.log.Info("hook output", "stream", w.stream, "line", string(line))
}

// Close logs a last line without newline.
func (w *logWriter) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.line) > 0 {
		w.flush()
	}
}

// Tail returns the last bytes written (at most ~2 KiB).
func (w *logWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.tail
	if len(t) > tailBytes {
		t = t[len(t)-tailBytes:]
	}
	return string(t)
}

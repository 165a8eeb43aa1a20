package mask

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	const secret = "s3cr3t-v"
	tests := []struct {
		name string
		log  func(l *slog.Logger)
	}{
		{name: "message", log: func(l *slog.Logger) { l.Info("token " + secret) }},
		{name: "string attr", log: func(l *slog.Logger) { l.Info("hook failed", "stderr", "token "+secret) }},
		{name: "error attr", log: func(l *slog.Logger) { l.Error("hook failed", "error", errors.New("exit 1: "+secret)) }},
		{name: "string list", log: func(l *slog.Logger) { l.Info("hook failed", "lines", []string{"a", secret}) }},
		{name: "group", log: func(l *slog.Logger) { l.Info("hook failed", slog.Group("run", "stderr", secret)) }},
		{name: "bound attr", log: func(l *slog.Logger) { l.With("stderr", secret).Info("hook failed") }},
		{name: "under a group", log: func(l *slog.Logger) { l.WithGroup("run").Info("hook failed", "stderr", secret) }},
		{name: "log valuer", log: func(l *slog.Logger) { l.Info("hook failed", "v", valuer(secret)) }},
	}
	for _, format := range []string{"text", "json"} {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				var buf bytes.Buffer
				var next slog.Handler = slog.NewTextHandler(&buf, nil)
				if format == "json" {
					next = slog.NewJSONHandler(&buf, nil)
				}
				m := New()
				m.Update([]string{secret})
				tt.log(slog.New(NewHandler(next, m)))
				out := buf.String()
				if strings.Contains(out, secret) || !strings.Contains(out, Text) {
					t.Errorf("log line %q: want %q masked as %q", out, secret, Text)
				}
			})
		}
	}
}

func TestHandlerKeepsOtherValues(t *testing.T) {
	var buf bytes.Buffer
	m := New()
	m.Update([]string{"s3cr3t-v"})
	slog.New(NewHandler(slog.NewJSONHandler(&buf, nil), m)).Info("module phase changed", "module", "grafana", "attempt", 3)
	if got := buf.String(); !strings.Contains(got, `"module":"grafana"`) || !strings.Contains(got, `"attempt":3`) {
		t.Errorf("log line %q: want module and attempt as given", got)
	}
}

type valuer string

func (v valuer) LogValue() slog.Value { return slog.StringValue(string(v)) }

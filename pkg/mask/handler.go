package mask

import (
	"context"
	"log/slog"
)

// Handler is a slog.Handler that masks the message and the string values
// of a record's attributes (errors and string lists included, groups
// recursively) before passing it on. Attributes bound with WithAttrs are
// masked with the secrets known at that call.
type Handler struct {
	next slog.Handler
	m    *Masker
}

// NewHandler wraps next; m may be updated while the handler is in use.
func NewHandler(next slog.Handler, m *Masker) *Handler {
	return &Handler{next: next, m: m}
}

// Enabled reports whether the wrapped handler handles level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle masks r and hands it to the wrapped handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.m.Mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs masks attrs now and binds them on the wrapped handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(masked), m: h.m}
}

// WithGroup opens a group on the wrapped handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), m: h.m}
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.m.Mask(v.String()))
	case slog.KindGroup:
		group := v.Group()
		out := make([]slog.Attr, len(group))
		for i, g := range group {
			out[i] = h.attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		switch t := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.m.Mask(t.Error()))
		case []string:
			out := make([]string, len(t))
			for i, s := range t {
				out[i] = h.m.Mask(s)
			}
			return slog.Any(a.Key, out)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

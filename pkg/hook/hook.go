package hook

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
)

// Hook is one executable with its parsed configuration. Hooks are immutable
// after Load and safe to share between goroutines.
type Hook struct {
	// Name is the hook's path relative to its bundle directory
	// ("global-hooks/discovery.sh" style for global hooks,
	// "010-ingress/hooks/replicas.sh" for module hooks); it labels logs and
	// metrics.
	Name string
	// Path is the absolute path of the executable.
	Path string
	// Module is the module name, "" for a global hook.
	Module string
	// ValuesKey is the module's values key ("global" for a global hook):
	// the only root its values patches may touch.
	ValuesKey string
	Bindings  Bindings
}

// Global reports whether h is a global hook.
func (h *Hook) Global() bool { return h.Module == "" }

// Source describes a hook file to load.
type Source struct {
	Name      string
	Path      string
	Module    string
	ValuesKey string
}

// Load runs `PATH --config` for each source and parses the result. An
// invalid configuration is an error naming the hook file; nothing is loaded
// then.
func Load(ctx context.Context, r *Runner, sources []Source) ([]*Hook, error) {
	hooks := make([]*Hook, 0, len(sources))
	for _, s := range sources {
		out, err := r.Config(ctx, s.Name, s.Path)
		if err != nil {
			return nil, fmt.Errorf("hook %s: %w", s.Path, err)
		}
		cfg, err := ParseConfig(out, s.Module == "")
		if err != nil {
			return nil, fmt.Errorf("hook %s: %w", s.Path, err)
		}
		for i := range cfg.Kubernetes {
			m := cfg.Kubernetes[i].Monitor
			m.Metadata.DebugName = s.Name + "/" + cfg.Kubernetes[i].BindingName
			m.Metadata.LogLabels = map[string]string{"hook": s.Name, "binding": cfg.Kubernetes[i].BindingName}
			m.Metadata.MetricLabels = map[string]string{"hook": s.Name, "binding": cfg.Kubernetes[i].BindingName}
		}
		path, err := filepath.Abs(s.Path)
		if err != nil {
			return nil, fmt.Errorf("hook %s: %w", s.Path, err)
		}
		hooks = append(hooks, &Hook{Name: s.Name, Path: path, Module: s.Module, ValuesKey: s.ValuesKey, Bindings: cfg})
	}
	return hooks, nil
}

// Ordered returns the hooks that have lifecycle binding b, sorted by the
// binding's order number, then by name.
func Ordered(hooks []*Hook, b Binding) []*Hook {
	var out []*Hook
	for _, h := range hooks {
		if h.Bindings.Has(b) {
			out = append(out, h)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		oi, oj := out[i].Bindings.Orders[b], out[j].Bindings.Orders[b]
		if oi != oj {
			return oi < oj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

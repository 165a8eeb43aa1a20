package hook

import (
	"cmp"
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
	// Batch is set when the hook is one entry of a batch binary (Path
	// then serves several hooks); nil for a hook that is a file of its own.
	Batch *Batch
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

// Load runs `PATH --config` for each source and parses the result; a
// batch binary (IsBatch) is asked `PATH hook config` instead and becomes
// one hook per entry, plus its readiness probe when it declares one. An
// invalid configuration is an error naming the hook file; nothing is
// loaded then.
func Load(ctx context.Context, r *Runner, sources []Source) ([]*Hook, error) {
	hooks := make([]*Hook, 0, len(sources))
	for _, s := range sources {
		path, err := filepath.Abs(s.Path)
		if err != nil {
			return nil, fmt.Errorf("hook %s: %w", s.Path, err)
		}
		if IsBatch(path) {
			batch, err := loadBatch(ctx, r, s, path)
			if err != nil {
				return nil, fmt.Errorf("hook %s: %w", s.Path, err)
			}
			hooks = append(hooks, batch...)
			continue
		}
		out, err := r.Config(ctx, s.Name, s.Path)
		if err != nil {
			return nil, fmt.Errorf("hook %s: %w", s.Path, err)
		}
		cfg, err := ParseConfig(out, s.Module == "")
		if err != nil {
			return nil, fmt.Errorf("hook %s: %w", s.Path, err)
		}
		hooks = append(hooks, newHook(s, s.Name, path, cfg, nil))
	}
	return hooks, nil
}

// loadBatch runs `hook config` of a batch binary and makes a hook of each
// entry.
func loadBatch(ctx context.Context, r *Runner, s Source, path string) ([]*Hook, error) {
	out, err := r.BatchConfig(ctx, s.Name, path, s.Module)
	if err != nil {
		return nil, err
	}
	cfg, err := ParseBatchConfig(out)
	if err != nil {
		return nil, err
	}
	global := s.Module == ""
	hooks := make([]*Hook, 0, len(cfg.Hooks)+1)
	for id, entry := range cfg.Hooks {
		name := batchEntryName(s.Name, entry, id)
		b, err := batchBindings(entry, global, false)
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s): %w", id, name, err)
		}
		hooks = append(hooks, newHook(s, name, path, b, &Batch{ID: id}))
	}
	if cfg.Readiness != nil {
		name := s.Name + ":readiness"
		b, err := batchBindings(*cfg.Readiness, global, true)
		if err != nil {
			return nil, fmt.Errorf("readiness (%s): %w", name, err)
		}
		hooks = append(hooks, newHook(s, name, path, b, &Batch{Readiness: true}))
	}
	return hooks, nil
}

// newHook labels the monitors of cfg with the hook's name and makes the
// hook. The metric labels are flant/addon-operator's (module is "" for a
// global hook): the monitors' measurements carry them.
func newHook(s Source, name, path string, cfg Bindings, batch *Batch) *Hook {
	for i := range cfg.Kubernetes {
		b := cfg.Kubernetes[i]
		m := b.Monitor
		m.Metadata.DebugName = name + "/" + b.BindingName
		m.Metadata.LogLabels = map[string]string{"hook": name, "binding": b.BindingName}
		m.Metadata.MetricLabels = map[string]string{
			"module": s.Module, "hook": name, "binding": b.BindingName,
			"queue": cmp.Or(b.Queue, "main"), "kind": m.Kind,
		}
	}
	return &Hook{Name: name, Path: path, Module: s.Module, ValuesKey: s.ValuesKey, Bindings: cfg, Batch: batch}
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

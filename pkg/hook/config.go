package hook

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	soconfig "github.com/flant/shell-operator/pkg/hook/config"
	htypes "github.com/flant/shell-operator/pkg/hook/types"
	"sigs.k8s.io/yaml"
)

// Binding names a lifecycle binding: the event that runs a hook.
type Binding string

// Lifecycle bindings. Kubernetes and schedule bindings carry their own names
// (the binding's `name`, default "kubernetes" / "schedule").
const (
	OnStartup        Binding = "onStartup"
	BeforeAll        Binding = "beforeAll"
	AfterAll         Binding = "afterAll"
	BeforeHelm       Binding = "beforeHelm"
	AfterHelm        Binding = "afterHelm"
	BeforeDeleteHelm Binding = "beforeDeleteHelm"
	AfterDeleteHelm  Binding = "afterDeleteHelm"
	Schedule         Binding = "schedule"
	Kubernetes       Binding = "kubernetes"
)

var (
	globalBindings = []Binding{OnStartup, BeforeAll, AfterAll, Schedule, Kubernetes}
	moduleBindings = []Binding{OnStartup, BeforeHelm, AfterHelm, BeforeDeleteHelm, AfterDeleteHelm, Schedule, Kubernetes}
	// lifecycleBindings take an order number as value.
	lifecycleBindings = []Binding{OnStartup, BeforeAll, AfterAll, BeforeHelm, AfterHelm, BeforeDeleteHelm, AfterDeleteHelm}
)

// ErrInvalidConfig marks a hook whose `--config` output is unusable.
var ErrInvalidConfig = errors.New("invalid hook config")

// Bindings is a parsed `hook --config` (configVersion v1). Kubernetes and
// schedule bindings are shell-operator's own types, converted and checked by
// shell-operator's hook config code.
type Bindings struct {
	// Order of each lifecycle binding the hook has (the binding's number).
	Orders map[Binding]float64
	// Kubernetes bindings with monitors ready for the kube events manager.
	Kubernetes []htypes.OnKubernetesEventConfig
	// Schedules are cron bindings.
	Schedules []htypes.ScheduleConfig
	// Settings are the hook's `settings`: executionMinInterval and
	// executionBurst limit how often its kubernetes and schedule events run
	// it. Zero when the hook has none.
	Settings htypes.Settings
}

// Has reports whether the hook has the lifecycle binding b.
func (c Bindings) Has(b Binding) bool {
	_, ok := c.Orders[b]
	return ok
}

// Types lists the binding types the hook declares, in a stable order.
func (c Bindings) Types() []Binding {
	var out []Binding
	for _, b := range lifecycleBindings {
		if c.Has(b) {
			out = append(out, b)
		}
	}
	if len(c.Schedules) > 0 {
		out = append(out, Schedule)
	}
	if len(c.Kubernetes) > 0 {
		out = append(out, Kubernetes)
	}
	return out
}

// ParseConfig parses the output of `hook --config` (YAML or JSON). global
// selects which bindings are allowed: global hooks take onStartup,
// beforeAll, afterAll, schedule and kubernetes; module hooks take onStartup,
// beforeHelm, afterHelm, beforeDeleteHelm, afterDeleteHelm, schedule and
// kubernetes. Errors wrap ErrInvalidConfig and name the offending key.
func ParseConfig(data []byte, global bool) (Bindings, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return Bindings{}, fmt.Errorf("%w: not YAML or JSON: %v", ErrInvalidConfig, err)
	}
	if raw == nil {
		return Bindings{}, fmt.Errorf("%w: empty output, want a map with configVersion: v1", ErrInvalidConfig)
	}
	if err := checkVersion(raw); err != nil {
		return Bindings{}, err
	}
	allowed := moduleBindings
	kind := "module"
	if global {
		allowed, kind = globalBindings, "global"
	}
	cfg := Bindings{Orders: map[Binding]float64{}}
	rest := map[string]any{"configVersion": "v1"}
	var errs []error
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		b := Binding(k)
		switch {
		case k == "configVersion":
		case k == "settings":
			rest[k] = v
		case slices.Contains(lifecycleBindings, b) || b == Schedule || b == Kubernetes:
			if !slices.Contains(allowed, b) {
				errs = append(errs, fmt.Errorf("binding %q is not allowed for a %s hook (allowed: %s)", k, kind, joinBindings(allowed)))
				continue
			}
			if b == Schedule || b == Kubernetes {
				rest[k] = v
			}
			if slices.Contains(lifecycleBindings, b) {
				order, err := orderOf(k, v)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				cfg.Orders[b] = order
			}
		default:
			errs = append(errs, fmt.Errorf("unknown binding %q (allowed for a %s hook: %s)", k, kind, joinBindings(allowed)))
		}
	}
	if len(errs) > 0 {
		return Bindings{}, fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
	}

	// Kubernetes, schedule and settings go through shell-operator's own
	// schema and conversion.
	if len(rest) == 1 {
		return cfg, nil
	}
	restJSON, err := json.Marshal(rest)
	if err != nil {
		return Bindings{}, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	var so soconfig.HookConfig
	if err := so.LoadAndValidate(restJSON); err != nil {
		return Bindings{}, fmt.Errorf("%w: %s", ErrInvalidConfig, flatten(err))
	}
	cfg.Kubernetes = so.OnKubernetesEvents
	cfg.Schedules = so.Schedules
	if so.Settings != nil {
		cfg.Settings = *so.Settings
	}
	return cfg, nil
}

// ErrConfigV0 marks a hook config in shell-operator's v0 format, which the
// operator does not load: it wraps ErrInvalidConfig.
var ErrConfigV0 = fmt.Errorf("%w: configVersion v0 is not supported", ErrInvalidConfig)

// checkVersion accepts configVersion v1 only. A config without
// configVersion is v0 for shell-operator, so it gets the same error as an
// explicit v0: one that says how to rewrite it rather than a bare mismatch.
func checkVersion(raw map[string]any) error {
	v, ok := raw["configVersion"]
	switch {
	case ok && v == "v1":
		return nil
	case !ok || v == "v0":
		return fmt.Errorf("%w (a config without configVersion is v0): print configVersion: v1 "+
			"and rename onKubernetesEvent to kubernetes, in its entries event [add, update, delete] "+
			"to executeHookOnEvent [Added, Modified, Deleted], selector to labelSelector, "+
			"objectName to nameSelector.matchNames and namespaceSelector.matchNames to "+
			"namespace.nameSelector.matchNames; the lifecycle bindings and schedule keep their form", ErrConfigV0)
	}
	return fmt.Errorf("%w: configVersion is %v, want \"v1\"", ErrInvalidConfig, v)
}

func orderOf(key string, v any) (float64, error) {
	switch t := v.(type) {
	case float64:
		return t, nil
	case bool:
		if t {
			return 0, nil
		}
	}
	return 0, fmt.Errorf("binding %q: want an order number, got %v", key, v)
}

func joinBindings(bs []Binding) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return strings.Join(s, ", ")
}

// flatten turns shell-operator's multierror into one line.
func flatten(err error) string {
	s := strings.TrimSpace(err.Error())
	s = strings.ReplaceAll(s, "\n\n", "\n")
	lines := strings.Split(s, "\n")
	var out []string
	for _, l := range lines {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "*"))
		if l == "" || strings.HasSuffix(l, "errors occurred:") || strings.HasSuffix(l, "error occurred:") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "; ")
}

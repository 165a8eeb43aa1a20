package converge

import (
	"fmt"
	"strings"

	"k8s.io/utils/clock"

	"github.com/seedops/addon-operator/pkg/configstore"
	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/schema"
	"github.com/seedops/addon-operator/pkg/values"
)

// stepError tells which step of a module run failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// moduleState is guarded by Converger.mu, except mod and hooks, which are
// immutable.
type moduleState struct {
	mod   *module.Module
	hooks []*hook.Hook

	// enabled is the verdict of the last discovery: what the module should
	// be. hooksState and deployed are what it is; a module the discovery
	// disabled keeps them until its delete succeeds (hasLeftovers).
	enabled    bool
	hooksState hookState
	// deployed: may have a release (ran once, or found at startup). Not a
	// hookState: a release found at startup exists before any hook ran, and
	// a module without a chart runs hooks without a release.
	deployed bool
	dynamic  values.Patch
	failures int
	retry    clock.Timer
	// enabledErr is the error of the `enabled` script in the last
	// discovery, "" when it succeeded or did not run.
	enabledErr string
	status     module.Status
}

// settle records a successful run or delete: the module is in phase, unless
// the last discovery failed to run its `enabled` script, which keeps it in
// Error until a discovery succeeds. Caller holds c.mu.
func (ms *moduleState) settle(phase module.Phase) {
	if ms.enabledErr != "" {
		ms.status.Phase, ms.status.FailedStep, ms.status.Message = module.PhaseError, module.StepEnabled, ms.enabledErr
		return
	}
	ms.status.Phase, ms.status.FailedStep, ms.status.Message = phase, "", ""
}

// hasLeftovers reports whether a module has anything a delete removes:
// started hooks or a release. Caller holds c.mu.
func (ms *moduleState) hasLeftovers() bool {
	return ms.hooksState.started() || ms.deployed
}

// stopRetry cancels the module's pending retry, if any. Caller holds c.mu.
func (ms *moduleState) stopRetry() {
	if ms.retry != nil {
		ms.retry.Stop()
		ms.retry = nil
	}
}

// effective computes a section's values: static values (bundle, then the
// module's own values.yaml), the config section, schema defaults, then the
// hooks' patches. Patches that no longer apply (the config they touched is
// gone) are skipped. Caller holds c.mu.
func (c *Converger) effective(key string, static values.Values, set schema.Set, cfg values.Values, dynamic values.Patch) values.Values {
	base := values.Merge(static, cfg)
	base = values.Values(set.ValuesDefaults(base))
	return applyLenient(base, dynamic)
}

func applyLenient(base values.Values, p values.Patch) values.Values {
	if len(p) == 0 {
		return base
	}
	wrapped := values.Values{"v": map[string]any(base)}
	out, err := wrapped.Apply(prefixed(p))
	if err == nil {
		return out.Section("v")
	}
	cur := wrapped
	for _, op := range prefixed(p) {
		if next, err := cur.Apply(values.Patch{op}); err == nil {
			cur = next
		}
	}
	return cur.Section("v")
}

// prefixed re-roots a section patch ("/<key>/a") under "/v" so that it
// applies to a lone section.
func prefixed(p values.Patch) values.Patch {
	out := make(values.Patch, len(p))
	for i, op := range p {
		op.Path = "/v" + trimRoot(op.Path)
		if op.From != "" {
			op.From = "/v" + trimRoot(op.From)
		}
		out[i] = op
	}
	return out
}

func trimRoot(path string) string {
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			return path[i:]
		}
	}
	return ""
}

// globalValues is the global section as hooks and charts see it. Caller
// holds c.mu.
func (c *Converger) globalValues(cfg configstore.Snapshot) values.Values {
	b := c.bundle.Modules
	g := c.effective(values.GlobalKey, b.Values.Section(values.GlobalKey), b.GlobalSchema, cfg.Global, c.globalDynamic)
	names := make([]any, len(c.enabledNames))
	for i, n := range c.enabledNames {
		names[i] = n
	}
	g["enabledModules"] = names
	return g
}

// moduleValues is the module's section. Caller holds c.mu.
func (c *Converger) moduleValues(ms *moduleState, cfg configstore.Snapshot) values.Values {
	key := ms.mod.ValuesKey
	static := values.Merge(c.bundle.Modules.Values.Section(key), ms.mod.Values)
	return c.effective(key, static, ms.mod.Schema, cfg.Section(key), ms.dynamic)
}

// hookInput builds what a hook reads: for a global hook the global section,
// for a module hook the global and the module's sections. Caller holds c.mu.
func (c *Converger) hookValues(h *hook.Hook) (vals, cfgVals values.Values) {
	cfg := c.deps.Config.Current()
	vals = values.Values{values.GlobalKey: map[string]any(c.globalValues(cfg))}
	cfgVals = values.Values{values.GlobalKey: map[string]any(cfg.Global)}
	if !h.Global() {
		ms := c.byName[h.Module]
		vals[h.ValuesKey] = map[string]any(c.moduleValues(ms, cfg))
		cfgVals[h.ValuesKey] = map[string]any(cfg.Section(h.ValuesKey))
	}
	return vals, cfgVals
}

// checkValuesPatch reports whether a hook's values patch applies to the
// section as the hook saw it and leaves values that satisfy the values
// schema, and whether it would change the effective values. Nothing is
// changed. Caller holds c.mu.
func (c *Converger) checkValuesPatch(h *hook.Hook, p values.Patch) (bool, error) {
	if len(p) == 0 {
		return false, nil
	}
	cfg := c.deps.Config.Current()
	var before, eff values.Values
	var set schema.Set
	if h.Global() {
		b := c.bundle.Modules
		before = c.globalValues(cfg)
		delete(before, "enabledModules")
		eff = c.effective(values.GlobalKey, b.Values.Section(values.GlobalKey), b.GlobalSchema, cfg.Global, compact(c.globalDynamic, p))
		set = b.GlobalSchema
	} else {
		ms := c.byName[h.Module]
		key := ms.mod.ValuesKey
		before = c.moduleValues(ms, cfg)
		static := values.Merge(c.bundle.Modules.Values.Section(key), ms.mod.Values)
		eff = c.effective(key, static, ms.mod.Schema, cfg.Section(key), compact(ms.dynamic, p))
		set = ms.mod.Schema
	}
	if err := strictApply(before, p); err != nil {
		return false, err
	}
	if err := set.ValidateValues(h.ValuesKey, eff); err != nil {
		return false, fmt.Errorf("values after the patch: %w", err)
	}
	return eff.Checksum() != before.Checksum(), nil
}

// commitValuesPatch adds a checked patch to the section's dynamic layer.
// Caller holds c.mu.
func (c *Converger) commitValuesPatch(h *hook.Hook, p values.Patch) {
	if len(p) == 0 {
		return
	}
	if h.Global() {
		c.globalDynamic = compact(c.globalDynamic, p)
		return
	}
	ms := c.byName[h.Module]
	ms.dynamic = compact(ms.dynamic, p)
}

// strictApply checks that the patch applies to the section as the hook saw
// it, so that a hook's bad operation fails the hook run.
func strictApply(section values.Values, p values.Patch) error {
	_, err := values.Values{"v": map[string]any(section)}.Apply(prefixed(p))
	return err
}

// compact appends p to the dynamic layer, dropping earlier add, replace and
// remove operations on the same path or below it (list elements included):
// their effect is overwritten, and the layer stays as small as the set of
// paths hooks own. A replace of a key that a dropped add created becomes an
// add, so that it still applies without the add.
func compact(layer, p values.Patch) values.Patch {
	out := append(values.Patch(nil), layer...)
	for _, op := range p {
		if overwrites(op) && !hasArrayAppend(op.Path) {
			kept := out[:0]
			for _, old := range out {
				if overwrites(old) && (old.Path == op.Path || isBelow(old.Path, op.Path)) {
					if op.Op == "replace" && old.Op == "add" && old.Path == op.Path {
						op.Op = "add"
					}
					continue
				}
				kept = append(kept, old)
			}
			out = kept
		}
		out = append(out, op)
	}
	return out
}

// overwrites reports whether an operation sets or removes the value at its
// path whatever was there.
func overwrites(op values.Operation) bool {
	return op.Op == "add" || op.Op == "replace" || op.Op == "remove"
}

func isBelow(path, parent string) bool {
	return len(path) > len(parent) && path[:len(parent)] == parent && path[len(parent)] == '/'
}

// hasArrayAppend reports whether a path addresses a list element ("-" or an
// index), where repeated operations on one path do not overwrite each other.
func hasArrayAppend(path string) bool {
	for _, seg := range strings.Split(path, "/") {
		if seg == "-" {
			return true
		}
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			return true
		}
	}
	return false
}

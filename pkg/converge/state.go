package converge

import (
	"fmt"

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

// globalLayers are the layers of the global section. Caller holds c.mu.
func (c *Converger) globalLayers(cfg configstore.Snapshot) values.Layers {
	b := c.bundle.Modules
	return values.Layers{
		Bundle:   b.Values.Section(values.GlobalKey),
		Config:   cfg.Global,
		Defaults: valuesDefaults(b.GlobalSchema),
		Patches:  c.globalDynamic,
	}
}

// moduleLayers are the layers of the module's section. Caller holds c.mu.
func (c *Converger) moduleLayers(ms *moduleState, cfg configstore.Snapshot) values.Layers {
	key := ms.mod.ValuesKey
	return values.Layers{
		Bundle:   c.bundle.Modules.Values.Section(key),
		Module:   ms.mod.Values,
		Config:   cfg.Section(key),
		Defaults: valuesDefaults(ms.mod.Schema),
		Patches:  ms.dynamic,
	}
}

// valuesDefaults fills values with the defaults of the set's values schema.
func valuesDefaults(set schema.Set) func(values.Values) values.Values {
	return func(v values.Values) values.Values {
		return values.Values(set.ValuesDefaults(v))
	}
}

// globalValues is the global section as hooks and charts see it. Caller
// holds c.mu.
func (c *Converger) globalValues(cfg configstore.Snapshot) values.Values {
	g := c.globalLayers(cfg).Effective()
	names := make([]any, len(c.enabledNames))
	for i, n := range c.enabledNames {
		names[i] = n
	}
	g["enabledModules"] = names
	return g
}

// moduleValues is the module's section. Caller holds c.mu.
func (c *Converger) moduleValues(ms *moduleState, cfg configstore.Snapshot) values.Values {
	return c.moduleLayers(ms, cfg).Effective()
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
	var before values.Values
	var layers values.Layers
	var set schema.Set
	if h.Global() {
		before = c.globalValues(cfg)
		delete(before, "enabledModules")
		layers = c.globalLayers(cfg)
		set = c.bundle.Modules.GlobalSchema
	} else {
		ms := c.byName[h.Module]
		before = c.moduleValues(ms, cfg)
		layers = c.moduleLayers(ms, cfg)
		set = ms.mod.Schema
	}
	if err := values.CheckPatch(before, p); err != nil {
		return false, err
	}
	layers.Patches = values.Compact(layers.Patches, p)
	eff := layers.Effective()
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
		c.globalDynamic = values.Compact(c.globalDynamic, p)
		return
	}
	ms := c.byName[h.Module]
	ms.dynamic = values.Compact(ms.dynamic, p)
}

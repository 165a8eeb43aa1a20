package converge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/queue"
)

// convergeAll runs beforeAll, discovery, deletes of disabled modules (one
// at a time, in reverse order of starts), runs of enabled ones (runEnabled)
// and afterAll.
func (c *Converger) convergeAll(ctx context.Context, activation module.Activation, log *slog.Logger) error {
	start := c.clock.Now()
	c.mu.Lock()
	globalHooks := c.bundle.GlobalHooks
	c.mu.Unlock()
	for _, h := range hook.Ordered(globalHooks, hook.BeforeAll) {
		if _, err := c.runLifecycleHook(ctx, h, hook.BeforeAll, activation, log); err != nil {
			return fmt.Errorf("%w: %w", errGlobal, err)
		}
	}
	enable, disable, err := c.discover(ctx, log)
	if err != nil {
		return fmt.Errorf("%w: %w", errGlobal, err)
	}
	for i := len(disable) - 1; i >= 0; i-- {
		c.deleteModule(ctx, disable[i], log)
	}
	if err := c.runEnabled(ctx, enable, activation, log); err != nil {
		return err
	}
	for _, h := range hook.Ordered(globalHooks, hook.AfterAll) {
		changed, err := c.runLifecycleHook(ctx, h, hook.AfterAll, activation, log)
		if err != nil {
			return fmt.Errorf("%w: %w", errGlobal, err)
		}
		if changed {
			// Global values moved after the modules ran: converge again.
			c.deps.Queues.Add(queue.MainQueue, c.convergeTask(module.ActivationGlobalValuesChanged))
		}
	}
	c.deps.Observer.Convergence(activation, c.clock.Since(start))
	log.Info("modules converged", "activation", string(activation), "duration", c.clock.Since(start).String())
	c.markReady()
	return nil
}

// discover decides which modules are enabled, in the order of starts (a
// module after the modules it requires): the `<key>Enabled` flag of the
// configuration, else the bundle's default; then the module.yaml
// requirements (the cluster's version, the required modules enabled
// before it), a module that does not meet them is disabled with the reason;
// then the module's `enabled` script (which sees the modules enabled
// before it in global.enabledModules). A failing script keeps the module's
// previous state and marks it in Error. It returns the modules to run and
// the disabled ones to delete, in the order of starts; an error, with no
// module changed, when the cluster's version is needed and cannot be read.
func (c *Converger) discover(ctx context.Context, log *slog.Logger) (enable, disable []*moduleState, err error) {
	cfg := c.deps.Config.Current()
	c.mu.Lock()
	mods := append([]*moduleState(nil), c.starts...)
	c.mu.Unlock()
	kubeVersion, err := c.kubeVersion(ctx, mods)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, ms := range mods {
		on := false
		if v, ok := cfg.Enabled[ms.mod.ValuesKey]; ok {
			on = v
		} else if ms.mod.EnabledByDefault != nil {
			on = *ms.mod.EnabledByDefault
		}
		byConfig := on
		var byScript *bool
		reason, scriptErr := "", ""
		if on {
			on, reason = meetsRequirements(ms.mod, kubeVersion, names)
		}
		if on && ms.mod.EnabledScript != "" {
			c.mu.Lock()
			c.enabledNames = names
			vals, cfgVals := c.hookValues(&hook.Hook{Module: ms.mod.Name, ValuesKey: ms.mod.ValuesKey})
			prev := ms.enabled
			c.mu.Unlock()
			var err error
			on, reason, err = c.deps.Runner.Enabled(ctx, ms.mod.Name, ms.mod.EnabledScript, vals, cfgVals)
			if err == nil {
				byScript = &on
			} else {
				c.deps.Observer.DiscoverError()
				log.Error("enabled script failed, keeping the module's state", "module", ms.mod.Name, "error", err)
				on = prev
				scriptErr = "enabled script: " + err.Error()
				c.mu.Lock()
				ms.status.Phase, ms.status.FailedStep, ms.status.Message = module.PhaseError, module.StepEnabled, scriptErr
				c.mu.Unlock()
			}
		}
		c.mu.Lock()
		ms.status.Enabled, ms.status.EnabledReason = on, reason
		ms.status.EnabledByConfig, ms.status.EnabledByScript = byConfig, byScript
		if on != ms.enabled {
			// A pending retry is for the state the module leaves.
			ms.stopRetry()
		}
		ms.enabled = on
		ms.enabledErr = scriptErr
		switch {
		case on:
			names = append(names, ms.mod.Name)
			enable = append(enable, ms)
		case ms.hasLeftovers():
			disable = append(disable, ms)
		default:
			ms.settle(module.PhaseDisabled)
		}
		c.mu.Unlock()
	}
	c.notify()
	c.mu.Lock()
	c.enabledNames = names
	c.mu.Unlock()
	return enable, disable, nil
}

// kubeVersion reads the cluster's version when a module of mods has a
// requirements.kubernetes; "" when none has.
func (c *Converger) kubeVersion(ctx context.Context, mods []*moduleState) (string, error) {
	needed := slices.ContainsFunc(mods, func(ms *moduleState) bool {
		return ms.mod.Definition != nil && ms.mod.Definition.Requirements.Kubernetes != ""
	})
	if !needed {
		return "", nil
	}
	if c.deps.KubeVersion == nil {
		return "", errNoKubeVersion
	}
	v, err := c.deps.KubeVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("read the cluster's version for modules' requirements.kubernetes: %w", err)
	}
	return v, nil
}

// errNoKubeVersion: a module has a requirements.kubernetes and Deps has no
// KubeVersion.
var errNoKubeVersion = errors.New("modules' requirements.kubernetes need the cluster's version, and none is known")

// meetsRequirements checks m's module.yaml requirements: the cluster's
// version, and the modules it requires among enabled (the modules enabled
// so far). When one is not met it returns false and why.
func meetsRequirements(m *module.Module, kubeVersion string, enabled []string) (bool, string) {
	if m.Definition == nil {
		return true, ""
	}
	req := m.Definition.Requirements
	if ok, why := req.KubernetesAllows(kubeVersion); !ok {
		return false, why
	}
	var missing []string
	for _, name := range req.ModuleNames() {
		if !slices.Contains(enabled, name) {
			missing = append(missing, name)
		}
	}
	switch len(missing) {
	case 0:
		return true, ""
	case 1:
		return false, fmt.Sprintf("requirements.modules: module %s is not enabled", missing[0])
	}
	return false, fmt.Sprintf("requirements.modules: modules %s are not enabled", strings.Join(missing, ", "))
}

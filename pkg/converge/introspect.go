package converge

import (
	"fmt"

	"github.com/seedops/addon-operator/pkg/hook"
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/values"
)

// Bundle is the module bundle in force.
func (c *Converger) Bundle() *module.Bundle {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bundle.Modules
}

// ModuleValues returns what a module's hooks and chart see now:
// {global: …, <valuesKey>: …}, and the config values {global: …,
// <valuesKey>: …}. Secret fields are included; callers mask them.
func (c *Converger) ModuleValues(name string) (vals, cfgVals values.Values, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := c.byName[name]
	if ms == nil {
		return nil, nil, fmt.Errorf("%w %q", module.ErrUnknownModule, name)
	}
	vals, cfgVals = c.hookValues(&hook.Hook{Module: name, ValuesKey: ms.mod.ValuesKey})
	return vals, cfgVals, nil
}

// GlobalValues returns the global values {global: …} and config values.
func (c *Converger) GlobalValues() (vals, cfgVals values.Values) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hookValues(&hook.Hook{ValuesKey: values.GlobalKey})
}

// Hooks returns the global hooks, then each module's, in module order.
func (c *Converger) Hooks() []*hook.Hook {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]*hook.Hook(nil), c.bundle.GlobalHooks...)
	for _, ms := range c.modules {
		out = append(out, ms.hooks...)
	}
	return out
}

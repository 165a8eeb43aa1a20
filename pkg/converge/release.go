package converge

import (
	"github.com/seedops/addon-operator/pkg/module"
	"github.com/seedops/addon-operator/pkg/values"
)

// releaseValues is the .Values tree of a module's release, from the global
// section and the module's effective section (neither is modified).
//
// A wrapped module's chart reads .Values.<valuesKey> and .Values.global,
// the flant contract. An unwrapped module's chart (module.yaml `values:
// unwrapped`, an upstream chart) reads the section at the top level, as
// `helm install` would give it, and .Values.global: the section's own
// `global` key (the chart's values.yaml defaults and what the user set
// under it) merged with the operator's global values, which win key by key
// because every module is promised to see them. Hooks are not concerned:
// they keep seeing the section under its values key.
func releaseValues(m *module.Module, global, section values.Values) values.Values {
	if !m.Unwrapped() {
		return values.Values{
			values.GlobalKey: map[string]any(global),
			m.ValuesKey:      map[string]any(section),
		}
	}
	out := section.DeepCopy()
	own, _ := out[values.GlobalKey].(map[string]any)
	out[values.GlobalKey] = map[string]any(values.Merge(own, global))
	return out
}

package schema

import (
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/seedops/addon-operator/pkg/values"
)

// ApplyDefaults returns a new tree: v with the schema's defaults filled in,
// with the semantics of Kubernetes CRD defaulting:
//
//   - a property that is absent gets a copy of its default; a property that
//     is present (even null) is kept;
//   - objects that exist, or were just created from a default, get their own
//     properties defaulted, at any depth, and so do the elements of lists
//     (items) and the entries of maps (additionalProperties schema);
//   - an absent object without a default is not created.
//
// Defaults inside allOf, anyOf, oneOf and not are not applied. v is not
// modified; the result shares nothing with v or the schema. A nil *Schema,
// or one from LoadChart, returns a copy of v. The result is never nil.
func (s *Schema) ApplyDefaults(v map[string]any) map[string]any {
	out := map[string]any(values.Values(v).DeepCopy())
	if s == nil || s.root == nil {
		return out
	}
	fillObject(s.root, out)
	return out
}

// fill applies s's nested defaults to v in place and returns v.
func fill(s *spec.Schema, v any) any {
	switch t := v.(type) {
	case map[string]any:
		fillObject(s, t)
	case []any:
		if s.Items != nil && s.Items.Schema != nil {
			for _, e := range t {
				fill(s.Items.Schema, e)
			}
		}
	}
	return v
}

func fillObject(s *spec.Schema, m map[string]any) {
	for name, prop := range s.Properties {
		if _, ok := m[name]; !ok && prop.Default != nil {
			m[name] = copyJSON(prop.Default)
		}
		if cur, ok := m[name]; ok {
			fill(&prop, cur)
		}
	}
	if ap := s.AdditionalProperties; ap != nil && ap.Schema != nil {
		for key, cur := range m {
			if _, declared := s.Properties[key]; !declared {
				fill(ap.Schema, cur)
			}
		}
	}
}

// copyJSON deep-copies a JSON-shaped value.
func copyJSON(v any) any {
	return values.Values{"v": v}.DeepCopy()["v"]
}

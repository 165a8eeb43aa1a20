package schema

import (
	"fmt"
	"slices"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// SecretPaths lists the fields marked x-secret: true, each as the property
// names from the section root ({"grafana", "adminPassword"}), sorted. Only
// object properties are followed (Load refuses a mark anywhere else, see
// checkSecrets); below a secret property nothing more is listed (the whole
// subtree is secret). A nil *Schema, or one from LoadChart, has no secrets.
func (s *Schema) SecretPaths() [][]string {
	if s == nil || s.root == nil {
		return nil
	}
	var out [][]string
	collectSecrets(s.root, nil, &out)
	slices.SortFunc(out, slices.Compare)
	return out
}

func collectSecrets(s *spec.Schema, path []string, out *[][]string) {
	for name, prop := range s.Properties {
		at := append(slices.Clip(path), name)
		if secret, _ := prop.Extensions["x-secret"].(bool); secret {
			*out = append(*out, at)
			continue
		}
		collectSecrets(&prop, at, out)
	}
}

// checkSecrets reports every x-secret: true that SecretPaths would not
// list: on the section root, or below items, additionalProperties,
// patternProperties, allOf, anyOf, oneOf or not. Such a value would not be
// moved to the Secret (nor masked by the CLI) but saved in the ConfigMap,
// so the schema is refused instead. listed tells whether a mark on node
// would be listed. Below a mark the whole subtree is secret (or already
// refused), so nothing more is checked there. node has its refs resolved:
// a definition counts where it is used, and definitions themselves are
// not walked.
func checkSecrets(node map[string]any, path []string, listed bool, out *[]problem) {
	if secret, _ := node["x-secret"].(bool); secret {
		if !listed {
			*out = append(*out, newProblem(append(slices.Clip(path), "x-secret"),
				"is only supported on properties reached from the section root through properties, "+
					"not on the root, items, additionalProperties, patternProperties, allOf, anyOf, oneOf or not "+
					"(the value would be saved in the ConfigMap); mark the enclosing property x-secret instead"))
		}
		return
	}
	for _, key := range sortedKeys(node) {
		at := append(slices.Clip(path), key)
		switch key {
		case "properties", "patternProperties":
			props, _ := node[key].(map[string]any)
			for _, name := range sortedKeys(props) {
				sub, _ := props[name].(map[string]any)
				checkSecrets(sub, append(slices.Clip(at), name), key == "properties" && (listed || len(path) == 0), out)
			}
		case "additionalProperties", "additionalItems", "not":
			if sub, ok := node[key].(map[string]any); ok {
				checkSecrets(sub, at, false, out)
			}
		case "items", "allOf", "anyOf", "oneOf":
			switch t := node[key].(type) {
			case map[string]any:
				checkSecrets(t, at, false, out)
			case []any:
				for i, s := range t {
					sub, _ := s.(map[string]any)
					checkSecrets(sub, append(slices.Clip(at), fmt.Sprint(i)), false, out)
				}
			}
		}
	}
}

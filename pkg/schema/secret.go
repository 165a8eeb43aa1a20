package schema

import (
	"slices"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// SecretPaths lists the fields marked x-secret: true, each as the property
// names from the section root ({"grafana", "adminPassword"}), sorted. Only
// object properties are followed, not list items or additionalProperties;
// below a secret property nothing more is listed (the whole subtree is
// secret). A nil *Schema has no secrets.
func (s *Schema) SecretPaths() [][]string {
	if s == nil {
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

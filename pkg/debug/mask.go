package debug

import (
	"bytes"
	"encoding/json"
	"fmt"

	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/mask"
	"github.com/seedops/addon-operator/pkg/values"
)

// Mask replaces secret values in the API's answers.
const Mask = mask.Text

// maskSections returns a copy of vals (a tree of sections: global,
// <valuesKey>) with each value under one of its section's secret paths
// replaced by Mask, or an unmasked copy when show is set. A secret path
// that leads to a map or list masks the whole subtree; absent and null
// values stay as they are.
func maskSections(vals values.Values, paths map[string][][]string, show bool) (map[string]any, error) {
	tree, err := plainTree(vals)
	if err != nil {
		return nil, err
	}
	if show {
		return tree, nil
	}
	for section, ps := range paths {
		sec, ok := tree[section].(map[string]any)
		if !ok {
			continue
		}
		for _, p := range ps {
			maskPath(sec, p)
		}
	}
	return tree, nil
}

func maskPath(m map[string]any, path []string) {
	for i, key := range path {
		v, ok := m[key]
		if !ok || v == nil {
			return
		}
		if i == len(path)-1 {
			m[key] = Mask
			return
		}
		if m, ok = v.(map[string]any); !ok {
			return
		}
	}
}

// secretStrings lists the scalar values under the secret paths of vals'
// sections (all scalars of a secret subtree). Booleans and nulls are not
// secrets worth hiding in text.
func secretStrings(vals values.Values, paths map[string][][]string) []string {
	tree, err := plainTree(vals)
	if err != nil {
		return nil
	}
	var out []string
	for section, ps := range paths {
		for _, p := range ps {
			v, ok := lookup(tree[section], p)
			if ok {
				out = mask.Scalars(out, v)
			}
		}
	}
	return out
}

func lookup(v any, path []string) (any, bool) {
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// plainTree copies vals into plain JSON types (maps, slices, strings,
// json.Number, bools), sharing nothing with vals.
func plainTree(vals values.Values) (map[string]any, error) {
	data, err := json.Marshal(vals)
	if err != nil {
		return nil, fmt.Errorf("encode values: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tree := map[string]any{}
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("decode values: %w", err)
	}
	return tree, nil
}

// manifestSecrets lists the values of the data and stringData of the
// Secrets in a manifest: a Secret is secret whether or not its values come
// from x-secret fields, and a deployed manifest may hold values that are no
// longer in the values.
func manifestSecrets(manifest string) []string {
	var out []string
	for _, doc := range releaseutil.SplitManifests(manifest) {
		var obj struct {
			Kind       string         `json:"kind"`
			Data       map[string]any `json:"data"`
			StringData map[string]any `json:"stringData"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj.Kind != "Secret" {
			continue
		}
		for _, v := range obj.Data {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		for _, v := range obj.StringData {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// newMasker masks secrets in text as the operator's logs and statuses do
// (package mask: base64 forms and lines of multi-line values too; values
// shorter than mask.MinLen are left alone).
func newMasker(secrets []string) *mask.Masker {
	m := mask.New()
	m.Update(secrets)
	return m
}

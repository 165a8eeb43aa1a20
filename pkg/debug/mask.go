package debug

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/values"
)

// Mask replaces secret values in the API's answers.
const Mask = "***"

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
				out = appendScalars(out, v)
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

func appendScalars(out []string, v any) []string {
	switch t := v.(type) {
	case string:
		return append(out, t)
	case json.Number:
		return append(out, t.String())
	case map[string]any:
		for _, e := range t {
			out = appendScalars(out, e)
		}
	case []any:
		for _, e := range t {
			out = appendScalars(out, e)
		}
	}
	return out
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

// masker replaces secret strings in text.
type masker struct {
	r *strings.Replacer
}

// newMasker masks each secret, its standard base64 encoding (Helm's
// b64enc), and each line of a multi-line secret (as YAML block scalars
// indent them). Longer strings win over shorter ones at the same place.
func newMasker(secrets []string) masker {
	set := map[string]bool{}
	add := func(s string) {
		if s != "" && s != Mask {
			set[s] = true
		}
	}
	for _, s := range secrets {
		add(s)
		add(base64.StdEncoding.EncodeToString([]byte(s)))
		if strings.Contains(s, "\n") {
			for _, line := range strings.Split(s, "\n") {
				add(strings.TrimSpace(line))
			}
		}
	}
	if len(set) == 0 {
		return masker{}
	}
	list := make([]string, 0, len(set))
	for s := range set {
		list = append(list, s)
	}
	slices.SortFunc(list, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	pairs := make([]string, 0, 2*len(list))
	for _, s := range list {
		pairs = append(pairs, s, Mask)
	}
	return masker{r: strings.NewReplacer(pairs...)}
}

func (m masker) mask(s string) string {
	if m.r == nil || s == "" {
		return s
	}
	return m.r.Replace(s)
}

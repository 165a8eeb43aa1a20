package helm

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// helmManager is the field manager of the writes Helm makes for the
// operator (install, upgrade, rollback): the SDK's kube.ManagedFieldsManager
// or, unset, the base name of the program, as the SDK chooses it.
func helmManager() string {
	switch {
	case kube.ManagedFieldsManager != "":
		return kube.ManagedFieldsManager
	case os.Args[0] == "":
		return "unknown"
	}
	return filepath.Base(os.Args[0])
}

// untouched reports whether the field managers of an object show that the
// operator's own writes (Helm's, manager helmManager, and the drift
// corrector's, manager FieldManager, both to the object itself, not a
// subresource) own every field the manifest object want sets, so that the
// object still holds the values of the deployed revision there and a drift
// check would find nothing. With verify non-empty, that holds only if the
// live object has want's values at those paths (see below).
//
// It relies on how the API server keeps managedFields: a write by another
// manager that changes a field takes the field from its owners (Update) or
// conflicts (Apply, forced: takes it), and a write that removes a field
// removes it from every owner, also when the remover is left owning
// nothing and so is not listed at all. Hence the operator owning all the
// fields, not merely no one else being listed. Its limits: a write made
// under the operator's own manager names, or one that rewrites
// metadata.managedFields, goes unseen; both are deliberate.
//
// It answers false whenever it cannot tell: another manager's stringData
// in a Secret (the API server writes it to data, leaving data's owners as
// they were), an entry of another API version than the manifest's, a list
// whose items it cannot match with the keys the API server recorded, a
// null in the manifest. A non-empty map or
// list the manifest sets that the owners record without children is
// either atomic and owned whole (a Service's selector, a Deployment's) or
// granular with every entry removed by someone else; only the type's
// schema tells them apart. Such a field is returned in verify, with its
// path through maps and keyed lists (a container's args is under the
// container's key): the value there decides, compared by the caller (see
// sameAt). Under a list item without a key (an item of an atomic list or a
// set) such a field gives false.
func untouched(want map[string]any, entries []metav1.ManagedFieldsEntry) (ok bool, verify []fieldPath) {
	apiVersion, _ := want["apiVersion"].(string)
	secret := apiVersion == "v1" && want["kind"] == "Secret"
	helm := helmManager()
	var owned []map[string]any
	for _, e := range entries {
		if e.Subresource != "" || e.FieldsV1 == nil {
			continue
		}
		ours := e.Manager == helm || e.Manager == FieldManager
		if !ours && secret && bytes.Contains(e.FieldsV1.Raw, []byte(`"f:stringData"`)) {
			// The API server writes stringData to data but records the
			// writer as owning stringData: data's owners stay as they were.
			return false, nil
		}
		if !ours || e.APIVersion != apiVersion {
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal(e.FieldsV1.Raw, &fields); err != nil {
			return false, nil
		}
		owned = append(owned, fields)
	}
	if len(owned) == 0 {
		return false, nil
	}
	var c coverage
	if !c.covered(managedPart(want), owned, fieldPath{}) {
		return false, nil
	}
	return true, c.verify
}

// fieldPath is a field's place in an object: map keys, and for an item
// of a keyed list the key the API server records it under ("k:" and the
// key fields as JSON, as in managedFields).
type fieldPath []string

// at returns the value at p in obj; a "k:" step picks the list item whose
// key fields have the key's values.
func (p fieldPath) at(obj map[string]any) (any, bool) {
	var cur any = obj
	for _, step := range p {
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[step]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			key, ok := strings.CutPrefix(step, "k:")
			if !ok {
				return nil, false
			}
			var found []any
			for _, item := range node {
				if m, isMap := item.(map[string]any); isMap && keyMatches(key, m) {
					found = append(found, m)
				}
			}
			if len(found) != 1 {
				return nil, false
			}
			cur = found[0]
		default:
			return nil, false
		}
	}
	return cur, true
}

// sameAt reports whether live has want's values at each of paths,
// compared as JSON.
func sameAt(want, live map[string]any, paths []fieldPath) bool {
	want = managedPart(want)
	for _, p := range paths {
		w, okW := p.at(want)
		l, okL := p.at(live)
		if !okW || !okL {
			return false
		}
		if !sameJSON(w, l) {
			return false
		}
	}
	return true
}

// managedPart is a manifest object without the fields the API server
// keeps no owner for (the type, the name) and without status, which a
// drift check ignores; with the fields as the API server records them.
func managedPart(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		switch k {
		case "apiVersion", "kind", "status":
		case "metadata":
			md, _ := v.(map[string]any)
			m := make(map[string]any, len(md))
			for k, v := range md {
				// creationTimestamp: null, common in generated manifests,
				// is dropped by the API server; other nulls are not
				// skipped: an apply of a null removes a value.
				if k != "name" && k != "namespace" && (k != "creationTimestamp" || v != nil) {
					m[k] = v
				}
			}
			if len(m) > 0 {
				out[k] = m
			}
		default:
			out[k] = v
		}
	}
	// A Secret's stringData is written to data; only data has owners.
	if sd, ok := obj["stringData"].(map[string]any); ok && obj["apiVersion"] == "v1" && obj["kind"] == "Secret" {
		data, _ := obj["data"].(map[string]any)
		merged := make(map[string]any, len(data)+len(sd))
		for k, v := range data {
			merged[k] = v
		}
		for k, v := range sd {
			merged[k] = v
		}
		out["data"] = merged
		delete(out, "stringData")
	}
	return out
}

// coverage collects, while covered walks a manifest, the paths of fields
// the owners record without children (see untouched).
type coverage struct{ verify []fieldPath }

// covered reports whether the nodes owned (the same place in several
// managers' FieldsV1 trees, each one owned) cover every field of want.
// path is want's place in the object; nil under an item of a list without
// keys, where a field recorded without children is not covered.
func (c *coverage) covered(want any, owned []map[string]any, path fieldPath) bool {
	switch w := want.(type) {
	case nil:
		return false
	case map[string]any:
		for k, v := range w {
			next := children(owned, "f:"+k)
			if len(next) == 0 {
				return false
			}
			sub := path.then(k)
			if sub != nil && nonEmpty(v) && childless(next) {
				c.verify = append(c.verify, sub)
				continue
			}
			if !c.covered(v, next, sub) {
				return false
			}
		}
		return true
	case []any:
		// An atomic list owned whole is recorded as a field without
		// children, but so is a keyed list whose items someone else
		// removed: without the schema, only its items' keys tell.
		for _, item := range w {
			key, next := itemNodes(owned, item)
			var sub fieldPath
			if strings.HasPrefix(key, "k:") {
				sub = path.then(key)
			}
			if len(next) == 0 || !c.covered(item, next, sub) {
				return false
			}
		}
		return true
	}
	return true // a value: its field is owned
}

// then is p and one more step; nil stays nil.
func (p fieldPath) then(step string) fieldPath {
	if p == nil {
		return nil
	}
	return append(p[:len(p):len(p)], step)
}

// nonEmpty reports whether v is a map or list with entries.
func nonEmpty(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return len(v) > 0
	case []any:
		return len(v) > 0
	}
	return false
}

// childless reports whether none of nodes records a field, item or value
// under it ("." marks the node itself).
func childless(nodes []map[string]any) bool {
	for _, n := range nodes {
		for k := range n {
			if k != "." {
				return false
			}
		}
	}
	return true
}

// children returns the nodes under key in each of nodes that has it.
func children(nodes []map[string]any, key string) []map[string]any {
	var out []map[string]any
	for _, n := range nodes {
		if c, ok := n[key].(map[string]any); ok {
			out = append(out, c)
		}
	}
	return out
}

// itemNodes returns the key and the nodes of a list item: "v:<value>" for a value in
// a set, "k:<keys>" for an object in a keyed list. An object matches a key
// when each key field it sets, at least one, has the key's value (one it
// leaves out, a Service port's protocol say, is defaulted); it must match
// exactly one key.
func itemNodes(nodes []map[string]any, item any) (key string, found []map[string]any) {
	obj, isObject := item.(map[string]any)
	if !isObject {
		v, err := json.Marshal(item)
		if err != nil {
			return "", nil
		}
		return "v:" + string(v), children(nodes, "v:"+string(v))
	}
	var match string
	for _, n := range nodes {
		for k := range n {
			if !strings.HasPrefix(k, "k:") || k == match || !keyMatches(k[2:], obj) {
				continue
			}
			if match != "" {
				return "", nil
			}
			match = k
		}
	}
	if match == "" {
		return "", nil
	}
	return match, children(nodes, match)
}

// keyMatches reports whether obj has the values of the JSON object key in
// the fields it sets.
func keyMatches(key string, obj map[string]any) bool {
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(key)))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return false
	}
	set := 0
	for f, v := range fields {
		got, ok := obj[f]
		if ok && !sameJSON(got, v) {
			return false
		}
		if ok {
			set++
		}
	}
	return set > 0
}

// sameJSON reports whether a and b encode to the same JSON: a number
// decoded as json.Number (a manifest) equals the same number decoded as
// int64 or float64 (a live object).
func sameJSON(a, b any) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && bytes.Equal(x, y)
}

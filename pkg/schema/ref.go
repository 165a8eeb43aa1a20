package schema

import (
	"slices"
	"strconv"
	"strings"
)

// resolveRefs returns a copy of doc where every {$ref: "#/..."} is replaced
// by a copy of the node it points to (siblings of $ref are dropped, as JSON
// Schema draft 4 says). Refs are local by then (checkSchema refuses others).
// Dangling and circular refs are problems.
func resolveRefs(doc map[string]any) (map[string]any, []problem) {
	r := refResolver{doc: doc}
	out := r.node(doc, nil, nil)
	m, _ := out.(map[string]any)
	return m, r.problems
}

type refResolver struct {
	doc      map[string]any
	problems []problem
}

// node copies v, resolving refs; active lists the refs being expanded
// around v, to detect cycles.
func (r *refResolver) node(v any, path []string, active []string) any {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			at := append(slices.Clip(path), "$ref")
			if slices.Contains(active, ref) {
				r.problems = append(r.problems, newProblem(at, "is circular (%s), which is not supported", strings.Join(append(slices.Clip(active), ref), " -> ")))
				return map[string]any{}
			}
			target, targetPath, found := r.lookup(ref)
			if !found {
				r.problems = append(r.problems, newProblem(at, "points to nothing: %q is not in this document", ref))
				return map[string]any{}
			}
			// Problems inside the target are reported where they are
			// written, not at each place that refers to them.
			return r.node(target, targetPath, append(slices.Clip(active), ref))
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = r.node(e, append(slices.Clip(path), k), active)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = r.node(e, append(slices.Clip(path), strconv.Itoa(i)), active)
		}
		return out
	default:
		return v
	}
}

// lookup follows a local JSON pointer ("#/definitions/port") and returns
// the node and its path.
func (r *refResolver) lookup(ref string) (any, []string, bool) {
	pointer := strings.TrimPrefix(ref, "#")
	var cur any = r.doc
	if pointer == "" {
		return cur, nil, true
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, nil, false
	}
	var path []string
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch t := cur.(type) {
		case map[string]any:
			next, ok := t[tok]
			if !ok {
				return nil, nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return nil, nil, false
			}
			cur = t[i]
		default:
			return nil, nil, false
		}
		path = append(path, tok)
	}
	return cur, path, true
}

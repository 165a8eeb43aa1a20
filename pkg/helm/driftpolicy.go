package helm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DriftMode says what the Monitor does with an object of a release that
// differs from the release's deployed revision.
type DriftMode string

// Drift modes.
const (
	// DriftCorrect re-applies the changed fields (the default).
	DriftCorrect DriftMode = "Correct"
	// DriftWarn reports the drift (Monitor.Drift) and changes nothing.
	DriftWarn DriftMode = "Warn"
	// DriftIgnore checks nothing.
	DriftIgnore DriftMode = "Ignore"
)

// DriftPolicy is the drift policy of every release: Mode (empty means
// DriftCorrect) unless Modules names the release (the module name).
type DriftPolicy struct {
	Mode    DriftMode
	Modules map[string]ModuleDriftPolicy
}

// ModuleDriftPolicy is one release's drift policy. An empty Mode falls back
// to the DriftPolicy's.
type ModuleDriftPolicy struct {
	Mode   DriftMode
	Ignore []DriftIgnoreRule
}

// DriftIgnoreRule names fields of objects of a release that are never
// drift: whatever their live value, it is kept. Kind and Name are required;
// an empty Namespace matches any namespace. Paths are JSON pointers (RFC
// 6901) into the object, "/spec/replicas".
type DriftIgnoreRule struct {
	Kind      string
	Name      string
	Namespace string
	Paths     []string
}

// For returns the policy of release, with its mode resolved.
func (p DriftPolicy) For(release string) ModuleDriftPolicy {
	mp := p.Modules[release]
	if mp.Mode == "" {
		mp.Mode = p.Mode
	}
	if mp.Mode == "" {
		mp.Mode = DriftCorrect
	}
	return mp
}

// ignoredPaths lists the parsed pointers that apply to an object.
func (mp ModuleDriftPolicy) ignoredPaths(o ObjectRef) [][]string {
	var out [][]string
	for _, r := range mp.Ignore {
		if r.Kind != o.Kind || r.Name != o.Name || (r.Namespace != "" && r.Namespace != o.Namespace) {
			continue
		}
		for _, p := range r.Paths {
			if tokens, err := ParsePointer(p); err == nil {
				out = append(out, tokens)
			}
		}
	}
	return out
}

// ParsePointer splits a JSON pointer ("/spec/template/spec/containers/0/image")
// into its unescaped reference tokens. The empty pointer (the whole object)
// is refused: ignoring a whole object is the Ignore mode's job.
func ParsePointer(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") || p == "/" {
		return nil, fmt.Errorf("json pointer %q: want a path such as /spec/replicas", p)
	}
	tokens := strings.Split(p[1:], "/")
	for i, t := range tokens {
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(t, "~0", ""), "~1", ""), "~") {
			return nil, fmt.Errorf("json pointer %q: ~ must be written ~0 and / must be written ~1", p)
		}
		tokens[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return tokens, nil
}

// pointer joins tokens back into a JSON pointer.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// errNoValue: a pointer names nothing in a document.
var errNoValue = errors.New("no value at the pointer")

// lookup returns the value at tokens in doc.
func lookup(doc any, tokens []string) (any, error) {
	cur := doc
	for _, t := range tokens {
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[t]
			if !ok {
				return nil, errNoValue
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(node) {
				return nil, errNoValue
			}
			cur = node[i]
		default:
			return nil, errNoValue
		}
	}
	return cur, nil
}

// keepLive makes the value at tokens in cfg (an apply configuration) the
// value live has there; absent from live, it is removed from cfg. A path
// whose parent is not in cfg is added only when it is a map key, so that
// list items are never invented.
func keepLive(cfg, live map[string]any, tokens []string) {
	want, err := lookup(live, tokens)
	parentTokens, last := tokens[:len(tokens)-1], tokens[len(tokens)-1]
	parent, perr := lookup(cfg, parentTokens)
	if perr != nil {
		if err != nil {
			return
		}
		made := ensureMaps(cfg, parentTokens)
		if made == nil {
			return
		}
		parent = made
	}
	switch node := parent.(type) {
	case map[string]any:
		if err != nil {
			delete(node, last)
			return
		}
		node[last] = want
	case []any:
		i, aerr := strconv.Atoi(last)
		if aerr != nil || i < 0 || i >= len(node) {
			return
		}
		if err != nil {
			// A list item cannot be left out without shifting the others;
			// it keeps the chart's value.
			return
		}
		node[i] = want
	}
}

// ensureMaps creates the maps along tokens in cfg; nil when a token meets
// something else than a map.
func ensureMaps(cfg map[string]any, tokens []string) map[string]any {
	cur := cfg
	for _, t := range tokens {
		next, ok := cur[t]
		if !ok {
			m := map[string]any{}
			cur[t] = m
			cur = m
			continue
		}
		m, ok := next.(map[string]any)
		if !ok {
			return nil
		}
		cur = m
	}
	return cur
}

package values

import "strings"

// Layers are the sources of one section's values (the global section or a
// module's), lowest precedence first. A Layers is a plain value: its methods
// read it and return new trees, so it may be built under a lock and used
// after it is released as long as its fields are not modified.
type Layers struct {
	// Bundle is the section of the bundle's values.yaml.
	Bundle Values
	// Module is the module's own values.yaml; nil for the global section.
	Module Values
	// Config is the section of the configuration (ConfigMap and Secret).
	Config Values
	// Defaults fills in the schema's defaults. It is given a tree that
	// shares nothing with the layers and returns the filled tree; nil
	// adds no defaults. It is a function so that this package does not
	// depend on the schema package, which builds on it.
	Defaults func(Values) Values
	// Patches is the hooks' dynamic layer: the operations of the hooks'
	// values patches kept by Compact, their paths rooted at the section
	// key ("/<key>/a/b").
	Patches Patch
}

// Effective returns the section's values: Bundle, Module and Config merged
// in that order (see Merge), then Defaults, so that a default never hides a
// configured value, then Patches, so that hooks have the last word.
//
// Patches apply leniently: when the whole layer does not apply, its
// operations apply one by one and those that fail are skipped. A hook patched
// what the configuration held when it ran; when the configuration changes
// (a key it replaced is gone), the rest of the layer still applies.
//
// The result shares nothing with the layers.
func (l Layers) Effective() Values {
	base := Merge(l.Bundle, l.Module, l.Config)
	if l.Defaults != nil {
		base = l.Defaults(base)
	}
	return applyLenient(base, l.Patches)
}

// CheckPatch applies a hook's patch, its paths rooted at the section key, to
// section (the section's values as the hook saw them) strictly: any
// operation that fails fails the check with ErrPatchFailed (or
// ErrInvalidPatch), so that a hook's bad operation fails its run rather than
// being skipped later by Effective. section is not modified.
func CheckPatch(section Values, p Patch) error {
	_, err := Values{sectionRoot: map[string]any(section)}.Apply(rerooted(p))
	return err
}

// Compact returns the dynamic layer with p appended, leaving layer and p
// untouched, and keeps the layer as small as the set of paths hooks own:
//
//   - an add, replace or remove drops earlier add, replace and remove
//     operations on the same path or below it, whose effect it overwrites;
//   - a replace of a path that a dropped add created becomes an add, so that
//     it still applies without that add;
//   - an operation on a list element (a path with "-" or an index segment)
//     drops nothing: repeated appends each add an element;
//   - move, copy and test neither drop nor are dropped.
//
// Applying the result to a section gives what applying layer and then p
// gives.
func Compact(layer, p Patch) Patch {
	out := append(Patch(nil), layer...)
	for _, op := range p {
		if overwrites(op) && !hasListElement(op.Path) {
			kept := out[:0]
			for _, old := range out {
				if overwrites(old) && (old.Path == op.Path || isBelow(old.Path, op.Path)) {
					if op.Op == "replace" && old.Op == "add" && old.Path == op.Path {
						op.Op = "add"
					}
					continue
				}
				kept = append(kept, old)
			}
			out = kept
		}
		out = append(out, op)
	}
	return out
}

// sectionRoot is the key a lone section is wrapped under so that a patch
// rooted at the section key applies to it whatever that key is.
const sectionRoot = "v"

func applyLenient(base Values, p Patch) Values {
	if len(p) == 0 {
		return base
	}
	wrapped := Values{sectionRoot: map[string]any(base)}
	p = rerooted(p)
	if out, err := wrapped.Apply(p); err == nil {
		return out.Section(sectionRoot)
	}
	cur := wrapped
	for _, op := range p {
		if next, err := cur.Apply(Patch{op}); err == nil {
			cur = next
		}
	}
	return cur.Section(sectionRoot)
}

// rerooted replaces the first segment of each path and from ("/<key>/a")
// with sectionRoot.
func rerooted(p Patch) Patch {
	out := make(Patch, len(p))
	for i, op := range p {
		op.Path = "/" + sectionRoot + trimRoot(op.Path)
		if op.From != "" {
			op.From = "/" + sectionRoot + trimRoot(op.From)
		}
		out[i] = op
	}
	return out
}

// trimRoot drops a path's first segment: "/key/a/b" → "/a/b", "/key" → "".
func trimRoot(path string) string {
	for i := 1; i < len(path); i++ {
		if path[i] == '/' {
			return path[i:]
		}
	}
	return ""
}

// overwrites reports whether an operation sets or removes the value at its
// path whatever was there.
func overwrites(op Operation) bool {
	return op.Op == "add" || op.Op == "replace" || op.Op == "remove"
}

func isBelow(path, parent string) bool {
	return len(path) > len(parent) && path[:len(parent)] == parent && path[len(parent)] == '/'
}

// hasListElement reports whether a path addresses a list element ("-" or an
// index), where repeated operations on one path do not overwrite each other.
func hasListElement(path string) bool {
	for _, seg := range strings.Split(path, "/") {
		if seg == "-" {
			return true
		}
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			return true
		}
	}
	return false
}

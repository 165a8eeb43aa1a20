package configstore

import (
	"github.com/seedops/addon-operator/pkg/mask"
	"github.com/seedops/addon-operator/pkg/values"
)

// splitSecret divides a section into the part stored in the ConfigMap
// (plain) and the part stored in the Secret (secret): every field at one of
// paths moves to secret, keeping its position; maps left empty by the move
// are dropped from plain. values.Merge(plain, secret) gives v back, except for
// those dropped empty maps. v is not modified.
func splitSecret(v values.Values, paths [][]string) (plain, secret values.Values) {
	plain = v.DeepCopy()
	secret = values.Values{}
	for _, path := range paths {
		if len(path) == 0 {
			continue
		}
		chain := []map[string]any{plain}
		for _, seg := range path[:len(path)-1] {
			next, ok := asMap(chain[len(chain)-1][seg])
			if !ok {
				break
			}
			chain = append(chain, next)
		}
		if len(chain) != len(path) {
			continue
		}
		leaf := path[len(path)-1]
		val, ok := chain[len(chain)-1][leaf]
		if !ok {
			continue
		}
		delete(chain[len(chain)-1], leaf)
		setPath(secret, path, val)
		for i := len(chain) - 1; i > 0 && len(chain[i]) == 0; i-- {
			delete(chain[i-1], path[i-1])
		}
	}
	return plain, secret
}

// hasSecret reports whether any of paths is present in v.
func hasSecret(v values.Values, paths [][]string) bool {
	for _, path := range paths {
		if len(path) == 0 {
			continue
		}
		cur := map[string]any(v)
		found := true
		for i, seg := range path {
			val, ok := cur[seg]
			if !ok {
				found = false
				break
			}
			if i == len(path)-1 {
				break
			}
			if cur, ok = asMap(val); !ok {
				found = false
				break
			}
		}
		if found {
			return true
		}
	}
	return false
}

func setPath(dst map[string]any, path []string, val any) {
	for _, seg := range path[:len(path)-1] {
		next, ok := asMap(dst[seg])
		if !ok {
			next = map[string]any{}
			dst[seg] = next
		}
		dst = next
	}
	dst[path[len(path)-1]] = val
}

func asMap(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, true
	case values.Values:
		return t, true
	}
	return nil, false
}

// Secrets lists the scalar values of the x-secret fields of every section
// of s (all scalars of a secret map or list), as strings, in no particular
// order: what must not leave the process in status, Events or logs.
// Booleans and nulls are left out.
func (s Snapshot) Secrets(schemas Schemas) []string {
	var out []string
	for key, section := range s.sections() {
		_, secret := splitSecret(section, schemas.SecretPaths(key))
		out = mask.Scalars(out, secret)
	}
	return out
}

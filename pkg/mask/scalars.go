package mask

import (
	"encoding/json"
	"strconv"

	"github.com/seedops/addon-operator/pkg/values"
)

// Scalars appends to out every string and number in the tree v (maps and
// lists walked to the bottom), as text: the values of a secret subtree
// that must be masked. Booleans and nulls are left out; they are not
// secrets worth hiding in text.
func Scalars(out []string, v any) []string {
	switch t := v.(type) {
	case string:
		return append(out, t)
	case float64:
		return append(out, strconv.FormatFloat(t, 'f', -1, 64))
	case json.Number:
		return append(out, t.String())
	case values.Values:
		return Scalars(out, map[string]any(t))
	case map[string]any:
		for _, e := range t {
			out = Scalars(out, e)
		}
	case []any:
		for _, e := range t {
			out = Scalars(out, e)
		}
	}
	return out
}

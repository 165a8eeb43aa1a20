package values

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/tidwall/gjson"
	"sigs.k8s.io/yaml"
)

// Values is a tree of JSON types: map[string]any, []any, string, float64,
// bool and nil. Constructors of this package guarantee that shape; a Values
// built by hand must keep it (use Normalize when in doubt).
type Values map[string]any

// GlobalKey is the top-level key of global values.
const GlobalKey = "global"

// OperatorKey is the ConfigMap data key of the reserved section that holds
// the operator's own settings (parsed by updater), never a module's. It is
// the one spelling of that key: code that means this section uses it.
const OperatorKey = "operator"

// FromYAML parses a YAML (or JSON) document that must be a map. Empty input
// gives empty Values. Errors carry the parser's line number.
func FromYAML(data []byte) (Values, error) {
	var raw any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	return fromAny(raw)
}

// FromJSON parses a JSON document that must be an object. Empty input gives
// empty Values.
func FromJSON(data []byte) (Values, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Values{}, nil
	}
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse json: %w", err)
	}
	return fromAny(raw)
}

func fromAny(raw any) (Values, error) {
	switch t := raw.(type) {
	case nil:
		return Values{}, nil
	case map[string]any:
		return Values(t), nil
	default:
		return nil, fmt.Errorf("%w: want a map, got %s", ErrNotMap, KindOf(raw))
	}
}

// Normalize converts any JSON-marshalable tree (structs, typed maps, ints)
// into the canonical shape of Values.
func Normalize(v any) (Values, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("normalize values: %w", err)
	}
	return FromJSON(data)
}

// KindOf names the JSON kind of v for error messages: "map", "list",
// "string", "number", "bool" or "null".
func KindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any, Values:
		return "map"
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "bool"
	case float64, float32, int, int64, int32, uint64, json.Number:
		return "number"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// DeepCopy returns a copy of v that shares no maps or slices with it.
func (v Values) DeepCopy() Values {
	if v == nil {
		return Values{}
	}
	return copyMap(v)
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, val := range m {
		out[k] = copyAny(val)
	}
	return out
}

func copyAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return copyMap(t)
	case Values:
		return copyMap(t)
	case []any:
		out := make([]any, len(t))
		for i := range t {
			out[i] = copyAny(t[i])
		}
		return out
	default:
		return v
	}
}

// Section returns a deep copy of the map under key, or empty Values when the
// key is absent or not a map.
func (v Values) Section(key string) Values {
	m, ok := asMap(v[key])
	if !ok {
		return Values{}
	}
	return copyMap(m)
}

func asMap(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, true
	case Values:
		return t, true
	}
	return nil, false
}

// JSON returns the canonical JSON encoding of v: map keys sorted, no spaces.
func (v Values) JSON() []byte {
	if v == nil {
		return []byte("{}")
	}
	data, err := json.Marshal(map[string]any(v))
	if err != nil {
		// Values hold JSON types only; this is a broken invariant.
		panic(fmt.Sprintf("values: marshal: %v", err))
	}
	return data
}

// YAML returns v as YAML with sorted keys.
func (v Values) YAML() []byte {
	data, err := yaml.JSONToYAML(v.JSON())
	if err != nil {
		panic(fmt.Sprintf("values: to yaml: %v", err))
	}
	return data
}

// Checksum is a hex SHA-256 of the canonical JSON. Equal content gives an
// equal checksum whatever the key order of the source documents.
func (v Values) Checksum() string {
	sum := sha256.Sum256(v.JSON())
	return hex.EncodeToString(sum[:])
}

// Equal reports whether a and b have the same content. A nil and an empty
// Values are equal.
func Equal(a, b Values) bool {
	return bytes.Equal(a.JSON(), b.JSON())
}

// Get reads a gjson path ("global.discovery.nodeCount", "ingress.replicas").
func (v Values) Get(path string) gjson.Result {
	return gjson.GetBytes(v.JSON(), path)
}

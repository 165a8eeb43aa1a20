package values

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// Operation is one RFC 6902 operation.
type Operation struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	From  string          `json:"from,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
}

// Patch is an ordered list of operations.
type Patch []Operation

var validOps = map[string]bool{"add": true, "remove": true, "replace": true, "move": true, "copy": true, "test": true}

// ParsePatch reads a patch file as hooks write it: one or more JSON values in
// a row, each an array of operations or a single operation object (hooks
// often append with `>>`). Whitespace-only input is an empty patch. Every
// operation is checked for a known op, a path starting with "/", and the
// fields its op needs; errors wrap ErrInvalidPatch and name the operation.
func ParsePatch(data []byte) (Patch, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out Patch
	for doc := 0; ; doc++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: document %d is not JSON: %v", ErrInvalidPatch, doc, err)
		}
		raw = bytes.TrimSpace(raw)
		switch raw[0] {
		case '[':
			var ops []json.RawMessage
			if err := json.Unmarshal(raw, &ops); err != nil {
				return nil, fmt.Errorf("%w: document %d: %v", ErrInvalidPatch, doc, err)
			}
			for _, op := range ops {
				o, err := parseOperation(op, len(out))
				if err != nil {
					return nil, err
				}
				out = append(out, o)
			}
		case '{':
			o, err := parseOperation(raw, len(out))
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		default:
			var v any
			_ = json.Unmarshal(raw, &v)
			return nil, fmt.Errorf("%w: document %d: want an array of operations, got %s", ErrInvalidPatch, doc, KindOf(v))
		}
	}
	return out, nil
}

func parseOperation(raw json.RawMessage, index int) (Operation, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Operation{}, fmt.Errorf("%w: operation %d: want an object like {\"op\":\"add\",\"path\":\"/a\",\"value\":1}: %v", ErrInvalidPatch, index, err)
	}
	var op Operation
	if err := json.Unmarshal(raw, &op); err != nil {
		return Operation{}, fmt.Errorf("%w: operation %d: %v", ErrInvalidPatch, index, err)
	}
	if _, hasValue := fields["value"]; hasValue && len(op.Value) == 0 {
		op.Value = json.RawMessage("null")
	}
	return op, op.check(index)
}

func (op Operation) check(index int) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: operation %d (%s %s): %s", ErrInvalidPatch, index, op.Op, op.Path, fmt.Sprintf(format, args...))
	}
	if !validOps[op.Op] {
		return fail("op %q is not one of add, remove, replace, move, copy, test", op.Op)
	}
	if !strings.HasPrefix(op.Path, "/") {
		return fail("path must start with \"/\"")
	}
	switch op.Op {
	case "add", "replace", "test":
		if len(op.Value) == 0 {
			return fail("missing \"value\"")
		}
	case "move", "copy":
		if !strings.HasPrefix(op.From, "/") {
			return fail("\"from\" must start with \"/\"")
		}
	}
	return nil
}

// Root is the first segment of the operation's path ("global" for
// "/global/discovery/nodeCount"), unescaped per RFC 6901.
func (op Operation) Root() string {
	seg := strings.TrimPrefix(op.Path, "/")
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg = seg[:i]
	}
	return strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
}

// JSON encodes the patch as an RFC 6902 array.
func (p Patch) JSON() []byte {
	if p == nil {
		return []byte("[]")
	}
	data, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("values: marshal patch: %v", err))
	}
	return data
}

// Apply returns v with the patch applied, operation by operation, leaving v
// untouched. "add" creates missing parent maps; "remove" of a path that does
// not exist is a no-op (hooks remove idempotently). Any other operation on a
// missing path fails with ErrPatchFailed naming the operation.
func (v Values) Apply(p Patch) (Values, error) {
	if len(p) == 0 {
		return v.DeepCopy(), nil
	}
	opts := jsonpatch.NewApplyOptions()
	opts.EnsurePathExistsOnAdd = true
	opts.AllowMissingPathOnRemove = true
	doc := v.JSON()
	for i, op := range p {
		if err := op.check(i); err != nil {
			return nil, err
		}
		one, err := json.Marshal([]Operation{op})
		if err != nil {
			return nil, fmt.Errorf("%w: operation %d: %v", ErrInvalidPatch, i, err)
		}
		decoded, err := jsonpatch.DecodePatch(one)
		if err != nil {
			return nil, fmt.Errorf("%w: operation %d (%s %s): %v", ErrInvalidPatch, i, op.Op, op.Path, err)
		}
		doc, err = decoded.ApplyWithOptions(doc, opts)
		if err != nil {
			return nil, fmt.Errorf("%w: operation %d (%s %s): %v", ErrPatchFailed, i, op.Op, op.Path, err)
		}
	}
	out, err := FromJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: result is not a map: %v", ErrPatchFailed, err)
	}
	return out, nil
}

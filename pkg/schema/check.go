package schema

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/seedops/addon-operator/pkg/values"
)

// problem is one defect of a schema document. path locates it in the
// document (for the line number); msg is the complete text, starting with
// the keyword path.
type problem struct {
	path []string
	msg  string
}

func newProblem(path []string, format string, args ...any) problem {
	msg := fmt.Sprintf(format, args...)
	if len(path) > 0 {
		msg = strings.Join(path, ".") + " " + msg
	}
	return problem{path: path, msg: msg}
}

// jsonTypes are the type names a schema may use.
var jsonTypes = []string{"array", "boolean", "integer", "null", "number", "object", "string"}

// checkSchema reports the structural defects of a schema node: keywords
// whose value has the wrong kind, unknown type names, patterns that do not
// compile, non-local references. Keywords it does not know (descriptions,
// x-* extensions, examples) are accepted as they are.
func checkSchema(node any, path []string, out *[]problem) {
	m, ok := node.(map[string]any)
	if !ok {
		*out = append(*out, newProblem(path, "must be a schema (a map), got %s", values.KindOf(node)))
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		checkKeyword(k, m[k], append(slices.Clip(path), k), out)
	}
}

func checkKeyword(key string, v any, path []string, out *[]problem) {
	bad := func(format string, args ...any) {
		*out = append(*out, newProblem(path, format, args...))
	}
	switch key {
	case "type":
		checkType(v, bad)
	case "properties", "patternProperties", "definitions":
		sub, ok := v.(map[string]any)
		if !ok {
			bad("must be a map of property names to schemas, got %s", values.KindOf(v))
			return
		}
		for _, name := range sortedKeys(sub) {
			if key == "patternProperties" {
				if _, err := regexp.Compile(name); err != nil {
					*out = append(*out, newProblem(append(slices.Clip(path), name), "must be a valid regular expression: %v", err))
					continue
				}
			}
			checkSchema(sub[name], append(slices.Clip(path), name), out)
		}
	case "additionalProperties", "additionalItems":
		if _, ok := v.(bool); ok {
			return
		}
		if _, ok := v.(map[string]any); !ok {
			bad("must be true, false or a schema, got %s", values.KindOf(v))
			return
		}
		checkSchema(v, path, out)
	case "items":
		switch t := v.(type) {
		case map[string]any:
			checkSchema(t, path, out)
		case []any:
			for i, s := range t {
				checkSchema(s, append(slices.Clip(path), fmt.Sprint(i)), out)
			}
		default:
			bad("must be a schema or a list of schemas, got %s", values.KindOf(v))
		}
	case "allOf", "anyOf", "oneOf":
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			bad("must be a non-empty list of schemas, got %s", describeKind(v))
			return
		}
		for i, s := range list {
			checkSchema(s, append(slices.Clip(path), fmt.Sprint(i)), out)
		}
	case "not":
		checkSchema(v, path, out)
	case "required":
		list, ok := v.([]any)
		if !ok {
			bad("must be a list of property names, got %s", values.KindOf(v))
			return
		}
		for i, s := range list {
			if _, ok := s.(string); !ok {
				*out = append(*out, newProblem(append(slices.Clip(path), fmt.Sprint(i)), "must be a property name (a string), got %s", values.KindOf(s)))
			}
		}
	case "enum":
		if list, ok := v.([]any); !ok || len(list) == 0 {
			bad("must be a non-empty list of allowed values, got %s", describeKind(v))
		}
	case "minimum", "maximum":
		if _, ok := v.(float64); !ok {
			bad("must be a number, got %s", values.KindOf(v))
		}
	case "multipleOf":
		if f, ok := v.(float64); !ok || f <= 0 {
			bad("must be a number greater than 0, got %s", describeKind(v))
		}
	case "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties":
		if f, ok := v.(float64); !ok || f < 0 || f != math.Trunc(f) {
			bad("must be a non-negative integer, got %s", describeKind(v))
		}
	case "exclusiveMinimum", "exclusiveMaximum", "uniqueItems", "nullable", "readOnly", "writeOnly", "deprecated", "x-secret":
		if _, ok := v.(bool); !ok {
			bad("must be true or false, got %s", values.KindOf(v))
		}
	case "pattern":
		s, ok := v.(string)
		if !ok {
			bad("must be a regular expression (a string), got %s", values.KindOf(v))
			return
		}
		if _, err := regexp.Compile(s); err != nil {
			bad("must be a valid regular expression: %v", err)
		}
	case "format", "title", "description":
		if _, ok := v.(string); !ok {
			bad("must be a string, got %s", values.KindOf(v))
		}
	case "$ref":
		s, ok := v.(string)
		if !ok {
			bad("must be a reference (a string), got %s", values.KindOf(v))
			return
		}
		if !strings.HasPrefix(s, "#") {
			bad("must be a local reference (#/definitions/...), got %q", s)
		}
	}
}

func checkType(v any, bad func(string, ...any)) {
	want := "must be one of " + strings.Join(jsonTypes, ", ")
	switch t := v.(type) {
	case string:
		if !slices.Contains(jsonTypes, t) {
			bad("%s, got %q", want, t)
		}
	case []any:
		for _, e := range t {
			s, ok := e.(string)
			if !ok || !slices.Contains(jsonTypes, s) {
				bad("%s (or a list of them), got %s", want, describeKind(e))
				return
			}
		}
	default:
		bad("%s, got %s", want, values.KindOf(v))
	}
}

// describeKind names v's kind, quoting strings and numbers (schema text,
// never user values) so that the message shows what was written.
func describeKind(v any) string {
	switch t := v.(type) {
	case string:
		return fmt.Sprintf("%q", t)
	case float64:
		return fmt.Sprint(t)
	case []any:
		if len(t) == 0 {
			return "an empty list"
		}
	}
	return values.KindOf(v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

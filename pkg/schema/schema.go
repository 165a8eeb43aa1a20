package schema

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	"sigs.k8s.io/yaml"

	"github.com/seedops/addon-operator/pkg/values"
)

// Schema is the loaded schema of one values section (for example the
// "ingressNginx" section or "global"). A nil *Schema stands for "no schema":
// it accepts any values, has no defaults and no secrets.
type Schema struct {
	file string
	root *spec.Schema
	// chart is set instead of root for a chart's values.schema.json
	// (LoadChart), with base, the chart's values.yaml it validates over.
	chart *jsonschema.Schema
	base  values.Values
}

// Load parses an OpenAPI v3 schema from YAML or JSON. file only names the
// source in error messages.
//
// The document must be a map and structurally valid: known keywords have
// values of the right kind, type names are JSON types, patterns compile, and
// every default satisfies the schema it belongs to. $ref may only point
// inside the document ("#/definitions/port"); references are replaced by
// what they point to at load, and circular ones are refused. x-secret: true
// is accepted only where SecretPaths lists it: on properties reached from
// the root through properties (not on the root, nor below items,
// additionalProperties, patternProperties, allOf, anyOf, oneOf or not,
// where the value would not be stored in the Secret). Vendor extensions
// (x-examples, x-secret, x-extend, x-doc-*) and unknown keywords are kept
// as they are. Errors wrap ErrInvalidSchema and list every problem
// as "file:line: keyword.path what was expected".
//
// On load, every object schema that declares properties and does not set
// additionalProperties gets additionalProperties: false, recursively through
// properties, patternProperties, additionalProperties, items and
// definitions, so unknown fields are refused. Branches of allOf, anyOf,
// oneOf and not are left as written: a false there would refuse the
// properties declared by sibling branches. id keywords are ignored.
func Load(file string, data []byte) (*Schema, error) {
	jsonData, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: want a YAML or JSON document: %w", ErrInvalidSchema, file, err)
	}
	var raw any
	if err := json.Unmarshal(jsonData, &raw); err != nil {
		return nil, fmt.Errorf("%w: %s: want a YAML or JSON document: %w", ErrInvalidSchema, file, err)
	}
	doc, ok := raw.(map[string]any)
	if !ok {
		got := "an empty document"
		if raw != nil {
			got = "a " + values.KindOf(raw)
		}
		return nil, fmt.Errorf("%w: %s: want an OpenAPI schema (a map), got %s", ErrInvalidSchema, file, got)
	}

	lines := newLineIndex(data)
	var problems []problem
	checkSchema(doc, nil, &problems)
	if len(problems) > 0 {
		return nil, schemaError(file, lines, problems)
	}

	resolved, problems := resolveRefs(doc)
	if len(problems) > 0 {
		return nil, schemaError(file, lines, problems)
	}
	checkSecrets(resolved, nil, false, &problems)
	if len(problems) > 0 {
		return nil, schemaError(file, lines, problems)
	}
	resolvedJSON, err := json.Marshal(resolved)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidSchema, file, err)
	}
	root := new(spec.Schema)
	if err := json.Unmarshal(resolvedJSON, root); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidSchema, file, err)
	}
	eachSchema(root, nil, func(s *spec.Schema, _ []string) {
		s.ID = ""
		closeObject(s)
	})
	if problems := checkDefaults(root); len(problems) > 0 {
		return nil, schemaError(file, lines, problems)
	}
	return &Schema{file: file, root: root}, nil
}

// closeObject gives an object schema that declares properties and leaves
// additionalProperties unset additionalProperties: false.
func closeObject(s *spec.Schema) {
	if len(s.Properties) > 0 && s.AdditionalProperties == nil {
		s.AdditionalProperties = &spec.SchemaOrBool{Allows: false}
	}
}

// eachSchema calls fn on s and then on every schema nested in properties,
// patternProperties, additionalProperties, items and definitions, with its
// keyword path. fn may modify the schema it gets.
func eachSchema(s *spec.Schema, path []string, fn func(*spec.Schema, []string)) {
	fn(s, path)
	eachIn := func(keyword string, m map[string]spec.Schema) {
		for name, sub := range m {
			eachSchema(&sub, append(slices.Clip(path), keyword, name), fn)
			m[name] = sub
		}
	}
	eachIn("properties", s.Properties)
	eachIn("patternProperties", s.PatternProperties)
	eachIn("definitions", s.Definitions)
	if ap := s.AdditionalProperties; ap != nil && ap.Schema != nil {
		eachSchema(ap.Schema, append(slices.Clip(path), "additionalProperties"), fn)
	}
	if it := s.Items; it != nil {
		if it.Schema != nil {
			eachSchema(it.Schema, append(slices.Clip(path), "items"), fn)
		}
		for i := range it.Schemas {
			eachSchema(&it.Schemas[i], append(slices.Clip(path), "items", fmt.Sprint(i)), fn)
		}
	}
}

// checkDefaults validates every default against the schema it belongs to,
// after filling the default's own nested defaults (as they would be when
// applied).
func checkDefaults(root *spec.Schema) []problem {
	var out []problem
	eachSchema(root, nil, func(s *spec.Schema, path []string) {
		if s.Default == nil {
			return
		}
		at := append(slices.Clip(path), "default")
		d := fill(s, copyJSON(s.Default))
		res := validate.NewSchemaValidator(s, nil, strings.Join(at, "."), strfmt.Default).Validate(d)
		for _, v := range violations(res) {
			out = append(out, problem{path: splitPath(v.path), msg: v.msg})
		}
	})
	return out
}

func schemaError(file string, lines lineIndex, problems []problem) error {
	type located struct {
		line int
		msg  string
	}
	list := make([]located, 0, len(problems))
	for _, p := range problems {
		list = append(list, located{line: lines.line(p.path), msg: p.msg})
	}
	slices.SortFunc(list, func(a, b located) int {
		return cmp.Or(cmp.Compare(a.line, b.line), strings.Compare(a.msg, b.msg))
	})
	list = slices.Compact(list)
	errs := make([]error, 0, len(list))
	for _, l := range list {
		if l.line > 0 {
			errs = append(errs, fmt.Errorf("%s:%d: %s", file, l.line, l.msg))
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %s", file, l.msg))
	}
	return fmt.Errorf("%w: %w", ErrInvalidSchema, errors.Join(errs...))
}

// splitPath splits a validator path ("a.list[2].b") into its elements.
func splitPath(path string) []string {
	return strings.Split(strings.NewReplacer("[", ".", "]", "").Replace(path), ".")
}

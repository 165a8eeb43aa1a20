package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/seedops/addon-operator/pkg/values"
)

// ChartSchemaFile is a Helm chart's own JSON Schema of its values, beside
// Chart.yaml.
const ChartSchemaFile = "values.schema.json"

// chartSchemaURL names the document for the compiler; only refs inside it
// resolve.
const chartSchemaURL = "file:///values.schema.json"

// LoadChart loads a chart's values.schema.json so that it can stand in for
// openapi/config-values.yaml. It is read as Helm reads it (JSON Schema, the
// draft its $schema names, the same validator library) and not as an
// OpenAPI schema: objects stay open unless the document closes them, there
// are no defaults to apply (the chart's values.yaml holds them) and no
// x-secret fields.
//
// base is the chart's values.yaml: Validate checks a section merged over
// it, because the schema describes the values Helm gets, of which a
// ConfigMap section overrides a part (a property the schema requires is
// usually set by values.yaml, not by the user).
//
// Refs must point inside the document: the operator fetches nothing at
// run time. Errors wrap ErrInvalidSchema and name the file.
func LoadChart(file string, data []byte, base map[string]any) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: want a JSON document: %w", ErrInvalidSchema, file, err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, fmt.Errorf("%w: %s: want a JSON Schema (an object), got a %s", ErrInvalidSchema, file, values.KindOf(doc))
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(localOnly{})
	if err := c.AddResource(chartSchemaURL, doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidSchema, file, err)
	}
	compiled, err := c.Compile(chartSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidSchema, file, err)
	}
	return &Schema{file: file, chart: compiled, base: values.Values(base).DeepCopy()}, nil
}

// localOnly refuses every document but the one added: a chart schema that
// refers to another file or a URL cannot be checked offline.
type localOnly struct{}

func (localOnly) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s: only refs inside values.schema.json are supported", url)
}

// validateChart is Validate for a schema from LoadChart.
func (s *Schema) validateChart(root string, v map[string]any) error {
	merged := values.Merge(s.base, v)
	// Round-trip through JSON: the validator wants JSON numbers, and the
	// values hold Go ints and floats.
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(merged.JSON()))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidValues, root, err)
	}
	err = s.chart.Validate(inst)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return fmt.Errorf("%w: %s: the validator failed on this section (schema %s)", ErrInvalidValues, root, s.file)
	}
	var msgs []string
	chartViolations(root, ve, &msgs)
	slices.Sort(msgs)
	msgs = slices.Compact(msgs)
	if len(msgs) == 0 {
		msgs = []string{root + " does not satisfy " + s.file}
	}
	return ViolationsError(msgs)
}

// chartViolations collects one message per failed leaf check. anyOf and
// oneOf are reported once at their field, not branch by branch.
func chartViolations(root string, ve *jsonschema.ValidationError, out *[]string) {
	switch ve.ErrorKind.(type) {
	case *kind.AnyOf:
		*out = append(*out, fieldPath(root, ve.InstanceLocation)+" should match at least one schema of anyOf")
		return
	case *kind.OneOf:
		*out = append(*out, fieldPath(root, ve.InstanceLocation)+" should match exactly one schema of oneOf")
		return
	}
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			chartViolations(root, c, out)
		}
		return
	}
	*out = append(*out, describeChart(fieldPath(root, ve.InstanceLocation), ve.ErrorKind)...)
}

// describeChart words one failed check like Validate's OpenAPI messages,
// never quoting the value found.
func describeChart(path string, k jsonschema.ErrorKind) []string {
	switch k := k.(type) {
	case *kind.Type:
		return []string{fmt.Sprintf("%s must be of type %s, got %s", path, strings.Join(k.Want, " or "), k.Got)}
	case *kind.Required:
		out := make([]string, len(k.Missing))
		for i, m := range k.Missing {
			out[i] = joinPath(path, m) + " is required"
		}
		return out
	case *kind.AdditionalProperties:
		out := make([]string, len(k.Properties))
		for i, p := range k.Properties {
			out[i] = joinPath(path, p) + " is not allowed"
		}
		return out
	case *kind.Enum:
		allowed, _ := json.Marshal(k.Want)
		return []string{fmt.Sprintf("%s should be one of %s", path, allowed)}
	case *kind.Const:
		want, _ := json.Marshal(k.Want)
		return []string{fmt.Sprintf("%s should be %s", path, want)}
	case *kind.Minimum:
		return []string{fmt.Sprintf("%s should be greater than or equal to %s", path, ratString(k.Want))}
	case *kind.Maximum:
		return []string{fmt.Sprintf("%s should be less than or equal to %s", path, ratString(k.Want))}
	case *kind.ExclusiveMinimum:
		return []string{fmt.Sprintf("%s should be greater than %s", path, ratString(k.Want))}
	case *kind.ExclusiveMaximum:
		return []string{fmt.Sprintf("%s should be less than %s", path, ratString(k.Want))}
	case *kind.MinLength:
		return []string{fmt.Sprintf("%s should be at least %d chars long", path, k.Want)}
	case *kind.MaxLength:
		return []string{fmt.Sprintf("%s should be at most %d chars long", path, k.Want)}
	case *kind.Pattern:
		return []string{fmt.Sprintf("%s should match %q", path, k.Want)}
	case *kind.MinItems:
		return []string{fmt.Sprintf("%s should have at least %d items", path, k.Want)}
	case *kind.MaxItems:
		return []string{fmt.Sprintf("%s should have at most %d items", path, k.Want)}
	case *kind.FalseSchema:
		return []string{path + " is not allowed"}
	}
	return []string{fmt.Sprintf("%s does not satisfy the schema's %s", path, strings.Join(k.KeywordPath(), "."))}
}

// fieldPath writes an instance location as Validate does: root, then dotted
// property names and [i] for list elements.
func fieldPath(root string, loc []string) string {
	var b strings.Builder
	b.WriteString(root)
	for _, p := range loc {
		if isIndex(p) {
			b.WriteString("[" + p + "]")
			continue
		}
		b.WriteString("." + p)
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(6)
}

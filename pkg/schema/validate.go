package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	oaerrors "k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"

	"github.com/seedops/addon-operator/pkg/values"
)

// Validate checks one values section against the schema. root is the
// section's key ("global", "ingressNginx") and starts every field path in
// the messages. v is not modified; a nil v is an empty section. A nil
// *Schema accepts anything.
//
// The error is a ViolationsError (wrapping ErrInvalidValues) with one
// message per violation, sorted, each naming the full field path and the
// expectation:
//
//	ingressNginx.replicas must be of type integer, got string
//	ingressNginx.hosts[2].name must be of type string, got number
//	ingressNginx.repicas is not allowed
//	ingressNginx.replicas should be greater than or equal to 0
//	ingressNginx.mode should be one of ["Deployment","DaemonSet"]
//	ingressNginx.class is required
//
// Values themselves are never quoted. Should the underlying validator panic
// (on a tree that is not JSON-shaped), the panic is returned as an
// ErrInvalidValues error naming the section. A schema from LoadChart words
// its violations the same way.
func (s *Schema) Validate(root string, v map[string]any) (err error) {
	if s == nil {
		return nil
	}
	data := map[string]any(values.Values(v).DeepCopy())
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: the validator failed on this section (schema %s)", ErrInvalidValues, root, s.file)
		}
	}()
	if s.chart != nil {
		return s.validateChart(root, v)
	}
	res := validate.NewSchemaValidator(s.root, nil, root, strfmt.Default).Validate(data)
	found := violations(res)
	if len(found) == 0 {
		return nil
	}
	out := make(ViolationsError, len(found))
	for i, f := range found {
		out[i] = f.msg
	}
	return out
}

// ViolationsError lists the violations Validate found, one message each;
// it wraps ErrInvalidValues. Its message is "invalid values: " and the
// messages, one per line.
type ViolationsError []string

func (e ViolationsError) Error() string {
	return ErrInvalidValues.Error() + ": " + strings.Join(e, "\n")
}

func (e ViolationsError) Unwrap() error { return ErrInvalidValues }

// Violations returns the messages, one per violation.
func (e ViolationsError) Violations() []string { return e }

// violation is one failed check: the dotted field path and the complete
// message, which starts with that path.
type violation struct {
	path string
	msg  string
	// rangeCheck marks the validator's numeric range message, which repeats
	// a type violation of the same field when there is one.
	rangeCheck bool
}

// violations turns a validator result into messages, sorted and without
// duplicates.
func violations(res *validate.Result) []violation {
	if res == nil || !res.HasErrors() {
		return nil
	}
	var all []violation
	for _, err := range res.Errors {
		describe(err, &all)
	}
	typed := map[string]bool{}
	for _, v := range all {
		if !v.rangeCheck {
			typed[v.path] = true
		}
	}
	out := all[:0]
	for _, v := range all {
		if v.rangeCheck && typed[v.path] {
			continue
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b violation) int { return strings.Compare(a.msg, b.msg) })
	return slices.CompactFunc(out, func(a, b violation) bool { return a.msg == b.msg })
}

// rangeMessage is the validator's text when a number does not fit its
// type and format ("Checked value must be of type integer (default format)
// in a.b"); it carries no error type to tell it apart.
var rangeMessage = regexp.MustCompile(`^\w+ value must be of type (.+) in (\S+)$`)

// describe renders one validator error. The library's messages are kept
// where they name the path and the expectation only, minus its " in body";
// the ones that could quote data (type and format failures) or read poorly
// are rewritten.
func describe(err error, out *[]violation) {
	var composite *oaerrors.CompositeError
	if errors.As(err, &composite) {
		for _, e := range composite.Errors {
			if e != nil {
				describe(e, out)
			}
		}
		return
	}
	var ve *oaerrors.Validation
	if !errors.As(err, &ve) {
		if m := rangeMessage.FindStringSubmatch(err.Error()); m != nil {
			*out = append(*out, violation{path: m[2], msg: m[2] + " must be of type " + m[1], rangeCheck: true})
			return
		}
		*out = append(*out, violation{msg: err.Error()})
		return
	}
	msg := ve.Error()
	if ve.In != "" {
		msg = strings.Replace(msg, ve.Name+" in "+ve.In, ve.Name, 1)
	}
	switch ve.Code() {
	case oaerrors.UnallowedPropertyCode:
		key, _ := ve.Value.(string)
		path := joinPath(ve.Name, key)
		*out = append(*out, violation{path: path, msg: path + " is not allowed"})
	case oaerrors.InvalidTypeCode:
		if got, ok := ve.Value.(string); ok {
			// The value is either the JSON type found or, for a format
			// failure, the string itself: keep only type names.
			msg = strings.TrimSuffix(msg, fmt.Sprintf(": %q", got))
			if slices.Contains(jsonTypes, got) {
				msg += ", got " + got
			}
		}
		*out = append(*out, violation{path: ve.Name, msg: msg})
	case oaerrors.EnumFailCode:
		allowed, _ := json.Marshal(ve.Values)
		*out = append(*out, violation{path: ve.Name, msg: fmt.Sprintf("%s should be one of %s", ve.Name, allowed)})
	default:
		*out = append(*out, violation{path: ve.Name, msg: msg})
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

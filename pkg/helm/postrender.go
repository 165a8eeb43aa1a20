package helm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Labels put on every object a release applies (not on Helm hooks, which
// Helm does not post-render).
const (
	// ModuleLabel carries the module (= release) name.
	ModuleLabel = "addons.seedops.io/module"
	// HeritageLabel carries HeritageValue.
	HeritageLabel = "heritage"
	// HeritageValue marks objects deployed by the operator.
	HeritageValue = "addon-operator"
)

// docSeparator matches the YAML document separator lines of a manifest.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*(?:#.*)?$\n?`)

// moduleLabeler is the Helm post-renderer that adds ModuleLabel and
// HeritageLabel to the metadata of every object of a rendered manifest (and
// of the items of a list kind). Each document is decoded the way the Kubernetes
// API client decodes it and written back as YAML with sorted keys; the
// leading comments of a document ("# Source: ...") are kept. The output
// depends only on the input, so checksums of it are stable.
type moduleLabeler struct {
	module string
}

// Run implements postrender.PostRenderer.
func (l moduleLabeler) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out := &bytes.Buffer{}
	for _, doc := range docSeparator.Split(in.String(), -1) {
		head, body := splitComments(doc)
		if strings.TrimSpace(body) == "" {
			if head != "" {
				out.WriteString("---\n" + head)
			}
			continue
		}
		labelled, err := l.label([]byte(body))
		if err != nil {
			return nil, fmt.Errorf("label objects%s: %w", source(head), err)
		}
		out.WriteString("---\n" + head)
		out.Write(labelled)
	}
	return out, nil
}

func (l moduleLabeler) label(doc []byte) ([]byte, error) {
	data, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	m, ok := obj.(map[string]any)
	if !ok {
		return doc, nil
	}
	l.labelObject(m)
	data, err = json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(data)
}

func (l moduleLabeler) labelObject(obj map[string]any) {
	if _, ok := obj["kind"].(string); !ok {
		return
	}
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	labels, ok := meta["labels"].(map[string]any)
	if !ok {
		labels = map[string]any{}
		meta["labels"] = labels
	}
	labels[ModuleLabel] = l.module
	labels[HeritageLabel] = HeritageValue
	items, _ := obj["items"].([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			l.labelObject(m)
		}
	}
}

// splitComments separates the comment and blank lines that open a document
// from the rest of it.
func splitComments(doc string) (head, body string) {
	rest := doc
	for rest != "" {
		line, after, _ := strings.Cut(rest, "\n")
		trimmed := strings.TrimSpace(line)
		if trimmed != "" && !strings.HasPrefix(trimmed, "#") {
			break
		}
		if trimmed != "" {
			head += line + "\n"
		}
		rest = after
	}
	return head, rest
}

// source names the template a document came from, for error messages.
func source(head string) string {
	for _, line := range strings.Split(head, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return " of " + s
		}
	}
	return ""
}

package schema

import (
	"strconv"

	yamlv3 "go.yaml.in/yaml/v3"
)

// lineIndex finds the source line of a keyword path in a YAML or JSON
// document. It only serves error messages: a zero line means "unknown".
type lineIndex struct {
	root *yamlv3.Node
}

func newLineIndex(data []byte) lineIndex {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return lineIndex{}
	}
	return lineIndex{root: doc.Content[0]}
}

// line returns the line of the last path element's key (or list item), or
// of the nearest ancestor that exists.
func (ix lineIndex) line(path []string) int {
	n := ix.root
	if n == nil {
		return 0
	}
	line := n.Line
	for _, seg := range path {
		n = resolveAlias(n)
		next, at := child(n, seg)
		if next == nil {
			return line
		}
		n, line = next, at
	}
	return line
}

func resolveAlias(n *yamlv3.Node) *yamlv3.Node {
	for n != nil && n.Kind == yamlv3.AliasNode {
		n = n.Alias
	}
	return n
}

// child returns the value node under seg and the line to report for it.
func child(n *yamlv3.Node, seg string) (*yamlv3.Node, int) {
	switch n.Kind {
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case yamlv3.SequenceNode:
		i, err := strconv.Atoi(seg)
		if err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], n.Content[i].Line
		}
	}
	return nil, 0
}

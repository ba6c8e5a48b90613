package iac

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxYAMLNodes bounds the values one YAML file may expand to (aliases
// included), so an alias bomb cannot exhaust memory.
const maxYAMLNodes = 1_000_000

// yamlDoc is one YAML document: its value (JSON-compatible, as policies see
// it) and its node tree (for line numbers).
type yamlDoc struct {
	Index int
	Node  *yaml.Node
	Value any
}

// decodeYAML decodes every document of a (multi-document) YAML stream.
func decodeYAML(data []byte) (docs []yamlDoc, err error) {
	defer func() {
		if r := recover(); r != nil { // untrusted input: a parser panic is a parse error
			docs, err = nil, fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	budget := maxYAMLNodes
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		root := &n
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
			root = n.Content[0]
		}
		v, err := nodeValue(root, &budget, 0)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		docs = append(docs, yamlDoc{Index: i, Node: root, Value: v})
	}
}

// nodeValue converts a node to a JSON-compatible value.
func nodeValue(n *yaml.Node, budget *int, depth int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, fmt.Errorf("more than %d YAML values (alias expansion?)", maxYAMLNodes)
	}
	if depth > 200 {
		return nil, fmt.Errorf("line %d: YAML nested more than 200 levels", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		return nodeValue(n.Alias, budget, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := nodeValue(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0 && k.Tag != "!!str") {
				mv, err := nodeValue(v, budget, depth+1)
				if err != nil {
					return nil, err
				}
				merge := func(m any) {
					if mm, ok := m.(map[string]any); ok {
						for kk, vv := range mm {
							if _, set := out[kk]; !set {
								out[kk] = vv
							}
						}
					}
				}
				if list, ok := mv.([]any); ok {
					for _, m := range list {
						merge(m)
					}
				} else {
					merge(mv)
				}
				continue
			}
			val, err := nodeValue(v, budget, depth+1)
			if err != nil {
				return nil, err
			}
			out[k.Value] = val
		}
		return out, nil
	case yaml.ScalarNode:
		return scalarValue(n), nil
	}
	return nil, nil
}

func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return i
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return n.Value
}

// lineOf returns the line of the deepest node loc reaches in the tree under n:
// the key's line for a mapping entry, the item's line for a sequence item.
// Path elements that do not exist stop the walk at the nearest ancestor.
func lineOf(n *yaml.Node, loc []any) int {
	line := n.Line
	for _, el := range loc {
		for hops := 0; n.Kind == yaml.AliasNode && n.Alias != nil && hops < 100; hops++ {
			n = n.Alias
		}
		next := (*yaml.Node)(nil)
		switch n.Kind {
		case yaml.MappingNode:
			key := fmt.Sprint(el)
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					line, next = n.Content[i].Line, n.Content[i+1]
				}
			}
		case yaml.SequenceNode:
			idx, ok := locIndex(el)
			if ok && idx >= 0 && idx < len(n.Content) {
				next = n.Content[idx]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}

// locIndex reads a sequence index from a loc element (JSON numbers decode as
// json.Number, float64 or int depending on the path they took).
func locIndex(el any) (int, bool) {
	switch v := el.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		return int(v), true
	case fmt.Stringer:
		i, err := strconv.Atoi(v.String())
		return i, err == nil
	case string:
		i, err := strconv.Atoi(v)
		return i, err == nil
	}
	return 0, false
}

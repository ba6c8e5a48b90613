package policy

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The policy file is a strict subset of YAML: plain mappings, sequences and
// scalars. Tags (!!binary, !!str, custom ones), anchors, aliases and merge keys
// (<<) let a file say one thing to a reader and another to the decoder
// (`mode: !!binary YXVkaXQ=` is audit; `<<: {mode: audit}` sets a field no line
// names), so checkStrict refuses them before the document is decoded.

// checkStrict walks the parsed document and returns one FieldError per refused
// construct, each naming the line, the construct and what to write instead.
func checkStrict(doc *yaml.Node) []error {
	var errs []error
	walkFields(doc, func(n *yaml.Node, path string, at fieldPos) bool {
		where := cmp.Or(path, "the document")
		add := func(format string, args ...any) {
			errs = append(errs, &FieldError{Field: where, Line: n.Line, Msg: fmt.Sprintf("line %d: ", n.Line) + fmt.Sprintf(format, args...)})
		}
		if at == atKey && n.Kind == yaml.ScalarNode && n.Value == "<<" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			// Named by the mapping it stands in; its value is not walked.
			where = cmp.Or(strings.TrimSuffix(strings.TrimSuffix(path, "<<"), "."), "the document")
			add("the merge key << is not allowed: write each field out where it applies (a policy file has no merge keys)")
			return false
		}
		if n.Kind == yaml.AliasNode {
			add("the alias *%s is not allowed: write the value out in full (a policy file has no anchors or aliases)", n.Value)
			return true // nothing under it; a key's value is still checked
		}
		if n.Anchor != "" {
			add("the anchor &%s is not allowed: remove it and write the values out in full (a policy file has no anchors or aliases)", n.Anchor)
		}
		if n.Style&yaml.TaggedStyle != 0 {
			add("the tag %s is not allowed: remove it and write the value as plain text (a policy file has no YAML tags)", n.Tag)
		}
		return true
	})
	return errs
}

// fieldPos is where walkFields met a node.
type fieldPos int

const (
	atDocument fieldPos = iota // the document node itself
	atItem                     // an item of a sequence
	atKey                      // a key of a mapping
	atValue                    // a value of a mapping
)

// walkFields calls visit for doc and every node under it, with the path of the
// field the node is part of as errors name fields ("identities[0].subject-regexp";
// "" for the document): a sequence's items add their index to the path, a
// mapping's keys and values the key's text. visit returns false to skip what is
// under the node and, for a key, its value.
func walkFields(doc *yaml.Node, visit func(n *yaml.Node, path string, at fieldPos) bool) {
	var walk func(n *yaml.Node, path string, at fieldPos) bool
	walk = func(n *yaml.Node, path string, at fieldPos) bool {
		if n == nil || !visit(n, path, at) {
			return false
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path, atValue)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i), atItem)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				child := k.Value
				if path != "" {
					child = path + "." + k.Value
				}
				if walk(k, child, atKey) {
					walk(v, child, atValue)
				}
			}
		}
		return true
	}
	walk(doc, "", atDocument)
}

// fieldIndex maps a field path as errors name it ("identities[0].subject-regexp")
// to the line of the file it is on.
type fieldIndex map[string]int

// indexFields records the line of every mapping key and sequence item.
func indexFields(doc *yaml.Node) fieldIndex {
	idx := fieldIndex{}
	walkFields(doc, func(n *yaml.Node, path string, at fieldPos) bool {
		switch at {
		case atItem:
			idx[path] = n.Line
		case atKey:
			if _, dup := idx[path]; !dup {
				idx[path] = n.Line
			}
		}
		return true
	})
	return idx
}

// line returns the line of field, or of its nearest enclosing field that the file
// spells out (a missing field is reported where its parent is), or 0.
func (idx fieldIndex) line(field string) int {
	for f := field; f != ""; {
		if l, ok := idx[f]; ok {
			return l
		}
		switch i := strings.LastIndexAny(f, ".["); {
		case i < 0:
			f = ""
		default:
			f = f[:i]
		}
	}
	return 0
}

// FieldError is one problem with one field of the policy file. Its text is
// "field: message"; Line (when known) is the line of the file the field is on, for
// annotations.
type FieldError struct {
	// Field is the schema path of the field ("identities[0].subject-regexp").
	Field string
	// Line is the 1-based line of the field in the file, or 0 when unknown.
	Line int
	// Msg says what is wrong, with the value and the fix.
	Msg string
}

// Error implements error.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Problems returns the individual problems inside an error returned by Load or
// Parse (joined and wrapped errors are taken apart), each with its line when it
// is known. An error without FieldErrors inside (an unreadable file) is returned
// whole as one FieldError with an empty Field.
func Problems(err error) []*FieldError {
	if err == nil {
		return nil
	}
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case *FieldError:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	if len(out) == 0 {
		out = append(out, &FieldError{Line: lineOf(err.Error()), Msg: err.Error()})
	}
	return out
}

// lineOf finds "line N" in a YAML decoder message.
func lineOf(msg string) int {
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	rest := msg[i+len("line "):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(rest[:j])
	if err != nil {
		return 0
	}
	return n
}

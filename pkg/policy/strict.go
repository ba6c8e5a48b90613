package policy

import (
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
func checkStrict(doc *yaml.Node, idx fieldIndex) []error {
	var errs []error
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n == nil {
			return
		}
		where := path
		if where == "" {
			where = "the document"
		}
		add := func(format string, args ...any) {
			errs = append(errs, &FieldError{Field: where, Line: n.Line, Msg: fmt.Sprintf("line %d: ", n.Line) + fmt.Sprintf(format, args...)})
		}
		if n.Kind == yaml.AliasNode {
			add("the alias *%s is not allowed: write the value out in full (a policy file has no anchors or aliases)", n.Value)
			return
		}
		if n.Anchor != "" {
			add("the anchor &%s is not allowed: remove it and write the values out in full (a policy file has no anchors or aliases)", n.Anchor)
		}
		if n.Style&yaml.TaggedStyle != 0 {
			add("the tag %s is not allowed: remove it and write the value as plain text (a policy file has no YAML tags)", n.Tag)
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
					errs = append(errs, &FieldError{Field: where, Line: k.Line,
						Msg: fmt.Sprintf("line %d: ", k.Line) + "the merge key << is not allowed: write each field out where it applies (a policy file has no merge keys)"})
					continue
				}
				child := k.Value
				if path != "" {
					child = path + "." + k.Value
				}
				walk(k, child)
				walk(v, child)
			}
		}
	}
	walk(doc, "")
	return errs
}

// fieldIndex maps a field path as errors name it ("identities[0].subject-regexp")
// to the line of the file it is on.
type fieldIndex map[string]int

// indexFields records the line of every mapping key and sequence item.
func indexFields(doc *yaml.Node) fieldIndex {
	idx := fieldIndex{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n == nil {
			return
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				idx[p] = c.Line
				walk(c, p)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if _, dup := idx[p]; !dup {
					idx[p] = k.Line
				}
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(doc, "")
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

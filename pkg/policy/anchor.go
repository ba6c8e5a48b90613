package policy

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// MaxSubjectRegexpBytes caps a subject-regexp.
const MaxSubjectRegexpBytes = 4096

// checkAnchored accepts a subject-regexp only when it is anchored as a whole:
// compiled the way Go's regexp package compiles it, the expression is one
// concatenation that begins with ^ (or \A) and ends with $ (or \z), so a subject
// matches only if the whole subject matches — never by containing the pattern or
// through one branch of a top-level alternation. Multi-line mode, in which ^ and
// $ match at line breaks, is refused. Each error says what to write instead.
func checkAnchored(re string) error {
	if len(re) > MaxSubjectRegexpBytes {
		return fmt.Errorf("is %d bytes long, more than the %d allowed: pin the subject more simply", len(re), MaxSubjectRegexpBytes)
	}
	if _, err := regexp.Compile(re); err != nil {
		return fmt.Errorf("%s does not compile: %v", quote(re), err)
	}
	tree, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return fmt.Errorf("%s does not compile: %v", quote(re), err)
	}
	if hasOp(tree, syntax.OpBeginLine, syntax.OpEndLine) {
		return fmt.Errorf("%s uses multi-line mode ((?m)), in which ^ and $ match at any line break: remove the m flag", quote(re))
	}
	top := tree
	for top.Op == syntax.OpCapture {
		top = top.Sub[0]
	}
	if top.Op == syntax.OpAlternate || alternationOutsideGroups(re) {
		return fmt.Errorf("%s: a top-level | leaves each branch anchored at one end only: group the alternation: %s", quote(re), groupedHint(re))
	}
	if top.Op != syntax.OpConcat || len(top.Sub) < 2 ||
		top.Sub[0].Op != syntax.OpBeginText || top.Sub[len(top.Sub)-1].Op != syntax.OpEndText {
		return fmt.Errorf("%s is not anchored: it must start with ^ and end with $, e.g. %s", quote(re), anchoredHint(re))
	}
	return nil
}

// hasOp reports whether any node of t is one of ops.
func hasOp(t *syntax.Regexp, ops ...syntax.Op) bool {
	for _, op := range ops {
		if t.Op == op {
			return true
		}
	}
	for _, s := range t.Sub {
		if hasOp(s, ops...) {
			return true
		}
	}
	return false
}

// alternationOutsideGroups reports a | at nesting depth 0 of the source text.
// The parser factors common prefixes out of alternations (^a$|^b$ parses as ^
// followed by a group), so the text is checked too: an alternation belongs
// inside a group.
func alternationOutsideGroups(re string) bool {
	depth, inClass := 0, false
	for i := 0; i < len(re); i++ {
		switch c := re[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			// A ] right after [ or [^ is a literal.
			if i+1 < len(re) && re[i+1] == '^' {
				i++
			}
			if i+1 < len(re) && re[i+1] == ']' {
				i++
			}
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			return true
		}
	}
	return false
}

// groupedHint rewrites an alternation as one anchored group: ^a$|b → ^(a|b)$.
func groupedHint(re string) string {
	inner := strings.TrimSuffix(strings.TrimPrefix(re, "^"), "$")
	inner = strings.ReplaceAll(strings.ReplaceAll(inner, "$|", "|"), "|^", "|")
	return "`^(" + inner + ")$`"
}

// anchoredHint adds the missing anchors.
func anchoredHint(re string) string {
	if !strings.HasPrefix(re, "^") {
		re = "^" + re
	}
	if !strings.HasSuffix(re, "$") || strings.HasSuffix(re, `\$`) {
		re += "$"
	}
	return "`" + re + "`"
}

// quote shows a value from the policy file: in backquotes when it can be (a
// regexp reads as written), else Go-quoted (control characters escaped).
func quote(v string) string {
	if strconv.CanBackquote(v) {
		return "`" + v + "`"
	}
	return strconv.Quote(v)
}

// Package textclip is the one place that bounds untrusted text for display:
// a registry's or a tool's error message, a SARIF message, a value from a
// predicate or a scanned file, quoted in a report, a log line, a page, an
// annotation or an error. Clip cuts to a byte budget without ever splitting a
// UTF-8 character and marks the cut with "…"; Fold puts text on one line;
// Line does both. The result is always valid UTF-8, whatever the input.
package textclip

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis marks text that Clip cut.
const Ellipsis = "…"

// Clip returns s as valid UTF-8 of at most n bytes. Invalid UTF-8 in s is
// replaced by U+FFFD first. When s is longer than n bytes it is cut on a rune
// boundary and ends in Ellipsis, the ellipsis counted in the n bytes; when n is
// too small to hold the ellipsis the cut is left unmarked, and n <= 0 gives "".
func Clip(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	mark := Ellipsis
	cut := n - len(mark)
	if cut < 0 {
		mark, cut = "", n
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// Fold puts s on one line: every run of white space (newlines and tabs
// included, as unicode.IsSpace reports them) becomes one space, and leading
// and trailing space is dropped.
func Fold(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Line returns s folded onto one line and clipped to at most n bytes: the
// form of untrusted text quoted in a table cell, a log line or a reason.
func Line(s string, n int) string {
	return Clip(Fold(s), n)
}

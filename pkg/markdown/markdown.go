// Package markdown builds GitHub-flavoured markdown from untrusted values: every
// text and table cell is escaped, so a value quoted from a repository, a report
// or a registry cannot break a table, start markup or inject HTML. It is the
// one builder behind the gates' step summaries (pkg/gha) and the libraries'
// reports (pkg/assess).
package markdown

import (
	"fmt"
	"strings"
)

// Builder builds a markdown document (a step summary, a report). Cells and
// text added through it are escaped, so untrusted values cannot break the
// table or inject HTML.
type Builder struct {
	b strings.Builder
}

// Heading adds a heading of the given level (1–6).
func (s *Builder) Heading(level int, text string) *Builder {
	level = min(max(level, 1), 6)
	fmt.Fprintf(&s.b, "%s %s\n\n", strings.Repeat("#", level), Escape(text))
	return s
}

// Para adds a paragraph of escaped text.
func (s *Builder) Para(text string) *Builder {
	fmt.Fprintf(&s.b, "%s\n\n", Escape(text))
	return s
}

// Raw adds markdown the gate wrote itself (never untrusted text).
func (s *Builder) Raw(markdown string) *Builder {
	s.b.WriteString(markdown)
	if !strings.HasSuffix(markdown, "\n") {
		s.b.WriteString("\n")
	}
	return s
}

// Table adds a markdown table; every cell is escaped.
func (s *Builder) Table(header []string, rows [][]string) *Builder {
	if len(header) == 0 {
		return s
	}
	row := func(cells []string) {
		s.b.WriteString("|")
		for i := range header {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			s.b.WriteString(" " + EscapeCell(c) + " |")
		}
		s.b.WriteString("\n")
	}
	row(header)
	s.b.WriteString("|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, r := range rows {
		row(r)
	}
	s.b.WriteString("\n")
	return s
}

// String returns the markdown built so far.
func (s *Builder) String() string { return s.b.String() }

// Escape escapes text for markdown: HTML is neutralised, the characters that
// start markup are backslash-escaped and control characters other than newline
// and tab become spaces.
func Escape(text string) string {
	text = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
	var b strings.Builder
	for _, c := range text {
		switch c {
		case '\\', '`', '*', '_', '[', ']', '|', '#', '!', '~':
			b.WriteByte('\\')
		}
		if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			c = ' '
		}
		b.WriteRune(c)
	}
	return b.String()
}

// EscapeCell escapes text for one table cell: markdown escaping plus newlines
// turned into <br>.
func EscapeCell(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	parts := strings.Split(text, "\n")
	for i, p := range parts {
		parts[i] = Escape(p)
	}
	return strings.Join(parts, "<br>")
}

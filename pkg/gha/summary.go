package gha

import (
	"fmt"
	"io"
	"strings"
)

// MaxSummaryBytes is the runner's limit for one step's summary (1 MiB).
const MaxSummaryBytes = 1 << 20

// Summary builds the markdown of a step summary. Cells and text added through it
// are escaped, so untrusted values cannot break the table or inject HTML.
type Summary struct {
	b strings.Builder
}

// Heading adds a heading of the given level (1–6).
func (s *Summary) Heading(level int, text string) *Summary {
	level = min(max(level, 1), 6)
	fmt.Fprintf(&s.b, "%s %s\n\n", strings.Repeat("#", level), EscapeMarkdown(text))
	return s
}

// Para adds a paragraph of escaped text.
func (s *Summary) Para(text string) *Summary {
	fmt.Fprintf(&s.b, "%s\n\n", EscapeMarkdown(text))
	return s
}

// Raw adds markdown the gate wrote itself (never untrusted text).
func (s *Summary) Raw(markdown string) *Summary {
	s.b.WriteString(markdown)
	if !strings.HasSuffix(markdown, "\n") {
		s.b.WriteString("\n")
	}
	return s
}

// Table adds a markdown table; every cell is escaped.
func (s *Summary) Table(header []string, rows [][]string) *Summary {
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
func (s *Summary) String() string { return s.b.String() }

// EscapeMarkdown escapes text for markdown: HTML is neutralised and the characters
// that start markup are backslash-escaped.
func EscapeMarkdown(text string) string {
	text = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
	var b strings.Builder
	for _, c := range text {
		switch c {
		case '\\', '`', '*', '_', '[', ']', '|', '#', '!', '~':
			b.WriteByte('\\')
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
		parts[i] = EscapeMarkdown(p)
	}
	return strings.Join(parts, "<br>")
}

// WriteSummary appends markdown to the step summary (GITHUB_STEP_SUMMARY). Masked
// values are redacted. Without GITHUB_STEP_SUMMARY (a local run) the markdown goes
// to the log, each line through SafeLine (markdown escaping does not stop a
// terminal escape sequence or a "::" line from a file name). A summary over the runner's 1 MiB limit is cut at a line boundary and
// says so, rather than failing the upload of the whole summary.
func (r *Runtime) WriteSummary(markdown string) error {
	markdown = r.Redact(markdown)
	if len(markdown) > MaxSummaryBytes {
		note := "\n\n_(summary truncated: over the runner's 1 MiB limit)_\n"
		cut := strings.LastIndex(markdown[:MaxSummaryBytes-len(note)], "\n")
		if cut < 0 {
			cut = MaxSummaryBytes - len(note)
		}
		markdown = markdown[:cut] + note
	}
	path := r.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		if markdown == "" {
			return nil
		}
		lines := strings.Split(strings.TrimSuffix(markdown, "\n"), "\n")
		for i, l := range lines {
			lines[i] = SafeLine(l)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		_, err := io.WriteString(r.out, strings.Join(lines, "\n")+"\n")
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := appendFile(path, markdown); err != nil {
		return fmt.Errorf("writing step summary: %w", err)
	}
	return nil
}

package gha

import (
	"fmt"
	"io"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/markdown"
)

// MaxSummaryBytes is the runner's limit for one step's summary (1 MiB).
const MaxSummaryBytes = 1 << 20

// Summary builds the markdown of a step summary (markdown.Builder: cells and
// text added through it are escaped).
type Summary = markdown.Builder

// EscapeMarkdown escapes text for markdown (markdown.Escape).
func EscapeMarkdown(text string) string { return markdown.Escape(text) }

// EscapeCell escapes text for one table cell (markdown.EscapeCell).
func EscapeCell(text string) string { return markdown.EscapeCell(text) }

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

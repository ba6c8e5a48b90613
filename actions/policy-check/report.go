package policycheck

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/gha"
)

// report is what the annotations and the summary are rendered from.
type report struct {
	res  Result
	path string // the policy file as given
	file string // the policy file as annotations name it
	// summary is false off a runner, where the annotations are the report and a
	// summary would repeat them.
	summary bool
}

// Annotations are one per error and warning, on the policy file's line.
func (o Outputs) Annotations() []gha.Annotation { return annotations(o.report) }

// Summary renders the step summary (none off a runner).
func (o Outputs) Summary() string {
	if !o.report.summary {
		return ""
	}
	return summary(o.report)
}

func annotations(r report) []gha.Annotation {
	var out []gha.Annotation
	for _, e := range r.res.Errors {
		out = append(out, gha.Annotation{Level: gha.LevelError, Title: "policy error", File: r.file, Line: e.Line, Message: oneLine(e.Error())})
	}
	for _, w := range r.res.Warnings {
		out = append(out, gha.Annotation{Level: gha.LevelWarning, Title: "policy warning", File: r.file, Line: w.Line, Message: oneLine(w.String())})
	}
	return out
}

func summary(r report) string {
	var s gha.Summary
	switch {
	case len(r.res.Errors) > 0:
		s.Heading(2, "Policy check: ✗ "+r.path+" does not load")
	case len(r.res.Warnings) > 0:
		s.Heading(2, "Policy check: ⚠ "+r.path+" loads, with warnings")
	default:
		s.Heading(2, "Policy check: ✓ "+r.path+" loads, no warnings")
	}
	var rows [][]string
	for _, e := range r.res.Errors {
		rows = append(rows, []string{"error", lineCell(e.Line), e.Error()})
	}
	for _, w := range r.res.Warnings {
		rows = append(rows, []string{"warning", lineCell(w.Line), w.String()})
	}
	if len(rows) > 0 {
		s.Table([]string{"", "line", "finding"}, rows)
	}
	return s.String()
}

// annotationPath is the policy file's path relative to the workspace, as
// annotations name files.
func annotationPath(path, ws string) string {
	if ws != "" && filepath.IsAbs(path) {
		if rel, err := filepath.Rel(ws, path); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(filepath.Clean(path))
}

// oneLine keeps a finding on one line: text from the policy file (a key the YAML
// decoder quotes raw) cannot start a line of its own, which a log reader could
// take for a workflow command.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(s)
}

func lineCell(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

package threatmodel

import (
	"fmt"

	"github.com/secure-gates/secure-gates/pkg/gha"
	tm "github.com/secure-gates/secure-gates/pkg/threatmodel"
)

// report is what the summary and the annotations are rendered from.
type report struct {
	res           tm.Result
	source        string
	minWords      int
	failOnMissing bool
}

// Summary renders the step summary: the verdict and one row per question.
func (o Outputs) Summary() string { return summary(o.report) }

// Annotations are one per question left unanswered: errors when the check fails
// the step, warnings otherwise.
func (o Outputs) Annotations() []gha.Annotation { return annotations(o.report) }

func result(res tm.Result) string {
	if res.Pass {
		return "pass"
	}
	return "fail"
}

func summary(r report) string {
	var s gha.Summary
	s.Heading(2, "Threat model: "+result(r.res))
	s.Para("Checked the " + r.source + fmt.Sprintf(" for %d questions, each needing an answer of at least %d words.", len(r.res.Questions), minWords(r.minWords)))
	rows := make([][]string, 0, len(r.res.Questions))
	for _, q := range r.res.Questions {
		mark := "✓"
		if q.Status != tm.StatusAnswered {
			mark = "✗"
		}
		why := q.Reason
		if why == "" {
			why = fmt.Sprintf("answered (%d words)", q.Words)
		}
		rows = append(rows, []string{q.Question, mark, why})
	}
	s.Table([]string{"Question", "", "Why"}, rows)
	return s.String()
}

func annotations(r report) []gha.Annotation {
	level := gha.LevelError
	if !r.failOnMissing {
		level = gha.LevelWarning
	}
	var out []gha.Annotation
	for _, q := range r.res.Questions {
		if q.Status != tm.StatusAnswered {
			out = append(out, gha.Annotation{Level: level, Title: "Threat model", Message: q.Question + " " + q.Reason})
		}
	}
	return out
}

func minWords(n int) int {
	if n <= 0 {
		return tm.DefaultMinWords
	}
	return n
}

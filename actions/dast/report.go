package dast

import (
	dast "github.com/secure-gates/secure-gates/pkg/dast"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// report is what the summary and the annotations are rendered from.
type report struct {
	d         *dast.Decision
	image     string // the digest scanned, "" when not given
	predicate string
}

// Summary renders the job summary: pkg/dast's, plus how to attest the
// predicate on the image scanned.
func (o Outputs) Summary() string { return summary(o.report) }

// Annotations warn about each scanner outage.
func (o Outputs) Annotations() []gha.Annotation { return annotations(o.report) }

func summary(r report) string {
	s := r.d.Summary()
	if r.image != "" {
		s += "\nImage scanned: `" + r.image + "` — attest `dast=" + r.predicate + "` on this digest.\n"
	}
	return s
}

func annotations(r report) []gha.Annotation {
	var out []gha.Annotation
	for _, o := range r.d.Predicate.Outages {
		out = append(out, gha.Annotation{Level: gha.LevelWarning, Title: "DAST scanner outage", Message: o.Reason})
	}
	return out
}

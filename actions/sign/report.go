package sign

import (
	"errors"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// report is what the summary is rendered from: the signed digest, what landed,
// and the error of a push that landed only part of it.
type report struct {
	ref oci.Ref
	res *signing.SignResult
	err error
}

// Summary renders the step summary: who signed which digest, and each signature
// with where it is, its log entries and timestamp; what was NOT pushed when a
// push failed part way.
func (o Outputs) Summary() string {
	r := o.report
	if r.res == nil {
		return ""
	}
	var s gha.Summary
	title := "Signed"
	if r.err != nil {
		title = "Signing INCOMPLETE"
	}
	s.Heading(2, title+": "+r.ref.String())
	s.Table([]string{"", ""}, signing.IdentityRows(r.ref, r.res.Identity))
	rows := make([][]string, 0, len(r.res.Signatures))
	for _, sg := range r.res.Signatures {
		rows = append(rows, []string{sg.Image, string(sg.Format), sg.Reference, signing.TlogText(sg.Tlog), yesNo(sg.Timestamped)})
	}
	s.Table([]string{"Image", "Format", "Where", "Transparency log", "Timestamp"}, rows)
	var pe *signing.PartialError
	if errors.As(r.err, &pe) {
		s.Para("NOT pushed: " + strings.Join(pe.NotPushed, "; "))
	}
	return s.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

package sign

import (
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
	rows := make([][]string, 0, len(r.res.Signatures))
	for _, sg := range r.res.Signatures {
		rows = append(rows, []string{sg.Image, string(sg.Format), sg.Reference, signing.TlogText(sg.Tlog), yesNo(sg.Timestamped)})
	}
	return signing.PushSummary{Title: "Signed", Incomplete: "Signing INCOMPLETE", Ref: r.ref, Identity: r.res.Identity,
		Header: []string{"Image", "Format", "Where", "Transparency log", "Timestamp"}, Rows: rows, Err: r.err}.Markdown()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

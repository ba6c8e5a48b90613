package attest

import (
	"strings"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// report is what the summary is rendered from: the attested digest, what
// landed, and the error of a push that landed only part of it.
type report struct {
	ref oci.Ref
	res *signing.AttestResult
	err error
}

// Summary renders the step summary: who attested which digest, and each claim
// with its envelope, where it is and its log entries; what was NOT pushed when a
// push failed part way.
func (o Outputs) Summary() string {
	r := o.report
	if r.res == nil {
		return ""
	}
	rows := make([][]string, 0, len(r.res.Attestations))
	for _, a := range r.res.Attestations {
		where := []string{}
		if a.Legacy != "" {
			where = append(where, a.Legacy)
		}
		if a.Bundle != "" {
			where = append(where, "referrer bundle "+a.Bundle)
		}
		rows = append(rows, []string{shortName(a.Type), a.Type, a.Digest, strings.Join(where, "; "), signing.TlogText(a.Tlog)})
	}
	return signing.PushSummary{Title: "Attested", Incomplete: "Attestation INCOMPLETE", Ref: r.ref, Identity: r.res.Identity,
		Header: []string{"Claim", "Predicate type", "Envelope digest", "Where", "Transparency log"}, Rows: rows, Err: r.err}.Markdown()
}

func shortName(uri string) string {
	for _, p := range attestation.PredicateTypes() {
		if p.URI == uri {
			return p.Name
		}
	}
	return uri
}

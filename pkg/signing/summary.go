package signing

import (
	"errors"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/markdown"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// PushSummary is the step summary of a sign or attest run: the digest and who
// signed it, a table of what landed, and what was NOT pushed when a push failed
// part way.
type PushSummary struct {
	// Title heads a complete run ("Signed"); Incomplete one that ended in an
	// error ("Signing INCOMPLETE").
	Title, Incomplete string
	// Ref is the digest signed, with the tag it was resolved from.
	Ref oci.Ref
	// Identity is who signed.
	Identity Identity
	// Header and Rows are the table of what landed.
	Header []string
	Rows   [][]string
	// Err is the run's error, if any; a *PartialError names what was not pushed.
	Err error
}

// Markdown renders the summary.
func (p PushSummary) Markdown() string {
	var s markdown.Builder
	title := p.Title
	if p.Err != nil {
		title = p.Incomplete
	}
	s.Heading(2, title+": "+p.Ref.String())
	s.Table([]string{"", ""}, IdentityRows(p.Ref, p.Identity))
	s.Table(p.Header, p.Rows)
	var pe *PartialError
	if errors.As(p.Err, &pe) {
		s.Para("NOT pushed: " + strings.Join(pe.NotPushed, "; "))
	}
	return s.String()
}

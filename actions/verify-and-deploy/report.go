package verifyanddeploy

import (
	"fmt"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// maxSummaryRows bounds the tables of ignored items.
const maxSummaryRows = 50

// outcome is what the run did: the data the outputs, the summary and the
// annotations are rendered from.
type outcome struct {
	deploy      string // the deploy input
	environment string
	audit       bool   // the run's effective mode is audit
	modeNote    string // why the policy's audit mode does not apply, if it does not
	ref         oci.Ref
	rep         *verify.Report
	reportPath  string
	vsaPath     string
	vsaNote     string
	deployNote  []string
	deployErr   error // the deploy step failed (after the verification)
}

func (o outcome) outputs() Outputs {
	return Outputs{Verified: o.rep.Verified, Digest: o.rep.Digest, Report: o.reportPath, VSA: o.vsaPath,
		BreakGlass: o.rep.BreakGlass, ExceptionsUsed: o.rep.ExceptionsUsed, outcome: o}
}

// Summary renders the step summary: the verdict and mode, the image and
// policy, every requirement, the exceptions used and refused, the superseded
// and ignored evidence, the deploy and where the report and VSA are.
func (out Outputs) Summary() string {
	o := out.outcome
	if o.rep == nil {
		return ""
	}
	var s gha.Summary
	s.Heading(2, "Verify and deploy: "+title(o))
	banners(&s, o)
	s.Table([]string{"", ""}, infoRows(o))
	s.Heading(3, "Requirements")
	s.Table([]string{"Requirement", "", "Detail / reason"}, requirementRows(o.rep))
	evidence(&s, o.rep)
	s.Heading(3, "Deploy")
	if o.deploy == "none" {
		s.Para("deploy: none — nothing deployed.")
	}
	for _, l := range o.deployNote {
		if strings.HasPrefix(l, "```") {
			s.Raw(l + "\n")
		} else {
			s.Para(l)
		}
	}
	s.Para("Report: " + o.reportPath + ". VSA (" + attestation.PredicateVSA + "): " + o.vsaPath + ", " + o.vsaNote + ".")
	return s.String()
}

func title(o outcome) string {
	t := "✓ verified"
	if !o.rep.Verified {
		t = "✗ NOT verified"
	}
	if o.rep.BreakGlass {
		t += " — BREAK-GLASS"
	}
	if o.audit {
		t += " — AUDIT MODE"
	}
	return t
}

// banners are the paragraphs that say the run is not an ordinary pass: audit
// mode, break-glass, a requirement passed through a scanner-outage exception.
func banners(s *gha.Summary, o outcome) {
	rep := o.rep
	if o.audit {
		msg := "AUDIT MODE: this run verifies and reports but never blocks the deploy."
		if !rep.Verified {
			msg += " In enforce mode it would have been BLOCKED."
		}
		s.Para(msg)
	}
	if rep.BreakGlass {
		s.Para("BREAK-GLASS: the image passed the signature requirement only through a break-glass signer. " +
			requirementDetail(rep, verify.RequirementSignature))
	}
	for _, r := range rep.Requirements {
		if r.Waived != "" {
			s.Para("SCANNER OUTAGE: requirement " + r.Name + " passed only through a signed outage exception, not a scan. " + r.Waived)
		}
	}
}

func infoRows(o outcome) [][]string {
	rep := o.rep
	info := [][]string{{"Image", rep.Image}, {"Digest", rep.Digest}}
	if o.ref.Tag != "" {
		info = append(info, []string{"Resolved from tag", o.ref.Tag + " (not used again)"})
	}
	mode := rep.Mode
	if o.modeNote != "" {
		mode += " (the policy says audit; " + o.modeNote + ")"
	}
	info = append(info, []string{"Policy", rep.Policy.URI + " (" + rep.Policy.Digest + ")"}, []string{"Mode", mode})
	if o.environment != "" {
		info = append(info, []string{"Environment", o.environment})
	}
	return info
}

func requirementRows(rep *verify.Report) [][]string {
	rows := make([][]string, 0, len(rep.Requirements))
	for _, r := range rep.Requirements {
		mark, why := r.Mark()
		if r.Passed && r.Waived != "" {
			mark += " waived (outage)"
		}
		rows = append(rows, []string{r.Name, mark, why})
	}
	return rows
}

// evidence renders the tables of exceptions used and refused, superseded
// attestations and ignored signatures and attestations (each only when it has
// rows).
func evidence(s *gha.Summary, rep *verify.Report) {
	if len(rep.ExceptionsUsed) > 0 {
		s.Heading(3, "Exceptions used")
		var er [][]string
		for _, e := range rep.ExceptionsUsed {
			er = append(er, []string{e.ID, fmt.Sprint(e.FindingsWaived), e.Ticket, e.Reason, e.Expires.UTC().Format(time.RFC3339)})
		}
		s.Table([]string{"Exception", "Findings waived", "Ticket", "Reason", "Expires"}, er)
	}
	if len(rep.ExceptionsRefused) > 0 {
		s.Heading(3, "Exceptions refused (waive nothing)")
		s.Table([]string{"Where", "Reason"}, ignoredRows(rep.ExceptionsRefused, false))
	}
	if len(rep.Superseded) > 0 {
		s.Heading(3, "Superseded (a newer attestation of the type decides)")
		s.Table([]string{"Requirement", "Where", "Evidence time", "Superseded by"}, supersededRows(rep.Superseded))
	}
	if len(rep.Ignored) > 0 {
		s.Heading(3, "Ignored signatures and attestations")
		s.Table([]string{"Kind", "Format", "Type (claimed)", "Where", "Reason"}, ignoredRows(rep.Ignored, true))
	}
}

func supersededRows(list []verify.Superseded) [][]string {
	var rows [][]string
	for i, o := range list {
		if i == maxSummaryRows {
			return append(rows, []string{fmt.Sprintf("… %d more in the JSON report", len(list)-maxSummaryRows), "", "", ""})
		}
		rows = append(rows, []string{o.Requirement, o.Location, o.Time.UTC().Format(time.RFC3339) + " (" + o.TimeSource + ")",
			o.SupersededBy + " at " + o.NewestTime.UTC().Format(time.RFC3339)})
	}
	return rows
}

func ignoredRows(list []verify.Ignored, full bool) [][]string {
	var rows [][]string
	for i, ig := range list {
		if i == maxSummaryRows {
			more := fmt.Sprintf("… %d more in the JSON report", len(list)-maxSummaryRows)
			if full {
				return append(rows, []string{more, "", "", "", ""})
			}
			return append(rows, []string{more, ""})
		}
		if full {
			rows = append(rows, []string{ig.Kind, ig.Format, ig.PredicateType, ig.Location, ig.Reason})
		} else {
			rows = append(rows, []string{ig.Location, ig.Reason})
		}
	}
	return rows
}

// Annotations are one per failure (warnings in audit mode, errors otherwise),
// and a warning for a break-glass pass and for each requirement a scanner
// outage exception stood in for.
func (out Outputs) Annotations() []gha.Annotation {
	rep := out.outcome.rep
	if rep == nil {
		return nil
	}
	level := gha.LevelError
	if out.outcome.audit {
		level = gha.LevelWarning
	}
	var as []gha.Annotation
	for _, f := range rep.Failures() {
		as = append(as, gha.Annotation{Level: level, Title: "verify-and-deploy", Message: f})
	}
	if rep.BreakGlass {
		as = append(as, gha.Annotation{Level: gha.LevelWarning, Title: "BREAK-GLASS", Message: requirementDetail(rep, verify.RequirementSignature)})
	}
	for _, r := range rep.Requirements {
		if r.Waived != "" {
			as = append(as, gha.Annotation{Level: gha.LevelWarning, Title: "SCANNER OUTAGE: " + r.Name + " not scanned", Message: r.Waived})
		}
	}
	return as
}

func requirementDetail(rep *verify.Report, name string) string {
	for _, r := range rep.Requirements {
		if r.Name == name {
			return r.Detail
		}
	}
	return ""
}

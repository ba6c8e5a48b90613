package dast

import (
	"bytes"
	"fmt"
	"strings"

	gosarif "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// SARIFCategory is the code scanning category of the gate's SARIF.
const SARIFCategory = "secure-gates-dast"

// SARIF renders the decided alerts as one SARIF 2.1.0 run per tool, with
// the instances' URLs as locations. Ignored and waived alerts are kept as
// suppressed results.
func (d *Decision) SARIF() ([]byte, error) {
	rep, err := gosarif.New(gosarif.Version210)
	if err != nil {
		return nil, fmt.Errorf("creating SARIF: %w", err)
	}
	runs := map[string]*gosarif.Run{}
	var order []string
	for _, a := range d.Alerts {
		run, ok := runs[a.Tool]
		if !ok {
			run = gosarif.NewRunWithInformationURI(a.Tool, "https://github.com/secure-gates/secure-gates/tree/main/actions/dast")
			run.AutomationDetails = &gosarif.RunAutomationDetails{ID: ptr(SARIFCategory + "/" + strings.ToLower(a.Tool) + "/")}
			runs[a.Tool] = run
			order = append(order, a.Tool)
		}
		rule := run.AddRule(a.ID).WithName(a.Name).WithShortDescription(gosarif.NewMultiformatMessageString(a.Name))
		rule.WithProperties(gosarif.Properties{"security-severity": severityScore(a.Risk), "tags": []string{"security", "dast"}})
		level := "note"
		switch {
		case a.Disposition == "fail" || a.Risk >= High:
			level = "error"
		case a.Risk == Medium:
			level = "warning"
		}
		res := gosarif.NewRuleResult(a.ID).WithLevel(level).WithMessage(gosarif.NewTextMessage(fmt.Sprintf("%s (%s risk, %d instance(s), %s)", a.Name, a.Risk, a.Count, a.Disposition)))
		for _, u := range a.URLs {
			res.AddLocation(gosarif.NewLocationWithPhysicalLocation(gosarif.NewPhysicalLocation().WithArtifactLocation(gosarif.NewSimpleArtifactLocation(u))))
		}
		if a.Disposition == "ignored" || a.Disposition == "waived" {
			just := "ignored by the rules file"
			if a.WaivedBy != "" {
				just = "waived by exception " + a.WaivedBy
			}
			s := gosarif.NewSuppression("external")
			s.Justification = &just
			res.Suppressions = []*gosarif.Suppression{s}
		}
		run.AddResult(res)
	}
	for _, t := range order {
		rep.AddRun(runs[t])
	}
	var buf bytes.Buffer
	if err := rep.PrettyWrite(&buf); err != nil {
		return nil, fmt.Errorf("writing SARIF: %w", err)
	}
	return buf.Bytes(), nil
}

func ptr[T any](v T) *T { return &v }

func severityScore(r Risk) string {
	switch r {
	case Critical:
		return "9.5"
	case High:
		return "8.0"
	case Medium:
		return "5.5"
	case Low:
		return "3.0"
	}
	return "0.0"
}

// Summary renders the job summary: the verdict, the alerts table (risk,
// name, count, first URL, disposition) and what was waived.
func (d *Decision) Summary() string {
	var b strings.Builder
	p := d.Predicate
	verdict := "✅ pass"
	if !d.Pass {
		verdict = "❌ fail"
	}
	fmt.Fprintf(&b, "## DAST: %s\n\n", verdict)
	fmt.Fprintf(&b, "Target `%s`, environment `%s`, fail-on `%s`, on-scanner-outage `%s`.\n\n", md(p.Target), md(p.Environment), p.Policy.FailOn, p.Policy.OnScannerOutage)
	fmt.Fprintf(&b, "| critical | high | medium | low | informational |\n| --- | --- | --- | --- | --- |\n| %d | %d | %d | %d | %d |\n\n", p.Counts.Critical, p.Counts.High, p.Counts.Medium, p.Counts.Low, p.Counts.Informational)
	for _, f := range d.Failing {
		fmt.Fprintf(&b, "- fails: %s\n", md(f))
	}
	for _, o := range p.Outages {
		fmt.Fprintf(&b, "- scanner outage (%s): %s\n", o.Policy, md(o.Reason))
	}
	if len(d.Alerts) > 0 {
		b.WriteString("\n| risk | id | name | count | first URL | disposition |\n| --- | --- | --- | --- | --- | --- |\n")
		for i, a := range d.Alerts {
			if i == 200 {
				fmt.Fprintf(&b, "\n%d more alerts in the SARIF and the predicate.\n", len(d.Alerts)-200)
				break
			}
			first := ""
			if len(a.URLs) > 0 {
				first = a.URLs[0]
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s |\n", a.Risk, md(a.ID), md(a.Name), a.Count, md(first), a.Disposition)
		}
	}
	if len(d.Waived) > 0 || len(d.Expired) > 0 {
		b.WriteString("\n### Waived\n\n")
		for _, w := range d.Waived {
			fmt.Fprintf(&b, "- `%s` scope `%s`: %d alert(s), %s (ticket %s, expires %s)\n", md(w.Entry.ID), md(w.Entry.Scope), w.Alerts, md(w.Entry.Reason), md(w.Entry.Ticket), w.Entry.Expires.Format("2006-01-02"))
		}
		for _, e := range d.Expired {
			fmt.Fprintf(&b, "- expired, waives nothing: `%s` (ticket %s)\n", md(e.ID), md(e.Ticket))
		}
	}
	ignored := 0
	for _, a := range d.Alerts {
		if a.Disposition == attestation.DispositionIgnored || a.Disposition == attestation.DispositionWaived {
			ignored++
		}
	}
	if ignored > 0 {
		fmt.Fprintf(&b, "\n%d alert(s) ignored by the rules file or waived by the exceptions file: for this verdict only. The predicate records them, and verify-and-deploy's promotion rule (`type: dast` with `deny`) counts them unless a signed exception waives them.\n", ignored)
	}
	return b.String()
}

// md neutralises text from a report for a Markdown table cell.
func md(s string) string {
	r := strings.NewReplacer("|", "\\|", "`", "'", "<", "&lt;", ">", "&gt;", "\n", " ", "[", "\\[", "]", "\\]", "@", "@\u200b")
	return r.Replace(s)
}

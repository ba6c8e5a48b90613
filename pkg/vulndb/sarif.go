package vulndb

import (
	"fmt"
	"slices"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/sarif"
)

// SARIFRun turns the report into one SARIF run of tool grype for category: one
// rule per vulnerability id (its highest CVSS score as security-severity, or
// the severity's representative score without one; help naming the fixed
// versions), one result per finding at the package's location. Findings waived
// by the caller (Finding.Waived) and VEX-suppressed matches are emitted as
// suppressed results with the justification. Call it after applying exceptions.
func (r *Report) SARIFRun(category string) sarif.Run {
	run := sarif.Run{
		Tool:     sarif.Tool{Name: "grype", Version: grypeVersion(), InformationURI: grypeURI},
		Category: category,
	}
	if r == nil {
		return run
	}
	all := append(slices.Clone(r.Findings), r.Suppressed...)
	byID := map[string][]finding.Finding{}
	var ids []string
	for _, f := range all {
		if _, ok := byID[f.RuleID]; !ok {
			ids = append(ids, f.RuleID)
		}
		byID[f.RuleID] = append(byID[f.RuleID], f)
	}
	slices.Sort(ids)
	for _, id := range ids {
		run.Rules = append(run.Rules, r.rule(id, byID[id]))
	}
	for _, f := range all {
		res := sarif.Result{
			RuleID:              f.RuleID,
			Level:               sarif.Level(f.Severity.SARIFLevel()),
			Message:             f.Message,
			PartialFingerprints: map[string]string{sarif.FingerprintKey: f.Fingerprint},
			Properties: map[string]any{
				"package": f.Package, "version": f.Version, "purl": f.PURL, "severity": string(f.Severity),
			},
		}
		if len(f.FixedIn) > 0 {
			res.Properties["fixedIn"] = f.FixedIn
		}
		if f.Path != "" {
			res.Locations = []sarif.Location{{Path: f.Path}}
		}
		if w := f.Waived; w != nil {
			just := w.Reason
			if w.Ticket != "" {
				just += " (" + w.Ticket + ")"
			}
			if !w.Expires.IsZero() {
				just += ", until " + w.Expires.UTC().Format("2006-01-02")
			}
			res.Suppression = &sarif.Suppression{Kind: "external", Status: "accepted", Justification: just}
		}
		run.Results = append(run.Results, res)
	}
	return run
}

func (r *Report) rule(id string, fs []finding.Finding) sarif.Rule {
	f := fs[0]
	worst := f.Severity
	for _, g := range fs {
		if g.Severity.Rank() > worst.Rank() {
			worst = g.Severity
		}
	}
	score := r.scores[id]
	if score <= 0 || score > finding.MaxScore {
		score = worst.Score()
	}
	name := id
	if len(f.Aliases) > 0 {
		name += " (" + strings.Join(f.Aliases, ", ") + ")"
	}
	var md strings.Builder
	fmt.Fprintf(&md, "**%s** — %s severity\n\n%s\n\n", name, worst, f.Title)
	md.WriteString("| package | version | fixed in |\n| --- | --- | --- |\n")
	seen := map[string]bool{}
	for _, g := range fs {
		row := fmt.Sprintf("| %s | %s | %s |\n", mdCell(g.Package), mdCell(g.Version), mdCell(fixText(g.FixedIn)))
		if !seen[row] {
			seen[row] = true
			md.WriteString(row)
		}
	}
	if f.HelpURI != "" {
		fmt.Fprintf(&md, "\nAdvisory: %s\n", f.HelpURI)
	}
	tags := []string{"vulnerability", "dependency"}
	rule := sarif.Rule{
		ID:               id,
		Name:             id,
		ShortDescription: fmt.Sprintf("%s: %s", name, f.Title),
		FullDescription:  f.Title,
		HelpMarkdown:     md.String(),
		SecuritySeverity: score,
		Tags:             tags,
		DefaultLevel:     sarif.Level(worst.SARIFLevel()),
	}
	if strings.HasPrefix(f.HelpURI, "http://") || strings.HasPrefix(f.HelpURI, "https://") {
		rule.HelpURI = f.HelpURI
	}
	return rule
}

func fixText(v []string) string {
	if len(v) == 0 {
		return "no fix"
	}
	return strings.Join(v, ", ")
}

// mdCell keeps untrusted package text from breaking the help table.
func mdCell(s string) string {
	r := strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "`", "'")
	return r.Replace(s)
}

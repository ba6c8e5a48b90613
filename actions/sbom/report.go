package sbom

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/sbomdoc"
)

// outputs are the step's outputs of a run that got to the end.
func outputs(res *result) Outputs {
	count := func(s finding.Severity) string {
		if !res.scanned {
			return "" // not "0": nothing was scanned
		}
		return strconv.Itoa(res.counts[s])
	}
	return Outputs{Digest: res.ref.Digest, CycloneDX: res.docs[sbomdoc.CycloneDXJSON], SPDX: res.docs[sbomdoc.SPDXJSON],
		VulnPredicate: res.predicate, SARIF: res.sarif, Packages: res.cat.Packages,
		Critical: count(finding.Critical), High: count(finding.High), Medium: count(finding.Medium), Low: count(finding.Low), res: res}
}

// verdict is the policy failure when vulnerabilities at or above the cutoff are
// not waived.
func verdict(res *result) error {
	if len(res.failing) == 0 {
		return nil
	}
	ids := make([]string, 0, len(res.failing))
	for _, f := range res.failing {
		ids = append(ids, f.RuleID+" in "+f.Package)
	}
	return errkind.Policy(fmt.Errorf("%d vulnerabilities at or above %s%s are not waived: %s", len(res.failing), res.cutoff, onlyFixedNote(res.onlyFixed), strings.Join(ids, ", ")))
}

// Summary renders the step summary.
func (o Outputs) Summary() string { return summary(o.res) }

// Annotations warn about an outage and expired exceptions, and put the failing
// vulnerabilities (up to MaxAnnotations) on the run.
func (o Outputs) Annotations() []gha.Annotation { return annotations(o.res) }

func annotations(res *result) []gha.Annotation {
	var out []gha.Annotation
	switch {
	case res.outage != nil:
		out = append(out, gha.Annotation{Level: gha.LevelWarning, Title: "Image vulnerability scan did not run", Message: res.outage.Reason})
	case res.scanned:
		for _, e := range res.expired {
			out = append(out, gha.Annotation{Level: gha.LevelWarning, Title: "Expired exception", Message: e.Name() + " expired and waives nothing"})
		}
	}
	for i, f := range res.failing {
		if i == MaxAnnotations {
			break
		}
		out = append(out, gha.Annotation{Level: gha.LevelError, Title: "Vulnerability in the image",
			Message: fmt.Sprintf("%s (%s) in %s %s%s", f.RuleID, f.Severity, f.Package, f.Version, fixNote(f))})
	}
	return out
}

func summary(res *result) string {
	v := "pass"
	switch {
	case len(res.failing) > 0:
		v = "fail"
	case res.outage != nil:
		v = "pass with a scanner outage"
	}
	var s gha.Summary
	s.Heading(2, "SBOM: "+v)
	s.Para(fmt.Sprintf("Catalogued %s: %d packages.", res.subject, res.cat.Packages))
	s.Heading(3, "Packages by type")
	s.Table([]string{"Type", "Packages"}, packageTypes(res))
	s.Heading(3, "Documents")
	s.Table([]string{"Document", "Path"}, documents(res))
	s.Heading(3, "Vulnerabilities")
	switch {
	case res.outage != nil:
		s.Para("The vulnerability scan did not run: " + res.outage.Reason + ". on-scanner-outage is continue, so the step goes on; no vulnerability result is claimed.")
	case !res.scanned:
		s.Para("Not scanned (scan-vulns is false).")
	default:
		vulnerabilities(&s, res)
	}
	if res.dtDone {
		s.Para(fmt.Sprintf("Dependency-Track processed the CycloneDX SBOM for project %s version %s.", res.dtProject.Name, res.dtProject.Version))
	}
	return s.String()
}

func packageTypes(res *result) [][]string {
	byType := map[string]int{}
	for p := range res.cat.SBOM.Artifacts.Packages.Enumerate() {
		byType[string(p.Type)]++
	}
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Strings(types)
	rows := make([][]string, 0, len(types))
	for _, t := range types {
		rows = append(rows, []string{t, strconv.Itoa(byType[t])})
	}
	return rows
}

func documents(res *result) [][]string {
	var rows [][]string
	for _, f := range res.formats {
		rows = append(rows, []string{string(f), res.docs[f]})
	}
	if res.predicate != "" {
		rows = append(rows, []string{"vuln predicate (cosign vuln v1)", res.predicate})
	}
	if res.sarif != "" {
		rows = append(rows, []string{"SARIF (image findings)", res.sarif})
	}
	return rows
}

func vulnerabilities(s *gha.Summary, res *result) {
	gate := fmt.Sprintf("%s and above%s", res.cutoff, onlyFixedNote(res.onlyFixed))
	if res.cutoff == finding.NoCutoff {
		gate = "none (severity-cutoff: none — recorded in the vuln predicate for verify-and-deploy's policy to decide)"
	}
	s.Para(fmt.Sprintf("grype DB %s (%s). Not waived: %d critical, %d high, %d medium, %d low. Gate: %s.",
		res.db.DBVersion(), res.db.Source, res.counts[finding.Critical], res.counts[finding.High], res.counts[finding.Medium], res.counts[finding.Low], gate))
	if res.db.UpdateError != "" {
		s.Para("The DB update check failed; the cached DB is within max-db-age: " + res.db.UpdateError)
	}
	var rows [][]string
	for i, f := range res.findings {
		if i == TopVulns {
			break
		}
		status := "fails the gate"
		switch {
		case f.Waived != nil:
			status = "waived: " + f.Waived.Reason
		case !isFailing(f, res.failing):
			status = "reported"
		}
		rows = append(rows, []string{f.RuleID, string(f.Severity), f.Package + " " + f.Version, strings.Join(f.FixedIn, ", "), status})
	}
	if len(rows) > 0 {
		s.Table([]string{"Vulnerability", "Severity", "Package", "Fixed in", "Status"}, rows)
	}
	if len(res.findings) > TopVulns {
		s.Para(fmt.Sprintf("… and %d more in the SARIF file.", len(res.findings)-TopVulns))
	}
	waived := 0
	for _, f := range res.findings {
		if f.Waived != nil {
			waived++
		}
	}
	if waived > 0 {
		s.Para(fmt.Sprintf("%d vulnerabilities are waived by this repository's exceptions file for this step only: the vuln predicate records them with what waived them, and verify-and-deploy counts them unless a signed exception waives them.", waived))
	}
}

func isFailing(f finding.Finding, failing []finding.Finding) bool {
	for _, g := range failing {
		if g.Fingerprint == f.Fingerprint && g.RuleID == f.RuleID {
			return true
		}
	}
	return false
}

func onlyFixedNote(onlyFixed bool) string {
	if onlyFixed {
		return " with a fix available"
	}
	return ""
}

func fixNote(f finding.Finding) string {
	if len(f.FixedIn) == 0 {
		return ", no fix yet"
	}
	return ", fixed in " + strings.Join(f.FixedIn, ", ")
}

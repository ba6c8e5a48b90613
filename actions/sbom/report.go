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

// report sets the outputs, writes the summary and annotations, and returns the
// policy failure when vulnerabilities at or above the cutoff are not waived.
func report(rt *gha.Runtime, in Inputs, res *result, cutoff finding.Severity) error {
	count := func(s finding.Severity) string {
		if !res.scanned {
			return "" // not "0": nothing was scanned
		}
		return strconv.Itoa(res.counts[s])
	}
	for _, o := range []gha.KeyValue{
		{Name: "digest", Value: res.ref.Digest},
		{Name: "cyclonedx", Value: res.docs[sbomdoc.CycloneDXJSON]},
		{Name: "spdx", Value: res.docs[sbomdoc.SPDXJSON]},
		{Name: "vuln-predicate", Value: res.predicate},
		{Name: "sarif", Value: res.sarif},
		{Name: "packages", Value: strconv.Itoa(res.cat.Packages)},
		{Name: "critical", Value: count(finding.Critical)},
		{Name: "high", Value: count(finding.High)},
		{Name: "medium", Value: count(finding.Medium)},
		{Name: "low", Value: count(finding.Low)},
	} {
		if err := rt.SetOutput(o.Name, o.Value); err != nil {
			return errkind.Infra(err)
		}
	}

	verdict := "pass"
	switch {
	case len(res.failing) > 0:
		verdict = "fail"
	case res.outage != nil:
		verdict = "pass with a scanner outage"
	}
	var s gha.Summary
	s.Heading(2, "SBOM: "+verdict)
	if in.SBOM != "" {
		s.Para(fmt.Sprintf("Scanned the SBOM (%s) of %s: %d packages.", in.SBOM, res.subject, res.cat.Packages))
	} else {
		s.Para(fmt.Sprintf("Catalogued %s: %d packages.", res.subject, res.cat.Packages))
	}

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
	s.Heading(3, "Packages by type")
	s.Table([]string{"Type", "Packages"}, rows)

	s.Heading(3, "Documents")
	rows = rows[:0]
	for _, f := range res.formats {
		rows = append(rows, []string{string(f), res.docs[f]})
	}
	if res.predicate != "" {
		rows = append(rows, []string{"vuln predicate (cosign vuln v1)", res.predicate})
	}
	if res.sarif != "" {
		rows = append(rows, []string{"SARIF (image findings)", res.sarif})
	}
	s.Table([]string{"Document", "Path"}, rows)

	s.Heading(3, "Vulnerabilities")
	switch {
	case res.outage != nil:
		s.Para("The vulnerability scan did not run: " + res.outage.Reason + ". on-scanner-outage is continue, so the step goes on; no vulnerability result is claimed.")
		rt.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "Image vulnerability scan did not run", Message: res.outage.Reason})
	case !res.scanned:
		s.Para("Not scanned (scan-vulns is false).")
	default:
		gate := fmt.Sprintf("%s and above%s", cutoff, onlyFixedNote(in.OnlyFixed))
		if cutoff == finding.NoCutoff {
			gate = "none (severity-cutoff: none — recorded in the vuln predicate for verify-and-deploy's policy to decide)"
		}
		s.Para(fmt.Sprintf("grype DB %s (%s). Not waived: %d critical, %d high, %d medium, %d low. Gate: %s.",
			res.db.DBVersion(), res.db.Source, res.counts[finding.Critical], res.counts[finding.High], res.counts[finding.Medium], res.counts[finding.Low], gate))
		if res.db.UpdateError != "" {
			s.Para("The DB update check failed; the cached DB is within max-db-age: " + res.db.UpdateError)
		}
		rows = rows[:0]
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
		for _, e := range res.expired {
			rt.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "Expired exception", Message: e.Name() + " expired and waives nothing"})
		}
	}
	if res.dtDone {
		s.Para(fmt.Sprintf("Dependency-Track processed the CycloneDX SBOM for project %s version %s.", res.dtProject.Name, res.dtProject.Version))
	}
	if err := rt.WriteSummary(s.String()); err != nil {
		return errkind.Infra(err)
	}

	for i, f := range res.failing {
		if i == MaxAnnotations {
			break
		}
		rt.Annotate(gha.Annotation{Level: gha.LevelError, Title: "Vulnerability in the image",
			Message: fmt.Sprintf("%s (%s) in %s %s%s", f.RuleID, f.Severity, f.Package, f.Version, fixNote(f))})
	}
	if len(res.failing) > 0 {
		ids := make([]string, 0, len(res.failing))
		for _, f := range res.failing {
			ids = append(ids, f.RuleID+" in "+f.Package)
		}
		return errkind.Policy(fmt.Errorf("%d vulnerabilities at or above %s%s are not waived: %s", len(res.failing), cutoff, onlyFixedNote(in.OnlyFixed), strings.Join(ids, ", ")))
	}
	return nil
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

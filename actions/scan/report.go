package scan

import (
	"context"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gha"
	scanner "github.com/secure-gates/secure-gates/pkg/scan"
	"github.com/secure-gates/secure-gates/pkg/scan/secrets"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

func location(f finding.Finding) string {
	switch {
	case f.Path == "" && f.PURL != "":
		return f.PURL
	case f.Path == "":
		return ""
	case f.StartLine > 0:
		return f.Path + ":" + strconv.Itoa(f.StartLine)
	}
	return f.Path
}

func status(res *scanner.Result, f finding.Finding, failing map[string]bool) string {
	switch {
	case f.Waived != nil && f.Waived.Kind == finding.WaiverVEX:
		return "waived by " + f.Waived.Reason + " (no expiry)"
	case f.Waived != nil:
		return "waived " + f.Waived.Until()
	case failing[key(f)]:
		return "fails the gate"
	case res.OnlyFixed && f.Scanner == scanner.Deps && !f.Fixable() && f.Severity.AtLeast(res.Cutoff):
		return "no fix yet"
	}
	return "below cutoff"
}

func key(f finding.Finding) string { return f.Scanner + "\x00" + f.Fingerprint + "\x00" + f.RuleID }

func failingSet(res *scanner.Result) map[string]bool {
	m := map[string]bool{}
	for _, f := range res.Failing {
		m[key(f)] = true
	}
	return m
}

// Summary renders the step summary: the verdict, what did not run, counts by
// severity and scanner, the top findings, what was waived and until when, and
// the files written.
func Summary(res *scanner.Result, files *scanner.Files) string {
	var s gha.Summary
	s.Heading(2, "Scan: "+string(res.Decision))
	s.Para(gateRule(res) + ".")
	for _, o := range res.Outages {
		s.Raw("> [!CAUTION]\n")
		s.Para(fmt.Sprintf("**%s did NOT run**: %s. on-scanner-outage is %s: there are no %s results in this scan (this is not \"0 findings\"); the outage is recorded in the code-scan predicate.",
			o.Scanner, o.Reason, o.Policy, o.Scanner))
	}
	s.Heading(3, "Findings")
	s.Table([]string{"scanner", "tool", "status", "critical", "high", "medium", "low", "info", "waived"}, scannerRows(res))
	if len(res.Failing) > 0 {
		s.Para(fmt.Sprintf("%d finding(s) fail the gate.", len(res.Failing)))
	} else {
		s.Para("No finding fails the gate.")
	}
	topFindings(&s, res)
	if n := len(res.Findings) - total(res.Counts()); n > 0 {
		s.Para(fmt.Sprintf("%d finding(s) are waived by this repository's own exceptions file or VEX documents. "+
			"These waivers count for this check only: the code-scan and vuln predicates record every waived finding, and "+
			"verify-and-deploy counts them as present unless a signed exception attestation by an allowed exception signer waives them.", n))
	}
	notScanned(&s, res)
	waivers(&s, res)
	for _, n := range notes(res, files) {
		s.Para(n)
	}
	return s.String()
}

func gateRule(res *scanner.Result) string {
	switch {
	case res.Cutoff == finding.NoCutoff:
		return "No finding fails the gate (severity-cutoff: none): every finding is recorded in the SARIF and the predicates"
	case res.OnlyFixed && res.Ran(scanner.Deps):
		return "Findings of severity " + string(res.Cutoff) + " or above fail the gate; dependency vulnerabilities only when a fix exists"
	}
	return "Findings of severity " + string(res.Cutoff) + " or above fail the gate"
}

// scannerRows are the counts by scanner and severity, waived apart, and the
// total.
func scannerRows(res *scanner.Result) [][]string {
	rows := [][]string{}
	for _, sr := range res.Scanners {
		if sr.Skipped == "not selected" {
			continue
		}
		byS := finding.Counts{}
		waived := 0
		for _, f := range res.Findings {
			if f.Scanner != sr.Name {
				continue
			}
			if f.Waived != nil {
				waived++
			} else {
				byS[f.Severity]++
			}
		}
		st := "ran"
		if sr.Skipped != "" {
			st = "did not run: " + sr.Skipped
		}
		tool := sr.Tool
		if sr.Version != "" {
			tool += " " + sr.Version
		}
		rows = append(rows, append([]string{sr.Name, tool, st}, countCells(byS, waived)...))
	}
	c := res.Counts()
	return append(rows, append([]string{"total", "", ""}, countCells(c, len(res.Findings)-total(c))...))
}

func countCells(c finding.Counts, waived int) []string {
	return []string{strconv.Itoa(c[finding.Critical]), strconv.Itoa(c[finding.High]), strconv.Itoa(c[finding.Medium]),
		strconv.Itoa(c[finding.Low]), strconv.Itoa(c[finding.Info] + c[finding.Unknown]), strconv.Itoa(waived)}
}

func topFindings(s *gha.Summary, res *scanner.Result) {
	if len(res.Findings) == 0 {
		return
	}
	failing := failingSet(res)
	s.Heading(3, "Top findings")
	var top [][]string
	for i, f := range res.Findings {
		if i == TopFindings {
			break
		}
		top = append(top, []string{string(f.Severity), f.Scanner, f.RuleID, location(f), textclip.Line(f.Message, 300), status(res, f, failing)})
	}
	s.Table([]string{"severity", "scanner", "rule", "location", "finding", "status"}, top)
	if len(res.Findings) > TopFindings {
		s.Para(fmt.Sprintf("…and %d more in the SARIF file.", len(res.Findings)-TopFindings))
	}
}

func notScanned(s *gha.Summary, res *scanner.Result) {
	if res.NotScannedCount == 0 {
		return
	}
	s.Heading(3, fmt.Sprintf("Not scanned (%d)", res.NotScannedCount))
	s.Para("These files were not read, so they are not \"0 findings\": binaries and paths the rules allowlist are skipped by design; a file over the size cap or a symlink may hide a secret.")
	var rows [][]string
	for i, n := range res.NotScanned {
		if i == TopNotScanned {
			break
		}
		rows = append(rows, []string{n.Path, n.Scanner, n.Reason})
	}
	s.Table([]string{"file", "scanner", "reason"}, rows)
	if res.NotScannedCount > len(rows) {
		s.Para(fmt.Sprintf("…and %d more; the code-scan predicate lists the first %d.", res.NotScannedCount-len(rows), attestation.MaxNotScannedFiles))
	}
}

func waivers(s *gha.Summary, res *scanner.Result) {
	if len(res.Applied) > 0 {
		s.Heading(3, "Waived")
		var w [][]string
		for _, a := range res.Applied {
			w = append(w, []string{a.Entry.ID, a.Entry.Scope, strconv.Itoa(a.Findings), a.Entry.Reason, a.Entry.Ticket, a.Entry.Expires.Format("2006-01-02")})
		}
		s.Table([]string{"exception", "scope", "findings", "reason", "ticket", "expires"}, w)
	}
	if len(res.Expired) > 0 {
		s.Heading(3, "Expired exceptions (waive nothing)")
		var w [][]string
		for _, e := range res.Expired {
			w = append(w, []string{e.ID, e.Scope, e.Ticket, e.Expires.Format("2006-01-02")})
		}
		s.Table([]string{"exception", "scope", "ticket", "expired"}, w)
	}
}

func notes(res *scanner.Result, files *scanner.Files) []string {
	var notes []string
	if res.SecretsConfig != "" {
		notes = append(notes, "Secrets rules: "+res.SecretsConfig+".")
	}
	if db := res.DB(); db != "" {
		notes = append(notes, "Vulnerability DB: "+db+".")
	}
	if res.Packages > 0 {
		notes = append(notes, fmt.Sprintf("Dependencies catalogued: %d packages.", res.Packages))
	}
	if files != nil {
		notes = append(notes, "SARIF: "+files.SARIF+" ("+files.SARIFDigest.String()+"); code-scan predicate: "+files.CodeScan+".")
		if files.Vuln != "" {
			notes = append(notes, "vuln predicate: "+files.Vuln+".")
		}
	}
	return notes
}

func total(c finding.Counts) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// TopNotScanned is how many files not scanned the summary and the table list.
const TopNotScanned = 20

// Table prints the result for a terminal: one line per finding, the files not
// scanned, then the verdict. Every value from the tree or a SARIF input is
// escaped (gha.EscapeText) and every line goes through gha.SafeLine: a file
// name cannot drive the terminal, add a line or a column, or start a workflow
// command in a log a runner would parse.
func Table(out io.Writer, res *scanner.Result) error {
	w := gha.NewSafeWriter(out)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	failing := failingSet(res)
	e := gha.EscapeText
	fmt.Fprintln(tw, "SEVERITY\tSCANNER\tRULE\tLOCATION\tSTATUS\tFINDING")
	for _, f := range res.Findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e(string(f.Severity)), e(f.Scanner), e(f.RuleID), e(location(f)), e(status(res, f, failing)), e(textclip.Line(f.Message, 120)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, o := range res.Outages {
		fmt.Fprintf(w, "\nWARNING: %s did NOT run (%s): no %s results in this scan.\n", e(o.Scanner), e(o.Reason), e(o.Scanner))
	}
	if res.NotScannedCount > 0 {
		fmt.Fprintf(w, "\nNOT SCANNED: %d file(s) were not read (not \"0 findings\"):\n", res.NotScannedCount)
		for i, n := range res.NotScanned {
			if i == TopNotScanned {
				fmt.Fprintf(w, "  …and %d more (the code-scan predicate lists the first %d)\n", res.NotScannedCount-TopNotScanned, attestation.MaxNotScannedFiles)
				break
			}
			fmt.Fprintf(w, "  %s (%s): %s\n", e(n.Path), e(n.Scanner), e(n.Reason))
		}
	}
	for _, x := range res.Expired {
		fmt.Fprintf(w, "expired exception (waives nothing): %s, expired %s\n", e(x.ID), x.Expires.Format("2006-01-02"))
	}
	c := res.Counts()
	if n := len(res.Findings) - total(c); n > 0 {
		fmt.Fprintf(w, "%d finding(s) waived by this repository's exceptions file or VEX documents: for this check only; verify-and-deploy counts them unless a signed exception waives them.\n", n)
	}
	fmt.Fprintf(w, "\n%d findings (%d critical, %d high, %d medium, %d low), %d fail the gate: %s\n",
		len(res.Findings), c[finding.Critical], c[finding.High], c[finding.Medium], c[finding.Low], len(res.Failing), res.Decision)
	return w.Flush()
}

// report is what the summary and the annotations are rendered from.
type report struct {
	res     *scanner.Result
	files   *scanner.Files
	repo    string
	changes scanner.Changes // the pull request's changed lines (nil: annotate any line)
	// onRunner is false off a runner, where the table printed to the log is the
	// report.
	onRunner bool
}

// Summary renders the step summary (none off a runner).
func (o Outputs) Summary() string {
	if !o.report.onRunner {
		return ""
	}
	return Summary(o.report.res, o.report.files)
}

// Annotations are the failing findings on the pull request's changed lines and
// warnings about outages and expired exceptions (none off a runner).
func (o Outputs) Annotations() []gha.Annotation {
	if !o.report.onRunner {
		return nil
	}
	return annotations(o.report.res, o.report.changes, o.report.repo)
}

// changedLines are the lines the pull request range changes, or nil when there
// is no range or git cannot tell (then any line is annotated).
func changedLines(ctx context.Context, res *scanner.Result, rng *secrets.Range) scanner.Changes {
	if rng == nil || !shaRE(rng.Base) || !shaRE(rng.Head) {
		return nil
	}
	ch, err := scanner.ChangedLines(ctx, res.Root, rng.Base, rng.Head)
	if err != nil {
		return nil
	}
	return ch
}

// annotations puts the failing findings on the changed lines (all failing
// findings, up to MaxAnnotations, when changes is nil), and warns about outages
// and expired exceptions.
func annotations(res *scanner.Result, changes scanner.Changes, repo string) []gha.Annotation {
	var out []gha.Annotation
	for _, o := range res.Outages {
		out = append(out, gha.Annotation{Level: gha.LevelError, Title: o.Scanner + " did not run",
			Message: fmt.Sprintf("%s; on-scanner-outage: %s. There are no %s results in this scan; the outage is recorded in the code-scan predicate.", o.Reason, o.Policy, o.Scanner)})
	}
	if res.NotScannedCount > 0 {
		var names []string
		for i, n := range res.NotScanned {
			if i == 5 {
				names = append(names, "…")
				break
			}
			names = append(names, n.Path+" ("+n.Reason+")")
		}
		out = append(out, gha.Annotation{Level: gha.LevelNotice, Title: fmt.Sprintf("%d file(s) not scanned", res.NotScannedCount),
			Message: "Not read, so not \"0 findings\": " + strings.Join(names, "; ") + ". The step summary and the code-scan predicate list them."})
	}
	for _, e := range res.Expired {
		out = append(out, gha.Annotation{Level: gha.LevelWarning, Title: "Expired exception",
			Message: fmt.Sprintf("%s expired on %s and waives nothing; renew or remove it.", e.Name(), e.Expires.Format("2006-01-02"))})
	}
	prefix := ""
	if rel, err := filepath.Rel(repo, res.Root); err == nil && rel != "." {
		prefix = filepath.ToSlash(rel)
	}
	n := 0
	for _, f := range res.Failing {
		if n == MaxAnnotations {
			break
		}
		if f.Path == "" || (changes != nil && !changes.Touches(f)) {
			continue
		}
		n++
		out = append(out, gha.Annotation{Level: gha.LevelError, Title: fmt.Sprintf("%s %s: %s", f.Severity, f.Scanner, f.RuleID),
			File: path.Join(prefix, f.Path), Line: f.StartLine, EndLine: f.EndLine, Message: f.Message})
	}
	return out
}

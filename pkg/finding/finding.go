// Package finding is the one shape every scanner's results take — secrets, dependency
// vulnerabilities, licenses, IaC policies, ingested SARIF — so that exceptions,
// verdicts, counts, SARIF and summaries are written once for all of them.
package finding

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Severity is a finding's severity, ordered Info < Low < Medium < High < Critical.
type Severity string

// The severities. Unknown sorts with Info: it never fails a cutoff by itself.
const (
	Unknown  Severity = "unknown"
	Info     Severity = "info"
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// NoCutoff is the severity cutoff "none": no finding is at or above it (it ranks
// above Critical), so a gate with it records every finding and fails on none —
// for a step whose findings a later gate decides on (sbom before
// verify-and-deploy, where signed exceptions apply).
const NoCutoff Severity = "none"

// Severities lists the severities from most to least severe, as reports order them.
var Severities = []Severity{Critical, High, Medium, Low, Info, Unknown}

// Rank orders severities: Critical 4, High 3, Medium 2, Low 1, Info and Unknown 0
// (and the cutoff NoCutoff 5).
func (s Severity) Rank() int {
	switch s {
	case NoCutoff:
		return 5
	case Critical:
		return 4
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

// AtLeast reports whether s is at or above cutoff.
func (s Severity) AtLeast(cutoff Severity) bool { return s.Rank() >= cutoff.Rank() && s.Rank() > 0 }

// ParseSeverity parses a severity name, case-insensitively. "negligible" (grype's
// word) is Info; "moderate" (GHSA's) is Medium; "error"/"warning"/"note" are not
// severities and are refused.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical":
		return Critical, nil
	case "high":
		return High, nil
	case "medium", "moderate":
		return Medium, nil
	case "low":
		return Low, nil
	case "info", "informational", "negligible", "none":
		return Info, nil
	case "unknown", "":
		return Unknown, nil
	}
	return "", fmt.Errorf("severity %q is not one of critical, high, medium, low", s)
}

// ParseCutoff parses a gate's severity-cutoff input: critical, high, medium or
// low (findings at or above it fail the gate), or none (NoCutoff: nothing fails;
// findings are still recorded). Empty means high.
func ParseCutoff(s string) (Severity, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "":
		return High, nil
	case "none":
		return NoCutoff, nil
	case "critical", "high", "medium", "low":
		return Severity(v), nil
	}
	return "", fmt.Errorf("severity-cutoff %q: expected critical, high, medium, low or none", s)
}

// The security-severity thresholds GitHub code scanning buckets scores with
// ("SARIF support for code scanning", reportingDescriptor object): 9.0 and
// over is critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low; 0.0 or
// a value outside (0, 10] has no security severity.
const (
	criticalScore = 9.0
	highScore     = 7.0
	mediumScore   = 4.0
	// MaxScore is the highest security-severity score: scores are in (0, 10].
	MaxScore = 10.0
)

// FromScore maps a CVSS-style score to a severity the way GitHub buckets
// security-severity: ≥9 critical, ≥7 high, ≥4 medium, >0 low. A score with no
// security severity (0, negative, NaN, over 10) is Info.
func FromScore(score float64) Severity {
	switch {
	case math.IsNaN(score) || score <= 0 || score > MaxScore:
		return Info
	case score >= criticalScore:
		return Critical
	case score >= highScore:
		return High
	case score >= mediumScore:
		return Medium
	}
	return Low
}

// The SARIF result levels SARIFLevel returns and FromSARIFLevel reads.
const (
	SARIFError   = "error"
	SARIFWarning = "warning"
	SARIFNote    = "note"
	SARIFNone    = "none"
)

// SARIFLevel is the SARIF result level of a finding of severity s, the one
// mapping every SARIF writer of the suite uses: critical and high are
// "error", medium "warning", anything else (low, info, unknown) "note".
func (s Severity) SARIFLevel() string {
	switch s {
	case Critical, High:
		return SARIFError
	case Medium:
		return SARIFWarning
	}
	return SARIFNote
}

// FromSARIFLevel is the severity of a SARIF result that carries no
// security-severity score, from its level: "error" is High, "note" Low,
// "none" Info, and anything else Medium ("warning" is SARIF's default level,
// so an absent or unknown level counts as one). Levels are matched exactly,
// as SARIF spells them.
func FromSARIFLevel(level string) Severity {
	switch level {
	case SARIFError:
		return High
	case SARIFNote:
		return Low
	case SARIFNone:
		return Info
	}
	return Medium
}

// Score is the representative security-severity of a severity, for a SARIF
// rule whose findings have a severity but no score of their own (no CVSS
// vector): the middle of GitHub's bucket, so FromScore(s.Score()) is s.
// Info and Unknown score 0 (no security severity).
func (s Severity) Score() float64 {
	switch s {
	case Critical:
		return 9.5
	case High:
		return 8.0
	case Medium:
		return 5.5
	case Low:
		return 2.0
	}
	return 0
}

// The Waiver.Kind values: where a waiver came from.
const (
	// WaiverExceptionsFile is an entry of the repository's exceptions file
	// (pkg/exceptions): a claim made in the scanned tree.
	WaiverExceptionsFile = "exceptions-file"
	// WaiverVEX is a statement of an OpenVEX document given to the scan (its
	// vex input): a claim made in the scanned tree.
	WaiverVEX = "vex"
)

// Waiver records why a finding does not count in the gate that applied it: the
// exception or VEX statement that waived it. A waiver recorded at scan time is a
// claim made by the repository; the deploy gate honours only signed exceptions.
type Waiver struct {
	// Kind is WaiverExceptionsFile or WaiverVEX ("" in results written before
	// it existed).
	Kind string `json:"kind,omitempty"`
	// ID is the exception entry's id (CVE, GHSA, rule id or fingerprint), or
	// the vulnerability a VEX statement names.
	ID       string `json:"id"`
	Scope    string `json:"scope,omitempty"`
	Reason   string `json:"reason"`
	Ticket   string `json:"ticket,omitempty"`
	Approver string `json:"approver,omitempty"`
	// Expires is when the waiver ends; zero for a VEX statement, which has no
	// expiry.
	Expires time.Time `json:"expires,omitzero"`
	// Source names where the exception came from (a file path, an attestation).
	Source string `json:"source,omitempty"`
}

// Until describes the waiver's end for reports: "until 2027-01-31", or "no
// expiry" when it has none (a VEX statement).
func (w Waiver) Until() string {
	if w.Expires.IsZero() {
		return "no expiry"
	}
	return "until " + w.Expires.UTC().Format("2006-01-02")
}

// Finding is one result of one scanner.
type Finding struct {
	// Scanner is the scanner that produced it: secrets, deps, license, iac, or the
	// tool name of ingested SARIF.
	Scanner string `json:"scanner"`
	// RuleID is the rule id, CVE/GHSA id, or license id.
	RuleID string `json:"ruleId"`
	// Aliases are other ids of the same issue (a CVE for a GHSA, ...).
	Aliases  []string `json:"aliases,omitempty"`
	Title    string   `json:"title"`
	Message  string   `json:"message"`
	Severity Severity `json:"severity"`
	// Path is relative to the scan root, slash-separated; empty for findings
	// without a location (an image layer's package may carry its in-image path).
	Path      string `json:"path,omitempty"`
	StartLine int    `json:"startLine,omitempty"`
	EndLine   int    `json:"endLine,omitempty"`
	// PURL identifies the package for dependency and license findings.
	PURL string `json:"purl,omitempty"`
	// Package and Version name the package for dependency findings.
	Package string `json:"package,omitempty"`
	Version string `json:"version,omitempty"`
	// FixedIn lists the fixed versions; empty when no fix exists.
	FixedIn []string `json:"fixedIn,omitempty"`
	// Fingerprint identifies the finding across runs (exceptions may name it).
	Fingerprint string `json:"fingerprint"`
	Help        string `json:"help,omitempty"`
	HelpURI     string `json:"helpUri,omitempty"`
	// Waived is set when an unexpired exception waives the finding.
	Waived *Waiver `json:"waived,omitempty"`
}

// Fixable reports whether a fix is known.
func (f Finding) Fixable() bool { return len(f.FixedIn) > 0 }

// IDs returns the rule id and its aliases.
func (f Finding) IDs() []string { return append([]string{f.RuleID}, f.Aliases...) }

// Counts are findings by severity.
type Counts map[Severity]int

// Count counts the findings that are not waived, by severity.
func Count(fs []Finding) Counts {
	c := Counts{}
	for _, f := range fs {
		if f.Waived == nil {
			c[f.Severity]++
		}
	}
	return c
}

// Gate selects the findings that fail a gate: not waived, at or above cutoff, and,
// when onlyFixed, with a fix available (for findings that have versions at all —
// dependency findings; other scanners' findings always count).
func Gate(fs []Finding, cutoff Severity, onlyFixed bool) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Waived != nil || !f.Severity.AtLeast(cutoff) {
			continue
		}
		if onlyFixed && f.Package != "" && !f.Fixable() {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Sort orders findings most severe first, then by scanner, path, line and rule.
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if d := b.Severity.Rank() - a.Severity.Rank(); d != 0 {
			return d
		}
		for _, c := range [][2]string{{a.Scanner, b.Scanner}, {a.Path, b.Path}} {
			if d := strings.Compare(c[0], c[1]); d != 0 {
				return d
			}
		}
		if d := a.StartLine - b.StartLine; d != 0 {
			return d
		}
		return strings.Compare(a.RuleID, b.RuleID)
	})
}

// Rule describes one rule a scanner reports findings under, for SARIF rule
// metadata and the rule tables of the docs: the one rule type of the secrets,
// IaC and license scanners.
type Rule struct {
	// ID is the rule id findings carry as RuleID.
	ID string
	// Severity is the rule's default severity ("" when the rule's findings
	// take their severity from elsewhere).
	Severity Severity
	// Title is a short name of the rule.
	Title string
	// Description says what the rule checks.
	Description string
	// Remediation says how to fix or waive a finding of the rule.
	Remediation string
}

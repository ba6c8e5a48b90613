package finding_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/finding"
)

// TestParseSeverity is the one severity parser's table. pkg/sarif had a
// second parser (used by nothing but its tests) that read "none" and
// "informational" as its own no-severity value and refused "", "negligible"
// and "unknown"; the suite now has one Severity and this parser: "none" and
// "informational" are Info, "" and "unknown" are Unknown (which never fails a
// cutoff), "negligible" (grype's word) is Info.
func TestParseSeverity(t *testing.T) {
	t.Parallel()
	tests := map[string]finding.Severity{"CRITICAL": finding.Critical, "high": finding.High, "Moderate": finding.Medium,
		"low": finding.Low, "negligible": finding.Info, "": finding.Unknown,
		// from pkg/sarif's parser's table
		"critical": finding.Critical, "HIGH": finding.High, " Medium ": finding.Medium, "moderate": finding.Medium,
		"none": finding.Info, "informational": finding.Info, "info": finding.Info, "unknown": finding.Unknown}
	for in, want := range tests {
		if got, err := finding.ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"severe", "error", "warning", "note", "crit"} {
		if _, err := finding.ParseSeverity(in); err == nil {
			t.Errorf("ParseSeverity(%q) accepted", in)
		}
	}
}

// TestFromScore is GitHub's security-severity bucketing, with the SARIF level
// each bucket gets (pkg/sarif's table, where the buckets used to live).
// Changed: a score over 10 was Critical here (pkg/sarif said no severity);
// it is now Info, as GitHub reads it. The only caller, SARIF ingestion, read
// such scores as absent before and still does.
func TestFromScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		score float64
		sev   finding.Severity
		level string
	}{
		{10, finding.Critical, "error"},
		{9.0, finding.Critical, "error"},
		{8.9, finding.High, "error"},
		{7.0, finding.High, "error"},
		{6.99, finding.Medium, "warning"},
		{4.0, finding.Medium, "warning"},
		{3.9, finding.Low, "note"},
		{0.1, finding.Low, "note"},
		{0, finding.Info, "note"},
		{-1, finding.Info, "note"},
		{10.5, finding.Info, "note"},
		{math.NaN(), finding.Info, "note"},
		{math.Inf(1), finding.Info, "note"},
	}
	for _, tt := range tests {
		got := finding.FromScore(tt.score)
		if got != tt.sev {
			t.Errorf("FromScore(%v) = %q, want %q", tt.score, got, tt.sev)
		}
		if l := got.SARIFLevel(); l != tt.level {
			t.Errorf("FromScore(%v).SARIFLevel() = %q, want %q", tt.score, l, tt.level)
		}
	}
	// A severity's representative score lands in its own bucket.
	for _, s := range []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low, finding.Info} {
		if got := finding.FromScore(s.Score()); got != s {
			t.Errorf("FromScore(%q.Score()=%v) = %q", s, s.Score(), got)
		}
	}
}

// TestSARIFLevel is the one severity-to-level mapping, which pkg/scan and
// pkg/vulndb each had a copy of (they agreed).
func TestSARIFLevel(t *testing.T) {
	t.Parallel()
	want := map[finding.Severity]string{finding.Critical: "error", finding.High: "error", finding.Medium: "warning",
		finding.Low: "note", finding.Info: "note", finding.Unknown: "note", "": "note", "bogus": "note"}
	for s, w := range want {
		if got := s.SARIFLevel(); got != w {
			t.Errorf("%q.SARIFLevel() = %q, want %q", s, got, w)
		}
	}
}

// TestFromSARIFLevel is how an ingested SARIF result without a score gets a
// severity: warning is SARIF's default level, so absent or unknown levels are
// Medium; levels are exact (SARIF's enum is lower case).
func TestFromSARIFLevel(t *testing.T) {
	t.Parallel()
	want := map[string]finding.Severity{"error": finding.High, "warning": finding.Medium, "note": finding.Low,
		"none": finding.Info, "": finding.Medium, "fatal": finding.Medium, "ERROR": finding.Medium}
	for l, w := range want {
		if got := finding.FromSARIFLevel(l); got != w {
			t.Errorf("FromSARIFLevel(%q) = %q, want %q", l, got, w)
		}
	}
}

func TestGate(t *testing.T) {
	w := &finding.Waiver{ID: "CVE-1", Reason: "r", Expires: time.Now().Add(time.Hour)}
	fs := []finding.Finding{
		{RuleID: "CVE-crit-fixed", Severity: finding.Critical, Package: "a", FixedIn: []string{"2"}},
		{RuleID: "CVE-crit-nofix", Severity: finding.Critical, Package: "b"},
		{RuleID: "CVE-high-fixed", Severity: finding.High, Package: "c", FixedIn: []string{"2"}},
		{RuleID: "CVE-med", Severity: finding.Medium, Package: "d", FixedIn: []string{"2"}},
		{RuleID: "CVE-waived", Severity: finding.Critical, Package: "e", FixedIn: []string{"2"}, Waived: w},
		{RuleID: "aws-access-key", Severity: finding.High, Scanner: "secrets"},
		{RuleID: "unknown-sev", Severity: finding.Unknown, Package: "f", FixedIn: []string{"1"}},
	}
	ids := func(fs []finding.Finding) string {
		s := ""
		for _, f := range fs {
			s += f.RuleID + " "
		}
		return s
	}
	tests := []struct {
		cutoff    finding.Severity
		onlyFixed bool
		want      string
	}{
		{finding.Critical, true, "CVE-crit-fixed "},
		{finding.Critical, false, "CVE-crit-fixed CVE-crit-nofix "},
		{finding.High, true, "CVE-crit-fixed CVE-high-fixed aws-access-key "},
		{finding.Low, false, "CVE-crit-fixed CVE-crit-nofix CVE-high-fixed CVE-med aws-access-key "},
	}
	for _, tt := range tests {
		if got := ids(finding.Gate(fs, tt.cutoff, tt.onlyFixed)); got != tt.want {
			t.Errorf("Gate(%s, onlyFixed=%v) = %q, want %q", tt.cutoff, tt.onlyFixed, got, tt.want)
		}
	}
	c := finding.Count(fs)
	if c[finding.Critical] != 2 || c[finding.High] != 2 || c[finding.Unknown] != 1 {
		t.Errorf("Count = %v", c)
	}
}

func ExampleGate() {
	fs := []finding.Finding{
		{RuleID: "CVE-2021-44228", Severity: finding.Critical, Package: "log4j-core", FixedIn: []string{"2.15.0"}},
		{RuleID: "CVE-2099-0001", Severity: finding.Critical, Package: "nofix"},
	}
	for _, f := range finding.Gate(fs, finding.High, true) {
		fmt.Println(f.RuleID)
	}
	// Output: CVE-2021-44228
}

func TestParseCutoff(t *testing.T) {
	fs := []finding.Finding{{RuleID: "CVE-1", Severity: finding.Critical}, {RuleID: "CVE-2", Severity: finding.Low}}
	for _, tc := range []struct {
		in      string
		want    finding.Severity
		failing int
	}{
		{"", finding.High, 1}, {"critical", finding.Critical, 1}, {"HIGH", finding.High, 1}, {"low", finding.Low, 2}, {"none", finding.NoCutoff, 0},
	} {
		got, err := finding.ParseCutoff(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("finding.ParseCutoff(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			continue
		}
		if n := len(finding.Gate(fs, got, false)); n != tc.failing {
			t.Errorf("cutoff %q: %d failing, want %d", tc.in, n, tc.failing)
		}
	}
	for _, bad := range []string{"info", "unknown", "moderate", "error", "fatal"} {
		if _, err := finding.ParseCutoff(bad); err == nil || !strings.Contains(err.Error(), "expected critical, high, medium, low or none") {
			t.Errorf("finding.ParseCutoff(%q): err = %v", bad, err)
		}
	}
}

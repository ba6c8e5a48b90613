package finding_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/finding"
)

func TestParseSeverity(t *testing.T) {
	tests := map[string]finding.Severity{"CRITICAL": finding.Critical, "high": finding.High, "Moderate": finding.Medium,
		"low": finding.Low, "negligible": finding.Info, "": finding.Unknown}
	for in, want := range tests {
		if got, err := finding.ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := finding.ParseSeverity("severe"); err == nil {
		t.Error("unknown severity accepted")
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

func TestFromScore(t *testing.T) {
	for score, want := range map[float64]finding.Severity{10: finding.Critical, 9: finding.Critical, 8.9: finding.High, 7: finding.High, 4: finding.Medium, 0.1: finding.Low, 0: finding.Info} {
		if got := finding.FromScore(score); got != want {
			t.Errorf("FromScore(%v) = %v, want %v", score, got, want)
		}
		if want.Rank() > 0 && finding.FromScore(want.Score()) != want {
			t.Errorf("Score of %v does not map back", want)
		}
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

package exceptions

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/finding/findingtest"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "exceptions.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // substring of the error
	}{
		{"missing expires names the entry", "exceptions:\n  - id: CVE-1\n    reason: r\n  - id: GHSA-xxxx\n    reason: r\n", `entry 1 (id "CVE-1"): expires is required`},
		{"second entry missing expires", "exceptions:\n  - id: CVE-1\n    expires: 2027-01-01\n  - id: GHSA-abcd\n", `entry 2 (id "GHSA-abcd"): expires is required`},
		{"empty expires", "exceptions:\n  - id: CVE-1\n    expires: \"\"\n", "expires is required"},
		{"bad date", "exceptions:\n  - id: CVE-1\n    expires: next tuesday\n", `expires "next tuesday"`},
		{"list expires", "exceptions:\n  - id: CVE-1\n    expires: [2027-01-01]\n", "expires must be a date"},
		{"missing id", "exceptions:\n  - expires: 2027-01-01\n", "entry 1: id is required"},
		{"unknown field", "exceptions:\n  - id: CVE-1\n    expires: 2027-01-01\n    approved: yes\n", "approved"},
		{"not a mapping", "- id: CVE-1\n", "expected a YAML mapping"},
		{"two documents", "exceptions: []\n---\nexceptions: []\n", "one YAML document"},
		{"bad glob", "exceptions:\n  - id: R\n    scope: \"src/[\"\n    expires: 2027-01-01\n", "neither a purl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.content)
			_, err := Load(p, now, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if errkind.Of(err) != errkind.KindInput {
				t.Errorf("kind %v, want input", errkind.Of(err))
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name %q and the file", err, tt.want)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.yaml")
	s, err := Load(p, now, Options{MissingOK: true})
	if err != nil || len(s.Entries) != 0 {
		t.Fatalf("default missing file: %v, %v", s, err)
	}
	_, err = Load(p, now, Options{})
	if errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("named missing file: %v", err)
	}
	big := write(t, "exceptions: []\n"+strings.Repeat("# pad\n", 100))
	if _, err := Load(big, now, Options{MaxBytes: 64}); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized file: %v", err)
	}
}

func TestApply(t *testing.T) {
	content := `exceptions:
  - id: CVE-2022-32149
    scope: pkg:golang/golang.org/x/text
    reason: parser only sees trusted input
    ticket: SEC-1
    expires: 2027-01-31
  - id: cve-2021-23337          # case-insensitive id, expired
    reason: old
    ticket: SEC-2
    expires: 2026-11-22T11:59:59Z
  - id: aws-access-token
    scope: "config/**"
    reason: rotated test key
    ticket: SEC-3
    expires: 2026-12-01
  - id: fp-123
    reason: by fingerprint
    ticket: SEC-4
    expires: 2026-11-23
  - id: GHSA-never-matches
    reason: unused
    expires: 2027-01-15
`
	s, err := Load(write(t, content), now, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := []finding.Finding{
		{Scanner: "deps", RuleID: "GHSA-69ch-w2m2-3vjp", Aliases: []string{"CVE-2022-32149"}, PURL: "pkg:golang/golang.org/x/text@v0.3.7", Severity: finding.High},
		{Scanner: "deps", RuleID: "CVE-2022-32149", PURL: "pkg:golang/golang.org/x/net@v0.1.0", Severity: finding.High},
		{Scanner: "deps", RuleID: "CVE-2021-23337", PURL: "pkg:npm/lodash@4.17.20", Severity: finding.High},
		{Scanner: "secrets", RuleID: "aws-access-token", Path: "config/prod/app.env", Severity: finding.Critical},
		{Scanner: "secrets", RuleID: "aws-access-token", Path: "src/app.env", Severity: finding.Critical},
		{Scanner: "iac", RuleID: "K8S-001", Path: "k8s/deploy.yaml", Fingerprint: "fp-123", Severity: finding.High},
	}
	applied, expired := s.Apply(fs)
	wantWaived := []string{"CVE-2022-32149", "", "", "aws-access-token", "", "fp-123"}
	for i, w := range wantWaived {
		got := ""
		if fs[i].Waived != nil {
			got = fs[i].Waived.ID
		}
		if got != w {
			t.Errorf("finding %d (%s %s): waived by %q, want %q", i, fs[i].RuleID, fs[i].Path, got, w)
		}
	}
	if fs[0].Waived.Reason != "parser only sees trusted input" || fs[0].Waived.Ticket != "SEC-1" || !fs[0].Waived.Expires.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("waiver = %+v", fs[0].Waived)
	}
	if len(applied) != 3 || applied[0].Entry.ID != "CVE-2022-32149" || applied[0].Findings != 1 {
		t.Errorf("applied = %+v", applied)
	}
	if len(expired) != 1 || expired[0].Index != 2 {
		t.Errorf("expired = %+v", expired)
	}
	if c := finding.Count(fs); c[finding.High] != 2 || c[finding.Critical] != 1 {
		t.Errorf("counts after waivers = %v", c)
	}
}

// TestScopeUsesTheOnePurlRule: an entry's purl scope means what it means at
// deploy (finding.PURLMatches): extra qualifiers on the finding do not hide it
// from the scope (issue 13).
func TestScopeUsesTheOnePurlRule(t *testing.T) {
	s, err := Parse([]byte("exceptions:\n  - id: CVE-2023-5678\n    scope: pkg:deb/debian/openssl@3.0.11\n    expires: 2027-01-01\n"), now)
	if err != nil {
		t.Fatal(err)
	}
	for purl, want := range map[string]bool{
		"pkg:deb/debian/openssl@3.0.11?arch=amd64&distro=debian-12": true,
		"pkg:deb/debian/openssl@3.0.11":                             true,
		"pkg:deb/debian/openssl@3.0.12?arch=amd64":                  false,
	} {
		if got := s.Entries[0].Matches(finding.Finding{RuleID: "CVE-2023-5678", PURL: purl}); got != want {
			t.Errorf("scope covers %s = %v, want %v", purl, got, want)
		}
	}
	if _, err := Parse([]byte("exceptions:\n  - id: CVE-1\n    scope: \"pkg:\"\n    expires: 2027-01-01\n"), now); err == nil ||
		!strings.Contains(err.Error(), "not a valid package URL") {
		t.Errorf("invalid purl scope: err = %v", err)
	}
}

// TestLifetimeBound: an entry may expire at most the lifetime bound after the
// evaluation time (issue 13: 9999-12-31 was accepted).
func TestLifetimeBound(t *testing.T) {
	entry := func(expires string) []byte {
		return []byte("exceptions:\n  - id: CVE-1\n    reason: r\n    expires: " + expires + "\n")
	}
	tests := []struct {
		name    string
		expires string
		max     time.Duration
		want    string // substring of the error; "" accepts
	}{
		{"9999-12-31 is refused", "9999-12-31", 0, `entry 1 (id "CVE-1"): expires 9999-12-31 is more than 90 days after 2026-11-22: a waiver is bounded; set expires on or before 2027-02-20`},
		{"ten years", "2036-11-22", 0, "more than 90 days"},
		{"91 days", "2027-02-21T12:00:01Z", 0, "more than 90 days"},
		{"exactly 90 days", "2027-02-20T12:00:00Z", 0, ""},
		{"a date within 90 days", "2027-02-20", 0, ""},
		{"expired long ago is no lifetime problem", "2001-01-01", 0, ""},
		{"a longer bound allows longer", "2027-11-01", 365 * 24 * time.Hour, ""},
		{"the longer bound is still a bound", "2027-11-23", 365 * 24 * time.Hour, "more than 365 days"},
		{"a bound over a year is refused", "2027-01-01", 366 * 24 * time.Hour, "not between 0 and"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(write(t, string(entry(tt.expires))), now, Options{MaxLifetime: tt.max})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
			if errkind.Of(err) != errkind.KindInput {
				t.Errorf("kind %v, want input", errkind.Of(err))
			}
		})
	}
}

func TestEmptyAndNil(t *testing.T) {
	s, err := Parse([]byte("  \n"), now)
	if err != nil || len(s.Entries) != 0 {
		t.Fatal(s, err)
	}
	var nilSet *Set
	fs := []finding.Finding{{RuleID: "x"}}
	if a, e := nilSet.Apply(fs); a != nil || e != nil || fs[0].Waived != nil {
		t.Fatal("nil set waived something")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("exceptions:\n  - id: CVE-1\n    scope: pkg:npm/x\n    expires: 2027-01-01\n"))
	f.Add([]byte("exceptions:\n  - id: R\n    scope: 'a/**'\n    expires: 2027-01-01T00:00:00Z\n"))
	f.Add([]byte("exceptions: [{id: x}]"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, now)
		if err != nil {
			return
		}
		for _, e := range s.Entries {
			if e.ID == "" || e.Expires.IsZero() {
				t.Fatalf("accepted entry without id or expiry: %+v", e)
			}
		}
		s.Apply([]finding.Finding{{RuleID: "CVE-1", Path: "a/b", PURL: "pkg:npm/x@1"}})
	})
}

// TestPURLScopeTable runs pkg/finding's shared table of the package-URL scope
// rule through the exceptions file: an entry scoped to the table's scope,
// loaded by Parse, covers a finding with the table's purl exactly when the
// table says so (a scope Parse refuses covers nothing). An empty scope is
// no scope (the entry covers by id alone), so those rows are left out.
func TestPURLScopeTable(t *testing.T) {
	t.Parallel()
	for _, tt := range findingtest.PURLScopeCases(t) {
		if tt.Scope == "" {
			continue
		}
		q, _ := json.Marshal(tt.Scope)
		s, err := Parse([]byte("exceptions:\n  - id: CVE-2099-0001\n    scope: "+string(q)+"\n    expires: 2027-01-01\n"), now)
		got := false
		if err == nil {
			got = s.Entries[0].Matches(finding.Finding{RuleID: "CVE-2099-0001", PURL: tt.PURL, Fingerprint: "fp"})
		}
		if got != tt.Covers {
			t.Errorf("%s: entry scoped %q covers %q = %v (load error %v), want %v", tt.Name, tt.Scope, tt.PURL, got, err, tt.Covers)
		}
	}
}

// TestLoadRefusesFIFO: an exceptions file that is a FIFO is an input error
// (opening it blocked the scan until something wrote to it).
func TestLoadRefusesFIFO(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "exceptions.yaml")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	_, err := Load(p, now, Options{})
	if err == nil || errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load of a FIFO: %v, want an input error saying it is not a regular file", err)
	}
}

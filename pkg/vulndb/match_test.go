package vulndb

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/anchore/syft/syft/source"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/sarif"
)

// wantFinding is what a user relies on in a dependency finding.
type wantFinding struct {
	ID, Alias, Package, Version, Fixed, Path string
	Severity                                 finding.Severity
}

// The four advisories of the test DB against the fixture: nothing more, nothing less.
var wantFindings = []wantFinding{
	{"GHSA-jfh8-c2jp-5v3q", "CVE-2021-44228", "log4j-core", "2.14.1", "2.15.0", "app/lib/log4j-core-2.14.1.jar", finding.Critical},
	{"GHSA-69ch-w2m2-3vjp", "CVE-2022-32149", "golang.org/x/text", "v0.3.7", "0.3.8", "app/go.mod", finding.High},
	{"GHSA-35jh-r3h4-6jhm", "CVE-2021-23337", "lodash", "4.17.20", "4.17.21", "app/package-lock.json", finding.High},
	{"CVE-2023-5678", "", "libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "app/var/lib/dpkg/status", finding.Medium},
}

func summarize(fs []finding.Finding) []wantFinding {
	var out []wantFinding
	for _, f := range fs {
		out = append(out, wantFinding{f.RuleID, strings.Join(f.Aliases, ","), f.Package, f.Version, strings.Join(f.FixedIn, ","), f.Path, f.Severity})
	}
	return out
}

// loadFixed loads a DB built at a fixed time, with a fixed clock, so outputs are
// reproducible.
var fixedBuilt = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)

func loadFixed(t *testing.T) *DB {
	t.Helper()
	return loadDB(t, Options{
		DBDir: testinfra.GrypeDBBuiltAt(t, fixedBuilt),
		Now:   func() time.Time { return fixedBuilt.Add(2 * time.Hour) },
	})
}

func TestMatchFixture(t *testing.T) {
	root, s := catalogFixture(t)
	for _, src := range []struct{ name, dbDir string }{
		{"db root", testinfra.GrypeDB(t)},
		{"archive", testinfra.GrypeDBArchive(t)},
	} {
		t.Run(src.name, func(t *testing.T) {
			db := loadDB(t, Options{DBDir: src.dbDir})
			r, err := db.Match(context.Background(), s, MatchOptions{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			if got := summarize(r.Findings); !reflect.DeepEqual(got, wantFindings) {
				t.Errorf("findings:\n got  %+v\n want %+v", got, wantFindings)
			}
			if len(r.Suppressed) != 0 {
				t.Errorf("suppressed without VEX: %+v", r.Suppressed)
			}
			for _, f := range r.Findings {
				if f.Scanner != "deps" || f.PURL == "" || f.Fingerprint == "" || !strings.HasPrefix(f.HelpURI, "https://") || f.Title == "" {
					t.Errorf("finding %s lacks scanner/purl/fingerprint/help: %+v", f.RuleID, f)
				}
			}
			if r.Packages < 5 || r.Started.IsZero() || r.Finished.Before(r.Started) {
				t.Errorf("report: %d packages, %v..%v", r.Packages, r.Started, r.Finished)
			}
			// only-fixed at high: the three fixable high/critical ones fail the gate.
			if got := len(finding.Gate(r.Findings, finding.High, true)); got != 3 {
				t.Errorf("Gate(high, only-fixed) = %d findings, want 3", got)
			}
		})
	}
}

func TestMatchLocationsAndScanner(t *testing.T) {
	root, s := catalogFixture(t)
	db := loadDB(t, Options{DBDir: testinfra.GrypeDB(t)})
	tests := []struct {
		name     string
		o        MatchOptions
		wantPath string
		scanner  string
	}{
		{"relative to the scanned directory", MatchOptions{}, "package-lock.json", "deps"},
		{"relative to the repository root", MatchOptions{Root: root}, "app/package-lock.json", "deps"},
		{"root not above the scan", MatchOptions{Root: filepath.Join(root, "elsewhere", "deep"), Scanner: "image"}, "package-lock.json", "image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := db.Match(context.Background(), s, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range r.Findings {
				if f.Package == "lodash" && (f.Path != tt.wantPath || f.Scanner != tt.scanner) {
					t.Errorf("lodash finding: path %q scanner %q, want %q %q", f.Path, f.Scanner, tt.wantPath, tt.scanner)
				}
			}
		})
	}
	// An image SBOM: paths are in-image paths, whatever the root.
	img := *s
	img.Source.Metadata = source.ImageMetadata{UserInput: "registry.example/app:v1", ManifestDigest: "sha256:" + strings.Repeat("ab", 32)}
	r, err := db.Match(context.Background(), &img, MatchOptions{Root: root, Scanner: "image"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Findings {
		if f.Package == "libssl3" && f.Path != "var/lib/dpkg/status" {
			t.Errorf("image finding path %q, want var/lib/dpkg/status", f.Path)
		}
	}
	// The fingerprint survives a re-scan and differs between findings.
	r1, _ := db.Match(context.Background(), s, MatchOptions{Root: root})
	r2, _ := db.Match(context.Background(), s, MatchOptions{Root: root})
	seen := map[string]bool{}
	for i := range r1.Findings {
		if r1.Findings[i].Fingerprint != r2.Findings[i].Fingerprint {
			t.Errorf("fingerprint of %s changed between identical scans", r1.Findings[i].RuleID)
		}
		if seen[r1.Findings[i].Fingerprint] {
			t.Errorf("two findings share fingerprint %s", r1.Findings[i].Fingerprint)
		}
		seen[r1.Findings[i].Fingerprint] = true
	}
}

func TestMatchErrors(t *testing.T) {
	_, s := catalogFixture(t)
	db := loadDB(t, Options{DBDir: testinfra.GrypeDB(t)})
	tmp := t.TempDir()
	notVEX := writeFile(t, filepath.Join(tmp, "notvex.json"), `{"hello":"world"}`)
	tests := []struct {
		name string
		s    bool
		vex  []string
		want errkind.Kind
	}{
		{"no SBOM", false, nil, errkind.KindInput},
		{"missing VEX document", true, []string{filepath.Join(tmp, "nope.json")}, errkind.KindInput},
		{"not a VEX document", true, []string{notVEX}, errkind.KindInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := s
			if !tt.s {
				sb = nil
			}
			_, err := db.Match(context.Background(), sb, MatchOptions{VEX: tt.vex})
			if errkind.Of(err) != tt.want {
				t.Errorf("Match = %v, want a %v error", err, tt.want)
			}
		})
	}
	db.Close()
	if _, err := db.Match(context.Background(), s, MatchOptions{}); errkind.Of(err) != errkind.KindInfra {
		t.Errorf("Match on a closed DB = %v, want an infrastructure error", err)
	}
}

func vexDoc(vulnID, product, status string) string {
	return `{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/app-1",
  "author": "Example Security",
  "timestamp": "2026-01-01T00:00:00Z",
  "version": 1,
  "statements": [{
    "vulnerability": {"name": "` + vulnID + `"},
    "products": [{"@id": "` + product + `"}],
    "status": "` + status + `",
    "justification": "vulnerable_code_not_in_execute_path"
  }]
}
`
}

func TestMatchVEX(t *testing.T) {
	root, s := catalogFixture(t)
	db := loadDB(t, Options{DBDir: testinfra.GrypeDB(t)})
	tmp := t.TempDir()
	tests := []struct {
		name           string
		doc            string
		wantSuppressed string // rule id, or "" for none
	}{
		{"not_affected by GHSA id", vexDoc("GHSA-35jh-r3h4-6jhm", "pkg:npm/lodash@4.17.20", "not_affected"), "GHSA-35jh-r3h4-6jhm"},
		{"fixed", vexDoc("GHSA-35jh-r3h4-6jhm", "pkg:npm/lodash@4.17.20", "fixed"), "GHSA-35jh-r3h4-6jhm"},
		{"affected suppresses nothing", vexDoc("GHSA-35jh-r3h4-6jhm", "pkg:npm/lodash@4.17.20", "affected"), ""},
		{"another product", vexDoc("GHSA-35jh-r3h4-6jhm", "pkg:npm/lodash@4.17.21", "not_affected"), ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, filepath.Join(tmp, "vex", string(rune('a'+i))+".openvex.json"), tt.doc)
			r, err := db.Match(context.Background(), s, MatchOptions{Root: root, VEX: []string{p}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSuppressed == "" {
				if len(r.Findings) != 4 || len(r.Suppressed) != 0 {
					t.Fatalf("got %d findings, %d suppressed; want 4 and 0", len(r.Findings), len(r.Suppressed))
				}
				return
			}
			if len(r.Findings) != 3 || len(r.Suppressed) != 1 {
				t.Fatalf("got %d findings, %d suppressed; want 3 and 1", len(r.Findings), len(r.Suppressed))
			}
			sup := r.Suppressed[0]
			if sup.RuleID != tt.wantSuppressed || sup.Waived == nil || !strings.Contains(sup.Waived.Reason, "VEX") {
				t.Errorf("suppressed = %+v, want %s waived by VEX", sup, tt.wantSuppressed)
			}
			for _, f := range r.Findings {
				if f.RuleID == tt.wantSuppressed {
					t.Errorf("%s is both suppressed and a finding", f.RuleID)
				}
			}
			// The suppressed match is a suppressed SARIF result, not a dropped one.
			run := r.SARIFRun("deps")
			var suppressed int
			for _, res := range run.Results {
				if res.Suppression != nil {
					suppressed++
				}
			}
			if len(run.Results) != 4 || suppressed != 1 {
				t.Errorf("SARIF: %d results, %d suppressed; want 4 and 1", len(run.Results), suppressed)
			}
		})
	}
}

func TestVulnPredicate(t *testing.T) {
	db := loadFixed(t)
	root, r := matchFixture(t, db, MatchOptions{})
	inv := attestation.VulnInvocation{URI: "https://github.com/acme/app/actions/runs/1", EventID: "1", BuilderID: "https://github.com/acme/app/.github/workflows/ci.yml"}
	p, err := r.VulnPredicate(db.Info(), inv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateVuln, b, attestation.Options{}); err != nil {
		t.Fatalf("the vuln predicate does not validate: %v", err)
	}
	if p.Scanner.URI != grypeURI || p.Scanner.Version != "v0.120.1" {
		t.Errorf("scanner = %s %s", p.Scanner.URI, p.Scanner.Version)
	}
	if !strings.HasSuffix(p.Scanner.DB.Version, "@2026-11-01T08:00:00Z") || !strings.HasPrefix(p.Scanner.DB.Version, "v6.") || p.Scanner.DB.URI != "grype-db:db-dir" {
		t.Errorf("db = %+v, want schema v6.x and the build time", p.Scanner.DB)
	}
	var doc struct {
		Matches []struct {
			Vulnerability struct{ ID string } `json:"vulnerability"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(p.Scanner.Result, &doc); err != nil || len(doc.Matches) != 4 {
		t.Errorf("result holds %d grype matches (err %v), want 4", len(doc.Matches), err)
	}
	// The predicate goes into a statement about an image digest.
	st, err := attestation.NewStatement([]attestation.Subject{{Name: "registry.example/app", Digest: map[string]string{"sha256": strings.Repeat("ab", 32)}}}, attestation.PredicateVuln, p)
	if err != nil || st.PredicateType != attestation.PredicateVuln {
		t.Fatalf("NewStatement: %v", err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden.Check(t, filepath.Join("testdata", "vuln-predicate.golden.json"), normalize(pretty.Bytes(), filepath.Join(root, "app")))
}

func TestVulnPredicateCompact(t *testing.T) {
	r := &Report{Findings: []finding.Finding{{Scanner: "deps", RuleID: "CVE-1", Severity: finding.High, Fingerprint: "x"}}, Packages: 1,
		Started: fixedBuilt, Finished: fixedBuilt.Add(time.Second)}
	// A document over the bound is replaced by the compact list.
	r.doc.Matches = nil
	big := strings.Repeat("x", MaxResultBytes)
	r.doc.Descriptor.Name = big
	p, err := r.VulnPredicate(Info{SchemaVersion: "v6.1.10", Built: fixedBuilt, Source: SourceCache}, attestation.VulnInvocation{})
	if err != nil {
		t.Fatal(err)
	}
	var c CompactResult
	if err := json.Unmarshal(p.Scanner.Result, &c); err != nil || c.Format != CompactFormat || len(c.Matches) != 1 {
		t.Fatalf("compact result = %s (err %v)", p.Scanner.Result, err)
	}
	if string(p.Invocation.Parameters) != "{}" {
		t.Errorf("parameters = %s, want {}", p.Invocation.Parameters)
	}
	if _, err := (&Report{}).VulnPredicate(Info{}, attestation.VulnInvocation{}); errkind.Of(err) != errkind.KindInfra {
		t.Errorf("a report without times: %v", err)
	}
}

func TestSARIFRun(t *testing.T) {
	db := loadFixed(t)
	root, r := matchFixture(t, db, MatchOptions{})
	// A caller-applied exception shows as a suppressed result with its justification.
	for i := range r.Findings {
		if r.Findings[i].Package == "libssl3" {
			r.Findings[i].Waived = &finding.Waiver{ID: "CVE-2023-5678", Reason: "not reachable", Ticket: "SEC-1", Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
		}
	}
	run := r.SARIFRun("deps")
	if len(run.Rules) != 4 || len(run.Results) != 4 {
		t.Fatalf("run has %d rules, %d results; want 4 and 4", len(run.Rules), len(run.Results))
	}
	for _, rule := range run.Rules {
		want := map[string]float64{"GHSA-jfh8-c2jp-5v3q": 10, "GHSA-69ch-w2m2-3vjp": 7.5, "GHSA-35jh-r3h4-6jhm": 7.2, "CVE-2023-5678": finding.Medium.Score()}[rule.ID]
		if rule.SecuritySeverity != want {
			t.Errorf("rule %s security-severity %v, want %v", rule.ID, rule.SecuritySeverity, want)
		}
		if !strings.Contains(rule.HelpMarkdown, "fixed in") {
			t.Errorf("rule %s help does not name the fix: %q", rule.ID, rule.HelpMarkdown)
		}
	}
	var buf bytes.Buffer
	if err := sarif.Write(&buf, []sarif.Run{run}, sarif.Options{Root: root}); err != nil {
		t.Fatalf("pkg/sarif rejects the run: %v", err)
	}
	if err := testinfra.ValidateSARIF21(t, buf.Bytes()); err != nil {
		t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v", err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"justification": "not reachable (SEC-1), until 2027-01-01"`)) {
		t.Errorf("the waived finding is not a suppressed result with its justification")
	}
	golden.Check(t, filepath.Join("testdata", "deps.sarif.golden.json"), buf.Bytes())
}

func TestSARIFMarkdownCell(t *testing.T) {
	if got := mdCell("a|b\nc`d"); got != `a\|b c'd` {
		t.Errorf("mdCell = %q", got)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(filepath.Dir(fixtureDir))
	}
	os.Exit(code)
}

func TestApplicableFixes(t *testing.T) {
	tests := []struct {
		typ, installed string
		fixes, want    []string
	}{
		{"java-archive", "2.14.1", []string{"2.15.0", "2.12.2", "2.3.1"}, []string{"2.15.0"}},
		{"java-archive", "2.0", []string{"2.15.0", "2.12.2", "2.3.1"}, []string{"2.3.1", "2.12.2", "2.15.0"}},
		{"deb", "3.0.11-1~deb12u2", []string{"3.0.13-1~deb12u1"}, []string{"3.0.13-1~deb12u1"}},
		{"unknown-type", "1", []string{"b", "a"}, []string{"b", "a"}},
	}
	for _, tt := range tests {
		if got := applicableFixes(syftType(tt.typ), tt.installed, tt.fixes); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("applicableFixes(%s %s, %v) = %v, want %v", tt.typ, tt.installed, tt.fixes, got, tt.want)
		}
	}
}

// TestVulnPredicateRecordsWaivers: the vuln predicate records every finding,
// also those the repository waived (issue 13: a VEX document in the tree
// moved log4shell out of the predicate, and verify-and-deploy admitted the
// image). A VEX-suppressed match stays in grype's ignoredMatches, an
// exceptions-file waiver's match stays in matches, and each carries
// secureGatesWaiver saying what waived it. The golden file is the predicate
// pkg/verify's regression test attests.
func TestVulnPredicateRecordsWaivers(t *testing.T) {
	db := loadFixed(t)
	vexDir := t.TempDir()
	p := writeFile(t, filepath.Join(vexDir, ".vex", "log4j.openvex.json"),
		vexDoc("GHSA-jfh8-c2jp-5v3q", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "not_affected"))
	root, r := matchFixture(t, db, MatchOptions{VEX: []string{p}})
	set, err := exceptions.Parse([]byte("exceptions:\n  - id: GHSA-35jh-r3h4-6jhm\n    scope: pkg:npm/lodash\n    reason: template() never sees user input\n    ticket: SEC-42\n    approver: alice\n    expires: 2026-12-31\n"), fixedBuilt)
	if err != nil {
		t.Fatal(err)
	}
	// As the scan gate does: the file is applied to a copy of every finding,
	// and the report records what it waived.
	all := append(append([]finding.Finding(nil), r.Findings...), r.Suppressed...)
	if applied, _ := set.Apply(all); len(applied) != 1 {
		t.Fatalf("applied = %+v", applied)
	}
	r.RecordWaivers(all)
	data, err := r.PredicateJSON(attestation.VulnInvocation{URI: "https://github.com/acme/app/actions/runs/1", EventID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	var pred struct {
		Scanner struct {
			Result struct {
				Matches, IgnoredMatches []struct {
					Vulnerability struct{ ID string } `json:"vulnerability"`
					Waiver        *finding.Waiver     `json:"secureGatesWaiver"`
				}
			} `json:"result"`
		} `json:"scanner"`
	}
	if err := json.Unmarshal(data, &pred); err != nil {
		t.Fatal(err)
	}
	res := pred.Scanner.Result
	waivers := map[string]*finding.Waiver{}
	for _, m := range res.Matches {
		waivers[m.Vulnerability.ID] = m.Waiver
	}
	if len(res.Matches) != 3 || waivers["GHSA-35jh-r3h4-6jhm"] == nil || waivers["GHSA-35jh-r3h4-6jhm"].Kind != finding.WaiverExceptionsFile ||
		waivers["GHSA-35jh-r3h4-6jhm"].Ticket != "SEC-42" || waivers["GHSA-69ch-w2m2-3vjp"] != nil {
		t.Errorf("matches: %d, waivers %+v; want 3 with lodash's waived by the exceptions file (SEC-42) and the others not", len(res.Matches), waivers)
	}
	if len(res.IgnoredMatches) != 1 || res.IgnoredMatches[0].Vulnerability.ID != "GHSA-jfh8-c2jp-5v3q" || res.IgnoredMatches[0].Waiver == nil ||
		res.IgnoredMatches[0].Waiver.Kind != finding.WaiverVEX || !strings.Contains(res.IgnoredMatches[0].Waiver.Source, "log4j.openvex.json") {
		t.Errorf("ignoredMatches = %+v, want log4j's, waived by the VEX document", res.IgnoredMatches)
	}
	if bytes.Contains(data, []byte("0001-01-01")) {
		t.Error("the predicate holds the zero time")
	}
	golden.Check(t, filepath.Join("testdata", "vuln-predicate-waived.golden.json"), normalize(normalize(data, filepath.Join(root, "app")), vexDir))
}

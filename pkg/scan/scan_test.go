package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
	"github.com/secure-gates/secure-gates/pkg/scan/secrets"
)

var fixedNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return fixedNow }

// goldenLines compares got, one line each, with testdata/<name>.
func goldenLines(t *testing.T, name string, got []string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(strings.Join(got, "\n")+"\n"))
}

func lines(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		s := fmt.Sprintf("%s %s %s %s:%d", f.Severity, f.Scanner, f.RuleID, f.Path, f.StartLine)
		if f.Waived != nil {
			s += " waived-by=" + f.Waived.ID
		}
		out = append(out, s)
	}
	return out
}

func TestRunFixtureFindings(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	res, err := Run(context.Background(), Options{
		Root:     fx.Dir,
		Scanners: []string{Secrets, License, IaC},
		Secrets:  secrets.Options{Range: &secrets.Range{Base: fx.Base, Head: fx.Head}},
		License:  license.Options{Deny: []string{"GPL-3.0-only", "GPL-3.0-or-later"}, Unknown: license.UnknownWarn},
		Now:      clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	goldenLines(t, "fixture-findings.golden", lines(res.Findings))
	if res.Decision != attestation.DecisionFail || res.Secrets() != 3 {
		t.Errorf("decision %s, secrets %d", res.Decision, res.Secrets())
	}
	if !res.Ran(Secrets) || !res.Ran(IaC) || !res.Ran(License) || res.Ran(Deps) {
		t.Errorf("scanners = %+v", res.Scanners)
	}
	if res.Packages == 0 {
		t.Error("no packages catalogued")
	}
	// The output files never hold a secret value.
	dir := t.TempDir()
	if _, err := res.WriteFiles(dir, WriteOptions{Category: "secure-gates"}); err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, fx, dir)
}

func assertNoSecrets(t *testing.T, fx *testinfra.ScanFixture, dir string) {
	t.Helper()
	for name, data := range testinfra.ReadTree(t, dir) {
		for _, s := range fx.Secrets() {
			if strings.Contains(data, s) || strings.Contains(data, s[4:]) {
				t.Errorf("%s holds a planted secret", filepath.Join(dir, name))
			}
		}
	}
}

func TestVerdictCutoffs(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	tests := []struct {
		name     string
		scanners []string
		cutoff   finding.Severity
		want     attestation.Decision
		failing  int
	}{
		{"iac criticals fail a critical cutoff", []string{IaC}, finding.Critical, attestation.DecisionFail, 3},
		{"iac at high", []string{IaC}, finding.High, attestation.DecisionFail, 8},
		{"iac at medium", []string{IaC}, finding.Medium, attestation.DecisionFail, 11},
		{"unknown licenses are low warnings: pass at medium", []string{License}, finding.Medium, attestation.DecisionPass, 0},
		{"unknown licenses fail a low cutoff", []string{License}, finding.Low, attestation.DecisionFail, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Root: fx.Dir, Scanners: tt.scanners, SeverityCutoff: tt.cutoff, Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != tt.want || len(res.Failing) != tt.failing {
				t.Errorf("decision %s with %d failing, want %s with %d\n%s", res.Decision, len(res.Failing), tt.want, tt.failing, strings.Join(lines(res.Findings), "\n"))
			}
		})
	}
}

func TestGateOnlyFixed(t *testing.T) {
	fs := []finding.Finding{
		{Scanner: Deps, RuleID: "CVE-1", Severity: finding.Critical, Package: "x", Version: "1", FixedIn: []string{"2"}},
		{Scanner: Deps, RuleID: "CVE-2", Severity: finding.Critical, Package: "y", Version: "1"},
		{Scanner: License, RuleID: "license-denied", Severity: finding.High, Package: "z", Version: "1"},
		{Scanner: Secrets, RuleID: "aws-access-token", Severity: finding.Critical},
		{Scanner: Deps, RuleID: "CVE-3", Severity: finding.Medium, Package: "w", Version: "1", FixedIn: []string{"2"}},
	}
	tests := []struct {
		cutoff    finding.Severity
		onlyFixed bool
		want      []string
	}{
		{finding.High, true, []string{"CVE-1", "aws-access-token", "license-denied"}},
		{finding.High, false, []string{"CVE-1", "CVE-2", "aws-access-token", "license-denied"}},
		{finding.Critical, true, []string{"CVE-1", "aws-access-token"}},
		{finding.Medium, true, []string{"CVE-1", "CVE-3", "aws-access-token", "license-denied"}},
	}
	for _, tt := range tests {
		var got []string
		for _, f := range Gate(fs, tt.cutoff, tt.onlyFixed) {
			got = append(got, f.RuleID)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Gate(%s, onlyFixed=%v) = %v, want %v", tt.cutoff, tt.onlyFixed, got, tt.want)
		}
	}
}

func TestExceptionsApplied(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	// Fingerprints of the fixture's secrets, from a first scan.
	first, err := Run(context.Background(), Options{Root: fx.Dir, Scanners: []string{Secrets}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	var awsFP string
	for _, f := range first.Findings {
		if f.RuleID == "aws-access-token" {
			awsFP = f.Fingerprint
		}
	}
	set, err := exceptions.Parse([]byte(`exceptions:
  - id: `+awsFP+`
    reason: test key, rotated
    ticket: SEC-1
    expires: 2027-01-01
  - id: github-pat
    scope: "config/**"
    reason: expired waiver
    ticket: SEC-2
    expires: 2026-11-01
  - id: k8s-privileged
    scope: "k8s/*.yaml"
    reason: node agent needs it
    ticket: SEC-3
    expires: 2026-12-24
`), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Root: fx.Dir, Scanners: []string{Secrets, IaC}, SeverityCutoff: finding.Critical, Exceptions: set, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	goldenLines(t, "exceptions-findings.golden", lines(res.Findings))
	if len(res.Applied) != 2 || len(res.Expired) != 1 || res.Expired[0].ID != "github-pat" {
		t.Errorf("applied %+v expired %+v", res.Applied, res.Expired)
	}
	// The expired waiver left github-pat failing, with the two workflow criticals.
	if res.Decision != attestation.DecisionFail || len(res.Failing) != 3 {
		t.Errorf("decision %s failing %v", res.Decision, lines(res.Failing))
	}
	dir := t.TempDir()
	files, err := res.WriteFiles(dir, WriteOptions{Category: "sg"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Tool struct {
				Driver struct{ Name string }
			}
			AutomationDetails struct{ ID string }
			Results           []struct {
				RuleID              string
				PartialFingerprints map[string]string
				Suppressions        []struct{ Kind, Status, Justification string }
			}
		}
	}
	readJSON(t, files.SARIF, &doc)
	suppressed := map[string]string{}
	for _, r := range doc.Runs {
		for _, res := range r.Results {
			if res.PartialFingerprints[sarif.FingerprintKey] == "" {
				t.Errorf("%s result without %s", res.RuleID, sarif.FingerprintKey)
			}
			if len(res.Suppressions) > 0 {
				suppressed[res.RuleID] = res.Suppressions[0].Justification
			}
		}
	}
	if !strings.Contains(suppressed["aws-access-token"], "SEC-1") || !strings.Contains(suppressed["k8s-privileged"], "node agent needs it") || len(suppressed) != 2 {
		t.Errorf("suppressions = %v", suppressed)
	}
	var pred attestation.CodeScan
	readJSON(t, files.CodeScan, &pred)
	if len(pred.ExceptionsApplied) != 2 || pred.ExceptionsApplied[0].FindingsWaived != 1 || pred.Decision != attestation.DecisionFail {
		t.Errorf("predicate exceptions %+v decision %s", pred.ExceptionsApplied, pred.Decision)
	}
	// Issue 13: the predicate records what the exceptions file waived, so the
	// deploy gate can count it again.
	w := pred.Waived
	if w == nil || w.SeverityCutoff != "critical" || len(w.Findings) != 2 || w.Counts.Critical+w.Counts.High+w.Counts.Medium+w.Counts.Low != 2 {
		t.Fatalf("waived record = %+v", w)
	}
	for _, f := range w.Findings {
		if f.Waiver.Kind != finding.WaiverExceptionsFile || f.Waiver.Ticket == "" || f.Fingerprint == "" || f.Waiver.Expires.IsZero() {
			t.Errorf("waived finding %+v does not say what waived it", f)
		}
	}
}

func readJSON(t *testing.T, p string, v any) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

func TestOutputsValid(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	res, err := Run(context.Background(), Options{Root: fx.Dir, Scanners: []string{Secrets, IaC, License}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := res.WriteFiles(dir, WriteOptions{Category: "secure-gates", Source: &attestation.SourceRef{Repository: "acme/widgets", Commit: fx.Head}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(files.SARIF)
	if err != nil {
		t.Fatal(err)
	}
	if err := testinfra.ValidateSARIF21(t, data); err != nil {
		t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v", err)
	}
	rep, err := sarif.Read(bytes.NewReader(data), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if err := sarif.Check(rep, sarif.Limits{}); err != nil {
		t.Fatal(err)
	}
	var tools []string
	for _, r := range rep.Runs {
		tools = append(tools, r.Tool.Driver.Name+" "+sarif.Category(r))
	}
	want := []string{"gitleaks secure-gates/secrets", "secure-gates-iac secure-gates/iac", "secure-gates-license secure-gates/license"}
	if !slices.Equal(tools, want) {
		t.Errorf("runs = %v, want %v", tools, want)
	}
	sum := sha256.Sum256(data)
	var pred attestation.CodeScan
	readJSON(t, files.CodeScan, &pred)
	if pred.SARIF.Digest.Hex() != hex.EncodeToString(sum[:]) || files.SARIFDigest != pred.SARIF.Digest {
		t.Errorf("predicate SARIF digest %s, file sha256 %x", pred.SARIF.Digest, sum)
	}
	if pred.Counts.Critical != 5 || len(pred.Tools) != 3 || pred.Rules.Count < 200 || pred.Source.Commit != fx.Head {
		t.Errorf("predicate = %+v", pred)
	}
	if files.Vuln != "" {
		t.Errorf("vuln predicate written without the deps scanner: %s", files.Vuln)
	}
	raw, _ := os.ReadFile(files.CodeScan)
	if err := attestation.ValidatePredicate(attestation.PredicateCodeScan, raw, attestation.Options{}); err != nil {
		t.Error(err)
	}
}

// A run with more results than GitHub accepts per run is split for upload.
func TestSARIFSplitOverLimit(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "big.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := &Result{Root: root, Scanners: []ScannerRun{{Name: "Semgrep OSS", Tool: "Semgrep OSS", Version: "1.0", Ingested: true}}}
	for i := range sarif.MaxResultsPerRun + 10 {
		res.Findings = append(res.Findings, finding.Finding{Scanner: "Semgrep OSS", RuleID: fmt.Sprintf("rule-%d", i%7), Title: "t",
			Message: fmt.Sprintf("finding %d", i), Severity: finding.Medium, Path: "big.txt", StartLine: 1, Fingerprint: fmt.Sprint(i)})
	}
	docs, err := sarif.Pack(res.SARIFRuns("sg"), sarif.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	var cats []string
	n := 0
	for _, d := range docs {
		for _, r := range d.Runs {
			cats = append(cats, r.Category)
			n += r.Results
			if r.Results > sarif.MaxResultsPerRun {
				t.Errorf("run %s has %d results", r.Category, r.Results)
			}
		}
	}
	if n != sarif.MaxResultsPerRun+10 || len(cats) != 2 || cats[1] != "sg/sarif/semgrep-oss/part-2" {
		t.Errorf("categories %v, %d results", cats, n)
	}
}

func TestRunErrors(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	tests := []struct {
		name string
		o    Options
		kind errkind.Kind
		want string
	}{
		{"unknown scanner", Options{Root: fx.Dir, Scanners: []string{"virus"}}, errkind.KindInput, `scanner "virus"`},
		{"bad cutoff", Options{Root: fx.Dir, SeverityCutoff: finding.Info, Scanners: []string{IaC}}, errkind.KindInput, "severity cutoff"},
		{"missing root", Options{Root: filepath.Join(fx.Dir, "nope")}, errkind.KindInput, "expected a directory"},
		{"secrets range not in clone", Options{Root: fx.Dir, Scanners: []string{Secrets}, Secrets: secrets.Options{Range: &secrets.Range{Base: strings.Repeat("a", 40), Head: fx.Head}}}, errkind.KindInput, "fetch-depth"},
		{"sarif glob matching nothing", Options{Root: fx.Dir, Scanners: []string{SARIF}, SARIFInputs: []string{"out/*.sarif"}}, errkind.KindInput, "matched no file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.o)
			if err == nil || errkind.Of(err) != tt.kind || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v (%v), want %v with %q", err, errkind.Of(err), tt.kind, tt.want)
			}
		})
	}
}

func TestChangedLines(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	ch, err := ChangedLines(context.Background(), fx.Dir, fx.Base, fx.Head)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Touches(finding.Finding{Path: "config/settings.env", StartLine: 3}) || ch.Touches(finding.Finding{Path: "k8s/deployment.yaml", StartLine: 17}) {
		t.Errorf("changes = %v", ch)
	}
	if _, err := ChangedLines(context.Background(), fx.Dir, "--output=x", fx.Head); errkind.Of(err) != errkind.KindInput {
		t.Errorf("option as revision: %v", err)
	}
}

package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/scan/secrets"
)

func secretsOpts(maxBytes int64) secrets.Options { return secrets.Options{MaxFileBytes: maxBytes} }

// sarifInput is an ingested tool's SARIF: ran says whether its invocation
// reports success.
func sarifInput(t *testing.T, dir string, ran bool) string {
	t.Helper()
	doc := fmt.Sprintf(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Semgrep OSS","semanticVersion":"1.97.0"}},
"invocations":[{"executionSuccessful":%v,"toolExecutionNotifications":[]}],"results":[]}]}`, ran)
	return testinfra.WriteFile(t, filepath.Join(dir, fmt.Sprintf("semgrep-%v.sarif", ran)), doc, 0o644)
}

// Observation 12 of issue 13: scanners: deps with the DB unobtainable and
// on-scanner-outage: continue wrote a code-scan predicate with tools: null,
// and the gate exited 3. Every scanner subset × outage policy × DB state (×
// the state of an ingested tool, when sarif is selected) either writes
// predicates that validate against their schemas, or fails with an
// infrastructure error exactly when an outage meets on-scanner-outage: fail.
func TestPredicatesValidOnEveryPath(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	dbDir := testinfra.GrypeDB(t)
	inputs := t.TempDir()
	sarifOK, sarifFailed := sarifInput(t, inputs, true), sarifInput(t, inputs, false)

	type dbState string
	const (
		dbAvailable    dbState = "db-available"
		dbUnobtainable dbState = "db-unobtainable"
	)
	var (
		mu         sync.Mutex
		runs, want int
	)
	for mask := 1; mask < 1<<len(AllScanners); mask++ {
		var scanners []string
		for i, s := range AllScanners {
			if mask&(1<<i) != 0 {
				scanners = append(scanners, s)
			}
		}
		toolStates := []bool{true}
		if slices.Contains(scanners, SARIF) {
			toolStates = []bool{true, false}
		}
		dbStates := []dbState{dbAvailable, dbUnobtainable}
		if !slices.Contains(scanners, Deps) {
			dbStates = dbStates[:1] // Run opens no DB without deps: the state cannot matter
		}
		for _, policy := range []string{attestation.OutageFail, attestation.OutageContinue} {
			for _, db := range dbStates {
				for _, toolRan := range toolStates {
					want++
					name := fmt.Sprintf("%s/%s/%s/tool-ran=%v", strings.Join(scanners, "+"), policy, db, toolRan)
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						o := Options{Root: fx.Dir, Scanners: scanners, OnOutage: policy, Now: clock,
							Deps: DepsOptions{DBDir: dbDir}}
						if db == dbUnobtainable {
							o.Deps = DepsOptions{CacheDir: t.TempDir(), UpdateURL: "http://127.0.0.1:1/latest.json"}
						}
						if toolRan {
							o.SARIFInputs = []string{sarifOK}
						} else {
							o.SARIFInputs = []string{sarifFailed}
						}
						depsOutage := slices.Contains(scanners, Deps) && db == dbUnobtainable
						toolOutage := slices.Contains(scanners, SARIF) && !toolRan
						outage := depsOutage || toolOutage

						res, err := Run(context.Background(), o)
						mu.Lock()
						runs++
						mu.Unlock()
						if outage && policy == attestation.OutageFail {
							if errkind.Of(err) != errkind.KindInfra {
								t.Fatalf("outage under fail: error %v (%v), want an infrastructure error", err, errkind.Of(err))
							}
							return
						}
						if err != nil {
							t.Fatal(err)
						}
						files, err := res.WriteFiles(t.TempDir(), WriteOptions{Category: "sg",
							Source:     &attestation.SourceRef{Repository: "acme/widgets", Commit: fx.Head},
							Invocation: attestation.VulnInvocation{URI: "https://github.com/acme/widgets/actions/runs/1", EventID: "1"}})
						if err != nil {
							t.Fatalf("writing the predicates: %v", err)
						}
						raw, err := os.ReadFile(files.CodeScan)
						if err != nil {
							t.Fatal(err)
						}
						if err := attestation.ValidatePredicate(attestation.PredicateCodeScan, raw, attestation.Options{}); err != nil {
							t.Fatalf("code-scan predicate: %v\n%s", err, raw)
						}
						var cs attestation.CodeScan
						if err := json.Unmarshal(raw, &cs); err != nil {
							t.Fatal(err)
						}
						var outaged []string
						for _, o := range cs.Outages {
							outaged = append(outaged, o.Scanner)
						}
						if depsOutage != slices.Contains(outaged, Deps) || toolOutage != slices.Contains(outaged, "Semgrep OSS") || len(outaged) != btoi(depsOutage)+btoi(toolOutage) {
							t.Errorf("outages %v: want deps %v, tool %v", outaged, depsOutage, toolOutage)
						}
						var tools []string
						for _, tl := range cs.Tools {
							tools = append(tools, tl.Name)
						}
						if slices.Contains(tools, DepsTool) == depsOutage && slices.Contains(scanners, Deps) {
							t.Errorf("tools %v with a deps outage %v", tools, depsOutage)
						}
						if slices.Contains(tools, "Semgrep OSS") == toolOutage && slices.Contains(scanners, SARIF) {
							t.Errorf("tools %v with a failed ingested tool %v", tools, toolOutage)
						}
						if (files.Vuln != "") != (slices.Contains(scanners, Deps) && !depsOutage) {
							t.Errorf("vuln predicate %q with scanners %v and deps outage %v", files.Vuln, scanners, depsOutage)
						}
						if files.Vuln != "" {
							vraw, err := os.ReadFile(files.Vuln)
							if err != nil {
								t.Fatal(err)
							}
							if err := attestation.ValidatePredicate(attestation.PredicateVuln, vraw, attestation.Options{}); err != nil {
								t.Fatalf("vuln predicate: %v", err)
							}
						}
					})
				}
			}
		}
	}
	t.Cleanup(func() {
		if runs != want || want != 142 {
			t.Errorf("%d runs of %d, want 142: every subset", runs, want)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Observation 8 of issue 13: files the secrets scanner did not read reach the
// code-scan predicate, counted and named.
func TestNotScannedInPredicate(t *testing.T) {
	t.Parallel()
	dir := testinfra.WriteTree(t, t.TempDir(), map[string]string{
		"big.txt":             strings.Repeat("x", 100),
		"dist/app.zip":        "PK\x03\x04\x14\x00\x00\x00\x08\x00 aws",
		"small.txt":           "hello\n",
		"node_modules/a/a.js": "var a;\n",
	})
	res, err := Run(context.Background(), Options{Root: dir, Scanners: []string{Secrets}, Now: clock,
		Secrets: secretsOpts(50)})
	if err != nil {
		t.Fatal(err)
	}
	files, err := res.WriteFiles(t.TempDir(), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cs attestation.CodeScan
	readJSON(t, files.CodeScan, &cs)
	if cs.NotScanned == nil || cs.NotScanned.Count != 3 || len(cs.NotScanned.Files) != 3 {
		t.Fatalf("notScanned = %+v", cs.NotScanned)
	}
	var got []string
	for _, f := range cs.NotScanned.Files {
		got = append(got, f.Path+" "+f.Scanner+": "+f.Reason)
	}
	want := []string{"big.txt secrets: larger than the 50-byte cap (100 bytes)", "dist/app.zip secrets: binary file (application/zip)",
		"node_modules/ secrets: path allowlisted by the secrets rules"}
	if !slices.Equal(got, want) {
		t.Errorf("notScanned files:\n got %q\nwant %q", got, want)
	}
}

package scan

import (
	"cmp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gha"
	scanner "github.com/secure-gates/secure-gates/pkg/scan"
)

// Off a runner the report is a table in the log, no summary; the planted
// secrets fail the gate (exit 1) and the outputs say so.
func TestScanLocal(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	res := gatetest.Run(t, Gate, nil, "--scanners", "secrets,iac", "--output-dir", out, fx.Dir)
	if res.Code != 1 || res.Outputs["verdict"] != "fail" || !strings.Contains(res.Log, "SEVERITY") ||
		!strings.Contains(res.Log, "aws-access-token") || res.Summary != "" {
		t.Fatalf("exit %d, outputs %v, summary %q\n%s%s", res.Code, res.Outputs, res.Summary, res.Log, res.Stderr)
	}
	if res.Outputs["sarif"] != filepath.Join(out, "results.sarif") && !strings.HasPrefix(res.Outputs["sarif"], out) {
		t.Errorf("sarif output %q", res.Outputs["sarif"])
	}
	for _, s := range fx.Secrets() {
		if strings.Contains(res.Log, s) {
			t.Error("a planted secret is in the log")
		}
	}
}

// Every input is checked before any work: upload-sarif on a runner without a
// token used to be refused only after the tree was scanned and the SARIF and
// predicates written (and a failing scan hid it behind exit 1).
func TestScanInputsBeforeWork(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	out := filepath.Join(t.TempDir(), "out")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": fx.Dir}
	gatetest.Refusals(t, Gate, env, func(args []string) []string { return append(args, "--scanners", "secrets", "--output-dir", out) }, []gatetest.Refusal{
		gatetest.Refuse("", nil, "upload-sarif needs the token input"),
		gatetest.Refuse("", []string{"--upload-sarif=false", "--license-unknown", "maybe"}, `license-unknown "maybe": expected warn, fail or ignore`),
		gatetest.Refuse("", []string{"--upload-sarif=false", "--helm-values", "nodir"}, "helm-values"),
		gatetest.Refuse("", []string{"--upload-sarif=false", "--timeout", "0s"}, "timeout is 0s"),
	}, func(t *testing.T, _ gatetest.Result) {
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("the output folder was written before the input error (%v)", err)
		}
	})
}

// A scan result with a failing secret on a changed line, a failing IaC
// finding on a line the pull request does not touch, one below the cutoff, an
// outage and a file not scanned.
func sampleResult() (*scanner.Result, *scanner.Files) {
	secret := finding.Finding{Scanner: scanner.Secrets, RuleID: "aws-access-token", Message: "a secret matching rule aws-access-token is in config/settings.env line 3.",
		Severity: finding.Critical, Path: "config/settings.env", StartLine: 3, EndLine: 3, Fingerprint: "f1"}
	iacF := finding.Finding{Scanner: scanner.IaC, RuleID: "docker-user", Message: "the final stage sets no USER: the image runs as root",
		Severity: finding.High, Path: "Dockerfile", StartLine: 1, Fingerprint: "f2"}
	low := finding.Finding{Scanner: scanner.IaC, RuleID: "k8s-resource-limits", Message: "Deployment/widgets: container \"app\" sets no cpu and memory limit",
		Severity: finding.Medium, Path: "k8s/deployment.yaml", StartLine: 14, Fingerprint: "f3"}
	res := &scanner.Result{
		Root: "/repo/app", Findings: []finding.Finding{secret, iacF, low}, Failing: []finding.Finding{secret, iacF},
		Decision: attestation.DecisionFail, Cutoff: finding.High,
		Scanners: []scanner.ScannerRun{{Name: scanner.Secrets, Tool: "gitleaks", Version: "8.30.1", Findings: 1},
			{Name: scanner.IaC, Tool: "secure-gates-iac", Version: "opa-1.22.2", Findings: 2},
			{Name: scanner.Deps, Tool: "grype", Skipped: "outage"}},
		Outages:       []attestation.Outage{{Scanner: scanner.Deps, Reason: "no answer from the DB listing within 2s", Policy: "continue"}},
		SecretsConfig: "embedded gitleaks default rules",
		NotScanned:    []scanner.NotScannedFile{{Path: "go.mod", Scanner: scanner.Secrets, Reason: "path allowlisted by the secrets rules"}}, NotScannedCount: 1,
	}
	return res, &scanner.Files{SARIF: "/out/scan.sarif", CodeScan: "/out/code-scan.json"}
}

// The summary, the annotations and the table are rendered from the result alone.
func TestReport(t *testing.T) {
	t.Parallel()
	res, files := sampleResult()
	changes := scanner.Changes{"config/settings.env": {{3, 3}}}
	var ann strings.Builder
	for _, a := range annotations(res, changes, "/repo") {
		ann.WriteString(gha.FormatAnnotation(a) + "\n")
	}
	var table strings.Builder
	if err := Table(&table, res); err != nil {
		t.Fatal(err)
	}
	gatetest.Golden(t, "report.md", Summary(res, files)+"\n<!-- annotations -->\n"+ann.String()+"\n<!-- table -->\n"+table.String())

	// Waivers applied and expired, and no cutoff.
	exp := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	waived := res.Findings[2]
	waived.Waived = &finding.Waiver{Reason: "exceptions file entry 1"}
	res.Findings = append(res.Findings, waived)
	res.Cutoff, res.Failing, res.Decision = finding.NoCutoff, nil, attestation.DecisionPass
	res.Applied = []exceptions.Applied{{Entry: exceptions.Entry{ID: "k8s-resource-limits", Scope: "k8s/**", Reason: "limits set by the platform", Ticket: "OPS-1", Expires: exp}, Findings: 1}}
	res.Expired = []exceptions.Entry{{ID: "docker-user", Scope: "Dockerfile", Ticket: "OPS-2", Expires: exp.AddDate(0, -2, 0)}}
	gatetest.Golden(t, "summary-waived.md", Summary(res, files))
}

// The scan cache through the action: a second run over an unchanged tree
// reads every file's answer from the cache and gives the key of the cache it
// read (no new cache to save); a changed file makes a new key. A cache that
// cannot be opened is a warning, never a failed scan; a short cache-secret is
// an input error, and the secret is masked.
func TestScanCache(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	cache := filepath.Join(t.TempDir(), "cache")
	const secret = "a cache secret of 32 characters!"
	run := func(t *testing.T, extra ...string) gatetest.Result {
		t.Helper()
		args := append([]string{"--scanners", "secrets", "--output-dir", filepath.Join(t.TempDir(), "out"), "--cache-secret", secret}, extra...)
		res := gatetest.Run(t, Gate, nil, append(args, fx.Dir)...)
		if res.Code != 1 || strings.Contains(res.Log, secret) {
			t.Fatalf("exit %d (want 1: the planted secrets), secret in the log: %v\n%s%s", res.Code, strings.Contains(res.Log, secret), res.Log, res.Stderr)
		}
		return res
	}
	cold := run(t, "--cache-dir", cache)
	warm := run(t, "--cache-dir", cache)
	key := cold.Outputs["cache-key"]
	if !strings.HasPrefix(key, "secure-gates-scan-") || warm.Outputs["cache-key"] != key {
		t.Errorf("cache-key: cold %q, warm %q; want equal, secure-gates-scan-...", key, warm.Outputs["cache-key"])
	}
	if !strings.Contains(warm.Log, " 0 misses") || !strings.Contains(warm.Log, "entries MACed with the cache secret") {
		t.Errorf("the warm run's cache line:\n%s", warm.Log)
	}
	if err := os.WriteFile(filepath.Join(fx.Dir, "new.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if changed := run(t, "--cache-dir", cache); changed.Outputs["cache-key"] == key {
		t.Error("a new file left the cache-key as it was")
	}
	if none := run(t, "--cache-dir", "none"); none.Outputs["cache-key"] != "" || strings.Contains(none.Log, "scan cache ") {
		t.Errorf("cache-dir none: key %q\n%s", none.Outputs["cache-key"], none.Log)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := run(t, "--cache-dir", file); !strings.Contains(res.Log, "Scan cache not used") || res.Outputs["cache-key"] != "" {
		t.Errorf("a cache-dir that is a file:\n%s", res.Log)
	}
	res := gatetest.Run(t, Gate, nil, "--scanners", "secrets", "--cache-dir", cache, "--cache-secret", "short", fx.Dir)
	if res.Code != 2 || !strings.Contains(res.Log+res.Stderr, "cache-secret: 5 characters") {
		t.Errorf("a short cache-secret: exit %d\n%s", res.Code, res.Log)
	}
	res = gatetest.Run(t, Gate, nil, "--scanners", "secrets", "--cache-max-size", "lots", fx.Dir)
	if res.Code != 2 || !strings.Contains(res.Log+res.Stderr, `cache-max-size: size "lots"`) {
		t.Errorf("a bad cache-max-size: exit %d\n%s", res.Code, res.Log)
	}
}

// A pull request's files that the gate reads as configuration or input — the
// default exceptions file, a secrets-config, VEX document, Terraform plan,
// Helm values file or SARIF input in the tree — committed as symbolic links to a file outside the
// workspace are refused (exit 2) and never read: the exceptions file's parse
// error used to print the outside file's content.
// TestScanOutputDirLinkedOut: an output folder the pull request commits as a
// symbolic link out of the workspace (the default one, or a folder above the
// one named) is refused before the scan, and nothing is written where it leads.
func TestScanOutputDirLinkedOut(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ link, dir, want string }{
		{"secure-gates-scan", "", "secure-gates-scan is a symbolic link that leaves the workspace"},
		{"reports", "reports/scan", "reports/scan lies under a symbolic link that leaves the workspace"},
	} {
		t.Run(tt.link, func(t *testing.T) {
			t.Parallel()
			fx := testinfra.NewScanFixture(t)
			outside := t.TempDir()
			if err := os.Symlink(outside, filepath.Join(fx.Dir, tt.link)); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": fx.Dir}
			args := []string{"--scanners", "secrets", "--upload-sarif=false"}
			if tt.dir != "" {
				args = append(args, "--output-dir", tt.dir)
			}
			res := gatetest.Run(t, Gate, env, args...)
			gatetest.Refused(t, res, "output-dir", tt.want)
			if left, _ := os.ReadDir(outside); len(left) != 0 {
				t.Errorf("written outside the workspace: %v", left)
			}
		})
	}
}

func TestScanConfigLinkedOut(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ rel, arg, val string }{
		{".secure-gates/exceptions.yaml", "", ""},
		{"gitleaks.toml", "--secrets-config", ""},
		{"app.openvex.json", "--vex", ""},
		{"plan.json", "--iac-plan", ""},
		{"chart/prod.yaml", "--helm-values", "chart=chart/prod.yaml"},
		{"reports/x.sarif", "--sarif-inputs", ""},
	} {
		t.Run(tt.rel, func(t *testing.T) {
			t.Parallel()
			fx := testinfra.NewScanFixture(t)
			want := gatetest.LinkOut(t, fx.Dir, tt.rel)
			env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": fx.Dir}
			args := []string{"--scanners", "secrets,iac,sarif", "--upload-sarif=false", "--output-dir", filepath.Join(t.TempDir(), "out")}
			if tt.arg != "" {
				args = append(args, tt.arg, cmp.Or(tt.val, tt.rel))
			}
			if tt.arg == "--helm-values" {
				if err := os.MkdirAll(filepath.Join(fx.Dir, "chart", "templates"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(fx.Dir, "chart", "Chart.yaml"), []byte("apiVersion: v2\nname: c\nversion: 1.0.0\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res := gatetest.Run(t, Gate, env, args...)
			gatetest.Refused(t, res, want)
			gatetest.NotLeaked(t, res)
		})
	}
}

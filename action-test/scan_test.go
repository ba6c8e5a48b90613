package actiontest

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
)

func scanPREvent(fx *testinfra.ScanFixture) map[string]any {
	return map[string]any{
		"action": "synchronize",
		"number": 7,
		"pull_request": map[string]any{
			"number": 7, "title": "add settings",
			"head": map[string]any{"ref": "feature", "sha": fx.Head, "repo": map[string]any{"full_name": "acme/widgets"}},
			"base": map[string]any{"ref": "main", "sha": fx.Base, "repo": map[string]any{"full_name": "acme/widgets"}},
		},
		"repository": map[string]any{"full_name": "acme/widgets", "default_branch": "main"},
	}
}

// assertNoSecret fails when a planted secret value (or most of it) shows up in
// the step's log, stderr, summary, outputs or any file under dir.
func assertNoSecret(t *testing.T, fx *testinfra.ScanFixture, res *Result, dir string) {
	t.Helper()
	check := func(where string, data []byte) {
		for _, s := range fx.Secrets() {
			if bytes.Contains(data, []byte(s)) || bytes.Contains(data, []byte(s[4:])) {
				t.Errorf("a planted secret appears in %s", where)
			}
		}
	}
	check("the log", []byte(res.Log))
	check("stderr", []byte(res.Stderr))
	check("the summary", []byte(res.Summary))
	for k, v := range res.Outputs {
		check("output "+k, []byte(v))
	}
	if dir == "" {
		return
	}
	for name, data := range testinfra.ReadTree(t, dir) {
		check(filepath.Join(dir, filepath.FromSlash(name)), []byte(data))
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

func TestScanActionPullRequest(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	res := run(t, Step{Action: "scan", Workspace: fx.Dir, EventName: "pull_request", Event: scanPREvent(fx), SHA: fx.Head,
		Ref: "refs/pull/7/merge", Timeout: 5 * time.Minute,
		With: map[string]string{"db-dir": testinfra.GrypeDB(t), "license-deny": "GPL-3.0-only", "upload-sarif": "false"}})
	if res.ExitCode != 1 {
		t.Fatalf("exit %d, want 1\nlog:\n%s\nstderr:\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	o := res.Outputs
	if o["verdict"] != "fail" || o["secrets"] != "3" {
		t.Errorf("outputs = %v", o)
	}
	for _, k := range []string{"sarif", "code-scan-predicate", "vuln-predicate"} {
		if _, err := os.Stat(o[k]); err != nil {
			t.Errorf("output %s: %v", k, err)
		}
	}
	var cs attestation.CodeScan
	data, err := os.ReadFile(o["code-scan-predicate"])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	// The step outputs and the predicate agree; 3 secrets + 3 IaC criticals.
	if cs.Counts.Critical != atoi(t, o["critical"]) || cs.Counts.High != atoi(t, o["high"]) || cs.Counts.Critical != 6 || cs.Decision != attestation.DecisionFail {
		t.Errorf("predicate counts %+v vs outputs %v", cs.Counts, o)
	}
	if cs.Source == nil || cs.Source.Commit != fx.Head || len(cs.Tools) != 4 {
		t.Errorf("predicate source %+v tools %+v", cs.Source, cs.Tools)
	}
	wantSummary(t, res, "Scan: fail", "secrets", "gitleaks 8.30.1", "grype 0.120.1", "GHSA-69ch-w2m2-3vjp", "fails the gate",
		"Secrets rules: embedded gitleaks default rules", "Vulnerability DB: grype DB v6")
	// Annotations only on the lines the pull request changed: the settings file.
	var files []string
	for _, a := range res.Annotations() {
		if f := a.Properties["file"]; f != "" {
			files = append(files, f+":"+a.Properties["line"])
		}
	}
	if strings.Join(files, ",") != "config/settings.env:3,config/settings.env:4" {
		t.Errorf("annotated %v, want the two secrets on changed lines", files)
	}
	assertNoSecret(t, fx, res, fx.Dir+"/secure-gates-scan")
}

func TestScanActionCutoffs(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	tests := []struct {
		scanners, cutoff string
		code             int
		verdict          string
	}{
		{"iac", "critical", 1, "fail"},
		{"license", "medium", 0, "pass"},
		{"license", "low", 1, "fail"},
	}
	for _, tt := range tests {
		t.Run(tt.scanners+"@"+tt.cutoff, func(t *testing.T) {
			res := run(t, Step{Action: "scan", Workspace: fx.Dir, With: map[string]string{"scanners": tt.scanners, "severity-cutoff": tt.cutoff, "upload-sarif": "false"}})
			if res.ExitCode != tt.code || res.Outputs["verdict"] != tt.verdict {
				t.Errorf("exit %d verdict %q, want %d %q\n%s\n%s", res.ExitCode, res.Outputs["verdict"], tt.code, tt.verdict, res.Log, res.Stderr)
			}
		})
	}
}

func TestScanActionExceptions(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		return testinfra.WriteFile(t, filepath.Join(dir, name), content, 0o644)
	}
	soon := time.Now().AddDate(0, 0, 30).Format("2006-01-02")
	valid := write("valid.yaml", `exceptions:
  - {id: gha-pr-target-checkout, reason: reviewed, ticket: SEC-1, expires: `+soon+`}
  - {id: gha-script-injection, reason: reviewed, ticket: SEC-2, expires: `+soon+`}
  - {id: k8s-privileged, scope: "k8s/**", reason: node agent, ticket: SEC-3, expires: `+soon+`}
  - {id: docker-user, reason: long gone, ticket: SEC-4, expires: 2020-01-01}
`)
	missing := write("missing.yaml", "exceptions:\n  - id: k8s-privileged\n    reason: forever\n")
	forever := write("forever.yaml", "exceptions:\n  - {id: k8s-privileged, reason: forever, ticket: SEC-5, expires: 9999-12-31}\n")
	tests := []struct {
		name, file string
		code       int
		want       []string
	}{
		{"valid waivers pass the critical cutoff, the expired one is reported", valid, 0,
			[]string{"Waived", "SEC-3", soon, "Expired exceptions", "docker-user", "count for this check only"}},
		{"an expiry beyond the lifetime bound is an input error (issue 13: 9999-12-31 was accepted)", forever, 2,
			[]string{`entry 1 (id "k8s-privileged"): expires 9999-12-31 is more than 90 days after`}},
		{"missing expires is an input error naming the entry", missing, 2, []string{`entry 1 (id "k8s-privileged"): expires is required`}},
		{"a named exceptions file that does not exist", filepath.Join(dir, "nope.yaml"), 2, []string{"does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, Step{Action: "scan", Workspace: fx.Dir, With: map[string]string{"scanners": "iac", "severity-cutoff": "critical",
				"exceptions": tt.file, "upload-sarif": "false"}})
			if res.ExitCode != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", res.ExitCode, tt.code, res.Log, res.Stderr)
			}
			all := res.Summary + res.Log
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("%q not reported:\n%s", w, all)
				}
			}
			if tt.code == 0 {
				warned := false
				for _, a := range res.Annotations() {
					warned = warned || (a.Name == "warning" && strings.Contains(a.Message, "docker-user"))
				}
				if !warned {
					t.Error("no warning annotation for the expired exception")
				}
				data, err := os.ReadFile(res.Outputs["sarif"])
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(string(data), `"suppressions"`); n != 3 {
					t.Errorf("%d suppressed results in SARIF, want 3", n)
				}
			}
		})
	}
}

func TestScanActionOutage(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	stale := testinfra.GrypeDBBuiltAt(t, time.Now().Add(-300*time.Hour))
	with := func(policy string) map[string]string {
		return map[string]string{"scanners": "deps,license", "db-dir": stale, "max-db-age": "120h", "on-scanner-outage": policy, "upload-sarif": "false"}
	}
	res := run(t, Step{Action: "scan", Workspace: fx.Dir, With: with("fail"), Timeout: 5 * time.Minute})
	if res.ExitCode != 3 || !strings.Contains(res.Log, "infrastructure error") {
		t.Errorf("fail policy: exit %d, want 3\n%s", res.ExitCode, res.Log)
	}
	res = run(t, Step{Action: "scan", Workspace: fx.Dir, With: with("continue"), Timeout: 5 * time.Minute})
	if res.ExitCode != 0 || res.Outputs["verdict"] != "pass" || res.Outputs["vuln-predicate"] != "" {
		t.Fatalf("continue policy: exit %d outputs %v\n%s\n%s", res.ExitCode, res.Outputs, res.Log, res.Stderr)
	}
	if !strings.Contains(res.Summary, "deps did NOT run") || !strings.Contains(res.Summary, "not \"0 findings\"") {
		t.Errorf("summary does not say loudly that deps did not run:\n%s", res.Summary)
	}
	loud := false
	for _, a := range res.Annotations() {
		loud = loud || (a.Name == "error" && strings.Contains(a.Properties["title"], "deps did not run"))
	}
	if !loud {
		t.Errorf("no error annotation for the outage: %v", res.Annotations())
	}
	var cs attestation.CodeScan
	data, _ := os.ReadFile(res.Outputs["code-scan-predicate"])
	if err := json.Unmarshal(data, &cs); err != nil || len(cs.Outages) != 1 || cs.Outages[0].Policy != "continue" {
		t.Errorf("predicate outages %+v (%v)", cs.Outages, err)
	}
}

// codeScanning is a double of GitHub's code scanning SARIF endpoints that checks
// the documented request contract.
type codeScanning struct {
	t *testing.T
	// repo is the repository whose endpoints it serves (default acme/widgets).
	repo    string
	mu      sync.Mutex
	uploads []map[string]any
	sarifs  [][]byte
}

func (c *codeScanning) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer ghs_scantoken" {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	repo := cmp.Or(c.repo, "acme/widgets")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/repos/"+repo+"/code-scanning/sarifs":
		var body map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 20<<20)).Decode(&body); err != nil {
			http.Error(w, `{"message":"bad json"}`, http.StatusBadRequest)
			return
		}
		enc, _ := body["sarif"].(string)
		gz, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			http.Error(w, `{"message":"sarif is not base64"}`, http.StatusBadRequest)
			return
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			http.Error(w, `{"message":"sarif is not gzip"}`, http.StatusBadRequest)
			return
		}
		doc, err := io.ReadAll(zr)
		if err != nil || !json.Valid(doc) {
			http.Error(w, `{"message":"sarif is not JSON"}`, http.StatusBadRequest)
			return
		}
		sha, _ := body["commit_sha"].(string)
		ref, _ := body["ref"].(string)
		if len(sha) != 40 || !strings.HasPrefix(ref, "refs/") {
			http.Error(w, `{"message":"commit_sha and ref are required"}`, http.StatusUnprocessableEntity)
			return
		}
		c.uploads = append(c.uploads, body)
		c.sarifs = append(c.sarifs, doc)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"id":"sarif-`+strconv.Itoa(len(c.uploads))+`","url":"http://x/repos/acme/widgets/code-scanning/sarifs/sarif-1"}`)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/repos/"+repo+"/code-scanning/sarifs/sarif-"):
		_, _ = io.WriteString(w, `{"processing_status":"complete","analyses_url":"http://x/analyses"}`)
	default:
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	}
}

func TestScanActionUploadSARIF(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	cs := &codeScanning{t: t}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	res := run(t, Step{Action: "scan", Workspace: fx.Dir, EventName: "pull_request", Event: scanPREvent(fx), SHA: fx.Head, Ref: "refs/pull/7/merge",
		Token: "ghs_scantoken", Env: map[string]string{"GITHUB_API_URL": srv.URL},
		With: map[string]string{"scanners": "secrets,iac", "category": "sg"}})
	if res.ExitCode != 1 || res.Outputs["verdict"] != "fail" {
		t.Fatalf("exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	if len(cs.uploads) != 1 {
		t.Fatalf("%d uploads", len(cs.uploads))
	}
	u := cs.uploads[0]
	if u["commit_sha"] != fx.Head || u["ref"] != "refs/pull/7/merge" {
		t.Errorf("upload request %v", u)
	}
	var doc struct {
		Runs []struct {
			AutomationDetails struct{ ID string }
			Results           []json.RawMessage
		}
	}
	if err := json.Unmarshal(cs.sarifs[0], &doc); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range doc.Runs {
		ids = append(ids, r.AutomationDetails.ID)
	}
	sort.Strings(ids)
	if strings.Join(ids, ",") != "sg/iac/,sg/secrets/" {
		t.Errorf("run categories %v", ids)
	}
	for _, line := range strings.Split(res.Log, "\n") {
		if strings.Contains(line, "ghs_scantoken") && !strings.HasPrefix(line, "::add-mask::") {
			t.Errorf("token in the log: %s", line)
		}
	}
	assertNoSecret(t, fx, res, "")
	for _, d := range cs.sarifs {
		for _, s := range fx.Secrets() {
			if bytes.Contains(d, []byte(s)) {
				t.Error("a planted secret was uploaded")
			}
		}
	}
}

func TestScanActionLocalAndStaged(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	local := map[string]string{"GITHUB_ACTIONS": ""}
	res := run(t, Step{Action: "scan", Workspace: fx.Dir, Env: local, With: map[string]string{"scanners": "secrets,iac"}})
	if res.ExitCode != 1 || !strings.Contains(res.Log, "SEVERITY") || !strings.Contains(res.Log, "aws-access-token") ||
		res.Outputs["verdict"] != "fail" || !strings.Contains(res.Log, "config/settings.env:3") || res.Summary != "" {
		t.Errorf("local run: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	assertNoSecret(t, fx, res, filepath.Join(fx.Dir, "secure-gates-scan"))

	// Pre-commit: only staged changes are scanned.
	if err := os.WriteFile(filepath.Join(fx.Dir, "new.env"), []byte("KEY="+fx.AWSKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = run(t, Step{Action: "scan", Workspace: fx.Dir, Env: local, With: map[string]string{"scanners": "secrets", "staged": "true"}})
	if res.ExitCode != 0 || res.Outputs["secrets"] != "0" {
		t.Errorf("nothing staged: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	if out, err := exec.Command("git", "-C", fx.Dir, "add", "new.env").CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	res = run(t, Step{Action: "scan", Workspace: fx.Dir, Env: local, With: map[string]string{"scanners": "secrets", "staged": "true"}})
	if res.ExitCode != 1 || !strings.Contains(res.Log, "new.env:1") || res.Outputs["secrets"] != "1" {
		t.Errorf("staged secret: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	assertNoSecret(t, fx, res, "")
}

func TestScanActionSARIFInputs(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	inputs := filepath.Join(h.Root, "pkg", "scan", "sarifin", "testdata", "*.sarif")
	for _, tt := range []struct {
		cutoff  string
		code    int
		verdict string
	}{{"high", 1, "fail"}, {"critical", 0, "pass"}} {
		res := run(t, Step{Action: "scan", Workspace: fx.Dir, With: map[string]string{"scanners": "sarif", "sarif-inputs": inputs,
			"severity-cutoff": tt.cutoff, "upload-sarif": "false", "category": "sg"}})
		if res.ExitCode != tt.code || res.Outputs["verdict"] != tt.verdict {
			t.Fatalf("cutoff %s: exit %d outputs %v\n%s\n%s", tt.cutoff, res.ExitCode, res.Outputs, res.Log, res.Stderr)
		}
		data, err := os.ReadFile(res.Outputs["sarif"])
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Runs []struct {
				Tool              struct{ Driver struct{ Name string } }
				AutomationDetails struct{ ID string }
			}
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		var runs []string
		for _, r := range doc.Runs {
			runs = append(runs, r.Tool.Driver.Name+"@"+r.AutomationDetails.ID)
		}
		if strings.Join(runs, ",") != "CodeQL@sg/sarif/codeql/,Semgrep OSS@sg/sarif/semgrep-oss/" {
			t.Errorf("runs = %v", runs)
		}
		if !strings.Contains(res.Summary, "Semgrep OSS") || !strings.Contains(res.Summary, "python.lang.security.audit.eval-detected") {
			t.Errorf("summary:\n%s", res.Summary)
		}
	}
	res := run(t, Step{Action: "scan", Workspace: fx.Dir, With: map[string]string{"scanners": "sarif", "sarif-inputs": "missing/*.sarif", "upload-sarif": "false"}})
	if res.ExitCode != 2 || !strings.Contains(res.Log, "matched no file") {
		t.Errorf("missing inputs: exit %d\n%s", res.ExitCode, res.Log)
	}
}

// The secrets rules come from the default branch (read from git) or the
// secrets-config input, never from the scanned tree.
func TestScanActionSecretsConfigSource(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	// A pull request whose base — the default branch — already carries the
	// allow-everything .gitleaks.toml: that config is the maintainers' choice and is used.
	ev := scanPREvent(fx)
	ev["pull_request"].(map[string]any)["base"].(map[string]any)["sha"] = fx.Head
	res := run(t, Step{Action: "scan", Workspace: fx.Dir, EventName: "pull_request", Event: ev, SHA: fx.Head,
		With: map[string]string{"scanners": "secrets", "upload-sarif": "false"}})
	if res.ExitCode != 0 || res.Outputs["secrets"] != "0" || !strings.Contains(res.Summary, ".gitleaks.toml of the default branch (main)") {
		t.Errorf("default-branch config: exit %d outputs %v\n%s\n%s", res.ExitCode, res.Outputs, res.Summary, res.Log)
	}
	// An explicit secrets-config input replaces the default rules.
	cfg := filepath.Join(t.TempDir(), "rules.toml")
	if err := os.WriteFile(cfg, []byte("[[rules]]\nid = \"region-pin\"\ndescription = \"Region pinned in config\"\nregex = '''REGION=eu-west-1'''\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = run(t, Step{Action: "scan", Workspace: fx.Dir, With: map[string]string{"scanners": "secrets", "secrets-config": cfg, "upload-sarif": "false"}})
	if res.ExitCode != 1 || res.Outputs["secrets"] != "1" || !strings.Contains(res.Summary, "region-pin") || !strings.Contains(res.Summary, "secrets-config input") {
		t.Errorf("secrets-config: exit %d outputs %v\n%s\n%s", res.ExitCode, res.Outputs, res.Summary, res.Log)
	}
}

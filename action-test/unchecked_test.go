package actiontest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// fakeAWSKey builds a value matching gitleaks' aws-access-token rule, at test
// time only.
func fakeAWSKey(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "AK" + "IA" + base32.StdEncoding.EncodeToString(sum[:])[:16]
}

// hostileTree is a workspace an attacker shaped: a key at the end of an 11 MB
// file, a binary, file names holding terminal escapes, newlines and workflow
// commands, and a SARIF input whose tool name and result do the same. It
// returns the workspace and the paths of a SARIF input whose tool ran and one
// whose tool did not.
func hostileTree(t *testing.T) (ws, sarifRan, sarifFailed string) {
	t.Helper()
	ws = t.TempDir()
	filler := bytes.Repeat([]byte("2026-11-20T10:00:00Z INFO request served in 3ms\n"), 11<<20/48)
	files := map[string][]byte{
		"logs/big.log": append(filler, []byte("aws_access_key_id = "+fakeAWSKey("big")+"\n")...),
		"dist/app.zip": []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00binary"),
		"cfg/\x1b[2J\x1b]0;owned\x07evil\n::error title=pwned::owned.env": []byte("key = " + fakeAWSKey("esc") + "\n"),
		"cfg/\u00a0::warning title=pwned::nbsp ##[add-mask]x.env":         []byte("key = " + fakeAWSKey("nbsp") + "\n"),
		"cfg/cr\r::notice title=pwned::x.env":                             []byte("key = " + fakeAWSKey("cr") + "\n"),
	}
	testinfra.WriteTree(t, ws, files)
	sarifDoc := func(ran bool) string {
		return fmt.Sprintf(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"\u001b[31m::error title=pwned::tool","semanticVersion":"1.0"}},
"invocations":[{"executionSuccessful":%v,"toolExecutionNotifications":[{"level":"error","message":{"text":"crashed\n::error title=pwned::notification"}}]}],
"results":[{"ruleId":"r1\n::error title=pwned::rule","level":"error","message":{"text":"bad\n::error title=pwned::message \u001b[2J"},
"locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/%%0A::error%%20title=pwned::p.py"},"region":{"startLine":3}}}]}]}]}`, ran)
	}
	dir := t.TempDir()
	sarifRan, sarifFailed = filepath.Join(dir, "ran.sarif"), filepath.Join(dir, "failed.sarif")
	// A run that says it succeeded has no error notification.
	ok := strings.Replace(sarifDoc(true), `"level":"error","message":{"text":"crashed`, `"level":"note","message":{"text":"fine`, 1)
	if err := os.WriteFile(sarifRan, []byte(ok), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sarifFailed, []byte(sarifDoc(false)), 0o644); err != nil {
		t.Fatal(err)
	}
	return ws, sarifRan, sarifFailed
}

// assertNoInjection fails when what a step printed started a workflow command
// of the attacker's (the harness parses the log as the runner does: lines split
// at \r too, Unicode spaces trimmed, legacy ##[ commands) or could drive a
// terminal.
func assertNoInjection(t *testing.T, res *Result) {
	t.Helper()
	for _, c := range res.Commands {
		if c.Properties["title"] == "pwned" || c.Properties["legacy"] != "" ||
			c.Name == "set-output" || c.Name == "add-mask" || c.Name == "stop-commands" {
			t.Errorf("the step's log produced the command %+v", c)
		}
	}
	for where, text := range map[string]string{"log": res.Log, "stderr": res.Stderr} {
		if strings.ContainsAny(text, "\x1b\u009b\x07\r") {
			t.Errorf("the %s holds a raw control character: %q", where, text)
		}
	}
}

// Observations 8 and 11 of issue 13, through the binary. Off a runner the
// findings table names every file (escaped) and what was not scanned; on a
// runner an ingested tool that did not run fails the scan or is recorded as an
// outage, and nothing printed starts a command.
func TestScanActionUncheckedAndHostileNames(t *testing.T) {
	t.Parallel()
	ws, sarifRan, sarifFailed := hostileTree(t)
	with := func(sarifInput, policy string) map[string]string {
		// The outputs go outside the workspace, so a run does not scan the last one's.
		return map[string]string{"scanners": "secrets,sarif", "sarif-inputs": sarifInput, "on-scanner-outage": policy, "upload-sarif": "false",
			"output-dir": t.TempDir()}
	}

	// Off a runner: the table.
	res := run(t, Step{Action: "scan", Workspace: ws, Env: map[string]string{"GITHUB_ACTIONS": ""}, With: with(sarifRan, "fail")})
	if res.ExitCode != 1 || res.Outputs["verdict"] != "" && res.Outputs["verdict"] != "fail" {
		t.Fatalf("local run: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	for _, want := range []string{"logs/big.log:" + fmt.Sprint(11<<20/48+1), `cfg/\x1b[2J\x1b]0;owned\aevil\n::error title=pwned::owned.env:1`,
		"NOT SCANNED: 1 file(s)", "dist/app.zip (secrets): binary file (application/zip)", `\x1b[31m::error title=pwned::tool`} {
		if !strings.Contains(res.Log, want) {
			t.Errorf("the table lacks %q:\n%s", want, res.Log)
		}
	}
	assertNoInjection(t, res)

	// On a runner, the tool that did not run: fail policy.
	res = run(t, Step{Action: "scan", Workspace: ws, With: with(sarifFailed, "fail")})
	if res.ExitCode != 3 || !strings.Contains(res.Log, "did not run successfully") || !strings.Contains(res.Log, "executionSuccessful is false") {
		t.Errorf("failed tool, fail policy: exit %d, want 3\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	assertNoInjection(t, res)

	// Continue policy: an outage, loudly, in the summary and the predicate.
	res = run(t, Step{Action: "scan", Workspace: ws, With: with(sarifFailed, "continue")})
	if res.ExitCode != 1 {
		t.Fatalf("failed tool, continue policy: exit %d, want 1 (the secrets fail)\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	assertNoInjection(t, res)
	if !strings.Contains(res.Summary, "did NOT run") || !strings.Contains(res.Summary, "Not scanned (1)") || !strings.Contains(res.Summary, "dist/app.zip") {
		t.Errorf("summary:\n%s", res.Summary)
	}
	var cs attestation.CodeScan
	data, err := os.ReadFile(res.Outputs["code-scan-predicate"])
	if err != nil {
		t.Fatal(err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateCodeScan, data, attestation.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs.Outages) != 1 || !strings.Contains(cs.Outages[0].Reason, "executionSuccessful is false") || len(cs.Tools) != 1 || cs.Tools[0].Name != "gitleaks" {
		t.Errorf("predicate tools %+v outages %+v", cs.Tools, cs.Outages)
	}
	if cs.NotScanned == nil || cs.NotScanned.Count != 1 || cs.NotScanned.Files[0].Path != "dist/app.zip" {
		t.Errorf("predicate notScanned %+v", cs.NotScanned)
	}
	if cs.Counts.Critical != 4 {
		t.Errorf("critical findings %d, want the 4 keys (the 11 MB file's included)", cs.Counts.Critical)
	}
}

package actiontest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// The policy-check action as the runner runs it on a pull request that changes
// .secure-gates/: each error and warning is an annotation on the policy file's
// line; errors exit 2, warnings alone 0 (1 with fail-on-warnings).
func TestPolicyCheckAction(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, ".secure-gates"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(ws, ".secure-gates", "policy.yaml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const head = "apiVersion: secure-gates/v1\nkind: Policy\n"
	step := func(with map[string]string) Step {
		return Step{Action: "policy-check", Workspace: ws, EventName: "pull_request", With: with, Timeout: time.Minute}
	}
	type ann struct {
		level, line, text string
	}
	check := func(t *testing.T, res *Result, code int, want []ann) {
		t.Helper()
		if res.ExitCode != code {
			t.Errorf("exit %d, want %d\n%s\n%s", res.ExitCode, code, res.Log, res.Stderr)
		}
		got := res.Annotations()
		for _, w := range want {
			found := false
			for _, a := range got {
				found = found || a.Name == w.level && a.Properties["file"] == ".secure-gates/policy.yaml" && a.Properties["line"] == w.line && strings.Contains(a.Message, w.text)
			}
			if !found {
				t.Errorf("no %s annotation on line %s saying %q: %+v", w.level, w.line, w.text, got)
			}
		}
	}

	// Observation 1 and 13 of issue 13, as a pull request would bring them.
	write(head + "<<: {mode: audit}\nidentities: [{key: .secure-gates/release.pub}]\nrequire: [{type: vuln}]\n")
	check(t, run(t, step(nil)), 2, []ann{{"error", "3", "the merge key << is not allowed"}})

	write(head + "identities:\n  - issuer: https://token.actions.githubusercontent.com/\n" +
		"    subject-regexp: ^https://github\\.com/acme/a/\\.github/workflows/release\\.yml@refs/heads/main|x$\nrequire: []\n")
	res := run(t, step(nil))
	check(t, res, 2, []ann{
		{"error", "4", "remove the trailing slash"},
		{"error", "5", "group the alternation"},
		{"error", "6", "require: is empty in enforce mode"},
	})
	if res.Outputs["errors"] != "3" || !strings.Contains(res.Summary, "does not load") {
		t.Errorf("outputs %v, summary:\n%s", res.Outputs, res.Summary)
	}

	risky := head + "mode: audit\nidentities:\n  - issuer: https://token.actions.githubusercontent.com\n" +
		"    subject-regexp: ^https://github\\.com/[^/]+/widgets/\\.github/workflows/release\\.yml@refs/heads/main$\n"
	write(risky)
	res = run(t, step(nil))
	check(t, res, 0, []ann{{"warning", "3", "audit without enforce-environments"}, {"warning", "6", "admits any owner"}})
	if res.Outputs["warnings"] != "2" || res.Outputs["errors"] != "0" {
		t.Errorf("outputs %v", res.Outputs)
	}
	check(t, run(t, step(map[string]string{"fail-on-warnings": "true"})), 1, nil)

	// The promotion rule's fields (type: dast): a deny by severity, a missing
	// environment and an unknown risk are errors on their lines; a dast
	// requirement without max-age is a warning.
	keyed := head + "identities: [{key: .secure-gates/release.pub}]\nrequire:\n"
	if err := os.WriteFile(filepath.Join(ws, ".secure-gates", "release.pub"), []byte(testPublicKeyPEM(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	write(keyed + "  - type: dast\n    deny: {severity: high}\n  - type: dast\n    environment: staging\n    deny: {risk: severe}\n")
	check(t, run(t, step(nil)), 2, []ann{
		{"error", "5", "environment: is required for dast"},
		{"error", "6", "write deny: {risk: high}"},
		{"error", "9", `deny.risk: is "severe"`},
	})
	write(keyed + "  - {type: dast, environment: staging, deny: {risk: high}}\n")
	check(t, run(t, step(nil)), 0, []ann{{"warning", "5", "dast without max-age"}})
	write(keyed + "  - {type: dast, environment: staging, max-age: 72h, deny: {risk: high}}\n")
	if res := run(t, step(nil)); res.ExitCode != 0 || res.Outputs["warnings"] != "0" || res.Outputs["errors"] != "0" {
		t.Errorf("the promotion rule as documented: exit %d, outputs %v\n%s", res.ExitCode, res.Outputs, res.Summary)
	}
}

// testPublicKeyPEM is a fresh P-256 public key in PEM.
func testPublicKeyPEM(t *testing.T) string {
	t.Helper()
	_, pub := testinfra.ECDSAKey(t)
	return pub
}

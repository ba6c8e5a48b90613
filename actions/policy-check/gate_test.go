package policycheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

const head = "apiVersion: secure-gates/v1\nkind: Policy\n"

const risky = head + "mode: audit\nidentities:\n  - issuer: https://token.actions.githubusercontent.com\n" +
	"    subject-regexp: ^https://github\\.com/[^/]+/widgets/\\.github/workflows/release\\.yml@refs/heads/main$\n"

const broken = head + "identities:\n  - issuer: https://token.actions.githubusercontent.com/\n" +
	"    subject-regexp: ^https://github\\.com/acme/a/\\.github/workflows/release\\.yml@refs/heads/main|x$\nrequire: []\n"

// workspace writes policy as .secure-gates/policy.yaml of a fresh workspace and
// returns the variables of a run on it.
func workspace(t *testing.T, policy string) map[string]string {
	t.Helper()
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, ".secure-gates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, ".secure-gates", "policy.yaml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws}
}

// Each error and warning is an annotation on the policy file's line; errors
// exit 2, warnings alone 0 (1 with fail-on-warnings); the counts are outputs.
func TestPolicyCheckGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, policy string
		args         []string
		wantCode     int
		wantErrors   string
		wantWarnings string
		wantLog      []string
	}{
		{"errors exit 2, each on its line", broken, nil, 2, "3", "0", []string{
			"::error file=.secure-gates/policy.yaml,line=4,title=policy error::", "remove the trailing slash",
			"line=5,title=policy error::", "group the alternation", "line=6,title=policy error::", "require: is empty in enforce mode"}},
		{"warnings alone pass", risky, nil, 0, "0", "2", []string{
			"::warning file=.secure-gates/policy.yaml,line=3,title=policy warning::", "audit without enforce-environments",
			"line=6,title=policy warning::", "admits any owner"}},
		{"fail-on-warnings fails by policy", risky, []string{"--fail-on-warnings=true"}, 1, "0", "2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := workspace(t, tt.policy)
			args := append(tt.args, filepath.Join(env["GITHUB_WORKSPACE"], ".secure-gates", "policy.yaml"))
			res := gatetest.Run(t, Gate, env, args...)
			if res.Code != tt.wantCode || res.Outputs["errors"] != tt.wantErrors || res.Outputs["warnings"] != tt.wantWarnings {
				t.Fatalf("exit %d, outputs %v; want %d, errors %s, warnings %s\n%s", res.Code, res.Outputs, tt.wantCode, tt.wantErrors, tt.wantWarnings, res.Log)
			}
			for _, w := range tt.wantLog {
				if !strings.Contains(res.Log, w) {
					t.Errorf("log lacks %q:\n%s", w, res.Log)
				}
			}
			if !strings.Contains(res.Summary, "## Policy check: ") {
				t.Errorf("no summary on a runner:\n%s", res.Summary)
			}
		})
	}
}

// Off a runner the annotations are the report: no summary repeats them.
func TestPolicyCheckLocal(t *testing.T) {
	t.Parallel()
	env := workspace(t, risky)
	env["GITHUB_ACTIONS"] = ""
	res := gatetest.Run(t, Gate, env, filepath.Join(env["GITHUB_WORKSPACE"], ".secure-gates", "policy.yaml"))
	if res.Code != 0 || res.Summary != "" || !strings.Contains(res.Log, "warnings: 2") {
		t.Errorf("exit %d, summary %q, log:\n%s", res.Code, res.Summary, res.Log)
	}
	// secure-gates policy check reports through the same path.
	if _, err := Check(gha.New(gha.Options{}), " ", ""); errkind.ExitCode(err) != 2 || !strings.Contains(err.Error(), "policy: a file path is required") {
		t.Errorf("blank policy: %v", err)
	}
	var log strings.Builder
	rt := gha.New(gha.Options{Stdout: &log})
	got, err := Check(rt, filepath.Join(env["GITHUB_WORKSPACE"], ".secure-gates", "policy.yaml"), env["GITHUB_WORKSPACE"])
	if err != nil || len(got.Warnings) != 2 || !strings.Contains(log.String(), "admits any owner") {
		t.Errorf("Check = %+v, %v; log:\n%s", got, err, log.String())
	}
	if outs := rt.LocalOutputs(); len(outs) != 2 || outs[1] != (gha.KeyValue{Name: "warnings", Value: "2"}) {
		t.Errorf("Check outputs %v", outs)
	}
}

// The summary and annotations are rendered from the check's result alone.
func TestReport(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ policy, golden string }{
		{broken, "report-errors.md"},
		{risky, "report-warnings.md"},
		{head + "identities:\n  - key: release.pub\nrequire: [{type: vuln}]\n", "report-clean.md"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "policy.yaml")
		if err := os.WriteFile(path, []byte(tt.policy), 0o644); err != nil {
			t.Fatal(err)
		}
		_, pub := testinfra.ECDSAKey(t)
		if err := os.WriteFile(filepath.Join(dir, "release.pub"), []byte(pub), 0o644); err != nil {
			t.Fatal(err)
		}
		var res Result
		p, err := policy.Load(path, policy.Options{BaseDir: dir})
		if err != nil {
			res.Errors = policy.Problems(err)
		} else {
			res.Warnings = policy.Lint(p)
		}
		r := report{res: res, path: ".secure-gates/policy.yaml", file: ".secure-gates/policy.yaml", summary: true}
		var ann strings.Builder
		for _, a := range annotations(r) {
			ann.WriteString(gha.FormatAnnotation(a) + "\n")
		}
		gatetest.Golden(t, tt.golden, summary(r)+"\n<!-- annotations -->\n"+ann.String())
	}
}

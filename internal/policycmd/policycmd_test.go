package policycmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

const testPolicy = `apiVersion: secure-gates/v1
kind: Policy
mode: audit
identities:
  - issuer: https://token.actions.githubusercontent.com
    subject: https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main
    trigger: push
require:
  - type: code-scan
`

func TestPolicyKyverno(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(testPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "cp.yaml")
	tests := []struct {
		name   string
		args   []string
		kind   errkind.Kind
		stdout string
	}{
		{"to stdout", []string{"kyverno", "--policy", pol, "--image", "ghcr.io/acme/widgets*"}, errkind.KindUnknown, "failureAction: Audit"},
		{"to a file", []string{"kyverno", "--policy", pol, "--image", "ghcr.io/acme/widgets*", "--output", out, "--name", "widgets"}, errkind.KindUnknown, "wrote " + out},
		{"no subcommand", nil, errkind.KindInput, ""},
		{"unknown subcommand", []string{"opa"}, errkind.KindInput, ""},
		{"no image", []string{"kyverno", "--policy", pol}, errkind.KindInput, ""},
		{"missing policy", []string{"kyverno", "--policy", filepath.Join(dir, "nope.yaml"), "--image", "x/y*"}, errkind.KindInput, ""},
		{"unknown flag", []string{"kyverno", "--nope"}, errkind.KindInput, ""},
		{"stray argument", []string{"kyverno", "--image", "x/y*", "extra"}, errkind.KindInput, ""},
		{"roots not PEM", []string{"kyverno", "--policy", pol, "--image", "x/y*", "--roots", pol}, errkind.KindInput, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			rt := gha.New(gha.Options{Stdout: &stdout})
			err := Command.Run(context.Background(), rt, tt.args)
			if tt.kind == errkind.KindUnknown {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || errkind.Of(err) != tt.kind {
				t.Fatalf("err = %v (kind %v), want kind %v", err, errkind.Of(err), tt.kind)
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.stdout)
			}
		})
	}
	data, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(data), "name: widgets") {
		t.Errorf("written policy: %v\n%s", err, data)
	}
}

// policy check: errors exit 2 and warnings exit 0, each reported on the policy
// file's line — annotations on a runner, readable lines off one.
func TestPolicyCheck(t *testing.T) {
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, ".secure-gates"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(body string) string {
		t.Helper()
		p := filepath.Join(ws, ".secure-gates", "policy.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const head = "apiVersion: secure-gates/v1\nkind: Policy\n"
	broken := head + "mode: !!binary YXVkaXQ=\n" +
		"identities:\n  - issuer: https://token.actions.githubusercontent.com/\n    subject-regexp: '^https://github\\.com/acme/a/\\.github/workflows/r\\.yml@refs/heads/main|x$'\n" +
		"require: []\n"
	fixedTags := strings.Replace(broken, "!!binary YXVkaXQ=", "enforce", 1)
	risky := head + "mode: audit\nidentities:\n  - issuer: https://token.actions.githubusercontent.com\n" +
		"    subject-regexp: '^https://github\\.com/[^/]+/widgets/\\.github/workflows/release\\.yml@refs/heads/main$'\n"
	clean := head + "mode: audit\nenforce-environments: [production]\nidentities:\n  - issuer: https://token.actions.githubusercontent.com\n" +
		"    subject: https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main\n"

	tests := []struct {
		name     string
		body     string
		runner   bool
		kind     errkind.Kind
		want     []string
		outCount map[string]string
	}{
		{"YAML tricks, locally", broken, false, errkind.KindInput,
			[]string{"error: .secure-gates/policy.yaml:3: policy error: mode: line 3: the tag !!binary is not allowed"}, nil},
		{"field errors, locally", fixedTags, false, errkind.KindInput, []string{
			"error: .secure-gates/policy.yaml:5: policy error: identities[0].issuer:",
			"error: .secure-gates/policy.yaml:6: policy error: identities[0].subject-regexp:", "group the alternation",
			"error: .secure-gates/policy.yaml:7: policy error: require: is empty in enforce mode"}, nil},
		{"field errors, on a runner", fixedTags, true, errkind.KindInput, []string{
			"::error file=.secure-gates/policy.yaml,line=5,title=policy error::identities[0].issuer:",
			"::error file=.secure-gates/policy.yaml,line=7,title=policy error::require:"},
			map[string]string{"errors": "3", "warnings": "0"}},
		{"warnings, locally", risky, false, errkind.KindUnknown, []string{
			"warning: .secure-gates/policy.yaml:3: policy warning: mode: audit without enforce-environments",
			"warning: .secure-gates/policy.yaml:6: policy warning: identities[0].subject-regexp:", "admits any owner"}, nil},
		{"warnings, on a runner", risky, true, errkind.KindUnknown, []string{
			"::warning file=.secure-gates/policy.yaml,line=3,title=policy warning::mode: audit without enforce-environments"},
			map[string]string{"errors": "0", "warnings": "2"}},
		{"clean", clean, false, errkind.KindUnknown, []string{"loads: 0 warning(s)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(tt.body)
			env := map[string]string{"GITHUB_WORKSPACE": ws}
			if tt.runner {
				env["GITHUB_ACTIONS"] = "true"
				env["GITHUB_OUTPUT"] = filepath.Join(t.TempDir(), "out")
				env["GITHUB_STEP_SUMMARY"] = filepath.Join(t.TempDir(), "summary")
			}
			var stdout bytes.Buffer
			rt := gha.New(gha.Options{Stdout: &stdout, Getenv: func(k string) string { return env[k] }})
			err := Command.Run(context.Background(), rt, []string{"check", "--policy", path})
			if tt.kind == errkind.KindUnknown {
				if err != nil {
					t.Fatalf("err = %v\n%s", err, stdout.String())
				}
			} else if err == nil || errkind.Of(err) != tt.kind {
				t.Fatalf("err = %v (kind %v), want kind %v\n%s", err, errkind.Of(err), tt.kind, stdout.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
			if tt.outCount != nil {
				out, _ := os.ReadFile(env["GITHUB_OUTPUT"])
				for k, v := range tt.outCount {
					if !strings.Contains(string(out), k+"<<") || !strings.Contains(string(out), "\n"+v+"\n") {
						t.Errorf("output %s=%s missing:\n%s", k, v, out)
					}
				}
				if sum, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); !strings.Contains(string(sum), "Policy check") {
					t.Errorf("summary:\n%s", sum)
				}
			}
		})
	}
}

// A bad flag is reported once, by the caller, escaped: the flag package's own
// line, which quotes the flag raw, is not printed, so a flag named
// "x\n::warning::…" puts no workflow command on a line of its own.
func TestBadFlagNotEchoed(t *testing.T) {
	for _, args := range [][]string{{"check", "--x\n::warning::injected"}, {"kyverno", "--x\n::warning::injected"}} {
		var stdout bytes.Buffer
		rt := gha.New(gha.Options{Stdout: &stdout, Getenv: func(k string) string { return map[string]string{"GITHUB_ACTIONS": "true"}[k] }})
		err := Command.Run(context.Background(), rt, args)
		if errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "flag provided but not defined") {
			t.Errorf("%s: err = %v", args[0], err)
		}
		for _, l := range strings.Split(stdout.String(), "\n") {
			if strings.HasPrefix(l, "::") {
				t.Errorf("%s: a workflow command in the output: %q", args[0], l)
			}
		}
		if !strings.Contains(stdout.String(), "Usage:") {
			t.Errorf("%s: no usage printed:\n%s", args[0], stdout.String())
		}
	}
}

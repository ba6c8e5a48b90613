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

package dast

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
	dast "github.com/secure-gates/secure-gates/pkg/dast"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// workspace holds the named pkg/dast fixtures.
func workspace(t *testing.T, fixtures ...string) map[string]string {
	t.Helper()
	ws := t.TempDir()
	for _, f := range fixtures {
		data, err := os.ReadFile(filepath.Join("..", "..", "pkg", "dast", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws, "RUNNER_TEMP": t.TempDir()}
}

func TestDASTGate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, fixture string
		args          []string
		code          int
		verdict, high string
		log           string
	}{
		{"clean ZAP report passes", "zap-clean.json", nil, 0, "pass", "0", "## DAST: "},
		{"a High alert fails", "zap-report.json", nil, 1, "fail", "1", "Cross Site Scripting (Reflected)"},
		{"outage under continue passes and says so", "zap-no-site.json", []string{"--on-scanner-outage", "continue", "--target", "https://staging.widgets.example.com/"},
			0, "pass", "0", "::warning title=DAST scanner outage::"},
		{"an image tag exits 2", "zap-clean.json", []string{"--image", "ghcr.io/acme/widgets:1.2"}, 2, "", "", "not a tag"},
		{"a bad environment name exits 2", "zap-clean.json", []string{"--environment", "-staging"}, 2, "", "", `environment "-staging": expected letters`},
		{"a named exceptions file that is missing exits 2", "zap-clean.json", []string{"--exceptions", "waivers.yaml"}, 2, "", "", "waivers.yaml: it does not exist"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := workspace(t, tt.fixture)
			args := append([]string{"--environment", "staging", "--upload-sarif=false"}, tt.args...)
			res := gatetest.Run(t, Gate, env, append(args, tt.fixture)...)
			if res.Code != tt.code || res.Outputs["verdict"] != tt.verdict || res.Outputs["high"] != tt.high {
				t.Fatalf("exit %d, outputs %v; want %d, %s, high %s\n%s", res.Code, res.Outputs, tt.code, tt.verdict, tt.high, res.Log)
			}
			if all := res.Log + res.Summary; !strings.Contains(all, tt.log) {
				t.Errorf("log and summary lack %q:\n%s", tt.log, all)
			}
			if tt.code == 2 && len(res.Outputs) != 0 {
				t.Errorf("outputs on an input error: %v", res.Outputs)
			}
		})
	}
}

// upload-sarif without a token is refused before any report is read or file
// written (it used to be found after the predicate, SARIF and summary).
func TestDASTUploadNeedsToken(t *testing.T) {
	t.Parallel()
	env := workspace(t, "zap-report.json")
	out := filepath.Join(t.TempDir(), "out")
	res := gatetest.Run(t, Gate, env, "--environment", "staging", "--upload-sarif=true", "--output-dir", out, "zap-report.json")
	if res.Code != 2 || !strings.Contains(res.Log, "upload-sarif needs the token input") || res.Summary != "" {
		t.Fatalf("exit %d, summary %q\n%s", res.Code, res.Summary, res.Log)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("files written before the input error: %v", err)
	}
}

// The summary and annotations are rendered from the decision alone.
func TestReport(t *testing.T) {
	t.Parallel()
	var got strings.Builder
	for _, f := range []string{"zap-report.json", "zap-no-site.json"} {
		inputs, err := readReports(filepath.Join("..", "..", "pkg", "dast", "testdata", f), f)
		if err != nil {
			t.Fatal(err)
		}
		high := dast.High
		d, err := dast.Evaluate(inputs, dast.Policy{FailOn: &high, OutageFails: true}, "https://staging.widgets.example.com/", "staging")
		if err != nil {
			t.Fatal(err)
		}
		r := report{d: d, image: "ghcr.io/acme/widgets@sha256:" + strings.Repeat("a", 64), predicate: "/tmp/dast.predicate.json"}
		got.WriteString("<!-- " + f + " -->\n" + summary(r))
		for _, a := range annotations(r) {
			got.WriteString(gha.FormatAnnotation(a) + "\n")
		}
	}
	out := strings.ReplaceAll(got.String(), filepath.Join("..", "..", "pkg", "dast", "testdata")+string(filepath.Separator), "")
	gatetest.Golden(t, "report.md", out)
}

package sarif

import (
	"fmt"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
)

// schemaError validates data against the SARIF 2.1.0 schema.
func schemaError(t testing.TB, data []byte) error {
	t.Helper()
	return testinfra.ValidateSARIF21(t, data)
}

func assertSchemaValid(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := schemaError(t, data); err != nil {
		msg := err.Error()
		if len(msg) > 3000 {
			msg = msg[:3000] + "..."
		}
		t.Errorf("%s is not valid SARIF 2.1.0: %s", name, msg)
	}
}

// wantInputError fails t unless err is an input error (exit 2) whose message
// contains want; what names the call, for the message when there is no error.
func wantInputError(t testing.TB, err error, what, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s accepted the input, want an error containing %q", what, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if errkind.Of(err) != errkind.KindInput {
		t.Errorf("error kind = %v, want input", errkind.Of(err))
	}
}

const testRoot = "/home/runner/work/app/app"

// sampleRuns is a small report exercising every part of the model: three
// tools, rules with help and security severity, absolute and ./ paths,
// regions, a waived finding, a given and a computed fingerprint.
func sampleRuns() []Run {
	return []Run{
		{
			Tool:     Tool{Name: "gitleaks", Version: "8.30.1", InformationURI: "https://github.com/gitleaks/gitleaks"},
			Category: "secrets",
			Rules: []Rule{{
				ID:               "aws-access-token",
				Name:             "AWS access token",
				ShortDescription: "AWS access key ID committed to the repository",
				HelpMarkdown:     "Rotate the key, then remove it from history.",
				SecuritySeverity: finding.Critical.Score(),
				DefaultLevel:     Level(finding.Critical.SARIFLevel()),
				Tags:             []string{"secret"},
			}},
			Results: []Result{
				{
					RuleID:    "aws-access-token",
					Message:   "AWS access token found",
					Locations: []Location{{Path: testRoot + "/deploy/config.env", StartLine: 3, StartColumn: 14, EndColumn: 34}},
					PartialFingerprints: map[string]string{
						FingerprintKey: Fingerprint("aws-access-token", "deploy/config.env", "sha256:5d41402abc4b2a76"),
					},
				},
				{
					RuleID:      "aws-access-token",
					Message:     "AWS access token found",
					Locations:   []Location{{Path: "./test/fixtures/fake.env", StartLine: 1}},
					Suppression: &Suppression{Justification: "test fixture; exception EXC-12 approved by security, expires 2026-12-31"},
				},
			},
		},
		{
			Tool:     Tool{Name: "grype", Version: "0.120.1", InformationURI: "https://github.com/anchore/grype"},
			Category: "deps/go",
			Rules: []Rule{
				{
					ID:               "GHSA-xxxx-yyyy-zzzz-golang.org/x/net",
					Name:             "golang.org/x/net vulnerable to HTTP/2 rapid reset",
					ShortDescription: "GHSA-xxxx-yyyy-zzzz: golang.org/x/net 0.14.0 is vulnerable",
					FullDescription:  "HTTP/2 rapid reset can cause excessive work. Fixed in 0.17.0.",
					HelpText:         "Upgrade golang.org/x/net to 0.17.0 or later.",
					HelpURI:          "https://github.com/advisories/GHSA-xxxx-yyyy-zzzz",
					SecuritySeverity: 7.5,
					Tags:             []string{"vulnerability", "go"},
					Properties:       map[string]any{"precision": "very-high"},
				},
				{
					ID:               "CVE-2024-0001-libfoo",
					ShortDescription: "CVE-2024-0001 in libfoo 1.2",
					SecuritySeverity: 4.3,
				},
			},
			Results: []Result{
				{
					RuleID:     "GHSA-xxxx-yyyy-zzzz-golang.org/x/net",
					Level:      Level(finding.FromScore(7.5).SARIFLevel()),
					Message:    "golang.org/x/net 0.14.0 (go-module) is vulnerable; fixed in 0.17.0",
					Locations:  []Location{{Path: "go.mod", StartLine: 12}},
					Properties: map[string]any{"purl": "pkg:golang/golang.org/x/net@v0.14.0"},
				},
				{
					RuleID:    "CVE-2024-0001-libfoo",
					Level:     Level(finding.FromScore(4.3).SARIFLevel()),
					Message:   "libfoo 1.2 is vulnerable",
					Locations: []Location{{Path: "third party/libfoo/VERSION"}},
				},
			},
		},
		{
			Tool:     Tool{Name: "opa", Version: "v1.22.2"},
			Category: "iac",
			Rules: []Rule{{
				ID:               "k8s.no-privileged",
				ShortDescription: "Containers must not run privileged",
				DefaultLevel:     LevelWarning,
			}},
			Results: []Result{{
				RuleID:    "k8s.no-privileged",
				Message:   "container \"app\" runs privileged",
				Locations: []Location{{Path: "deploy/k8s/deployment.yaml", StartLine: 20, EndLine: 22, StartColumn: 9, EndColumn: 30}},
			}},
		},
	}
}

// manyResults is a run of n results over a few rules, in files spread over a
// tree (compressible, so only counts matter).
func manyResults(tool, category string, n int) Run {
	r := Run{Tool: Tool{Name: tool}, Category: category}
	for i := range 5 {
		r.Rules = append(r.Rules, Rule{ID: fmt.Sprintf("R%d", i), ShortDescription: "rule"})
	}
	for i := range n {
		r.Results = append(r.Results, Result{
			RuleID:    fmt.Sprintf("R%d", i%5),
			Message:   fmt.Sprintf("finding %d", i),
			Locations: []Location{{Path: fmt.Sprintf("src/pkg%d/file%d.go", i%97, i), StartLine: i%300 + 1}},
		})
	}
	return r
}

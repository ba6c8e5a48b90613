package verify

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

func TestSLSAVerifierArgs(t *testing.T) {
	img := "ghcr.io/acme/widgets@sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		req  policy.Requirement
		want []string
	}{
		{policy.Requirement{SourceRepository: "acme/widgets"},
			[]string{"verify-image", img, "--source-uri", "github.com/acme/widgets"}},
		{policy.Requirement{SourceRepository: "acme/widgets", SourceBranch: "main", BuilderID: "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"},
			[]string{"verify-image", img, "--source-uri", "github.com/acme/widgets", "--source-branch", "main", "--builder-id",
				"https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"}},
		{policy.Requirement{SourceRepository: "acme/widgets", SourceTag: "v1.2.3"},
			[]string{"verify-image", img, "--source-uri", "github.com/acme/widgets", "--source-tag", "v1.2.3"}},
	}
	for _, tt := range tests {
		if got := (&SLSAVerifier{}).Args(img, tt.req); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Args(%+v) = %q, want %q", tt.req, got, tt.want)
		}
	}
}

// fakeSLSAVerifier writes an executable standing in for the slsa-verifier
// binary: it records its argv and answers like slsa-verifier v2.7.1 does.
func fakeSLSAVerifier(t *testing.T, out string, code int) (path, argv string) {
	t.Helper()
	dir := t.TempDir()
	argv = filepath.Join(dir, "argv")
	path = filepath.Join(dir, "slsa-verifier")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argv + "\ncat <<'EOF' >&2\n" + out + "\nEOF\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, argv
}

func TestSLSAVerifierResultMapping(t *testing.T) {
	img := "ghcr.io/acme/widgets@sha256:" + strings.Repeat("a", 64)
	req := policy.Requirement{SourceRepository: "acme/widgets", SourceBranch: "main"}
	tests := []struct {
		name     string
		out      string
		code     int
		pass     bool
		kind     errkind.Kind
		fragment string
	}{
		{"passed", "Verified build using builder \"https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0\" at commit abc\nPASSED: SLSA verification passed", 0, true, errkind.KindUnknown, "PASSED: SLSA verification passed"},
		{"source mismatch fails", "FAILED: SLSA verification failed: expected source 'github.com/acme/widgets', got 'github.com/evil/widgets': source used to generate the binary does not match provenance", 1, false, errkind.KindUnknown, "source used to generate the binary does not match"},
		{"no provenance fails", "FAILED: SLSA verification failed: no valid attestation found", 1, false, errkind.KindUnknown, "no valid attestation"},
		{"rekor unreachable is infrastructure", "FAILED: SLSA verification failed: Get \"https://rekor.sigstore.dev/api/v1/log\": dial tcp: lookup rekor.sigstore.dev: no such host", 1, false, errkind.KindInfra, "could not reach"},
		// What the real slsa-verifier v2.7.1 prints offline (seen here).
		{"TUF unreachable is infrastructure", `FAILED: SLSA verification failed: internal error: initializing tuf: updating local metadata and targets: error updating to TUF remote mirror: tuf: failed to download 10.root.json: Get "https://tuf-repo-cdn.sigstore.dev/10.root.json": dial tcp: lookup tuf-repo-cdn.sigstore.dev on 10.255.255.53:53: no such host`, 1, false, errkind.KindInfra, "could not reach"},
		{"exit 0 without PASSED is infrastructure", "something odd", 0, false, errkind.KindInfra, "without PASSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, argv := fakeSLSAVerifier(t, tt.out, tt.code)
			res, err := (&SLSAVerifier{Path: path}).VerifyImage(context.Background(), img, req)
			if tt.kind == errkind.KindInfra {
				if errkind.Of(err) != errkind.KindInfra || !strings.Contains(err.Error(), tt.fragment) {
					t.Fatalf("err = %v, want infrastructure naming %q", err, tt.fragment)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Passed != tt.pass || !strings.Contains(res.Message, tt.fragment) {
				t.Errorf("result %+v, want passed=%v naming %q", res, tt.pass, tt.fragment)
			}
			got, _ := os.ReadFile(argv)
			want := strings.Join((&SLSAVerifier{}).Args(img, req), "\n") + "\n"
			if string(got) != want {
				t.Errorf("argv:\n%s\nwant:\n%s", got, want)
			}
		})
	}
	_, err := (&SLSAVerifier{Path: filepath.Join(t.TempDir(), "missing")}).VerifyImage(context.Background(), img, req)
	if errkind.Of(err) != errkind.KindInfra {
		t.Errorf("missing binary: %v", err)
	}
}

// The requirement is wired to slsa-verifier when the policy names the builder,
// and its verdict lands in the report next to the other requirements.
func TestSLSAGitHubGeneratorRequirement(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	ref := w.image("acme/widgets")
	w.sign(ref, w.key("release", false))
	pol := `apiVersion: secure-gates/v1
kind: Policy
identities: [{key: release.pub}]
require:
  - type: slsaprovenance
    builder: slsa-github-generator
    source-repository: acme/widgets
    source-tag: v1.2.3
`
	for _, tt := range []struct {
		out  string
		code int
		pass bool
	}{{"PASSED: SLSA verification passed", 0, true}, {"FAILED: SLSA verification failed: tag mismatch", 1, false}} {
		path, argv := fakeSLSAVerifier(t, tt.out, tt.code)
		rep := w.verifyWith(ref, Options{Policy: w.policy(pol), Now: func() time.Time { return now },
			SLSAVerifier: &SLSAVerifier{Path: path}})
		if rep.Verified != tt.pass {
			t.Errorf("%q: verified = %v: %v", tt.out, rep.Verified, rep.Failures())
		}
		if !tt.pass {
			wantFail(t, rep, "slsaprovenance", "tag mismatch")
		}
		got, _ := os.ReadFile(argv)
		if !strings.Contains(string(got), ref.String()+"\n") || !strings.Contains(string(got), "--source-tag\nv1.2.3\n") {
			t.Errorf("argv %q", got)
		}
		if tt.pass && rep.VSA(w.policy(pol), VSAOptions{}).VerifiedLevels[0] != "SLSA_BUILD_LEVEL_3" {
			t.Error("VSA does not record L3")
		}
	}
}

// An slsa-verifier that never finishes (its child holding the output open) is
// killed at its timeout and at the caller's: an infrastructure error saying so,
// not a wait without end.
func TestSLSAVerifierHangs(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "slsa-verifier")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nsleep 600 &\nwait\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := "ghcr.io/acme/widgets@sha256:" + strings.Repeat("a", 64)
	req := policy.Requirement{Type: "slsaprovenance", SourceRepository: "acme/widgets"}
	for _, tc := range []struct {
		name    string
		own     time.Duration
		timeout time.Duration
		want    string
	}{
		{"its own limit", time.Second, 0, "no verdict within 1s"},
		{"the caller's timeout", time.Minute, time.Second, "no verdict within the 1s timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := netretry.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			err := testinfra.Within(t, time.Minute, "VerifyImage", func() error {
				_, err := (&SLSAVerifier{Path: path, Timeout: tc.own}).VerifyImage(ctx, img, req)
				return err
			})
			if errkind.Of(err) != errkind.KindInfra || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v (kind %v), want an infrastructure error saying %q", err, errkind.Of(err), tc.want)
			}
		})
	}
}

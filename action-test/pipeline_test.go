package actiontest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// pipelineRun is one `secure-gates pipeline` run from the repository root, as
// the README tells a newcomer to start it.
type pipelineRun struct {
	code   int
	out    string
	work   string
	report *verify.Report
}

func runPipeline(t *testing.T, args ...string) pipelineRun {
	t.Helper()
	work := filepath.Join(t.TempDir(), "work")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Binary, append([]string{"pipeline", "--work-dir", work}, args...)...)
	cmd.Dir = h.Root
	// Off a runner, like a laptop: no GITHUB_* variables.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GITHUB_") && !strings.HasPrefix(kv, "ACTIONS_") && !strings.HasPrefix(kv, "RUNNER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	r := pipelineRun{work: work}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			t.Fatalf("running the pipeline: %v\n%s", err, out.String())
		}
		r.code = ee.ExitCode()
	}
	r.out = out.String()
	if data, err := os.ReadFile(filepath.Join(work, "verify", "report.json")); err == nil {
		r.report = &verify.Report{}
		if err := json.Unmarshal(data, r.report); err != nil {
			t.Fatalf("the verification report: %v", err)
		}
	}
	return r
}

var deployedDigest = regexp.MustCompile(`VERIFIED and DEPLOYED by digest: \S+ in (\S+) now names (sha256:[0-9a-f]{64})`)

// deployedTo checks the GitOps repository's staging kustomization names digest.
func deployedTo(t *testing.T, r pipelineRun) {
	t.Helper()
	m := deployedDigest.FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("no deploy line in:\n%s", r.out)
	}
	k := vdShow(t, m[1], "deploy/overlays/staging/kustomization.yaml")
	if !strings.Contains(k, "digest: "+m[2]) || r.report == nil || r.report.Digest != m[2] {
		t.Errorf("the kustomization does not name the verified digest %s:\n%s", m[2], k)
	}
}

// The README's "run the main job": the whole chain on the example service with
// a vulnerability DB from real advisories passes every requirement with real
// scans and deploys the digest it verified.
func TestPipelineExample(t *testing.T) {
	t.Parallel()
	r := runPipeline(t, "--db-dir", testinfra.GrypeDB(t))
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	for _, gate := range []string{"scan", "build", "sbom", "sign", "attest", "verify"} {
		if !regexp.MustCompile(`(?m)^✓ ` + gate + ` `).MatchString(r.out) {
			t.Errorf("no passing %s line:\n%s", gate, r.out)
		}
	}
	if strings.Contains(r.out, "OUTAGE") {
		t.Errorf("an outage was reported with a working DB:\n%s", r.out)
	}
	deployedTo(t, r)
	if !r.report.Verified || len(r.report.OutagesWaived) > 0 || len(r.report.ExceptionsUsed) > 0 {
		t.Errorf("report: verified %v, outages waived %v, exceptions %v", r.report.Verified, r.report.OutagesWaived, r.report.ExceptionsUsed)
	}
	var types []string
	for _, in := range r.report.Inputs {
		types = append(types, in.PredicateType)
	}
	for _, want := range []string{attestation.PredicateCycloneDX, attestation.PredicateSPDX, attestation.PredicateVuln, attestation.PredicateCodeScan, attestation.PredicateSLSAProvenance} {
		if !slices.Contains(types, want) {
			t.Errorf("the chain lacks %s: %v", want, types)
		}
	}
	// Promotion: with wapiti on PATH, the service ran on loopback as staging,
	// passed its DAST, and verify-and-deploy promoted the digest to production.
	if _, err := exec.LookPath("wapiti"); err == nil {
		m := deployedDigest.FindStringSubmatch(r.out)
		if m == nil || !strings.Contains(r.out, "✓ dast       pass") || !strings.Contains(r.out, "PROMOTED to production by digest "+m[2]) {
			t.Errorf("not promoted after a passing DAST:\n%s", r.out)
		} else if k := vdShow(t, m[1], "deploy/overlays/production/kustomization.yaml"); !strings.Contains(k, "digest: "+m[2]) {
			t.Errorf("the production kustomization does not name the promoted digest %s:\n%s", m[2], k)
		}
		var prod verify.Report
		readJSON(t, filepath.Join(r.work, "verify-production", "report.json"), &prod)
		if !prod.Verified || !slices.ContainsFunc(prod.Inputs, func(in verify.Input) bool { return in.PredicateType == attestation.PredicateDAST }) {
			t.Errorf("production report: verified %v, inputs %+v", prod.Verified, prod.Inputs)
		}
	} else {
		t.Log("wapiti is not installed: the promotion stage was skipped (apt-get install wapiti)")
		if !strings.Contains(r.out, "dast       skipped: wapiti is not on PATH") {
			t.Errorf("the skipped promotion is not explained:\n%s", r.out)
		}
	}
	// The keys the run made are readable by their owner only.
	st, err := os.Stat(filepath.Join(r.work, "keys", "release.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("release key mode: %v %v", st, err)
	}
}

// No usable DB: the outage policy applies. continue completes the chain the
// seed's way — the skip recorded, security's signed outage exception accepted
// because the example policy says on-scanner-outage: exception — and says so;
// fail stops at scan with exit code 3.
func TestPipelineScannerOutage(t *testing.T) {
	t.Parallel()
	stale := testinfra.GrypeDBBuiltAt(t, time.Now().Add(-300*time.Hour)) // older than max-db-age 120h

	r := runPipeline(t, "--db-dir", stale)
	if r.code != 0 {
		t.Fatalf("continue: exit %d:\n%s", r.code, r.out)
	}
	for _, want := range []string{"⚠ scan", "SCANNER OUTAGE", "PAGE SECURITY", "outage:vuln", "outage:code-scan",
		"SCANNER OUTAGE waived by a signed exception for: vuln, code-scan"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the output does not say %q:\n%s", want, r.out)
		}
	}
	deployedTo(t, r)
	if !slices.Equal(r.report.OutagesWaived, []string{"vuln", "code-scan"}) || len(r.report.ExceptionsUsed) != 1 {
		t.Errorf("report: outages waived %v, exceptions used %+v", r.report.OutagesWaived, r.report.ExceptionsUsed)
	}
	var vsa attestation.VSA
	data, _ := os.ReadFile(filepath.Join(r.work, "verify", "vsa.json"))
	if err := json.Unmarshal(data, &vsa); err != nil || !slices.Contains(vsa.VerifiedLevels, verify.LevelScannerOutage) {
		t.Errorf("VSA levels %v (%v): the outage is not on record", vsa.VerifiedLevels, err)
	}

	r = runPipeline(t, "--db-dir", stale, "--on-scanner-outage", "fail")
	if r.code != 3 || !strings.Contains(r.out, "✗ scan") || strings.Contains(r.out, "✓ build") || r.report != nil {
		t.Errorf("fail: exit %d, want 3 and the chain stopped at scan:\n%s", r.code, r.out)
	}
}

// A policy that does not accept outage exceptions blocks the outage run at
// verify-and-deploy: every gate before it ran, nothing is deployed.
func TestPipelineOutageRefusedByPolicy(t *testing.T) {
	t.Parallel()
	repo := filepath.Join(t.TempDir(), "widgets")
	if err := os.CopyFS(repo, os.DirFS(examplePath())); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(repo, ".secure-gates", "policy.yaml")
	data, err := os.ReadFile(pol)
	if err != nil {
		t.Fatal(err)
	}
	strict := regexp.MustCompile(`(?m)^\s*on-scanner-outage: exception.*\n`).ReplaceAll(data, nil)
	if bytes.Equal(strict, data) {
		t.Fatal("the example policy no longer accepts outage exceptions: update this test")
	}
	if err := os.WriteFile(pol, strict, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runPipeline(t, "--repo", repo, "--db-dir", testinfra.GrypeDBBuiltAt(t, time.Now().Add(-300*time.Hour)))
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (blocked by policy):\n%s", r.code, r.out)
	}
	if !strings.Contains(r.out, "✗ verify-and-deploy") || !strings.Contains(r.out, "NOT VERIFIED") || deployedDigest.MatchString(r.out) {
		t.Errorf("not blocked at verify-and-deploy:\n%s", r.out)
	}
	if r.report == nil || r.report.Verified {
		t.Fatalf("report: %+v", r.report)
	}
	// The security key's outage exception was attached, but this policy does
	// not let it stand in for a scan.
	want := map[string]string{"vuln": "missing: no attestation of type " + attestation.PredicateVuln,
		"code-scan": "the policy does not accept outage exceptions for code-scan"}
	for _, q := range r.report.Requirements {
		if frag, ok := want[q.Name]; ok && (q.Passed || !strings.Contains(strings.Join(q.Reasons, " "), frag)) {
			t.Errorf("%s requirement: %+v, want a failure naming %q", q.Name, q, frag)
		}
	}
}

// A service whose staging deploy has a reflected XSS: wapiti finds it for
// real, the dast gate fails, the failure is attested on the digest, and
// verify-and-deploy to production refuses it with the reason. Staging runs
// the digest; production does not.
func TestPipelineDASTStopsPromotion(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("wapiti"); err != nil {
		t.Skip("wapiti is not installed (apt-get install wapiti; scripts/test installs it)")
	}
	repo := xssVariant(t, examplePath())
	pol := filepath.Join(repo, ".secure-gates", "policy.yaml")
	data, err := os.ReadFile(pol)
	if err != nil {
		t.Fatal(err)
	}
	// wapiti rates a reflected XSS medium: the bar is medium here.
	medium := bytes.Replace(data, []byte("deny: {risk: high}"), []byte("deny: {risk: medium}"), 1)
	if bytes.Equal(medium, data) {
		t.Fatal("the example policy no longer has deny: {risk: high} on its dast requirement: update this test")
	}
	if err := os.WriteFile(pol, medium, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runPipeline(t, "--repo", repo, "--db-dir", testinfra.GrypeDB(t), "--dast", "on")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (promotion refused):\n%s", r.code, r.out)
	}
	for _, want := range []string{"✓ verify", "✗ dast", "✓ attest     dast verdict fail attested on the digest", "✗ verify-and-deploy",
		`DAST decision is "fail"`, "Cross Site Scripting", "NOT PROMOTED: the digest stays in staging"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the output does not say %q:\n%s", want, r.out)
		}
	}
	deployedTo(t, r)
	m := deployedDigest.FindStringSubmatch(r.out)
	if k := vdShow(t, m[1], "deploy/overlays/production/kustomization.yaml"); strings.Contains(k, m[2]) {
		t.Errorf("production names the digest whose DAST failed:\n%s", k)
	}
}

func TestPipelineInputErrors(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no such repository", []string{"--repo", filepath.Join(empty, "nope")}, "is not a folder"},
		{"not a Go module", []string{"--repo", empty}, "has no readable go.mod"},
		{"bad outage policy", []string{"--on-scanner-outage", "ignore"}, "expected continue or fail"},
		{"bad dast mode", []string{"--dast", "maybe"}, "--dast \"maybe\": expected auto, on or off"},
		{"two repositories", []string{"a", "b"}, "one repository at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runPipeline(t, tc.args...)
			if r.code != 2 || !strings.Contains(r.out, tc.want) {
				t.Errorf("exit %d, want 2 with %q:\n%s", r.code, tc.want, r.out)
			}
		})
	}
}

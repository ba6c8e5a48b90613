package actiontest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/cosigntest"
	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// kyvernoEnv is the environment of the cosign and kyverno CLIs: a private HOME and
// TUF root, so nothing reads or writes the user's ~/.docker or ~/.sigstore.
func kyvernoEnv(dir string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TUF_ROOT=" + filepath.Join(dir, "tuf"),
		"COSIGN_PASSWORD=",
		"COSIGN_YES=true",
	}
}

func kyRunCLI(t *testing.T, dir string, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = kyvernoEnv(dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("running %s: %v", filepath.Base(bin), err)
		}
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func kyMustCLI(t *testing.T, dir string, bin string, args ...string) string {
	t.Helper()
	out, code := kyRunCLI(t, dir, bin, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\n%s", filepath.Base(bin), strings.Join(args, " "), code, out)
	}
	return out
}

// kySetup returns the Kyverno and cosign CLIs, a loopback registry and a
// folder holding a key pair the cosign CLI generated (cosign.key, cosign.pub).
func kySetup(t *testing.T) (kyvernoBin, cosign string, reg *testinfra.Registry, dir string) {
	t.Helper()
	kyvernoBin, cosign = testinfra.KyvernoCLI.Path(t), testinfra.CosignCLI.Path(t)
	reg, dir = testinfra.StartRegistry(t), t.TempDir()
	kyMustCLI(t, dir, cosign, "generate-key-pair")
	return kyvernoBin, cosign, reg, dir
}

func kyWriteJSON(t *testing.T, path string, v any) string {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// kyvernoPredicates writes the predicates our gates attest, in the shapes the
// pipeline produces (pkg/attestation), and returns type URI → file.
func kyvernoPredicates(t *testing.T, dir string, critical bool) map[string]string {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	matches := []any{}
	if critical {
		matches = append(matches, map[string]any{
			"vulnerability": map[string]any{"id": "CVE-2021-44228", "severity": "Critical", "fix": map[string]any{"state": "fixed", "versions": []string{"2.15.0"}}},
			"artifact":      map[string]any{"name": "log4j-core", "version": "2.14.1", "type": "java-archive"},
		})
	}
	result, _ := json.Marshal(map[string]any{"matches": matches})
	suffix := ""
	if critical {
		suffix = "-critical"
	}
	return map[string]string{
		attestation.PredicateCycloneDX: kyWriteJSON(t, filepath.Join(dir, "cyclonedx.json"), map[string]any{
			"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": []any{},
		}),
		attestation.PredicateVuln: kyWriteJSON(t, filepath.Join(dir, "vuln"+suffix+".json"), attestation.VulnScan{
			Invocation: attestation.VulnInvocation{Parameters: json.RawMessage(`[]`), URI: "https://github.com/acme/widgets/actions/runs/1/attempts/1", EventID: "1", BuilderID: "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main"},
			Scanner:    attestation.VulnScanner{URI: "pkg:github/anchore/grype@v0.120.1", Version: "0.120.1", DB: attestation.VulnDB{URI: "file:///db", Version: "v6.1.3"}, Result: result},
			Metadata:   attestation.VulnMetadata{ScanStartedOn: now.Add(-time.Minute), ScanFinishedOn: now},
		}),
		attestation.PredicateCodeScan: kyWriteJSON(t, filepath.Join(dir, "code-scan.json"), map[string]any{
			"tools":          []any{map[string]any{"name": "gitleaks", "version": "8.30.1"}},
			"rules":          map[string]any{"count": 1, "ids": []string{"generic-api-key"}},
			"counts":         map[string]any{"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0, "unknown": 0},
			"sarif":          map[string]any{"digest": attestation.DigestOf([]byte("sarif")).String()},
			"decision":       "pass",
			"scanStartedOn":  now.Add(-time.Minute).Format(time.RFC3339),
			"scanFinishedOn": now.Format(time.RFC3339),
		}),
		attestation.PredicateSLSAProvenance: kyWriteJSON(t, filepath.Join(dir, "provenance.json"), map[string]any{
			"buildDefinition": map[string]any{
				"buildType":          "https://actions.github.io/buildtypes/workflow/v1",
				"externalParameters": map[string]any{"workflow": map[string]any{"ref": "refs/heads/main", "repository": "https://github.com/acme/widgets", "path": ".github/workflows/release.yml"}},
			},
			"runDetails": map[string]any{"builder": map[string]any{"id": "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main"}},
		}),
	}
}

// Admission and the pipeline agree: a ClusterPolicy rendered by `secure-gates
// policy kyverno` from a policy file admits, in the real Kyverno CLI, a Pod whose
// image carries the whole chain, and refuses an unsigned image, an image missing a
// required attestation, one whose vuln attestation lists a fixable critical, one
// whose code scan records a scanner outage, one signed by a foreign key, and one
// referenced by tag. Images live in the loopback
// registry and are signed and attested in cosign's legacy format by the cosign CLI.
func TestKyvernoAdmission(t *testing.T) {
	t.Parallel()
	kyvernoBin, cosign, reg, dir := kySetup(t)
	foreign := filepath.Join(dir, "foreign")
	if err := os.Mkdir(foreign, 0o755); err != nil {
		t.Fatal(err)
	}
	kyMustCLI(t, foreign, cosign, "generate-key-pair")

	good := kyvernoPredicates(t, dir, false)
	bad := kyvernoPredicates(t, dir, true)
	// A code scan that records a scanner outage: never a pass at admission.
	outage := map[string]string{}
	for k, v := range good {
		outage[k] = v
	}
	var cs map[string]any
	readJSON(t, good[attestation.PredicateCodeScan], &cs)
	cs["outages"] = []any{map[string]any{"scanner": "deps", "reason": "vulnerability DB could not be obtained", "policy": "continue"}}
	outage[attestation.PredicateCodeScan] = kyWriteJSON(t, filepath.Join(dir, "code-scan-outage.json"), cs)
	all := []string{attestation.PredicateCycloneDX, attestation.PredicateVuln, attestation.PredicateCodeScan, attestation.PredicateSLSAProvenance}

	type image struct {
		name  string
		key   string // signing key; "" leaves the image unsigned
		types []string
		preds map[string]string
		byTag bool
		want  string // pass or fail
		why   string // what the failure message must name
	}
	images := []image{
		{name: "attested", key: "cosign.key", types: all, preds: good, want: "pass"},
		{name: "unsigned", want: "fail", why: "no signatures found"},
		{name: "no-code-scan", key: "cosign.key", types: []string{attestation.PredicateCycloneDX, attestation.PredicateVuln, attestation.PredicateSLSAProvenance}, preds: good, want: "fail", why: attestation.PredicateCodeScan},
		{name: "critical", key: "cosign.key", types: all, preds: bad, want: "fail", why: "fixable vulnerability at or above critical"},
		{name: "scan-outage", key: "cosign.key", types: all, preds: outage, want: "fail", why: "records a scanner that did not run"},
		{name: "foreign-key", key: filepath.Join("foreign", "cosign.key"), types: all, preds: good, want: "fail"},
		{name: "by-tag", key: "cosign.key", types: all, preds: good, byTag: true, want: "fail", why: "missing digest"},
	}

	var pods []string
	var byTagPod string
	results := []map[string]any{}
	for _, im := range images {
		byDigest := cosigntest.PushRandomImage(t, reg.Host, "acme/"+im.name, "v1").String()
		if im.key != "" {
			kyMustCLI(t, dir, cosign, "sign", "--yes", "--key", im.key, "--tlog-upload=false", byDigest)
			for _, typ := range im.types {
				kyMustCLI(t, dir, cosign, "attest", "--yes", "--key", im.key, "--tlog-upload=false", "--type", typ, "--predicate", im.preds[typ], byDigest)
			}
		}
		podImage := byDigest
		if im.byTag {
			podImage = fmt.Sprintf("%s/acme/%s:v1", reg.Host, im.name)
		}
		pod := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\nspec:\n  containers:\n  - name: app\n    image: %s\n", im.name, podImage)
		file := "pod-" + im.name + ".yaml"
		if err := os.WriteFile(filepath.Join(dir, file), []byte(pod), 0o644); err != nil {
			t.Fatal(err)
		}
		if im.byTag {
			// Kyverno verifies the tag's image (a pass row) and then refuses the
			// missing digest (a fail row): kyverno test cannot expect both for one
			// resource, so this Pod goes through kyverno apply below.
			byTagPod = file
			continue
		}
		pods = append(pods, file)
		results = append(results, map[string]any{"policy": "secure-gates", "rule": "verify-secure-gates-chain", "resources": []string{im.name}, "kind": "Pod", "result": im.want})
	}

	// The policy file, with the key identity, and the ClusterPolicy rendered from it
	// by the secure-gates binary, the way a platform team runs it.
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(`apiVersion: secure-gates/v1
kind: Policy
mode: enforce
identities:
  - key: cosign.pub
require:
  - type: cyclonedx
  - type: vuln
    max-age: 24h
    deny: {severity: critical, fixed-only: true}
  - type: code-scan
  - type: slsaprovenance
    source-repository: acme/widgets
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := kyMustCLI(t, dir, h.Binary, "policy", "kyverno", "--policy", "policy.yaml", "--image", reg.Host+"/acme/*", "--ignore-tlog", "--ignore-sct", "--output", "clusterpolicy.yaml")
	if !strings.Contains(out, "clusterpolicy.yaml") {
		t.Errorf("policy kyverno output: %s", out)
	}
	rendered, err := os.ReadFile(filepath.Join(dir, "clusterpolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"failureAction: Enforce", "verifyDigest: true", attestation.PredicateCodeScan, "ignoreTlog: true"} {
		if !strings.Contains(string(rendered), want) {
			t.Errorf("rendered policy lacks %q:\n%s", want, rendered)
		}
	}

	// kyverno test checks every Pod's expected result.
	writeKTest := func(results []map[string]any) {
		spec := map[string]any{
			"apiVersion": "cli.kyverno.io/v1alpha1",
			"kind":       "Test",
			"metadata":   map[string]any{"name": "secure-gates-admission"},
			"policies":   []string{"clusterpolicy.yaml"},
			"resources":  pods,
			"results":    results,
		}
		kyWriteJSON(t, filepath.Join(dir, "kyverno-test.yaml"), spec) // JSON is YAML
	}
	writeKTest(results)
	out, code := kyRunCLI(t, dir, kyvernoBin, "test", ".", "--detailed-results", "--remove-color")
	t.Logf("kyverno test:\n%s", out)
	// Kyverno reports a row per check (signature and attestations, then digest);
	// every row must be as expected, and there are at least as many as Pods.
	var passed, failed int
	if _, err := fmt.Sscanf(out[strings.LastIndex(out, "Test Summary: "):], "Test Summary: %d tests passed and %d tests failed", &passed, &failed); err != nil || code != 0 || failed != 0 || passed < len(pods) {
		t.Fatalf("kyverno test: exit %d, %d rows as expected and %d not (parse: %v); want every result of the %d Pods as expected", code, passed, failed, err, len(pods))
	}
	for _, im := range images {
		if im.why != "" && !im.byTag && !strings.Contains(out, im.why) {
			t.Errorf("%s: the refusal does not name %q", im.name, im.why)
		}
	}

	// (by tag) kyverno apply refuses a Pod that names its image by tag.
	out, _ = kyRunCLI(t, dir, kyvernoBin, "apply", "clusterpolicy.yaml", "--resource", byTagPod, "--remove-color")
	t.Logf("kyverno apply %s:\n%s", byTagPod, out)
	if !strings.Contains(out, "missing digest") || !regexp.MustCompile(`fail: [1-9]`).MatchString(out) {
		t.Errorf("a Pod referencing its image by tag was not refused for its missing digest")
	}

	// The check is live: expecting the unsigned image to pass makes kyverno test fail.
	flipped := make([]map[string]any, len(results))
	copy(flipped, results)
	flipped[1] = map[string]any{"policy": "secure-gates", "rule": "verify-secure-gates-chain", "resources": []string{"unsigned"}, "kind": "Pod", "result": "pass"}
	writeKTest(flipped)
	if out, code := kyRunCLI(t, dir, kyvernoBin, "test", ".", "--remove-color"); code == 0 {
		t.Errorf("kyverno test accepted an unsigned image as pass:\n%s", out)
	}

	// Audit mode renders a policy that reports but does not block.
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("apiVersion: secure-gates/v1\nkind: Policy\nmode: audit\nidentities:\n  - key: cosign.pub\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = kyMustCLI(t, dir, h.Binary, "policy", "kyverno", "--policy", "policy.yaml", "--image", reg.Host+"/acme/*")
	if !strings.Contains(out, "failureAction: Audit") || strings.Contains(out, "failureAction: Enforce") {
		t.Errorf("audit policy rendered:\n%s", out)
	}
}

// kyDASTPredicate writes a dast predicate for environment with decision and
// alerts (counts follow them), from the documented example.
func kyDASTPredicate(t *testing.T, dir, name, env, decision string, alerts ...map[string]any) string {
	t.Helper()
	var p map[string]any
	readJSON(t, filepath.Join(h.Root, "pkg", "attestation", "testdata", "predicates", "dast.json"), &p)
	now := time.Now().UTC().Truncate(time.Second)
	p["environment"], p["decision"] = env, decision
	p["scanStartedOn"], p["scanFinishedOn"], p["evaluatedOn"] = now.Add(-time.Minute).Format(time.RFC3339), now.Format(time.RFC3339), now.Format(time.RFC3339)
	counts := map[string]any{"critical": 0, "high": 0, "medium": 0, "low": 0, "informational": 0}
	list := []any{}
	for _, a := range alerts {
		list = append(list, a)
		if d := a["disposition"]; d == "counted" || d == "warn" || d == "fail" {
			counts[a["risk"].(string)] = counts[a["risk"].(string)].(int) + a["count"].(int)
		}
	}
	p["alerts"], p["counts"] = list, counts
	delete(p, "exceptionsApplied")
	path := kyWriteJSON(t, filepath.Join(dir, name+".json"), p)
	data, _ := os.ReadFile(path)
	if err := attestation.ValidatePredicate(attestation.PredicateDAST, data, attestation.Options{}); err != nil {
		t.Fatalf("fixture %s is not a valid dast predicate: %v", name, err)
	}
	return path
}

// Admission requires the DAST promotion rule as the pipeline does: a
// ClusterPolicy rendered for production by `secure-gates policy kyverno
// --environment production` admits, in the real Kyverno CLI, an image whose
// dast attestation passed in staging, and refuses one whose DAST failed, one
// scanned in another environment, one whose High alert only the repository's
// rules file ignored, and one without a DAST. The rendering for staging leaves
// the requirement out.
func TestKyvernoAdmissionDAST(t *testing.T) {
	t.Parallel()
	kyvernoBin, cosign, reg, dir := kySetup(t)

	alert := func(id, risk, disposition string) map[string]any {
		return map[string]any{"id": id, "name": "alert " + id, "risk": risk, "count": 1, "urls": []any{"https://staging.widgets.example.com/"}, "disposition": disposition}
	}
	images := []struct {
		name, pred, want, why string
	}{
		{"dast-pass", kyDASTPredicate(t, dir, "pass", "staging", "pass", alert("10038", "medium", "warn")), "pass", ""},
		{"dast-fail", kyDASTPredicate(t, dir, "fail", "staging", "fail", alert("40012", "high", "counted")), "fail", "decision is not pass"},
		{"dast-dev", kyDASTPredicate(t, dir, "dev", "dev", "pass"), "fail", "is not of environment staging"},
		{"dast-ignored", kyDASTPredicate(t, dir, "ignored", "staging", "pass", alert("40012", "high", "ignored")), "fail", "alert at or above risk high"},
		{"dast-none", "", "fail", attestation.PredicateDAST},
	}
	var pods []string
	var results []map[string]any
	for _, im := range images {
		byDigest := cosigntest.PushRandomImage(t, reg.Host, "acme/"+im.name, "v1").String()
		kyMustCLI(t, dir, cosign, "sign", "--yes", "--key", "cosign.key", "--tlog-upload=false", byDigest)
		if im.pred != "" {
			kyMustCLI(t, dir, cosign, "attest", "--yes", "--key", "cosign.key", "--tlog-upload=false", "--type", attestation.PredicateDAST, "--predicate", im.pred, byDigest)
		}
		pod := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\nspec:\n  containers:\n  - name: app\n    image: %s\n", im.name, byDigest)
		file := "pod-" + im.name + ".yaml"
		if err := os.WriteFile(filepath.Join(dir, file), []byte(pod), 0o644); err != nil {
			t.Fatal(err)
		}
		pods = append(pods, file)
		results = append(results, map[string]any{"policy": "secure-gates", "rule": "verify-secure-gates-chain", "resources": []string{im.name}, "kind": "Pod", "result": im.want})
	}
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("apiVersion: secure-gates/v1\nkind: Policy\nidentities:\n  - key: cosign.pub\n"+
		"require:\n  - type: dast\n    environment: staging\n    max-age: 72h\n    deny: {risk: high}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	staging := kyMustCLI(t, dir, h.Binary, "policy", "kyverno", "--policy", "policy.yaml", "--image", reg.Host+"/acme/*", "--environment", "staging")
	if strings.Contains(staging, attestation.PredicateDAST) || !strings.Contains(staging, "not required for a deploy to staging") {
		t.Errorf("the staging rendering requires the DAST it runs after admission:\n%s", staging)
	}
	kyMustCLI(t, dir, h.Binary, "policy", "kyverno", "--policy", "policy.yaml", "--image", reg.Host+"/acme/*", "--environment", "production",
		"--ignore-tlog", "--ignore-sct", "--output", "clusterpolicy.yaml")
	kyWriteJSON(t, filepath.Join(dir, "kyverno-test.yaml"), map[string]any{
		"apiVersion": "cli.kyverno.io/v1alpha1", "kind": "Test", "metadata": map[string]any{"name": "secure-gates-dast"},
		"policies": []string{"clusterpolicy.yaml"}, "resources": pods, "results": results,
	})
	out, code := kyRunCLI(t, dir, kyvernoBin, "test", ".", "--detailed-results", "--remove-color")
	t.Logf("kyverno test:\n%s", out)
	var passed, failed int
	if _, err := fmt.Sscanf(out[strings.LastIndex(out, "Test Summary: "):], "Test Summary: %d tests passed and %d tests failed", &passed, &failed); err != nil || code != 0 || failed != 0 || passed < len(pods) {
		t.Fatalf("kyverno test: exit %d, %d rows as expected and %d not (parse: %v)", code, passed, failed, err)
	}
	for _, im := range images {
		if im.why != "" && !strings.Contains(out, im.why) {
			t.Errorf("%s: the refusal does not name %q", im.name, im.why)
		}
	}
}

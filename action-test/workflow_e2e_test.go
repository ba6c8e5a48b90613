package actiontest

import (
	"context"
	"encoding/json"
	"net/http/httptest"
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

// e2eWorld is everything the paved road's push pipeline talks to, all real and
// on loopback: Debian's docker-registry, the keyless Sigstore stack (GitHub-shaped
// OIDC issuer, Fulcio, timestamp authority, Rekor v2), a grype DB built from real
// advisories, a code-scanning API double that checks the upload contract, and a
// bare GitOps repository.
type e2eWorld struct {
	t        *testing.T
	st       *testinfra.Sigstore
	reg      *testinfra.Registry
	cs       *codeScanning
	csURL    string
	source   string       // the service repository actions/checkout checks out
	bare     string       // the GitOps repository
	security string       // the security team's private key (PEM), signer of exceptions
	binLayer string       // the service binary, as a layer
	planted  string       // a layer holding known-vulnerable packages (log4j-core 2.14.1, ...)
	image    string       // the image repository, as the caller passes it
	ws       string       // the runners' workspace
	caches   ActionsCache // GitHub's cache service, shared by the runs
}

const e2eWorkflow = ".github/workflows/secure-gates.yml"

func newE2EWorld(t *testing.T) *e2eWorld {
	t.Helper()
	w := &e2eWorld{t: t, cs: &codeScanning{t: t}}
	w.st = testinfra.StartSigstore(t, testinfra.SigstoreOptions{Repo: "acme/widgets", Workflow: e2eWorkflow, Ref: "refs/heads/main"})
	// The one test on a real registry (distribution, as deployments use): every
	// other test runs go-containerregistry's in-process one.
	w.reg = testinfra.StartDistribution(t)
	srv := httptest.NewServer(w.cs)
	t.Cleanup(srv.Close)
	w.csURL = srv.URL
	w.image = w.reg.Host + "/acme/widgets"
	w.ws = filepath.Join(t.TempDir(), "workspace")

	// The service: the example, with a policy for this world's signers — the
	// keyless identity of this repository's workflow on the local stack, and the
	// security team's key for exceptions.
	w.source = filepath.Join(t.TempDir(), "widgets")
	if err := os.CopyFS(w.source, os.DirFS(examplePath())); err != nil {
		t.Fatal(err)
	}
	var pub string
	w.security, pub = testinfra.ECDSAKey(t)
	write := func(rel, data string) {
		if err := os.WriteFile(filepath.Join(w.source, rel), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".secure-gates/security.pub", pub)
	write(".secure-gates/policy.yaml", `apiVersion: secure-gates/v1
kind: Policy
mode: enforce
enforce-environments: [production]
identities:
  - issuer: `+w.st.Issuer+`
    subject-regexp: ^https://github\.com/acme/widgets/\.github/workflows/secure-gates\.yml@refs/heads/main$
    repository: acme/widgets
    ref: refs/heads/main
    trigger: push
require:
  - type: cyclonedx
  - type: spdx
  - type: vuln
    max-age: 24h
    deny: {severity: critical, fixed-only: true}
  - type: code-scan
  - type: slsaprovenance
    source-repository: acme/widgets
exceptions:
  signers: [{key: .secure-gates/security.pub}]
`)

	// What docker/build-push-action would build: the service binary, and for the
	// planted run a layer of known-vulnerable packages as well.
	rootfs := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(rootfs, "widgets"), ".")
	build.Dir = w.source
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example service: %v\n%s", err, out)
	}
	w.binLayer = testinfra.LayerFromDir(t, rootfs)
	w.planted = testinfra.LayerFromDir(t, testinfra.SBOMRootfs(t))

	// The GitOps repository, its staging overlay naming the image repository.
	w.bare = vdGitOpsRepo(t, w.image)
	return w
}

// run runs the reusable workflow for a push to main, job by job, with the image
// the build job builds (planted: with the vulnerable layer).
func (w *e2eWorld) run(planted bool) (map[string]*JobResult, string) {
	w.t.Helper()
	layers := []string{w.binLayer}
	if planted {
		layers = append(layers, w.planted)
	}
	var digest string
	jobs, err := w.workflowRun(layers, &digest).Run(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return jobs, digest
}

// workflowRun is the reusable workflow's run for a push to main, building an
// image of layers and setting *digest to its digest.
func (w *e2eWorld) workflowRun(layers []string, digest *string) *WorkflowRun {
	w.t.Helper()
	wf, err := ReadWorkflow(filepath.Join(h.Root, ".github", "workflows", "secure-gates.yml"))
	if err != nil {
		w.t.Fatal(err)
	}
	return &WorkflowRun{
		Harness: h, Workflow: wf, Event: "push", Token: "ghs_scantoken", Source: w.source, Caches: &w.caches,
		SHA: "4b825dc642cb6eb9a060e54bf8d69288fbee4904", Ref: "refs/heads/main", Repository: "acme/widgets",
		Workspace: w.ws,
		Inputs: map[string]string{"image": w.image, "environment": "staging", "deploy": "gitops",
			"gitops-repo": w.bare, "gitops-path": "overlays/staging", "registry": w.reg.Host},
		Env: map[string]string{"GITHUB_API_URL": w.csURL,
			"GITHUB_WORKFLOW_REF": "acme/widgets/" + e2eWorkflow + "@refs/heads/main"},
		IDTokenEnv: map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": w.st.TokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": w.st.RequestToken},
		// The one change to the template: Sigstore is the local stack, not the
		// public-good instance, and the grype DB is the test's.
		With: func(job, action string, with map[string]string) { localInputs(w.t, w.st, action, with) },
		Build: func(with map[string]string) (map[string]string, error) {
			if with["push"] != "true" || with["provenance"] != "false" || !strings.HasPrefix(with["tags"], w.image+":") {
				w.t.Errorf("build-push-action with %v: want push true, provenance false (ours is attested), a tag of %s", with, w.image)
			}
			*digest = testinfra.PushImage(w.t, with["tags"], testinfra.ImageFromLayers(w.t, layers...))
			return map[string]string{"digest": *digest}, nil
		},
	}
}

// localInputs points a secure-gates step of a workflow run at what the test
// runs on loopback: Sigstore is the local stack (its trusted root and signing
// config), not the public-good instance, and the grype DB is the test's.
func localInputs(t *testing.T, st *testinfra.Sigstore, action string, with map[string]string) {
	switch action {
	case "sign", "attest", "verify-and-deploy":
		with["trusted-root"], with["signing-config"] = st.TrustedRoot, st.SigningConfig
	case "scan", "sbom":
		with["db-dir"] = testinfra.GrypeDB(t)
	}
}

// exception attaches a security-team exception for ids to image@digest, the
// way their approval workflow does: the attest action with their key.
func (w *e2eWorld) exception(digest string, expires time.Time, ids ...string) {
	w.t.Helper()
	ws := w.t.TempDir()
	pred, _ := json.Marshal(attestation.Exception{Findings: ids, Scope: w.image, Reason: "log4j-core is on the classpath of a CLI we never run in this image",
		Ticket: "SEC-2026", Approver: "security-team@acme.example", Expires: expires.UTC().Truncate(time.Second)})
	if err := os.WriteFile(filepath.Join(ws, "exception.json"), pred, 0o644); err != nil {
		w.t.Fatal(err)
	}
	res := run(w.t, Step{Action: "attest", Workspace: ws, Repository: "acme/security-exceptions", EventName: "workflow_dispatch",
		With: map[string]string{"image": w.image + "@" + digest, "require-digest": "true", "key": w.security, "tlog-upload": "false",
			"predicates": "exception=exception.json"}})
	if res.ExitCode != 0 {
		w.t.Fatalf("attesting the exception: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
}

func wantJobs(t *testing.T, jobs map[string]*JobResult, want map[string]string) {
	t.Helper()
	for name, result := range want {
		if jobs[name].Result != result {
			t.Errorf("job %s: %s (%s), want %s", name, jobs[name].Result, jobs[name].Failed, result)
			for id, r := range jobs[name].Steps {
				t.Logf("  step %s: exit %d\n%s\n%s", id, r.ExitCode, r.Summary, r.Stderr)
			}
		}
	}
}

var stagingDigest = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

func (w *e2eWorld) deployed() string {
	w.t.Helper()
	m := stagingDigest.FindStringSubmatch(vdShow(w.t, w.bare, "overlays/staging/kustomization.yaml"))
	if m == nil {
		return ""
	}
	return m[1]
}

// TestFiveGateWorkflow runs the paved road's reusable workflow as the runner
// would — every job on a fresh runner, each secure-gates action through its
// action.yml, the outputs of one job fed to the next as needs.*.outputs, the
// artifacts carried between jobs — three times:
//  1. a clean build passes every gate: the GitOps repository names the verified
//     digest and the VSA is attested on it (the real cosign CLI verifies it);
//  2. a build with a planted critical CVE is signed and attested (the vuln
//     attestation says what is in it) and stops at verify-and-deploy: nothing
//     is deployed; an expired exception for the CVE changes nothing;
//  3. with a signed, unexpired exception for that CVE from the security team,
//     the same digest passes, and the summary and VSA show the exception.
func TestFiveGateWorkflow(t *testing.T) {
	t.Parallel()
	w := newE2EWorld(t)

	// 1. Clean.
	jobs, clean := w.run(false)
	wantJobs(t, jobs, map[string]string{"threat-model": "skipped", "scan": "success", "build": "success", "sbom": "success",
		"sign-attest": "success", "deploy": "success"})
	if t.Failed() {
		t.FailNow()
	}
	if jobs["build"].Outputs["digest"] != clean || jobs["deploy"].Outputs["verified"] != "true" {
		t.Errorf("outputs: build %v, deploy %v", jobs["build"].Outputs, jobs["deploy"].Outputs)
	}
	if got := w.deployed(); got != clean {
		t.Errorf("the GitOps repository names %s, want the verified %s", got, clean)
	}
	vd := jobs["deploy"].Steps["verify"]
	if !strings.Contains(vd.Summary, "attested on the digest by") {
		t.Errorf("the VSA was not attested:\n%s", vd.Summary)
	}
	keyless := []string{"--new-bundle-format", "--trusted-root", w.st.TrustedRoot, "--use-signed-timestamps", "--insecure-ignore-sct",
		"--certificate-oidc-issuer", w.st.Issuer, "--certificate-identity-regexp", `^https://github\.com/acme/widgets/\.github/workflows/secure-gates\.yml@`}
	out, err := testinfra.RunCosign(t, nil, append(append([]string{"verify-attestation", "--type", attestation.PredicateVSA}, keyless...), w.image+"@"+clean)...)
	if err != nil {
		t.Fatalf("cosign verify-attestation of the VSA: %v\n%s", err, out)
	}
	if p := decodePayloads(t, out); !strings.Contains(p, `"verificationResult":"`+string(attestation.VerificationPassed)+`"`) {
		t.Errorf("the attested VSA does not say %s: %s", attestation.VerificationPassed, p)
	}
	// Code scanning got the scan's SARIF and the image's.
	if n := len(w.cs.uploads); n != 2 {
		t.Errorf("%d SARIF uploads, want 2 (scan, sbom)", n)
	}
	// The push to main saved the scan cache under the scan's cache-key.
	saved := w.caches.Saved()
	key := jobs["scan"].Steps["scan"].Outputs["cache-key"]
	if len(saved) != 1 || !strings.HasPrefix(key, "secure-gates-scan-Linux-") || saved[0] != key+"@refs/heads/main" {
		t.Errorf("caches saved %v, scan cache-key %q: want the one key saved from refs/heads/main", saved, key)
	}

	// 2. A critical CVE planted in the image: attested for what it is, refused at
	// the deploy gate, an expired waiver changes nothing.
	jobs, planted := w.run(true)
	wantJobs(t, jobs, map[string]string{"scan": "success", "build": "success", "sbom": "success", "sign-attest": "success", "deploy": "failure"})
	// The source did not change: the scan ran warm on the restored cache, gave
	// the key it restored, and nothing new was saved.
	if got := jobs["scan"].Steps["scan"].Outputs["cache-key"]; got != key || len(w.caches.Saved()) != 1 {
		t.Errorf("second run: cache-key %q (first %q), caches saved %v: want the same key and nothing new", got, key, w.caches.Saved())
	}
	if planted == clean {
		t.Fatal("the planted image has the clean image's digest")
	}
	if c := jobs["sbom"].Steps["sbom"].Outputs["critical"]; c == "0" || c == "" {
		t.Errorf("sbom recorded %q criticals in the planted image", c)
	}
	vd = jobs["deploy"].Steps["verify"]
	if vd.ExitCode != 1 || !strings.Contains(vd.Summary, "CVE-2021-44228") && !strings.Contains(vd.Summary, "GHSA-jfh8-c2jp-5v3q") {
		t.Errorf("verify-and-deploy: exit %d, want 1 naming log4j's CVE:\n%s", vd.ExitCode, vd.Summary)
	}
	if got := w.deployed(); got != clean {
		t.Errorf("the GitOps repository names %s after a refused deploy, want still %s", got, clean)
	}
	w.exception(planted, time.Now().Add(-time.Hour), "CVE-2021-44228")
	jobs, _ = w.run(true)
	wantJobs(t, jobs, map[string]string{"deploy": "failure"})
	if s := jobs["deploy"].Steps["verify"].Summary; !strings.Contains(s, "Exceptions refused") || !strings.Contains(s, "expired") {
		t.Errorf("the expired exception is not listed as refused:\n%s", s)
	}

	// 3. The security team signs an unexpired exception: the same digest passes.
	w.exception(planted, time.Now().Add(7*24*time.Hour), "CVE-2021-44228")
	jobs, again := w.run(true)
	wantJobs(t, jobs, map[string]string{"scan": "success", "build": "success", "sbom": "success", "sign-attest": "success", "deploy": "success"})
	if again != planted {
		t.Fatalf("the rebuild has digest %s, want the reproducible %s", again, planted)
	}
	vd = jobs["deploy"].Steps["verify"]
	for _, want := range []string{"Exceptions used", "SEC-2026", "log4j-core is on the classpath"} {
		if !strings.Contains(vd.Summary, want) {
			t.Errorf("the summary does not show the exception (%q):\n%s", want, vd.Summary)
		}
	}
	var used []attestation.AppliedException
	if err := json.Unmarshal([]byte(vd.Outputs["exceptions-used"]), &used); err != nil || len(used) != 1 || used[0].Ticket != "SEC-2026" {
		t.Errorf("exceptions-used output %q (%v)", vd.Outputs["exceptions-used"], err)
	}
	if got := w.deployed(); got != planted {
		t.Errorf("the GitOps repository names %s, want the verified %s", got, planted)
	}
	var vsa attestation.VSA
	readJSON(t, filepath.Join(w.ws, vd.Outputs["vsa"]), &vsa)
	if !slices.Contains(vsa.VerifiedLevels, verify.LevelExceptionsUsed) {
		t.Errorf("VSA levels %v lack %s", vsa.VerifiedLevels, verify.LevelExceptionsUsed)
	}
}

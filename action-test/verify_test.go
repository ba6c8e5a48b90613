package actiontest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// vdWorld is a workspace with a policy and its keys, and a loopback registry.
type vdWorld struct {
	t    *testing.T
	host string
	ws   string
	keys map[string]string // name → private key PEM
}

const vdPolicy = `apiVersion: secure-gates/v1
kind: Policy
mode: %MODE%
enforce-environments: [production]
identities:
  - key: .secure-gates/release.pub
require:
  - type: cyclonedx
  - type: vuln
    max-age: 24h
    deny: {severity: critical}
  - type: code-scan
  - type: slsaprovenance
    source-repository: acme/widgets
exceptions:
  signers: [{key: .secure-gates/security.pub}]
`

func vdNewWorld(t *testing.T, mode string) *vdWorld {
	t.Helper()
	reg := testinfra.StartRegistry(t)
	w := &vdWorld{t: t, host: reg.Host, ws: t.TempDir(), keys: map[string]string{}}
	if err := os.MkdirAll(filepath.Join(w.ws, ".secure-gates"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"release", "security", "other"} {
		var pub string
		w.keys[n], pub = testinfra.ECDSAKey(t)
		if err := os.WriteFile(filepath.Join(w.ws, ".secure-gates", n+".pub"), []byte(pub), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pol := strings.Replace(vdPolicy, "%MODE%", mode, 1)
	if err := os.WriteFile(filepath.Join(w.ws, ".secure-gates", "policy.yaml"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *vdWorld) push(repo, tag string) oci.Ref {
	w.t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	r, err := name.ParseReference(w.host + "/" + repo + ":" + tag)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		w.t.Fatal(err)
	}
	h, _ := img.Digest()
	return oci.Ref{Repository: r.Context().Name(), Digest: h.String(), Tag: tag}
}

func (w *vdWorld) opts(key string) signing.Options {
	return signing.Options{Key: w.keys[key], Format: signing.FormatBoth}
}

// attestAll signs ref with the release key and attests the four required
// predicates (our own sign/attest library), the vuln scan carrying vulns.
func (w *vdWorld) attestAll(ref oci.Ref, sign bool, vulns ...map[string]any) {
	w.t.Helper()
	ctx := context.Background()
	if sign {
		if _, err := signing.Sign(ctx, ref, w.opts("release")); err != nil {
			w.t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	if vulns == nil {
		vulns = []map[string]any{}
	}
	preds := map[string]any{
		"cyclonedx": map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []any{}},
		"vuln": map[string]any{
			"invocation": map[string]any{"parameters": nil, "uri": "https://github.com/acme/widgets/actions/runs/1", "event_id": "1", "builder.id": "secure-gates"},
			"scanner": map[string]any{"uri": "pkg:golang/github.com/anchore/grype@v0.120.1", "version": "0.120.1",
				"db": map[string]any{"uri": "grype-db", "version": "6"}, "result": map[string]any{"matches": vulns}},
			"metadata": map[string]any{"scanStartedOn": now.Add(-2 * time.Minute).Format(time.RFC3339), "scanFinishedOn": now.Add(-time.Minute).Format(time.RFC3339)},
		},
		"code-scan": map[string]any{
			"tools": []any{map[string]any{"name": "gitleaks", "version": "8.30.1"}}, "rules": map[string]any{"count": 10},
			"counts": map[string]any{"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0, "unknown": 0},
			"sarif":  map[string]any{"digest": "sha256:" + strings.Repeat("a", 64)}, "decision": "pass",
			"scanStartedOn": now.Add(-2 * time.Minute).Format(time.RFC3339), "scanFinishedOn": now.Add(-time.Minute).Format(time.RFC3339),
		},
		"slsaprovenance": map[string]any{
			"buildDefinition": map[string]any{"buildType": "https://actions.github.io/buildtypes/workflow/v1",
				"externalParameters": map[string]any{"workflow": map[string]any{"repository": "https://github.com/acme/widgets"}},
				"resolvedDependencies": []any{map[string]any{"uri": "git+https://github.com/acme/widgets@refs/heads/main",
					"digest": map[string]any{"gitCommit": strings.Repeat("c", 40)}}}},
			"runDetails": map[string]any{"builder": map[string]any{"id": "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main"}},
		},
	}
	var list []signing.Predicate
	for _, typ := range []string{"cyclonedx", "vuln", "code-scan", "slsaprovenance"} {
		data, _ := json.Marshal(preds[typ])
		list = append(list, signing.Predicate{Type: typ, Data: data})
	}
	if _, err := signing.Attest(ctx, ref, list, w.opts("release")); err != nil {
		w.t.Fatal(err)
	}
}

func vdCritical(id string) map[string]any {
	return map[string]any{"vulnerability": map[string]any{"id": id, "severity": "Critical", "fix": map[string]any{"state": "fixed", "versions": []string{"2.17.1"}}},
		"artifact": map[string]any{"name": "log4j-core", "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}}
}

func vdGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// vdGitOpsRepo makes a bare repository with overlays/staging (or each of
// overlays) holding a kustomization naming image (a repository) and the
// Deployment it renders, which runs the image by tag.
func vdGitOpsRepo(t *testing.T, image string, overlays ...string) string {
	t.Helper()
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\nimages:\n- name: " + image + "\n  newTag: v1\n"
	return vdGitOpsRepoWith(t, k, image+":v0", overlays...)
}

// vdGitOpsRepoWith makes a bare repository whose overlays/staging (or each of
// overlays) holds the kustomization k and a Deployment whose container runs
// image.
func vdGitOpsRepoWith(t *testing.T, k, image string, overlays ...string) string {
	t.Helper()
	if len(overlays) == 0 {
		overlays = []string{"staging"}
	}
	root := t.TempDir()
	bare := filepath.Join(root, "gitops.git")
	seed := filepath.Join(root, "seed")
	vdGit(t, root, "init", "--quiet", "--bare", "--initial-branch=main", bare)
	vdGit(t, root, "clone", "--quiet", bare, seed)
	deployment := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n" +
		"    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: app, image: \"" + image + "\"}]\n"
	for _, env := range overlays {
		dir := filepath.Join(seed, "overlays", env)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{"kustomization.yaml": k, "deployment.yaml": deployment} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	vdGit(t, seed, "add", ".")
	vdGit(t, seed, "commit", "--quiet", "-m", "seed")
	vdGit(t, seed, "push", "--quiet", "origin", "HEAD:main")
	return bare
}

func vdShow(t *testing.T, bare, what string) string {
	t.Helper()
	return vdGit(t, bare, "show", "main:"+what)
}

func vdStep(w *vdWorld, with map[string]string) Step {
	return Step{Action: "verify-and-deploy", Workspace: w.ws, With: with, Timeout: 3 * time.Minute}
}

// vdCopyWorkspace copies the world's workspace (policy and keys) into a fresh
// folder, for a step that runs in parallel with others: verify-and-deploy
// writes its report and VSA into the workspace.
func vdCopyWorkspace(t *testing.T, w *vdWorld) string {
	t.Helper()
	ws := t.TempDir()
	if err := os.CopyFS(ws, os.DirFS(w.ws)); err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestVerifyAndDeployGitOps(t *testing.T) {
	t.Parallel()
	w := vdNewWorld(t, "enforce")
	ref := w.push("acme/widgets", "v1")
	w.attestAll(ref, true)
	bare := vdGitOpsRepo(t, ref.Repository)
	before := vdGit(t, bare, "rev-parse", "main")
	res := run(t, vdStep(w, map[string]string{"image": ref.Repository + ":v1", "environment": "staging",
		"deploy": "gitops", "gitops-repo": bare, "gitops-path": "overlays/staging", "token": "ghs_gitopstoken123"}))
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.ExitCode, res.Summary, res.Stderr)
	}
	if res.Outputs["verified"] != "true" || res.Outputs["digest"] != ref.Digest || res.Outputs["break-glass"] != "false" || res.Outputs["exceptions-used"] != "[]" {
		t.Errorf("outputs %v", res.Outputs)
	}
	wantSummary(t, res, "✓ verified", "| signature | ✓ |", "| cyclonedx | ✓ |", "| vuln | ✓ |", "| code-scan | ✓ |", "| slsaprovenance | ✓ |", "Committed ")
	masked := false
	for _, c := range res.Commands {
		masked = masked || c.Name == "add-mask" && c.Message == "ghs_gitopstoken123"
	}
	if !masked {
		t.Error("the token is not masked")
	}
	for _, l := range strings.Split(res.Log+"\n"+res.Stderr+"\n"+res.Summary, "\n") {
		if strings.Contains(l, "ghs_gitopstoken123") && !strings.HasPrefix(l, "::add-mask::") {
			t.Errorf("the token appears outside its mask command: %s", l)
		}
	}
	// The commit landed in the bare repository with the digest, source commit and result.
	if vdGit(t, bare, "rev-parse", "main") == before {
		t.Fatal("nothing pushed")
	}
	k := vdShow(t, bare, "overlays/staging/kustomization.yaml")
	if !strings.Contains(k, "digest: "+ref.Digest) || strings.Contains(k, "newTag") {
		t.Errorf("kustomization:\n%s", k)
	}
	msg := vdGit(t, bare, "log", "-1", "--format=%B", "main")
	for _, want := range []string{ref.Digest, "Source-Commit: 0123456789abcdef0123456789abcdef01234567", "Verification: PASSED policy .secure-gates/policy.yaml sha256:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}
	// The report and the VSA.
	var rep struct {
		Verified bool `json:"verified"`
		Inputs   []any
	}
	data, err := os.ReadFile(filepath.Join(w.ws, res.Outputs["report"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil || !rep.Verified || len(rep.Inputs) != 5 {
		t.Errorf("report %s", data)
	}
	data, err = os.ReadFile(filepath.Join(w.ws, res.Outputs["vsa"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateVSA, data, attestation.Options{}); err != nil {
		t.Errorf("VSA: %v\n%s", err, data)
	}
	var vsa attestation.VSA
	_ = json.Unmarshal(data, &vsa)
	if vsa.VerificationResult != "PASSED" || vsa.Policy.URI != ".secure-gates/policy.yaml" || len(vsa.Policy.Digest["sha256"]) != 64 ||
		len(vsa.InputAttestations) != 5 || vsa.VerifiedLevels[0] != "SLSA_BUILD_LEVEL_2" {
		t.Errorf("VSA %s", data)
	}
	if !strings.Contains(res.Summary, "not attested: no signing identity") {
		t.Errorf("summary does not say the VSA stayed a file:\n%s", res.Summary)
	}

	// With a signing key the VSA is attested on the digest: a policy requiring a
	// vsa attestation signed by that key then passes.
	res = run(t, vdStep(w, map[string]string{"image": ref.String(), "vsa-key": w.keys["release"], "attest-vsa": "true"}))
	if res.ExitCode != 0 || !strings.Contains(res.Summary, "attested on the digest by") {
		t.Fatalf("exit %d\n%s\n%s", res.ExitCode, res.Summary, res.Stderr)
	}
	vsaPolicy := filepath.Join(w.ws, ".secure-gates", "vsa.yaml")
	if err := os.WriteFile(vsaPolicy, []byte("apiVersion: secure-gates/v1\nkind: Policy\nidentities: [{key: .secure-gates/release.pub}]\nrequire: [{type: vsa}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = run(t, vdStep(w, map[string]string{"image": ref.String(), "policy": ".secure-gates/vsa.yaml"}))
	if res.ExitCode != 0 || !strings.Contains(res.Summary, "| vsa | ✓ |") {
		t.Errorf("the attested VSA does not verify: exit %d\n%s", res.ExitCode, res.Summary)
	}
}

func TestVerifyAndDeployRefusesAndListsEveryCause(t *testing.T) {
	t.Parallel()
	w := vdNewWorld(t, "enforce")
	ref := w.push("acme/widgets", "v1")
	// Not signed; attested, but with an unwaived critical; plus an expired
	// exception and one signed by a key the policy does not allow.
	w.attestAll(ref, false, vdCritical("CVE-2021-44228"))
	ctx := context.Background()
	exc := func(key string, expires time.Time) {
		data, _ := json.Marshal(map[string]any{"findings": []string{"CVE-2021-44228"}, "reason": "r", "ticket": "SEC-1", "approver": "a",
			"expires": expires.UTC().Format(time.RFC3339)})
		if _, err := signing.Attest(ctx, ref, []signing.Predicate{{Type: "exception", Data: data}}, w.opts(key)); err != nil {
			t.Fatal(err)
		}
	}
	exc("security", time.Now().Add(-time.Hour))
	exc("other", time.Now().Add(time.Hour))
	bare := vdGitOpsRepo(t, ref.Repository)
	before := vdGit(t, bare, "rev-parse", "main")
	res := run(t, vdStep(w, map[string]string{"image": ref.String(), "deploy": "gitops", "gitops-repo": bare, "gitops-path": "overlays/staging"}))
	if res.ExitCode != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", res.ExitCode, res.Summary, res.Stderr)
	}
	if res.Outputs["verified"] != "false" {
		t.Errorf("verified = %q", res.Outputs["verified"])
	}
	wantSummary(t, res, "✗ NOT verified", "| signature | ✗ | image is not signed", "| vuln | ✗ |", "CVE-2021-44228 (critical in log4j-core)",
		"expired at", "signed by no allowed exception signer", "BLOCKED")
	if errs := res.Count("error"); errs < 2 {
		t.Errorf("%d error annotations, want one per failure (signature, vuln)", errs)
	}
	if vdGit(t, bare, "rev-parse", "main") != before {
		t.Error("an unverified image was deployed")
	}
}

func TestVerifyAndDeployAuditNeverBlocks(t *testing.T) {
	t.Parallel()
	w := vdNewWorld(t, "audit")
	ref := w.push("acme/widgets", "v1")
	bare := vdGitOpsRepo(t, ref.Repository)
	// Nothing attached at all: audit reports every failure and deploys anyway.
	res := run(t, vdStep(w, map[string]string{"image": ref.String(), "environment": "staging", "deploy": "gitops", "gitops-repo": bare, "gitops-path": "overlays/staging"}))
	if res.ExitCode != 0 {
		t.Fatalf("audit mode blocked: exit %d\n%s\n%s", res.ExitCode, res.Summary, res.Stderr)
	}
	wantSummary(t, res, "AUDIT MODE", "never blocks", "In enforce mode it would have been BLOCKED", "| signature | ✗ |", "| cyclonedx | ✗ | missing")
	if res.Outputs["verified"] != "false" {
		t.Errorf("verified = %q", res.Outputs["verified"])
	}
	for _, a := range res.Annotations() {
		if a.Name == "error" {
			t.Errorf("audit mode raised an error annotation: %+v", a)
		}
	}
	if k := vdShow(t, bare, "overlays/staging/kustomization.yaml"); !strings.Contains(k, ref.Digest) {
		t.Errorf("audit mode did not deploy:\n%s", k)
	}
	if msg := vdGit(t, bare, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "FAILED (audit mode") {
		t.Errorf("the commit does not record the audit result:\n%s", msg)
	}
}

// Observation 2 of issue 13: with mode: audit and enforce-environments:
// [production], audit applies only to a named environment outside the list.
// GitHub compares environment names case-insensitively, so Production is
// production; a run that names no environment is enforced too. There the
// unsigned image is refused (exit 1) and nothing is deployed, while staging
// still audits.
func TestVerifyAndDeployEnforceEnvironments(t *testing.T) {
	t.Parallel()
	w := vdNewWorld(t, "audit")
	ref := w.push("acme/widgets", "v1")
	bare := vdGitOpsRepo(t, ref.Repository)
	before := vdGit(t, bare, "rev-parse", "main")
	for _, env := range []string{"production", "Production", "PRODUCTION", ""} {
		res := run(t, vdStep(w, map[string]string{"image": ref.String(), "environment": env, "deploy": "gitops", "gitops-repo": bare, "gitops-path": "overlays/staging"}))
		if res.ExitCode != 1 {
			t.Errorf("environment %q: exit %d, want 1 (enforced)\n%s\n%s", env, res.ExitCode, res.Summary, res.Stderr)
		}
		if strings.Contains(res.Summary, "AUDIT MODE") || !strings.Contains(res.Summary, "this run ENFORCES") {
			t.Errorf("environment %q: the summary does not say the run enforces:\n%s", env, res.Summary)
		}
		if res.Outputs["verified"] != "false" {
			t.Errorf("environment %q: verified = %q", env, res.Outputs["verified"])
		}
	}
	if vdGit(t, bare, "rev-parse", "main") != before {
		t.Fatal("an unsigned image was deployed to an enforced environment")
	}
	res := run(t, vdStep(w, map[string]string{"image": ref.String(), "environment": "staging", "deploy": "gitops", "gitops-repo": bare, "gitops-path": "overlays/staging"}))
	if res.ExitCode != 0 || !strings.Contains(res.Summary, "AUDIT MODE") {
		t.Errorf("staging: exit %d, want 0 in audit mode\n%s\n%s", res.ExitCode, res.Summary, res.Stderr)
	}
}

func TestVerifyAndDeployInputErrors(t *testing.T) {
	t.Parallel()
	w := vdNewWorld(t, "enforce")
	ref := w.push("acme/widgets", "v1")
	bad := filepath.Join(w.ws, ".secure-gates", "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: secure-gates/v1\nkind: Policy\nidentities:\n  - issuer: https://token.actions.githubusercontent.com\n    subject-regexp: acme\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		with map[string]string
		want string
	}{
		{map[string]string{"image": ref.String(), "policy": ".secure-gates/bad.yaml"}, "identities[0].subject-regexp"},
		{map[string]string{"image": ref.String(), "deploy": "helm"}, "want none, kubectl or gitops"},
		{map[string]string{"image": ref.String(), "deploy": "kubectl"}, "workload"},
	} {
		res := run(t, vdStep(w, tt.with))
		if res.ExitCode != 2 || !strings.Contains(res.Log+res.Stderr, tt.want) {
			t.Errorf("%v: exit %d, want 2 naming %q\n%s%s", tt.with, res.ExitCode, tt.want, res.Log, res.Stderr)
		}
	}
}

// vdKube is a Kubernetes API double for one Deployment. It checks that the
// PATCH is a strategic-merge patch carrying the digest, and runs onGet before
// answering the first GET (the test moves the tag there, after verification).
//
// It serves the Deployment's pod as the kubelet reports it: owned by the
// ReplicaSet web-<pod-template-hash>, its container status imageID the digest
// pulled for the template's image, or imageID when set (a mutating webhook that
// rewrote the image). Pods must be listed with the Deployment's selector.
type vdKube struct {
	t       *testing.T
	mu      sync.Mutex
	image   string
	patches []string
	onGet   func()
	imageID string
	lists   int
}

func (k *vdKube) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if r.URL.Path == "/api/v1/namespaces/shop/pods" && r.Header.Get("Authorization") == "Bearer kube-token" {
		k.lists++
		if r.Method != http.MethodGet || r.URL.Query().Get("labelSelector") != "app=web" {
			k.t.Errorf("pods: %s %s, want a GET with the Deployment's selector app=web", r.Method, r.URL)
		}
		id := k.imageID
		if id == "" {
			id = k.image // containerd reports repo@digest for a digest reference
		}
		pod := map[string]any{"metadata": map[string]any{"name": "web-7c9d-x2x4q", "namespace": "shop",
			"labels":          map[string]any{"app": "web", "pod-template-hash": "7c9d"},
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7c9d", "uid": "u", "controller": true}}},
			"status": map[string]any{"phase": "Running", "containerStatuses": []any{map[string]any{"name": "app", "image": k.image, "imageID": id}}}}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"kind": "PodList", "apiVersion": "v1", "metadata": map[string]any{}, "items": []any{pod}})
		return
	}
	if r.URL.Path != "/apis/apps/v1/namespaces/shop/deployments/web" || r.Header.Get("Authorization") != "Bearer kube-token" {
		http.Error(w, `{"kind":"Status","status":"Failure","reason":"NotFound","message":"not found","code":404}`, http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		if k.onGet != nil {
			k.onGet()
			k.onGet = nil
		}
	case http.MethodPatch:
		body, _ := io.ReadAll(r.Body)
		k.patches = append(k.patches, string(body))
		if r.Header.Get("Content-Type") != "application/strategic-merge-patch+json" {
			k.t.Errorf("PATCH content type %q", r.Header.Get("Content-Type"))
		}
		var p struct {
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct{ Name, Image string } `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(body, &p); err != nil || len(p.Spec.Template.Spec.Containers) != 1 || p.Spec.Template.Spec.Containers[0].Name != "app" {
			k.t.Errorf("PATCH body %s", body)
		} else {
			k.image = p.Spec.Template.Spec.Containers[0].Image
		}
	}
	obj := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "generation": 1},
		"spec": map[string]any{"replicas": 1, "selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}, "template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "app", "image": k.image}}}}},
		"status": map[string]any{"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(obj)
}

func TestVerifyAndDeployKubectlUsesTheVerifiedDigest(t *testing.T) {
	t.Parallel()
	w := vdNewWorld(t, "enforce")
	ref := w.push("acme/widgets", "v1")
	w.attestAll(ref, true)
	kube := &vdKube{t: t, image: ref.Repository + ":v0", onGet: func() {
		// After verification, someone moves the tag to an unsigned image.
		w.push("acme/widgets", "v1")
	}}
	srv := httptest.NewTLSServer(kube)
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	conf := "apiVersion: v1\nkind: Config\nclusters: [{name: t, cluster: {server: \"" + srv.URL + "\", certificate-authority-data: " +
		base64.StdEncoding.EncodeToString(ca) + "}}]\nusers: [{name: t, user: {token: kube-token}}]\ncontexts: [{name: t, context: {cluster: t, user: t}}]\ncurrent-context: t\n"
	if err := os.WriteFile(kc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	with := map[string]string{"image": ref.Repository + ":v1", "deploy": "kubectl", "kubeconfig": kc, "namespace": "shop",
		"workload": "deployment/web", "container": "app", "rollout-timeout": "30s"}

	// Dry run first: the exact patch, nothing sent.
	dry := map[string]string{"dry-run": "true"}
	for k, v := range with {
		dry[k] = v
	}
	kube.onGet = nil
	res := run(t, vdStep(w, dry))
	if res.ExitCode != 0 || len(kube.patches) != 0 || !strings.Contains(res.Summary, "DRY RUN") || !strings.Contains(res.Summary, ref.String()) {
		t.Fatalf("dry run: exit %d, patches %v\n%s\n%s", res.ExitCode, kube.patches, res.Summary, res.Stderr)
	}
	kube.onGet = func() { w.push("acme/widgets", "v1") }
	res = run(t, vdStep(w, with))
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.ExitCode, res.Summary, res.Stderr)
	}
	if len(kube.patches) != 1 || !strings.Contains(kube.patches[0], ref.String()) || kube.image != ref.String() {
		t.Fatalf("patches %v, want one setting %s", kube.patches, ref)
	}
	now, err := oci.Resolve(context.Background(), ref.Repository+":v1", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if now.Digest == ref.Digest {
		t.Fatal("the tag was not moved: the test proves nothing")
	}
	if res.Outputs["digest"] != ref.Digest {
		t.Errorf("digest output %s, want the verified %s", res.Outputs["digest"], ref.Digest)
	}
	if kube.lists == 0 || !strings.Contains(res.Summary, "Read back: the running pods report "+ref.Digest+" (web-7c9d-x2x4q)") {
		t.Errorf("the pods were not read back (%d lists):\n%s", kube.lists, res.Summary)
	}

	// A mutating webhook rewrites the image: the rollout completes, but the pod
	// runs another digest. The deploy fails (exit 1) naming the pod and both
	// digests.
	rewritten := "sha256:" + strings.Repeat("6", 64)
	kube.image, kube.imageID, kube.onGet = ref.Repository+":v0", ref.Repository+"@"+rewritten, nil
	verified := map[string]string{}
	for k, v := range with {
		verified[k] = v
	}
	verified["image"] = ref.String()
	res = run(t, vdStep(w, verified))
	if res.ExitCode != 1 {
		t.Fatalf("a pod running another digest: exit %d, want 1\n%s\n%s", res.ExitCode, res.Summary, res.Stderr)
	}
	for _, want := range []string{"kubectl deploy FAILED", "does not run the verified " + ref.Digest, "pod web-7c9d-x2x4q container app runs " + rewritten} {
		if !strings.Contains(res.Summary, want) && !strings.Contains(res.Log+res.Stderr, want) {
			t.Errorf("the failure does not say %q:\n%s\n%s", want, res.Summary, res.Stderr)
		}
	}
	// The workload already names the digest, but its pod runs the tag's: the
	// read-back still fails it.
	kube.imageID = "docker-pullable://" + ref.Repository + "@" + rewritten
	res = run(t, vdStep(w, verified))
	if res.ExitCode != 1 || len(kube.patches) != 2 || !strings.Contains(res.Log+res.Stderr+res.Summary, "runs "+rewritten) {
		t.Errorf("already named, running another digest: exit %d, patches %d\n%s\n%s", res.ExitCode, len(kube.patches), res.Summary, res.Stderr)
	}
}

// A GitOps deploy takes effect or fails (issue 13): the usual kustomization
// shape, an entry renaming a short name to the repository, is updated without
// gitops-image and render-checked; a gitops-image typo and an entry no container
// uses are input errors (exit 2) with nothing pushed — both used to append an
// entry nobody used, push it and report "deployed".
func TestVerifyAndDeployGitOpsTakesEffectOrFails(t *testing.T) {
	t.Parallel()
	w := vdNewWorld(t, "enforce")
	ref := w.push("acme/widgets", "v1")
	w.attestAll(ref, true)
	usual := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\nimages:\n  - {name: app, newName: " +
		ref.Repository + ", newTag: v1}\n"
	for _, tt := range []struct {
		name, k, image, gitopsImage string
		exit                        int
		want                        []string
	}{
		{"the usual shape", usual, "app", "", 0, []string{"images entry app", "Rendered with kustomize: 1 image field(s) run the digest: Deployment/web spec.template.spec.containers"}},
		{"a gitops-image typo", usual, "app", "aap", 2, []string{`no images entry is named "aap" (gitops-image)`, "(e.g. gitops-image: app)"}},
		{"an entry no container uses", usual, "acme/gadgets:v1", "", 2, []string{"no container in the render of overlays/staging uses " + ref.Repository}},
		{"a container runs the repository by a tag no entry covers", usual, ref.Repository + ":v1", "", 2,
			[]string{"does not run " + ref.String() + " everywhere it uses the image: Deployment/web spec.template.spec.containers"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bare := vdGitOpsRepoWith(t, tt.k, tt.image)
			before := vdGit(t, bare, "for-each-ref")
			with := map[string]string{"image": ref.String(), "deploy": "gitops", "gitops-repo": bare, "gitops-path": "overlays/staging"}
			if tt.gitopsImage != "" {
				with["gitops-image"] = tt.gitopsImage
			}
			res := run(t, vdStep(w, with))
			if res.ExitCode != tt.exit {
				t.Fatalf("exit %d, want %d\n%s\n%s", res.ExitCode, tt.exit, res.Summary, res.Stderr)
			}
			out := res.Summary + res.Log + res.Stderr
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			after := vdGit(t, bare, "for-each-ref")
			if tt.exit != 0 {
				if after != before {
					t.Errorf("a refused deploy pushed:\n%s\n→\n%s", before, after)
				}
				return
			}
			k := vdShow(t, bare, "overlays/staging/kustomization.yaml")
			if !strings.Contains(k, "{name: app, newName: '"+ref.Repository+"', digest: '"+ref.Digest+"'}") || strings.Contains(k, "newTag") {
				t.Errorf("kustomization:\n%s", k)
			}
		})
	}
}

// The chain the way it runs in Actions, keyless, against the local Sigstore
// stack: our sign and attest actions (both formats), then verify-and-deploy with
// the stack's trusted root; the right identity passes, another repository's
// identity is refused, and the VSA is attested keylessly.
func TestVerifyAndDeployKeyless(t *testing.T) {
	t.Parallel()
	st := testinfra.StartSigstore(t, testinfra.SigstoreOptions{})
	w := vdNewWorld(t, "enforce")
	ref := w.push("acme/widgets", "v1")
	env := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": st.TokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": st.RequestToken,
		"GITHUB_WORKFLOW_REF": "acme/widgets/.github/workflows/release.yml@refs/heads/main"}
	common := map[string]string{"image": ref.String(), "signing-config": st.SigningConfig, "trusted-root": st.TrustedRoot}
	res := run(t, Step{Action: "sign", Workspace: w.ws, With: common, Env: env})
	if res.ExitCode != 0 {
		t.Fatalf("sign: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	preds := map[string]string{
		"cyclonedx": `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}`,
		"vuln":      `{"invocation":{"parameters":null,"uri":"u","event_id":"1","builder.id":"b"},"scanner":{"uri":"pkg:golang/github.com/anchore/grype@v0.120.1","version":"0.120.1","db":{"uri":"d","version":"6"},"result":{"matches":[]}},"metadata":{"scanStartedOn":"` + now + `","scanFinishedOn":"` + now + `"}}`,
	}
	var lines []string
	for typ, body := range preds {
		p := filepath.Join(w.ws, typ+".json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, typ+"="+p)
	}
	with := map[string]string{"predicates": strings.Join(lines, "\n"), "provenance": "true"}
	for k, v := range common {
		with[k] = v
	}
	res = run(t, Step{Action: "attest", Workspace: w.ws, With: with, Env: env})
	if res.ExitCode != 0 {
		t.Fatalf("attest: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	policy := func(repo string) string {
		return "apiVersion: secure-gates/v1\nkind: Policy\nidentities:\n  - issuer: " + st.Issuer + "\n    subject-regexp: ^https://github\\.com/" +
			strings.ReplaceAll(repo, "/", "/") + "/\\.github/workflows/release\\.yml@refs/heads/main$\n    repository: " + repo +
			"\n    ref: refs/heads/main\n    trigger: push\nrequire:\n  - type: cyclonedx\n  - type: vuln\n    max-age: 1h\n  - type: slsaprovenance\n    source-repository: acme/widgets\n"
	}
	for _, tt := range []struct {
		repo string
		code int
	}{{"acme/widgets", 0}, {"evil/widgets", 1}} {
		p := filepath.Join(w.ws, ".secure-gates", "keyless.yaml")
		if err := os.WriteFile(p, []byte(policy(tt.repo)), 0o644); err != nil {
			t.Fatal(err)
		}
		res = run(t, Step{Action: "verify-and-deploy", Workspace: w.ws, Env: env, With: map[string]string{"image": ref.String(),
			"policy": ".secure-gates/keyless.yaml", "trusted-root": st.TrustedRoot, "signing-config": st.SigningConfig}})
		if res.ExitCode != tt.code {
			t.Fatalf("%s: exit %d, want %d\n%s\n%s", tt.repo, res.ExitCode, tt.code, res.Summary, res.Stderr)
		}
		if tt.code == 0 {
			wantSummary(t, res, "| signature | ✓ |", "| cyclonedx | ✓ |", "| vuln | ✓ |", "| slsaprovenance | ✓ |", "attested on the digest by")
			// Both formats were written by sign/attest and every one of them
			// verified: nothing is ignored as unverifiable.
			data, _ := os.ReadFile(filepath.Join(w.ws, res.Outputs["report"]))
			if strings.Contains(string(data), "does not verify") || !strings.Contains(string(data), `"format": "legacy"`) {
				t.Errorf("report %s", data)
			}
		} else if !strings.Contains(res.Summary, "| signature | ✗ |") {
			t.Errorf("summary:\n%s", res.Summary)
		}
	}
}

// The newest trustworthy evidence decides (issue 13, observation 3), through the
// real binary: an older clean vuln scan does not hide a newer one recording a
// fixable critical — the gate blocks, nothing is pushed, and the summary and the
// report name the older scan as superseded; the reverse deploys.
func TestVerifyAndDeployNewestScanDecides(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name             string
		older, newer     []map[string]any
		code             int
		summaryFragments []string
	}{
		{"older clean, newer critical: blocked", nil, []map[string]any{vdCritical("CVE-2021-44228")}, 1,
			[]string{"| vuln | ✗ |", "CVE-2021-44228 (critical in log4j-core)", "the newest evidence decides", "Superseded"}},
		{"older critical, newer clean: deployed", []map[string]any{vdCritical("CVE-2021-44228")}, nil, 0,
			[]string{"| vuln | ✓ |", "2 older superseded", "Superseded"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := vdNewWorld(t, "enforce")
			ref := w.push("acme/widgets", "v1")
			w.attestAll(ref, true, tt.older...) // its scan finished a minute ago
			vulns := tt.newer
			if vulns == nil {
				vulns = []map[string]any{}
			}
			now := time.Now().UTC()
			data, _ := json.Marshal(map[string]any{
				"invocation": map[string]any{"parameters": nil, "uri": "https://github.com/acme/widgets/actions/runs/2", "event_id": "2", "builder.id": "secure-gates"},
				"scanner": map[string]any{"uri": "pkg:golang/github.com/anchore/grype@v0.120.1", "version": "0.120.1",
					"db": map[string]any{"uri": "grype-db", "version": "6"}, "result": map[string]any{"matches": vulns}},
				"metadata": map[string]any{"scanStartedOn": now.Add(-10 * time.Second).Format(time.RFC3339), "scanFinishedOn": now.Format(time.RFC3339)},
			})
			if _, err := signing.Attest(context.Background(), ref, []signing.Predicate{{Type: "vuln", Data: data}}, w.opts("release")); err != nil {
				t.Fatal(err)
			}
			bare := vdGitOpsRepo(t, ref.Repository)
			before := vdGit(t, bare, "rev-parse", "main")
			res := run(t, vdStep(w, map[string]string{"image": ref.String(), "deploy": "gitops", "gitops-repo": bare, "gitops-path": "overlays/staging"}))
			if res.ExitCode != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", res.ExitCode, tt.code, res.Summary, res.Stderr)
			}
			wantSummary(t, res, tt.summaryFragments...)
			if deployed := vdGit(t, bare, "rev-parse", "main") != before; deployed != (tt.code == 0) {
				t.Errorf("deployed = %v, want %v", deployed, tt.code == 0)
			}
			data, err := os.ReadFile(filepath.Join(w.ws, res.Outputs["report"]))
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Superseded []struct{ Requirement, Location string } `json:"superseded"`
				Inputs     []struct{ Location string }              `json:"inputs"`
			}
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatal(err)
			}
			// Both formats of the older scan are superseded, and neither is an input.
			if len(rep.Superseded) != 2 {
				t.Fatalf("superseded = %+v, want both formats of the older scan", rep.Superseded)
			}
			for _, s := range rep.Superseded {
				for _, in := range rep.Inputs {
					if s.Requirement != "vuln" || in.Location == s.Location {
						t.Errorf("superseded %+v (inputs %+v)", s, rep.Inputs)
					}
				}
			}
		})
	}
}

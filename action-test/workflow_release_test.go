package actiontest

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// The project's own release (.github/workflows/release.yml) run job by job,
// offline. What runs is the workflow file as committed, with these documented
// substitutions, each for something that exists only on GitHub:
//
//   - ghcr.io is the loopback registry (Debian's docker-registry): every
//     "ghcr.io" of the file names it; docker/setup-buildx-action and
//     docker/login-action have nothing to do there.
//   - docker/build-push-action builds build/base.Dockerfile (Debian bookworm-slim
//     + git from apt, which needs Docker and the internet): it is replaced by a
//     small base pushed to the tag the step names, and its digest is the step's
//     output. The run: step after it is not replaced: `go run -trimpath .
//     release image --base … --push …` builds the action image in-process from
//     the checkout on top of that base, as on GitHub.
//   - slsa-github-generator's container generator (a reusable workflow of
//     another repository, signing with its own identity on GitHub's runners) is
//     replaced by the attest action's SLSA provenance (`provenance: "true"`),
//     signed keylessly on the local stack. Its policy requirement
//     (`builder: slsa-github-generator`, judged by slsa-verifier against the
//     public Sigstore instance) is therefore read without the builder line: the
//     provenance must still be attested, by the release identity, naming this
//     repository.
//   - Keyless Sigstore is the local stack (fakeghoidc as GitHub's OIDC issuer,
//     Fulcio, timestamp authority, Rekor v2): the sign, attest and
//     verify-and-deploy steps get its trusted root and signing config, and the
//     policy's issuer line names its issuer instead of
//     token.actions.githubusercontent.com. Everything else in
//     .secure-gates/policy.yaml (subject, repository, trigger, requirements)
//     is the committed file.
//   - The vulnerability DB of scan and sbom is the tests' (db-dir), and
//     GitHub's code-scanning API the double the other workflow tests use.
//   - github.com, where the pin job pushes its tags, is a local bare
//     repository, through git's own url.<base>.insteadOf (the run: step is
//     unchanged).
//
// run: steps run in bash with the runner's variables; actions/checkout copies a
// git repository made from this checkout with the tag v1.2.3.

const (
	releaseVersion = "v1.2.3"
	releaseRepo    = "secure-gates/secure-gates"
	releaseToken   = "ghs_scantoken" // what the code-scanning double accepts
)

type releaseWorld struct {
	t        *testing.T
	st       *testinfra.Sigstore
	reg      *testinfra.Registry
	wf       *Workflow
	source   string // the tagged repository actions/checkout checks out
	sha      string // its commit
	bare     string // what github.com/secure-gates/secure-gates.git is
	ws       string
	image    string // ghcr.io/secure-gates/secure-gates, on loopback
	baseTags []string
	csURL    string // the code-scanning API double SARIF is uploaded to
}

func newReleaseWorld(t *testing.T) *releaseWorld {
	t.Helper()
	w := &releaseWorld{t: t}
	w.st = testinfra.StartSigstore(t, testinfra.SigstoreOptions{Repo: releaseRepo, Workflow: ".github/workflows/release.yml", Ref: "refs/tags/" + releaseVersion})
	w.reg = testinfra.StartRegistry(t)
	w.image = w.reg.Host + "/" + releaseRepo
	srv := httptest.NewServer(&codeScanning{t: t, repo: releaseRepo})
	t.Cleanup(srv.Close)
	w.csURL = srv.URL
	w.ws = filepath.Join(t.TempDir(), "workspace")

	raw, err := os.ReadFile(filepath.Join(h.Root, ".github", "workflows", "release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "ghcr.io"); n < 3 {
		t.Fatalf("release.yml names ghcr.io %d times; the substitutions above expect the IMAGE env, the login and the provenance image", n)
	}
	local := filepath.Join(t.TempDir(), "release.yml")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(raw), "ghcr.io", w.reg.Host)), 0o644); err != nil {
		t.Fatal(err)
	}
	if w.wf, err = ReadWorkflow(local); err != nil {
		t.Fatal(err)
	}

	// The tagged source: this checkout's files (tracked and new, as the tests
	// see them) committed to a fresh repository.
	w.source = filepath.Join(t.TempDir(), "secure-gates")
	files := vdGit(t, h.Root, "ls-files", "--cached", "--others", "--exclude-standard")
	for _, rel := range strings.Split(files, "\n") {
		src := filepath.Join(h.Root, rel)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(w.source, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	vdGit(t, w.source, "init", "--quiet", "--initial-branch=main")
	vdGit(t, w.source, "add", "-A")
	vdGit(t, w.source, "commit", "--quiet", "-m", "secure-gates "+releaseVersion)
	vdGit(t, w.source, "tag", releaseVersion)
	w.sha = vdGit(t, w.source, "rev-parse", "HEAD")

	w.bare = filepath.Join(t.TempDir(), "secure-gates.git")
	vdGit(t, filepath.Dir(w.bare), "init", "--quiet", "--bare", w.bare)
	return w
}

// base is what docker/build-push-action stands for: a small base image.
func (w *releaseWorld) base(with map[string]string) (map[string]string, error) {
	t := w.t
	if with["file"] != "build/base.Dockerfile" || with["push"] != "true" || !strings.HasPrefix(with["tags"], w.image+":") {
		t.Errorf("build-push-action with %v: want build/base.Dockerfile pushed to a tag of %s", with, w.image)
	}
	root := t.TempDir()
	for name, data := range map[string]string{"etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\n", "etc/group": "root:x:0:\n"} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.baseTags = append(w.baseTags, with["tags"])
	d := testinfra.PushImage(t, with["tags"], testinfra.ImageFromLayers(t, testinfra.LayerFromDir(t, root)))
	return map[string]string{"digest": d}, nil
}

// provenance is what slsa-github-generator's container generator stands for:
// SLSA provenance for image@digest, attested keylessly by the attest action.
func (w *releaseWorld) provenance(ctx context.Context, job, uses string, with, secrets, env map[string]string) (map[string]string, string, error) {
	if !slsaGeneratorRe.MatchString(uses) {
		w.t.Errorf("job %s calls %s, not the SLSA container generator", job, uses)
	}
	if env == nil {
		return nil, "the generator's job has no id-token: write", nil
	}
	if with["image"] != w.image || secrets["registry-password"] != releaseToken {
		w.t.Errorf("generator called with image %q, registry-password %q", with["image"], secrets["registry-password"])
	}
	stepEnv := map[string]string{"GITHUB_WORKFLOW_REF": releaseRepo + "/.github/workflows/release.yml@refs/tags/" + releaseVersion}
	for k, v := range env {
		stepEnv[k] = v
	}
	res, err := h.Run(ctx, Step{Action: "attest", Workspace: w.t.TempDir(), EventName: "push", SHA: w.sha, Ref: "refs/tags/" + releaseVersion,
		Repository: releaseRepo, Token: releaseToken, Env: stepEnv, Timeout: 3 * time.Minute,
		With: map[string]string{"image": with["image"] + "@" + with["digest"], "require-digest": "true", "provenance": "true",
			"trusted-root": w.st.TrustedRoot, "signing-config": w.st.SigningConfig}})
	if err != nil {
		return nil, "", err
	}
	if res.ExitCode != 0 {
		w.t.Logf("provenance attest: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
		return nil, "provenance attest exited non-zero", nil
	}
	return map[string]string{"outcome": "success"}, "", nil
}

// run runs release.yml for the tag; attestKey, when set, makes the attest step
// sign with that key (an identity the policy does not name).
func (w *releaseWorld) run(attestKey string) map[string]*JobResult {
	w.t.Helper()
	wr := &WorkflowRun{
		Harness: h, Workflow: w.wf, Event: "push", Token: releaseToken, Actor: "release-bot", Source: w.source,
		SHA: w.sha, Ref: "refs/tags/" + releaseVersion, Repository: releaseRepo, Workspace: w.ws, Timeout: 20 * time.Minute,
		Env: map[string]string{
			"GITHUB_API_URL":      w.csURL,
			"GITHUB_WORKFLOW_REF": releaseRepo + "/.github/workflows/release.yml@refs/tags/" + releaseVersion,
			// github.com is the bare repository, by git's own URL rewriting.
			"GIT_CONFIG_COUNT":   "1",
			"GIT_CONFIG_KEY_0":   "url." + w.bare + ".insteadOf",
			"GIT_CONFIG_VALUE_0": "https://x-access-token:" + releaseToken + "@github.com/" + releaseRepo + ".git",
		},
		IDTokenEnv: map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": w.st.TokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": w.st.RequestToken},
		With: func(job, action string, with map[string]string) {
			localInputs(w.t, w.st, action, with)
			if action == "attest" && attestKey != "" {
				with["key"], with["tlog-upload"] = attestKey, "false"
			}
			if action == "verify-and-deploy" {
				w.localPolicy()
			}
		},
		Build: w.base,
		Call:  w.provenance,
	}
	jobs, err := wr.Run(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return jobs
}

// localPolicy edits the checked-out .secure-gates/policy.yaml of the verify job
// the two ways the header says: the local issuer, no builder line.
func (w *releaseWorld) localPolicy() {
	t := w.t
	p := filepath.Join(w.ws, ".secure-gates", "policy.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	issuer := "issuer: https://token.actions.githubusercontent.com\n"
	builder := regexp.MustCompile(`(?m)^    builder: slsa-github-generator.*\n`)
	if strings.Count(s, issuer) != 1 || len(builder.FindAllString(s, -1)) != 1 {
		t.Fatalf(".secure-gates/policy.yaml no longer has one GitHub issuer and one builder: slsa-github-generator line; update the substitutions:\n%s", s)
	}
	s = builder.ReplaceAllString(strings.Replace(s, issuer, "issuer: "+w.st.Issuer+"\n", 1), "")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func releaseJobs(t *testing.T, jobs map[string]*JobResult, want map[string]string) {
	t.Helper()
	for name, result := range want {
		jr := jobs[name]
		if jr == nil {
			t.Errorf("no job %s", name)
			continue
		}
		if jr.Result != result {
			t.Errorf("job %s: %s (%s), want %s", name, jr.Result, jr.Failed, result)
			for id, r := range jr.Steps {
				t.Logf("  step %s: exit %d\n%s\n%s\n%s", id, r.ExitCode, r.Summary, r.Log, r.Stderr)
			}
		}
	}
}

// TestReleaseWorkflow runs .github/workflows/release.yml for the tag v1.2.3 as
// the runner would, twice:
//  1. the attestations are signed by a key the project policy does not name:
//     verify-and-deploy refuses the image and nothing is pinned — the pin job
//     is skipped, no tag reaches the repository;
//  2. as released: the image is built from the checkout in-process, scanned,
//     SBOM'd, signed and attested keylessly, given provenance, verified against
//     .secure-gates/policy.yaml, and pinned: the pushed tags name a commit
//     whose every action.yml runs exactly the digest verify-and-deploy
//     verified, whose reusable workflows use those actions, and whose templates
//     and README call those reusable workflows, with the release's version.
func TestReleaseWorkflow(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the action image and runs every gate on it")
	}
	w := newReleaseWorld(t)

	// 1. Attested by another identity: nothing is pinned.
	other, _ := testinfra.ECDSAKey(t)
	jobs := w.run(other)
	releaseJobs(t, jobs, map[string]string{"build": "success", "scan": "success", "sbom": "success", "provenance": "success",
		"sign-attest": "success", "verify": "failure", "pin": "skipped"})
	if t.Failed() {
		t.FailNow()
	}
	vd := jobs["verify"].Steps["verify"]
	if vd.ExitCode != 1 || !strings.Contains(vd.Summary+vd.Log, "allowed identity") {
		t.Errorf("verify-and-deploy: exit %d, want 1 saying no attestation verified with an allowed identity:\n%s\n%s", vd.ExitCode, vd.Summary, vd.Log)
	}
	if refs := vdGit(t, w.bare, "for-each-ref"); refs != "" {
		t.Fatalf("a refused release pushed %q", refs)
	}
	refused := jobs["build"].Outputs["digest"]

	// 2. The release as it runs on GitHub.
	jobs = w.run("")
	releaseJobs(t, jobs, map[string]string{"build": "success", "scan": "success", "sbom": "success", "provenance": "success",
		"sign-attest": "success", "verify": "success", "pin": "success"})
	if t.Failed() {
		t.FailNow()
	}
	digest := jobs["build"].Outputs["digest"]
	verified := jobs["verify"].Steps["verify"].Outputs["digest"]
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) || verified != digest || jobs["verify"].Outputs["verified"] != "true" {
		t.Fatalf("build digest %q, verify-and-deploy verified %q (verified=%q)", digest, verified, jobs["verify"].Outputs["verified"])
	}
	if refused != digest {
		t.Errorf("one commit built %s and %s: the image is not reproducible", refused, digest)
	}
	if img := jobs["build"].Steps["image"]; img != nil {
		for _, l := range strings.Split(img.Log, "\n") {
			if strings.HasPrefix(l, "pushed ") {
				t.Logf("build: %s", l)
			}
		}
	}
	if len(w.baseTags) != 2 {
		t.Errorf("the base was built %d times, want once per run", len(w.baseTags))
	}

	// The pushed tags: v1 and v1.2.3-pinned name the same commit C.
	c := vdGit(t, w.bare, "rev-parse", "refs/tags/v1^{commit}")
	if p := vdGit(t, w.bare, "rev-parse", "refs/tags/"+releaseVersion+"-pinned^{commit}"); p != c {
		t.Errorf("v1 is %s, %s-pinned is %s", c, releaseVersion, p)
	}
	// C descends from the tagged commit by three commits: A (actions), B
	// (reusable workflows), C (callers).
	a := vdGit(t, w.bare, "rev-parse", c+"~2")
	b := vdGit(t, w.bare, "rev-parse", c+"~1")
	if base := vdGit(t, w.bare, "rev-parse", c+"~3"); base != w.sha {
		t.Errorf("the pinned commits do not sit on the tagged commit %s (found %s)", w.sha, base)
	}
	show := func(commit, path string) string { return vdGit(t, w.bare, "show", commit+":"+path) }
	gates := strings.Fields(vdGit(t, w.bare, "ls-tree", "-d", "--name-only", c, "actions/"))
	if len(gates) < 6 {
		t.Fatalf("actions at the pinned commit: %v", gates)
	}
	want := "docker://" + w.image + "@" + verified
	for _, commit := range []string{a, b, c} {
		for _, g := range gates {
			act, err := gha.ParseAction([]byte(show(commit, g+"/action.yml")))
			if err != nil {
				t.Fatal(err)
			}
			if act.Runs.Image != want {
				t.Errorf("%s/action.yml at %s runs %q, want the verified %s", g, commit[:12], act.Runs.Image, want)
			}
		}
	}
	if act, _ := gha.ParseAction([]byte(vdGit(t, w.source, "show", "HEAD:actions/scan/action.yml"))); act.Runs.Image != "../../Dockerfile" {
		t.Errorf("the tagged commit's actions changed: %q", act.Runs.Image)
	}
	actionRef := regexp.MustCompile(`secure-gates/secure-gates/actions/[a-z-]+@([0-9a-f]{40}) # (\S+)`)
	workflowRef := regexp.MustCompile(`secure-gates/secure-gates/\.github/workflows/[a-z0-9-]+\.yml@([0-9a-f]{40}) # (\S+)`)
	check := func(file string, re *regexp.Regexp, commit string) {
		text := show(c, file)
		ms := re.FindAllStringSubmatch(text, -1)
		if len(ms) == 0 {
			t.Errorf("%s at the release names none of our references", file)
		}
		for _, m := range ms {
			if m[1] != commit || m[2] != releaseVersion {
				t.Errorf("%s: %s, want @%s # %s", file, m[0], commit, releaseVersion)
			}
		}
	}
	for _, f := range []string{".github/workflows/secure-gates.yml", ".github/workflows/secure-gates-slsa3.yml", "workflows-templates/secure-pipeline.yml"} {
		check(f, actionRef, a)
	}
	for _, f := range []string{"workflows-templates/paved-road.yml", "examples/.github/workflows/secure-gates.yml", "README.md"} {
		check(f, workflowRef, b)
	}
	if !strings.Contains(show(b, ".github/workflows/secure-gates.yml"), "secure-gates/secure-gates/actions/scan@"+a) {
		t.Errorf("the reusable workflow at %s does not use the actions of %s", b, a)
	}
	if strings.Contains(show(c, "README.md"), "secure-gates.yml@"+strings.Repeat("0", 40)) {
		t.Error("README.md at the release still calls the placeholder commit")
	}
	// Only the pins changed: the diff from the tag touches action.yml files,
	// workflows and the README.
	for _, f := range strings.Fields(vdGit(t, w.bare, "diff", "--name-only", w.sha, c)) {
		if !strings.HasSuffix(f, "/action.yml") && !strings.HasSuffix(f, ".yml") && f != "README.md" {
			t.Errorf("the release changed %s", f)
		}
	}
}

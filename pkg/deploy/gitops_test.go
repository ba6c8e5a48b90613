package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

var testImage = oci.Ref{Repository: "ghcr.io/acme/widgets", Digest: "sha256:" + strings.Repeat("ab", 32)}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

const kustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
# the staging overlay
resources:
  - ../../base
images:
  - name: ghcr.io/acme/widgets
    newTag: v1.2.3   # replaced by the deploy
  - name: redis
    newTag: "7"
`

// baseFiles is the base the staging overlay renders: a Deployment running the
// image by tag, and redis.
var baseFiles = map[string]string{
	"base/kustomization.yaml": "resources: [deployment.yaml]\n",
	"base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: widgets}
spec:
  selector: {matchLabels: {app: widgets}}
  template:
    metadata: {labels: {app: widgets}}
    spec:
      containers:
        - name: widgets
          image: ghcr.io/acme/widgets:v1.2.3
        - name: cache
          image: redis:7
`,
}

// bareRepo makes a bare GitOps repository with overlays/staging/kustomization.yaml
// and the base it renders.
func bareRepo(t *testing.T) (bare string, seed string) {
	t.Helper()
	files := map[string]string{"overlays/staging/kustomization.yaml": kustomization, "README.md": "gitops\n"}
	for k, v := range baseFiles {
		files[k] = v
	}
	return bareRepoWith(t, files)
}

// bareRepoWith makes a bare GitOps repository holding files (path → content; a
// content starting with "symlink:" makes a symbolic link to the rest).
func bareRepoWith(t *testing.T, files map[string]string) (bare string, seed string) {
	t.Helper()
	root := t.TempDir()
	bare = filepath.Join(root, "gitops.git")
	seed = filepath.Join(root, "seed")
	git(t, root, "init", "--quiet", "--bare", "--initial-branch=main", bare)
	git(t, root, "clone", "--quiet", bare, seed)
	for p, content := range files {
		f := filepath.Join(seed, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "symlink:"); ok {
			if err := os.Symlink(target, f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, seed, "add", ".")
	git(t, seed, "commit", "--quiet", "-m", "seed")
	git(t, seed, "push", "--quiet", "origin", "HEAD:main")
	return bare, seed
}

func gitopsOpts(bare string) GitOpsOptions {
	return GitOpsOptions{Repo: bare, Path: "overlays/staging", Branch: "main", Image: testImage,
		SourceCommit: strings.Repeat("c", 40), Verification: "PASSED policy .secure-gates/policy.yaml sha256:" + strings.Repeat("d", 64)}
}

func TestGitOpsCommitsTheDigest(t *testing.T) {
	bare, _ := bareRepo(t)
	res, err := GitOps(context.Background(), gitopsOpts(bare))
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit == "" || !res.Changed || res.Attempts != 1 || res.Previous != "ghcr.io/acme/widgets:v1.2.3" {
		t.Fatalf("result %+v", res)
	}
	check := t.TempDir()
	git(t, check, "clone", "--quiet", bare, "c")
	c := filepath.Join(check, "c")
	if head := git(t, c, "rev-parse", "HEAD"); head != res.Commit {
		t.Errorf("remote head %s, want the pushed commit %s", head, res.Commit)
	}
	msg := git(t, c, "log", "-1", "--format=%B")
	for _, want := range []string{testImage.Digest, "Source-Commit: " + strings.Repeat("c", 40), "Verification: PASSED policy .secure-gates/policy.yaml"} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message does not name %q:\n%s", want, msg)
		}
	}
	data, err := os.ReadFile(filepath.Join(c, "overlays", "staging", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "kustomization.golden.yaml"), data)
	if got := ImageOf(data, "ghcr.io/acme/widgets"); got != testImage.String() {
		t.Errorf("image = %s", got)
	}
	if files := git(t, c, "show", "--name-only", "--format=", "HEAD"); files != "overlays/staging/kustomization.yaml" {
		t.Errorf("commit touches %q", files)
	}

	// Deploying the same digest again changes nothing.
	res, err = GitOps(context.Background(), gitopsOpts(bare))
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed || res.Commit != "" {
		t.Errorf("second deploy of the same digest: %+v", res)
	}
}

func TestGitOpsRetriesAConcurrentPush(t *testing.T) {
	bare, seed := bareRepo(t)
	opts := gitopsOpts(bare)
	pushes := 0
	opts.beforePush = func(attempt int) {
		if attempt > 2 {
			return
		}
		// Someone else pushes first, twice.
		pushes++
		f := filepath.Join(seed, "README.md")
		if err := os.WriteFile(f, []byte(strings.Repeat("x", pushes)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, seed, "commit", "--quiet", "-am", "concurrent")
		git(t, seed, "push", "--quiet", "origin", "HEAD:main")
	}
	res, err := GitOps(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 {
		t.Errorf("attempts = %d, want 3", res.Attempts)
	}
	check := t.TempDir()
	git(t, check, "clone", "--quiet", bare, "c")
	c := filepath.Join(check, "c")
	if log := git(t, c, "log", "--format=%s"); !strings.HasPrefix(log, "deploy widgets@") || strings.Count(log, "concurrent") != 2 {
		t.Errorf("history lost a commit:\n%s", log)
	}

	// With a bound of 1 the same race is an infrastructure error.
	bare2, seed2 := bareRepo(t)
	opts = gitopsOpts(bare2)
	opts.MaxAttempts = 1
	seed = seed2
	pushes = 0
	opts.beforePush = func(int) {
		pushes++
		if err := os.WriteFile(filepath.Join(seed, "README.md"), []byte("y\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, seed, "commit", "--quiet", "-am", "concurrent")
		git(t, seed, "push", "--quiet", "origin", "HEAD:main")
	}
	_, err = GitOps(context.Background(), opts)
	if errkind.Of(err) != errkind.KindInfra || !strings.Contains(err.Error(), "attempt 1 of 1") {
		t.Errorf("err = %v", err)
	}
}

func TestGitOpsDryRun(t *testing.T) {
	bare, _ := bareRepo(t)
	before := git(t, bare, "rev-parse", "main")
	opts := gitopsOpts(bare)
	opts.DryRun = true
	res, err := GitOps(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != "" || !res.Changed {
		t.Errorf("dry run result %+v", res)
	}
	if !strings.Contains(res.Diff, "newTag: v1.2.3   # replaced by the deploy\n") || !strings.Contains(res.Diff, "+  digest: "+testImage.Digest+"\n") {
		t.Errorf("diff does not show the change:\n%s", res.Diff)
	}
	if after := git(t, bare, "rev-parse", "main"); after != before {
		t.Error("dry run pushed")
	}
}

func TestGitOpsTokenNeverInArgvOrErrors(t *testing.T) {
	// A git wrapper that records its argv and environment, then fails like a
	// refused https clone that echoes the header.
	dir := t.TempDir()
	rec := filepath.Join(dir, "argv")
	wrapper := filepath.Join(dir, "git")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + rec + "\nenv | grep GIT_CONFIG_ >> " + rec + ".env\necho \"fatal: header $GIT_CONFIG_VALUE_0 refused\" >&2\nexit 128\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	opts := gitopsOpts("https://git.example/acme/gitops.git")
	opts.Git = wrapper
	opts.Token = "ghs_supersecrettoken"
	_, err := GitOps(context.Background(), opts)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), opts.Token) || strings.Contains(err.Error(), basicAuth(opts.Token)) {
		t.Errorf("error leaks the token: %v", err)
	}
	argv, _ := os.ReadFile(rec)
	if strings.Contains(string(argv), opts.Token) || strings.Contains(string(argv), basicAuth(opts.Token)) {
		t.Errorf("argv carries the token: %s", argv)
	}
	env, _ := os.ReadFile(rec + ".env")
	if !strings.Contains(string(env), "GIT_CONFIG_VALUE_0=AUTHORIZATION: basic "+basicAuth(opts.Token)) {
		t.Errorf("token not passed as an extra header: %s", env)
	}
}

func TestSetImage(t *testing.T) {
	tests := []struct {
		name, in, image, want string
		wantErr               string
	}{
		{"never adds an entry", "resources: [a.yaml]\n", "ghcr.io/acme/widgets", "", "no images entry is named"},
		{"never adds an entry (by repository)", "images:\n- name: redis\n", "", "", "no images entry has name or newName ghcr.io/acme/widgets; its images entries are redis: set gitops-image: redis"},
		{"renames a short name", "images:\n- name: widgets\n  newTag: v1\n", "widgets", "newName: ghcr.io/acme/widgets", ""},
		{"the usual shape, found by newName", "images:\n- name: app\n  newName: ghcr.io/acme/widgets\n  newTag: v1\n", "",
			"- name: app\n  newName: ghcr.io/acme/widgets\n  digest: " + testImage.Digest + "\n", ""},
		{"found by name", "images:\n- name: ghcr.io/acme/widgets\n  newTag: v1\n", "", "- name: ghcr.io/acme/widgets\n  digest: " + testImage.Digest + "\n", ""},
		{"every entry for the repository", "images:\n- name: app\n  newName: ghcr.io/acme/widgets\n  newTag: v1\n- name: migrate\n  newName: ghcr.io/acme/widgets\n  tagSuffix: -m\n",
			"", "- name: migrate\n  newName: ghcr.io/acme/widgets\n  digest: " + testImage.Digest + "\n", ""},
		{"a different spelling of the repository is kept", "images:\n- name: app\n  newName: docker.io/acme/widgets\n", "",
			"newName: docker.io/acme/widgets\n  digest: sha256:cd", ""},
		{"gitops-image typo", "images:\n- name: app\n  newName: ghcr.io/acme/widgets\n", "aap", "", `no images entry is named "aap" (gitops-image); its images entries are app → ghcr.io/acme/widgets: set gitops-image to the name of the entry the containers use (e.g. gitops-image: app)`},
		{"deprecated imageTags", "imageTags:\n- name: ghcr.io/acme/widgets\n", "", "", "imageTags list is deprecated"},
		{"unknown field", "imagez: []\n", "widgets", "", "unknown field"},
		{"image listed twice", "images:\n- name: widgets\n- name: widgets\n", "widgets", "", "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := testImage
			if strings.Contains(tt.name, "spelling") {
				ref = oci.Ref{Repository: "index.docker.io/acme/widgets", Digest: "sha256:" + strings.Repeat("cd", 32)}
			}
			out, err := SetImage([]byte(tt.in), tt.image, ref)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), tt.want) || strings.Contains(string(out), "newTag") || strings.Contains(string(out), "tagSuffix") {
				t.Errorf("got:\n%s", out)
			}
		})
	}
}

func FuzzSetImage(f *testing.F) {
	f.Add([]byte(kustomization))
	f.Add([]byte("images: 3\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := SetImage(data, "ghcr.io/acme/widgets", testImage)
		if err == nil && ImageOf(out, "ghcr.io/acme/widgets") != testImage.String() {
			t.Fatalf("accepted, but the image is %q", ImageOf(out, "ghcr.io/acme/widgets"))
		}
	})
}

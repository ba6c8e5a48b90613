package release

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// startRegistry serves go-containerregistry's in-process registry on loopback
// (testinfra's: uploads do not wait on one another).
func startRegistry(t *testing.T) string {
	t.Helper()
	return testinfra.StartRegistry(t).Host
}

// pushEmpty pushes the (deterministic) empty image to host/owner/secure-gates:v1
// and returns it by digest.
func pushEmpty(t *testing.T, host string) string {
	t.Helper()
	tag, err := name.NewTag(host + "/owner/secure-gates:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, empty.Image); err != nil {
		t.Fatal(err)
	}
	d, err := empty.Image.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return host + "/owner/secure-gates@" + d.String()
}

func sameTree(t *testing.T, want, got map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: missing", k)
		} else if g != w {
			t.Errorf("%s:\n got %q\nwant %q", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected file", k)
		}
	}
}

// gitIn runs git in root with a fixed identity and returns its trimmed output.
func gitIn(t *testing.T, root string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=release", "-c", "user.email=release@example.com", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitAll commits root's tree and returns the commit.
func commitAll(t *testing.T, root, msg string) string {
	t.Helper()
	gitIn(t, root, "add", "-A")
	gitIn(t, root, "commit", "-q", "--allow-empty", "-m", msg)
	return gitIn(t, root, "rev-parse", "HEAD")
}

// release runs the pin job of .github/workflows/release.yml on root (a git
// repository): pin the actions, commit (the actions commit); point the action
// references at it, commit (the workflows commit); point the reusable-workflow
// references at that. It returns both commits.
func release(t *testing.T, root, image, version string) (actions, workflows string) {
	t.Helper()
	ctx := context.Background()
	reg := oci.Options{Retries: -1}
	if _, err := Pin(ctx, PinOptions{Root: root, Image: image, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	actions = commitAll(t, root, "pin the actions")
	if _, err := Pin(ctx, PinOptions{Root: root, Image: image, Commit: actions, Version: version, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	workflows = commitAll(t, root, "workflows use the pinned actions")
	if _, err := Pin(ctx, PinOptions{Root: root, Image: image, WorkflowCommit: workflows, Version: version, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	return actions, workflows
}

// TestPinGolden runs the release's three pins on the fixture repository and
// compares the result with testdata/pin/golden (commits and registry named):
// action.yml files run the image, action references name the actions commit,
// reusable-workflow references the workflows commit, each with the release's
// version comment and a PLACEHOLDER SHA line naming the file's commit; prose
// and the project's local ./actions references stay.
func TestPinGolden(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	image := pushEmpty(t, host)
	root := t.TempDir()
	testinfra.CopyTree(t, "testdata/pin/repo", root)
	gitIn(t, root, "init", "-q")
	commitAll(t, root, "the release tag")
	actions, workflows := release(t, root, image, "v1.2.3")
	got := testinfra.ReadTree(t, root)
	for k, v := range got {
		got[k] = strings.NewReplacer(host, "REGISTRY", actions, "ACTIONS_COMMIT_0000000000000000000000000", workflows, "WORKFLOWS_COMMIT_00000000000000000000000").Replace(v)
	}
	if *update {
		os.RemoveAll("testdata/pin/golden")
		for k, v := range got {
			write(t, filepath.Join("testdata/pin/golden", k), v)
		}
	}
	sameTree(t, testinfra.ReadTree(t, "testdata/pin/golden"), got)

	// Pinning the same again changes nothing.
	before := testinfra.ReadTree(t, root)
	res, err := Pin(context.Background(), PinOptions{Root: root, Image: "docker://" + image, Commit: actions, WorkflowCommit: workflows, Version: "v1.2.3", Registry: oci.Options{Retries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 0 {
		t.Errorf("re-pin changed %v", res.Changed)
	}
	sameTree(t, before, testinfra.ReadTree(t, root))
}

// TestPinRepositoryActions runs the release's pins on a copy of this
// repository's actions, workflows, templates, examples and README: each
// action.yml differs from the original in its runs.image line only, every other
// file only in the commits of its self-references and PLACEHOLDER SHA line;
// every workflow that references us names one commit, its header names that
// commit, and the commits resolve: action references to the actions commit,
// reusable-workflow references to the workflows commit, whose reusable
// workflows use the actions commit.
func TestPinRepositoryActions(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	image := pushEmpty(t, host)
	root := t.TempDir()
	for _, dir := range []string{"actions", ".github", "workflows-templates", "examples", "README.md"} {
		src := filepath.Join("..", "..", dir)
		if dir == "README.md" {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(root, dir), string(b))
			continue
		}
		testinfra.CopyTree(t, src, filepath.Join(root, dir))
	}
	gitIn(t, root, "init", "-q")
	commitAll(t, root, "the release tag")
	before := testinfra.ReadTree(t, root)
	actions, workflows := release(t, root, image, "")
	after := testinfra.ReadTree(t, root)
	zero := strings.Repeat("0", 40)
	pinnedActions, refFiles, imageRefs := 0, 0, 0
	for f := range before {
		if before[f] == after[f] {
			continue
		}
		old, nw := strings.Split(before[f], "\n"), strings.Split(after[f], "\n")
		if len(old) != len(nw) {
			t.Fatalf("%s: line count changed", f)
		}
		for i := range old {
			if old[i] == nw[i] {
				continue
			}
			switch {
			case strings.HasPrefix(f, "actions/"):
				if old[i] != "  image: ../../Dockerfile" || nw[i] != "  image: docker://"+image {
					t.Errorf("%s:%d: %q -> %q", f, i+1, old[i], nw[i])
				}
			case strings.HasSuffix(old[i], "# PLACEHOLDER IMAGE DIGEST"):
				if want := placeholderImage.ReplaceAllString(old[i], image); nw[i] != want {
					t.Errorf("%s:%d: %q -> %q, want %q", f, i+1, old[i], nw[i], want)
				}
				imageRefs++
			case strings.ReplaceAll(old[i], zero, actions) != nw[i] && strings.ReplaceAll(old[i], zero, workflows) != nw[i]:
				t.Errorf("%s:%d: %q -> %q", f, i+1, old[i], nw[i])
			}
		}
		if strings.HasPrefix(f, "actions/") {
			pinnedActions++
		}
	}
	if imageRefs == 0 {
		t.Error("no # PLACEHOLDER IMAGE DIGEST line was pinned (workflows-templates/posture.yml has one)")
	}
	if want := len(mustGlob(t, filepath.Join(root, "actions", "*", "action.yml"))); pinnedActions != want || want < 6 {
		t.Errorf("pinned %d actions, want %d (at least 6)", pinnedActions, want)
	}
	for f, text := range after {
		if strings.HasSuffix(f, ".md") {
			if f != "README.md" && before[f] != text {
				t.Errorf("%s: documentation rewritten", f)
			}
			continue
		}
		commits := map[string]bool{}
		for _, m := range anyRef.FindAllStringSubmatch(text, -1) {
			commits[m[1]] = true
		}
		if len(commits) == 0 {
			continue
		}
		refFiles++
		if commits[zero] || len(commits) != 1 {
			t.Errorf("%s names commits %v, want one release commit", f, commits)
		}
		for _, m := range actionRef.FindAllStringSubmatch(text, -1) {
			if m[2] != actions {
				t.Errorf("%s: %s%s, want the actions commit %s", f, m[1], m[2], actions)
			}
		}
		for _, m := range workflowRef.FindAllStringSubmatch(text, -1) {
			if m[3] != workflows {
				t.Errorf("%s: %s%s, want the workflows commit %s", f, m[1], m[3], workflows)
			}
		}
		for c := range commits {
			if !strings.Contains(text, "PLACEHOLDER SHA: "+c) {
				t.Errorf("%s: the header does not name %s", f, c)
			}
		}
	}
	if refFiles < 6 {
		t.Errorf("%d workflow files reference us by commit, want the starters, reusable workflows and example (at least 6)", refFiles)
	}
	// The README's adoption snippet names the release.
	if !strings.Contains(after["README.md"], "secure-gates/secure-gates/.github/workflows/secure-gates.yml@"+workflows) {
		t.Errorf("README.md: the adoption snippet does not call the reusable workflow at %s", workflows)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPinRefusals: every refusal names the problem, exits 2 or 3, and leaves the
// tree byte for byte as it was.
func TestPinRefusals(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	image := pushEmpty(t, host)
	missing := host + "/owner/secure-gates@sha256:" + strings.Repeat("ab", 32)
	dead := testinfra.ClosedAddr(t)
	digest := image[strings.Index(image, "@")+1:]

	tests := []struct {
		name      string
		image     string
		commit    string
		actionYML string // written as actions/zz/action.yml
		prepare   func(t *testing.T, root string)
		code      int
		msg       string
	}{
		{name: "tag", image: host + "/owner/secure-gates:v1", code: 2, msg: "names a tag"},
		{name: "empty", image: "", code: 2, msg: "--image is required"},
		{name: "malformed", image: host + "/Owner/secure-gates@sha256:xyz", code: 2, msg: "parsing image reference"},
		{name: "not sha256", image: host + "/owner/secure-gates@sha512:" + strings.Repeat("ab", 64), code: 2, msg: "image reference"},
		{name: "digest the registry does not have", image: missing, code: 2, msg: "not found in the registry"},
		{name: "repository the registry does not have", image: host + "/other/secure-gates@" + digest, code: 2, msg: "not found in the registry"},
		{name: "registry unreachable", image: dead + "/owner/secure-gates@" + digest, code: 3, msg: "unreachable"},
		{name: "short commit", image: image, commit: "0123456", code: 2, msg: "--commit"},
		{name: "node action", image: image, code: 2, msg: "runs.using is not docker", actionYML: "runs:\n  using: node20\n  main: index.js\n"},
		{name: "no image", image: image, code: 2, msg: "no runs.image", actionYML: "runs:\n  using: docker\n"},
		{name: "block scalar image", image: image, code: 2, msg: "block scalar", actionYML: "runs:\n  using: docker\n  image: >-\n    ../../Dockerfile\n"},
		{name: "flow mapping", image: image, code: 2, msg: "one line", actionYML: "runs: {using: docker, image: ../../Dockerfile}\n"},
		{name: "duplicate runs", image: image, code: 2, msg: "appears twice", actionYML: "runs:\n  using: docker\n  image: ../../Dockerfile\nruns:\n  using: docker\n  image: evil\n"},
		{name: "duplicate runs.image", image: image, code: 2, msg: "appears twice", actionYML: "runs:\n  using: docker\n  image: ../../Dockerfile\n  image: evil\n"},
		{name: "symlinked action folder", image: image, code: 2, msg: "not a plain folder", prepare: func(t *testing.T, root string) {
			outside := t.TempDir()
			write(t, filepath.Join(outside, "action.yml"), "runs:\n  using: docker\n  image: x\n")
			if err := os.Symlink(outside, filepath.Join(root, "actions", "zz")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "symlinked action.yml", image: image, code: 2, msg: "not a regular file", prepare: func(t *testing.T, root string) {
			outside := filepath.Join(t.TempDir(), "victim.yml")
			write(t, outside, "runs:\n  using: docker\n  image: x\n")
			os.MkdirAll(filepath.Join(root, "actions", "zz"), 0o755)
			if err := os.Symlink(outside, filepath.Join(root, "actions", "zz", "action.yml")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "not the repository root", image: image, code: 2, msg: "repository root", prepare: func(t *testing.T, root string) {
			os.RemoveAll(filepath.Join(root, "actions"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			testinfra.CopyTree(t, "testdata/pin/repo", root)
			if tc.actionYML != "" {
				write(t, filepath.Join(root, "actions", "zz", "action.yml"), tc.actionYML)
			}
			if tc.prepare != nil {
				tc.prepare(t, root)
			}
			before := testinfra.ReadTree(t, root)
			_, err := Pin(context.Background(), PinOptions{Root: root, Image: tc.image, Commit: tc.commit, Registry: oci.Options{Retries: -1}})
			if err == nil {
				t.Fatal("pinned; want a refusal")
			}
			if got := errkind.ExitCode(err); got != tc.code {
				t.Errorf("exit %d, want %d: %v", got, tc.code, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			sameTree(t, before, testinfra.ReadTree(t, root))
		})
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	testinfra.WriteFile(t, p, s, 0o644)
}

// TestPinCommitRefusals: a commit is named only when it carries what the
// references need — the actions pinned to this image, the reusable workflow
// using such actions — and a refusal leaves the tree as it was (exit 2).
func TestPinCommitRefusals(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	image := pushEmpty(t, host)
	other := host + "/owner/secure-gates@sha256:" + strings.Repeat("cd", 32)
	root := t.TempDir()
	testinfra.CopyTree(t, "testdata/pin/repo", root)
	gitIn(t, root, "init", "-q")
	tagged := commitAll(t, root, "the release tag")
	reg := oci.Options{Retries: -1}
	if _, err := Pin(context.Background(), PinOptions{Root: root, Image: image, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	actions := commitAll(t, root, "pin the actions")
	notGit := t.TempDir()
	testinfra.CopyTree(t, "testdata/pin/repo", notGit)

	tests := []struct {
		name, root, image, commit, workflowCommit, version, msg string
	}{
		{name: "actions not pinned at the commit", commit: tagged, msg: `actions/scan/action.yml at that commit runs "../../Dockerfile", not docker://`},
		{name: "actions pinned to another image", image: other, commit: actions, msg: "not docker://" + other},
		{name: "commit not in the repository", commit: strings.Repeat("ab", 20), msg: "does not exist at that commit"},
		{name: "reusable workflow not pinned at the commit", workflowCommit: actions, msg: "uses secure-gates/secure-gates/actions/scan@0000000000000000000000000000000000000000"},
		{name: "not a git checkout", root: notGit, workflowCommit: actions, msg: "not a git checkout"},
		{name: "short workflow commit", workflowCommit: "abc", msg: "--workflow-commit"},
		{name: "version not vX.Y.Z", commit: actions, version: "v1", msg: "--version"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := or(tc.root, root)
			before := testinfra.ReadTree(t, r)
			_, err := Pin(context.Background(), PinOptions{Root: r, Image: or(tc.image, image), Commit: tc.commit, WorkflowCommit: tc.workflowCommit, Version: tc.version, Registry: reg})
			if err == nil {
				t.Fatal("pinned; want a refusal")
			}
			if got := errkind.ExitCode(err); got != 2 {
				t.Errorf("exit %d, want 2: %v", got, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			sameTree(t, before, testinfra.ReadTree(t, r))
		})
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// placeholderImage is the image reference of a # PLACEHOLDER IMAGE DIGEST line.
var placeholderImage = regexp.MustCompile(`[^\s#:]+(/[^\s#]+)*@sha256:0{64}`)

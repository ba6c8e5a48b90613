// Package deploy puts a verified image digest into service, by digest only:
// GitOps (set the digest in the kustomization's images entry for the image with
// kustomize's own types, render the overlay with kustomize's API and check that
// every container referring to the image runs the digest, then commit and push
// with real git, retrying when the push is not a fast-forward) or
// kubectl (a strategic-merge patch of a Deployment, StatefulSet or DaemonSet's
// container image through the Kubernetes API, a bounded wait for the rollout,
// then a read-back of the image IDs the workload's pods report). Both have a
// dry run that returns the exact change without making it.
//
// git runs through pkg/gitcmd (no hooks, no system or injected configuration,
// the work tree trusted explicitly), with an argument list, never through a shell; a token
// travels in the process environment as an http.extraheader (GIT_CONFIG_*), never
// in argv, URLs or logs, and is redacted from every error. Every git process runs
// under the caller's deadline (killed with its children when it passes) and
// with git's own low-speed limit, so a remote that accepts and never answers
// ends the deploy with an infrastructure error naming its host.
package deploy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/bounds"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gitcmd"
	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// DefaultPushAttempts bounds the pushes of one GitOps deploy.
const DefaultPushAttempts = 4

// GitOpsOptions configures GitOps.
type GitOpsOptions struct {
	// Repo is the GitOps repository: a URL (https://…) or a local path.
	Repo string
	// Path is the folder of the kustomization inside the repository.
	Path string
	// Branch is the branch to commit to (default main).
	Branch string
	// Token authenticates https pushes (sent as an http.extraheader, basic
	// x-access-token). Never logged.
	Token string
	// Image is the verified image, by digest.
	Image oci.Ref
	// ImageName is the name of the kustomization's images entry to set. Empty
	// means every entry whose name or newName is Image.Repository. No matching
	// entry is an input error.
	ImageName string
	// SourceCommit is the commit the image was built from (for the message).
	SourceCommit string
	// Verification is the verification result line for the commit message
	// (e.g. "PASSED policy .secure-gates/policy.yaml sha256:…").
	Verification string
	// DryRun computes the change and returns it without committing or pushing.
	DryRun bool
	// MaxAttempts bounds the push attempts (default DefaultPushAttempts).
	MaxAttempts int
	// Git is the git binary (default "git" from PATH).
	Git string
	// WorkDir is where the repository is cloned (default a new temp folder,
	// removed afterwards).
	WorkDir string
	// AuthorName and AuthorEmail sign the commit (default secure-gates).
	AuthorName, AuthorEmail string
	// Env is the base environment of git (proxies, HOME, …). Nil means a minimal
	// one: a standard PATH and HOME set to the work folder.
	Env []string

	// beforePush is a test hook run before each push attempt.
	beforePush func(attempt int)
}

// GitOpsResult is what a GitOps deploy did (or would do, on a dry run).
type GitOpsResult struct {
	// File is the kustomization changed, relative to the repository.
	File string
	// Previous is the image the kustomization set before ("" if none).
	Previous string
	// Diff is the unified diff of the change.
	Diff string
	// Message is the commit message.
	Message string
	// Commit is the pushed commit ("" on a dry run or when nothing changed).
	Commit string
	// Changed is false when the kustomization already named the digest.
	Changed bool
	// Entries are the names of the kustomization's images entries set.
	Entries []string
	// Uses are the image fields of the rendered overlay that name the digest
	// (at least one, or the deploy fails).
	Uses []ImageUse
	// Attempts is how many pushes it took.
	Attempts int
}

type gitRunner struct {
	bin string
	dir string
	// env, config and extraEnv are gitcmd.Git's Env, Config and ExtraEnv.
	env      []string
	config   [][2]string
	extraEnv []string
	token    string
	// host names the remote in errors (host[:port], or "the local repository").
	host string
}

// run runs git in g.dir through pkg/gitcmd (its output, stdout and stderr
// interleaved, bounded by gitcmd.DefaultMaxOutput), with the token redacted
// from what it returns.
func (g *gitRunner) run(ctx context.Context, stdin []byte, args ...string) (string, error) {
	out, err := gitcmd.Git{Bin: g.bin, Dir: g.dir, Env: g.env, Config: g.config, ExtraEnv: g.extraEnv}.Combined(ctx, stdin, args...)
	text := g.redact(string(out))
	if err != nil && ctx.Err() != nil {
		what := "no answer " + netretry.Within(ctx)
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			what = "cancelled"
		}
		return text, fmt.Errorf("git %s: %w", args[0], &netretry.Error{Host: g.host, What: what,
			Err: fmt.Errorf("%w (%v)", ctx.Err(), err)})
	}
	if err != nil {
		return text, fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(lastLines(text, 6)))
	}
	return text, nil
}

// remoteHost names the host of a git remote for errors: host[:port] of a URL or
// of scp-like user@host:path, without credentials; a path is the local
// repository.
func remoteHost(repo string) string {
	if u, err := url.Parse(repo); err == nil && u.Host != "" {
		return u.Host
	}
	if at := strings.Index(repo, "@"); at >= 0 && !strings.Contains(repo[:at], "/") {
		if rest := repo[at+1:]; strings.Contains(rest, ":") {
			return rest[:strings.Index(rest, ":")]
		}
	}
	return "the local repository"
}

func (g *gitRunner) redact(s string) string {
	if g.token == "" {
		return s
	}
	s = strings.ReplaceAll(s, g.token, "***")
	return strings.ReplaceAll(s, basicAuth(g.token), "***")
}

func basicAuth(token string) string {
	return base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// gitLowSpeedTime is how long git tolerates a transfer below 1000 bytes/s.
const gitLowSpeedTime = 60 * time.Second

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

// gitEnv adds to pkg/gitcmd's safe environment what a deploy's git needs:
// no askpass helper; the token as an extra header through GIT_CONFIG_* (git ≥
// 2.31), never in argv; and git's own low-speed limits (a server that stops
// sending is dropped by git itself, besides the deadline of the whole run:
// below 1000 bytes/s for gitLowSpeedTime, the transfer ends), for ssh remotes
// too unless the environment names its own ssh command.
func gitEnv(base []string, token string) (config [][2]string, extraEnv []string) {
	if token != "" {
		config = append(config, [2]string{"http.extraheader", "AUTHORIZATION: basic " + basicAuth(token)})
	}
	config = append(config, [2]string{"http.lowSpeedLimit", "1000"}, [2]string{"http.lowSpeedTime", fmt.Sprint(int(gitLowSpeedTime / time.Second))})
	extraEnv = []string{"GIT_ASKPASS=/bin/false"}
	if !hasEnv(base, "GIT_SSH_COMMAND") {
		// No answer to keepalives for a minute ends it.
		extraEnv = append(extraEnv, "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15 -o ServerAliveCountMax=4")
	}
	return config, extraEnv
}

// GitOps sets opts.Image in the kustomization at opts.Path of opts.Repo, commits
// and pushes to opts.Branch. A push refused because the branch moved is retried
// from the new tip, up to opts.MaxAttempts.
func GitOps(ctx context.Context, opts GitOpsOptions) (*GitOpsResult, error) {
	if opts.Repo == "" {
		return nil, errkind.Input(errors.New("gitops: the GitOps repository (gitops-repo) is required"))
	}
	if strings.HasPrefix(opts.Repo, "-") || strings.HasPrefix(opts.Branch, "-") {
		return nil, errkind.Input(errors.New("gitops: repository and branch may not start with '-'"))
	}
	if opts.Image.Digest == "" || opts.Image.Repository == "" {
		return nil, errkind.Input(errors.New("gitops: the image must be a digest reference"))
	}
	clean := filepath.Clean("/" + opts.Path)
	rel := strings.TrimPrefix(clean, "/")
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	opts.MaxAttempts = bounds.Or(opts.MaxAttempts, DefaultPushAttempts)
	if opts.Git == "" {
		opts.Git = "git"
	}
	if opts.AuthorName == "" {
		opts.AuthorName = "secure-gates"
	}
	if opts.AuthorEmail == "" {
		opts.AuthorEmail = "secure-gates@users.noreply.github.com"
	}
	work := opts.WorkDir
	if work == "" {
		tmp, err := os.MkdirTemp("", "secure-gates-gitops-")
		if err != nil {
			return nil, errkind.Infra(fmt.Errorf("gitops: %w", err))
		}
		defer os.RemoveAll(tmp)
		work = tmp
	}
	if opts.Env == nil {
		opts.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + work}
	}
	dir := filepath.Join(work, "repo")
	g := &gitRunner{bin: opts.Git, dir: work, env: opts.Env, token: opts.Token, host: remoteHost(opts.Repo)}
	g.config, g.extraEnv = gitEnv(opts.Env, opts.Token)
	if _, err := g.run(ctx, nil, "clone", "--quiet", "--no-tags", "--single-branch", "--branch", opts.Branch, "--", opts.Repo, dir); err != nil {
		return nil, errkind.Infra(fmt.Errorf("gitops: cloning the GitOps repository: %w", err))
	}
	g.dir = dir
	res := &GitOpsResult{}
	res.Message = commitMessage(opts)
	for attempt := 1; ; attempt++ {
		changed, err := applyEdit(ctx, g, opts, rel, res)
		if err != nil {
			return nil, err
		}
		if !changed || opts.DryRun {
			return res, nil
		}
		if _, err := g.run(ctx, []byte(res.Message), "-c", "user.name="+opts.AuthorName, "-c", "user.email="+opts.AuthorEmail,
			"-c", "commit.gpgsign=false", "commit", "--quiet", "--file=-"); err != nil {
			return nil, errkind.Infra(fmt.Errorf("gitops: committing: %w", err))
		}
		if opts.beforePush != nil {
			opts.beforePush(attempt)
		}
		res.Attempts = attempt
		out, err := g.run(ctx, nil, "push", "--porcelain", "origin", "HEAD:refs/heads/"+opts.Branch)
		if err == nil {
			sha, err := g.run(ctx, nil, "rev-parse", "HEAD")
			if err != nil {
				return nil, errkind.Infra(fmt.Errorf("gitops: %w", err))
			}
			res.Commit = strings.TrimSpace(sha)
			return res, nil
		}
		if !rejectedNonFastForward(out) || attempt >= opts.MaxAttempts {
			return nil, errkind.Infra(fmt.Errorf("gitops: pushing to %s (attempt %d of %d): %w", opts.Branch, attempt, opts.MaxAttempts, err))
		}
		// The branch moved: start again from its new tip.
		if _, err := g.run(ctx, nil, "fetch", "--quiet", "origin", "+refs/heads/"+opts.Branch+":refs/remotes/origin/"+opts.Branch); err != nil {
			return nil, errkind.Infra(fmt.Errorf("gitops: fetching after a rejected push: %w", err))
		}
		if _, err := g.run(ctx, nil, "reset", "--quiet", "--hard", "refs/remotes/origin/"+opts.Branch); err != nil {
			return nil, errkind.Infra(fmt.Errorf("gitops: %w", err))
		}
		select {
		case <-ctx.Done():
			return nil, errkind.Infra(ctx.Err())
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

func rejectedNonFastForward(out string) bool {
	return strings.Contains(out, "[rejected]") || strings.Contains(out, "non-fast-forward") ||
		strings.Contains(out, "fetch first") || strings.Contains(out, "[remote rejected]") && strings.Contains(out, "cannot lock ref")
}

// applyEdit edits the kustomization in the clone and stages it.
func applyEdit(ctx context.Context, g *gitRunner, opts GitOpsOptions, rel string, res *GitOpsResult) (bool, error) {
	kdir := filepath.Join(g.dir, rel)
	if st, err := os.Lstat(kdir); err != nil || !st.IsDir() {
		return false, errkind.Input(fmt.Errorf("gitops: %q is not a folder of the GitOps repository", opts.Path))
	}
	file, err := FindKustomization(kdir)
	if err != nil {
		return false, fmt.Errorf("gitops: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(file); err != nil || !strings.HasPrefix(resolved, mustEval(g.dir)+string(filepath.Separator)) {
		return false, errkind.Input(fmt.Errorf("gitops: %s leaves the repository", file))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return false, errkind.Infra(fmt.Errorf("gitops: %w", err))
	}
	res.File, _ = filepath.Rel(g.dir, file)
	out, names, err := setImages(data, opts.ImageName, opts.Image)
	if err != nil {
		return false, fmt.Errorf("gitops: %s: %w", res.File, err)
	}
	res.Entries = names
	res.Previous = ImageOf(data, names[0])
	unchanged := bytes.Equal(out, data) || sameKustomization(data, out)
	if !unchanged {
		if err := atomicfile.Write(file, out); err != nil {
			return false, errkind.Infra(fmt.Errorf("gitops: %w", err))
		}
	}
	// The overlay as the cluster will get it: every container that refers to
	// the image must name the digest, and at least one must — else the commit
	// would change nothing that runs.
	check, err := CheckRender(g.dir, kdir, opts.Image, names)
	if err != nil {
		return false, fmt.Errorf("gitops: %w", err)
	}
	res.Uses = check.Uses
	if unchanged {
		res.Changed = false
		res.Diff = ""
		return false, nil
	}
	res.Changed = true
	diff, err := g.run(ctx, nil, "diff", "--no-color", "--", res.File)
	if err != nil {
		return false, errkind.Infra(fmt.Errorf("gitops: %w", err))
	}
	res.Diff = diff
	if opts.DryRun {
		return true, nil
	}
	if _, err := g.run(ctx, nil, "add", "--", res.File); err != nil {
		return false, errkind.Infra(fmt.Errorf("gitops: %w", err))
	}
	return true, nil
}

// sameKustomization reports whether a and b decode to the same kustomization
// (the edit only reformatted a file that already named the digest).
func sameKustomization(a, b []byte) bool {
	var ka, kb types.Kustomization
	if yaml.Unmarshal(a, &ka) != nil || yaml.Unmarshal(b, &kb) != nil {
		return false
	}
	return reflect.DeepEqual(ka, kb)
}

func mustEval(p string) string {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		return p
	}
	return r
}

func commitMessage(opts GitOpsOptions) string {
	short := opts.Image.Digest
	if len(short) > 19 {
		short = short[:19]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "deploy %s@%s\n\n", lastElem(opts.Image.Repository), short)
	fmt.Fprintf(&b, "Image: %s\n", opts.Image.String())
	fmt.Fprintf(&b, "Digest: %s\n", opts.Image.Digest)
	if opts.SourceCommit != "" {
		fmt.Fprintf(&b, "Source-Commit: %s\n", opts.SourceCommit)
	}
	if opts.Verification != "" {
		fmt.Fprintf(&b, "Verification: %s\n", textclip.Fold(opts.Verification))
	}
	b.WriteString("Deployed-By: secure-gates verify-and-deploy\n")
	return b.String()
}

func lastElem(repo string) string {
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		return repo[i+1:]
	}
	return repo
}

package gitcmd_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/gitcmd"
)

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
}

// repo makes a repository with one commit whose own configuration tries
// everything a repository's config can run: hooks, an fsmonitor, an external
// diff, a pager. Each writes a marker file when run. dir is named with its
// symbolic links resolved, as git reports a work tree.
func repo(t *testing.T) (dir, marker string) {
	t.Helper()
	needGit(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	marker = filepath.Join(t.TempDir(), "ran")
	script := filepath.Join(t.TempDir(), "evil.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$0 $*\" >> "+marker+"\ncat >/dev/null 2>&1 </dev/null\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	g := gitcmd.Git{Dir: dir, ExtraEnv: []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t", "HOME=" + dir}}
	ctx := context.Background()
	for _, a := range [][]string{{"init", "--quiet", "--initial-branch=main"}} {
		if _, err := g.Output(ctx, a...); err != nil {
			t.Fatal(err)
		}
	}
	hooks := filepath.Join(dir, ".git", "hooks")
	for _, h := range []string{"pre-commit", "post-commit", "commit-msg", "post-checkout", "reference-transaction"} {
		if err := os.WriteFile(filepath.Join(hooks, h), []byte("#!/bin/sh\necho hook "+h+" >> "+marker+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := "\n[core]\n\tfsmonitor = " + script + "\n\tpager = " + script + "\n[diff]\n\texternal = " + script + "\n[pager]\n\tlog = " + script + "\n"
	f, err := os.OpenFile(filepath.Join(dir, ".git", "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(cfg); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, a := range [][]string{{"add", "a.txt"}, {"commit", "--quiet", "-m", "one"}} {
		if _, err := g.Output(ctx, a...); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, marker
}

// TestRepositoryConfigRunsNothing: a repository's hooks, fsmonitor, external
// diff and pager never run under gitcmd, whatever git does in it.
func TestRepositoryConfigRunsNothing(t *testing.T) {
	t.Parallel()
	dir, marker := repo(t)
	g := gitcmd.Git{Dir: dir, ExtraEnv: []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t"}}
	ctx := context.Background()
	for _, a := range [][]string{{"status", "--porcelain"}, {"diff"}, {"log", "-p"}, {"commit", "--quiet", "-am", "two"}, {"checkout", "--quiet", "-b", "other"}} {
		if _, err := g.Output(ctx, a...); err != nil {
			t.Fatalf("git %s: %v", a[0], err)
		}
	}
	if data, err := os.ReadFile(marker); err == nil {
		t.Errorf("the repository's configuration ran code:\n%s", data)
	}
}

// TestEnvironment: variables that point git elsewhere or configure it are
// dropped from the base environment; the safe settings and the caller's
// Config (in GIT_CONFIG_*, never argv) and ExtraEnv are added, in order.
func TestEnvironment(t *testing.T) {
	t.Parallel()
	g := gitcmd.Git{
		Dir:      "/work/repo",
		Env:      []string{"PATH=/bin", "GIT_DIR=/elsewhere", "GIT_WORK_TREE=/x", "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.hooksPath", "GIT_CONFIG_VALUE_0=/evil", "GIT_CONFIG_PARAMETERS='core.pager'='evil'", "GIT_ASKPASS=/evil", "GIT_TERMINAL_PROMPT=1", "GIT_EXTERNAL_DIFF=/evil", "GIT_PAGER=/evil", "LC_ALL=de_DE", "HOME=/home/u", "GIT_SSH_COMMAND=ssh -v"},
		Config:   [][2]string{{"http.extraheader", "AUTHORIZATION: basic c2VjcmV0"}},
		ExtraEnv: []string{"GIT_ASKPASS=/bin/false"},
	}
	want := []string{"PATH=/bin", "HOME=/home/u", "GIT_SSH_COMMAND=ssh -v", "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraheader", "GIT_CONFIG_VALUE_0=AUTHORIZATION: basic c2VjcmV0", "GIT_ASKPASS=/bin/false"}
	if got := g.Environ(); !slices.Equal(got, want) {
		t.Errorf("Environ() =\n%q\nwant\n%q", got, want)
	}
	args := g.Args("log", "--", "a")
	wantArgs := []string{"-c", "safe.directory=/work/repo", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "core.quotePath=false",
		"-c", "log.showSignature=false", "--no-pager", "-C", "/work/repo", "log", "--no-ext-diff", "--", "a"}
	if !slices.Equal(args, wantArgs) {
		t.Errorf("Args() =\n%q\nwant\n%q", args, wantArgs)
	}
	if a := g.Args("diff", "--no-ext-diff"); slices.Index(a, "--no-ext-diff") != len(a)-1 {
		t.Errorf("Args(diff --no-ext-diff) = %q: the option twice", a)
	}
	if a := g.Args("status"); slices.Contains(a, "--no-ext-diff") {
		t.Errorf("Args(status) = %q", a)
	}
	if strings.Contains(strings.Join(args, " "), "c2VjcmV0") {
		t.Error("Config is in argv")
	}
}

// TestGitDirInEnvironmentIgnored: a GIT_DIR in the environment does not send
// git to another repository.
func TestGitDirInEnvironmentIgnored(t *testing.T) {
	t.Parallel()
	dir, _ := repo(t)
	other := t.TempDir()
	if _, err := (gitcmd.Git{Dir: other}).Output(context.Background(), "init", "--quiet"); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GIT_DIR="+filepath.Join(other, ".git"), "GIT_WORK_TREE="+other)
	out, err := gitcmd.Git{Dir: dir, Env: env}.Output(context.Background(), "rev-parse", "--show-toplevel")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := filepath.EvalSymlinks(strings.TrimSpace(string(out))); got != dir {
		t.Errorf("git ran in %s, want %s", got, dir)
	}
}

// TestOutputBounded: more output than MaxOutput is an error, never a
// truncated answer; Combined keeps the first MaxOutput bytes.
func TestOutputBounded(t *testing.T) {
	t.Parallel()
	dir, _ := repo(t)
	g := gitcmd.Git{Dir: dir, MaxOutput: 16}
	if _, err := g.Output(context.Background(), "log", "--format=%H"); !errors.Is(err, gitcmd.ErrOutputTooLarge) {
		t.Errorf("Output over the bound: err = %v, want ErrOutputTooLarge", err)
	}
	out, err := g.Combined(context.Background(), nil, "log", "--format=%H")
	if err != nil || len(out) != 16 {
		t.Errorf("Combined = %q, %v; want the first 16 bytes", out, err)
	}
	if out, err := (gitcmd.Git{Dir: dir}).Output(context.Background(), "rev-parse", "--verify", "nope"); err == nil || !strings.Contains(err.Error(), "git rev-parse: exit status") {
		t.Errorf("failing git: %q, %v; want an error naming the subcommand", out, err)
	}
}

// TestContextEndsGit: a git that does not finish is killed when its context
// ends (here a hanging credential-less http remote is not needed: git
// reading a stdin that never closes stands in for it).
func TestContextEndsGit(t *testing.T) {
	t.Parallel()
	dir, _ := repo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := gitcmd.Git{Dir: dir}.Command(ctx, "hash-object", "--stdin")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd.Stdin = r
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	cancel()
	if err := testinfra.Within(t, time.Minute, "git after its context was cancelled", cmd.Wait); err == nil {
		t.Error("git finished without error after its context was cancelled")
	}
}

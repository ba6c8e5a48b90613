// Package gitcmd is the one way secure-gates runs git: the secrets scan's
// history and staged passes, the changed-files and changed-lines reads of the
// scan gate, the GitOps deploy, the pipeline and the release tooling all
// build their git processes with [Git], so every call gets the same
// protections against a repository, or an environment, that is not ours:
//
//   - the repository is trusted explicitly (-c safe.directory=<dir>: the
//     workspace of a container action belongs to another user), and only it
//     (-C <dir>; GIT_DIR, GIT_WORK_TREE and the other variables that point
//     git elsewhere are dropped from the environment);
//   - no hooks (core.hooksPath=/dev/null), no fsmonitor, no external diff
//     (--no-ext-diff after diff, log and show), no pager, no signature checks in logs, no prompts (GIT_TERMINAL_PROMPT=0),
//     no system configuration (GIT_CONFIG_NOSYSTEM=1), no configuration
//     injected through GIT_CONFIG_* or GIT_CONFIG_PARAMETERS, and the C
//     locale, so output parses the same everywhere;
//   - configuration the caller adds (an http.extraheader carrying a token)
//     travels in GIT_CONFIG_COUNT/KEY/VALUE, never in argv;
//   - every process runs under the caller's context: when it ends, git and
//     its helpers (git-remote-http, ssh) are killed as a process group, and
//     Wait gives up on output they keep open after WaitDelay;
//   - what is read of its output is bounded.
//
// Arguments are passed as a list, never through a shell; callers still put
// user-supplied revisions and paths after --end-of-options or -- and check
// them.
package gitcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// WaitDelay is how long a git killed by its context may keep its output open
// (a git-remote-http child still waiting on a server) before Wait abandons it.
const WaitDelay = 2 * time.Second

// DefaultMaxOutput bounds what Output and Combined keep of a command's output.
const DefaultMaxOutput = 1 << 20

// ErrOutputTooLarge is wrapped by the error Output returns when git wrote
// more than MaxOutput bytes.
var ErrOutputTooLarge = errors.New("output too large")

// maxStderr bounds the standard error Output keeps for its error.
const maxStderr = 4096

// Git describes how to run git for one repository. The zero value runs "git"
// from PATH in the current directory with the process environment.
type Git struct {
	// Bin is the git binary; empty means "git" from PATH.
	Bin string
	// Dir is the directory git runs in (-C Dir), trusted with
	// safe.directory; empty means the current directory, untrusted.
	Dir string
	// Env is the base environment; nil means os.Environ(). Variables that
	// point git at another repository or inject configuration are dropped
	// from it (see the package doc).
	Env []string
	// Config is configuration passed through GIT_CONFIG_COUNT, KEY_i and
	// VALUE_i, in order (the first is GIT_CONFIG_KEY_0): for values that must
	// not appear in argv, such as an authorization header.
	Config [][2]string
	// ExtraEnv is appended to the environment after the safe settings (for
	// example GIT_CONFIG_GLOBAL=/dev/null or an author identity).
	ExtraEnv []string
	// MaxOutput bounds what Output and Combined keep; 0 means
	// DefaultMaxOutput.
	MaxOutput int
}

// safeConfig is set on the command line of every git process.
var safeConfig = []string{
	"core.hooksPath=/dev/null",
	"core.fsmonitor=false",
	"core.quotePath=false",
	"log.showSignature=false",
}

// diffCommands are the subcommands that may run an external diff program
// (diff.external, GIT_EXTERNAL_DIFF). git has no global switch against it
// (-c diff.external= makes git try to run an empty command), so Args adds
// --no-ext-diff after them.
var diffCommands = []string{"diff", "log", "show"}

// droppedEnv are the environment variables (prefixes ending in "_" or "=")
// never passed on from Env: they would point git at another repository,
// inject configuration, or prompt.
var droppedEnv = []string{
	"GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=", "GIT_OBJECT_DIRECTORY=", "GIT_ALTERNATE_OBJECT_DIRECTORIES=",
	"GIT_COMMON_DIR=", "GIT_NAMESPACE=", "GIT_CEILING_DIRECTORIES=", "GIT_DISCOVERY_ACROSS_FILESYSTEM=",
	"GIT_CONFIG=", "GIT_CONFIG_", "GIT_CONFIG_PARAMETERS=", "GIT_ASKPASS=", "GIT_TERMINAL_PROMPT=", "GIT_PAGER=", "GIT_EXTERNAL_DIFF=",
	"GIT_EXEC_PATH=", "GIT_TEMPLATE_DIR=", "LC_ALL=",
}

// Args returns the full argument list of a git command: the safety options,
// then args.
func (g Git) Args(args ...string) []string {
	full := make([]string, 0, 2*len(safeConfig)+6+len(args))
	if g.Dir != "" {
		full = append(full, "-c", "safe.directory="+g.Dir)
	}
	for _, c := range safeConfig {
		full = append(full, "-c", c)
	}
	full = append(full, "--no-pager")
	if g.Dir != "" {
		full = append(full, "-C", g.Dir)
	}
	if len(args) > 0 && slices.Contains(diffCommands, args[0]) && !slices.Contains(args, "--no-ext-diff") {
		full = append(append(full, args[0], "--no-ext-diff"), args[1:]...)
		return full
	}
	return append(full, args...)
}

// Environ returns the environment of a git command (see the package doc).
func (g Git) Environ() []string {
	base := g.Env
	if base == nil {
		base = os.Environ()
	}
	env := make([]string, 0, len(base)+8+2*len(g.Config)+len(g.ExtraEnv))
	for _, kv := range base {
		if !dropped(kv) {
			env = append(env, kv)
		}
	}
	env = append(env, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C")
	if len(g.Config) > 0 {
		env = append(env, fmt.Sprintf("GIT_CONFIG_COUNT=%d", len(g.Config)))
		for i, kv := range g.Config {
			env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
		}
	}
	return append(env, g.ExtraEnv...)
}

func dropped(kv string) bool {
	for _, p := range droppedEnv {
		if strings.HasPrefix(kv, p) {
			return true
		}
	}
	return false
}

// Command returns a git command for args, not started, bound to ctx: when ctx
// ends, git and its process group are killed. The caller sets Stdin, Stdout
// and Stderr (and bounds what it reads).
func (g Git) Command(ctx context.Context, args ...string) *exec.Cmd {
	bin := g.Bin
	if bin == "" {
		bin = "git"
	}
	cmd := exec.CommandContext(ctx, bin, g.Args(args...)...)
	cmd.Env = g.Environ()
	killGroup(cmd)
	cmd.WaitDelay = WaitDelay
	return cmd
}

func (g Git) maxOutput() int {
	if g.MaxOutput > 0 {
		return g.MaxOutput
	}
	return DefaultMaxOutput
}

// Output runs git and returns its standard output. More than MaxOutput
// bytes of it is an error; so is git failing, with the end of its standard
// error: "git <subcommand>: <error>: <stderr>" (the exec error is wrapped).
func (g Git) Output(ctx context.Context, args ...string) ([]byte, error) {
	cmd := g.Command(ctx, args...)
	var stdout, stderr bytes.Buffer
	out := &CappedWriter{Buf: &stdout, Max: g.maxOutput()}
	cmd.Stdout, cmd.Stderr = out, &CappedWriter{Buf: &stderr, Max: maxStderr}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", sub(args), err, strings.TrimSpace(stderr.String()))
	}
	if out.Dropped {
		return nil, fmt.Errorf("git %s: %w: more than %d bytes", sub(args), ErrOutputTooLarge, g.maxOutput())
	}
	return stdout.Bytes(), nil
}

// Combined runs git with stdin (nil for none) and returns its standard output
// and error interleaved, the first MaxOutput bytes of them (the rest is
// dropped), and the error of the run, unwrapped, for the caller to describe.
func (g Git) Combined(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	cmd := g.Command(ctx, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out bytes.Buffer
	w := &CappedWriter{Buf: &out, Max: g.maxOutput()}
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	return out.Bytes(), err
}

func sub(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// CappedWriter keeps the first Max bytes written to Buf and drops the rest
// (setting Dropped), reporting every write as complete so the writer never
// blocks or fails on it.
type CappedWriter struct {
	Buf     *bytes.Buffer
	Max     int
	Dropped bool
}

// Write keeps what fits under Max.
func (c *CappedWriter) Write(p []byte) (int, error) {
	room := c.Max - c.Buf.Len()
	if room > 0 {
		c.Buf.Write(p[:min(len(p), room)])
	}
	if len(p) > max(room, 0) {
		c.Dropped = true
	}
	return len(p), nil
}

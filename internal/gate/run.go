package gate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/go-github/v60/github"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// Run is one run of a gate, as its function sees it: the log, annotations and
// masks of the step, its GitHub context and event, the workspace, a GitHub API
// client. Outputs and the step summary are not written here: the function
// returns them.
type Run struct {
	rt *gha.Runtime
}

// NewRun returns a Run over rt, for tests and commands that call a gate's pieces
// outside Define.
func NewRun(rt *gha.Runtime) *Run { return &Run{rt: rt} }

// Infof writes an informational line to the log.
func (r *Run) Infof(format string, args ...any) { r.rt.Infof(format, args...) }

// Debugf writes a debug line (shown when the run has debug logging on).
func (r *Run) Debugf(format string, args ...any) { r.rt.Debugf(format, args...) }

// Annotate writes an annotation now (a finding the log should show as it is
// found); annotations derived from the result belong to the Outputs (Annotator).
func (r *Run) Annotate(a gha.Annotation) { r.rt.Annotate(a) }

// AddMask masks a value found at run time (a secret that is not an input).
func (r *Run) AddMask(s string) { r.rt.AddMask(s) }

// Group starts a collapsible group of log lines; close it with the returned func.
func (r *Run) Group(title string) (end func()) { return r.rt.Group(title) }

// LogUntrusted writes text from an untrusted source to the log with workflow
// commands stopped.
func (r *Run) LogUntrusted(text string) error { return r.rt.LogUntrusted(text) }

// Getenv reads a variable of the step's environment.
func (r *Run) Getenv(key string) string { return r.rt.Getenv(key) }

// Context is the run's GitHub context.
func (r *Run) Context() gha.Context { return r.rt.Context() }

// Event reads the event payload (GITHUB_EVENT_PATH).
func (r *Run) Event() (*gha.Event, error) { return r.rt.Event() }

// InActions reports whether the step runs on an Actions runner.
func (r *Run) InActions() bool { return r.rt.InActions() }

// HTTPClient is the client for API and token requests (bounded retries).
func (r *Run) HTTPClient() *http.Client { return r.rt.HTTPClient() }

// IDToken requests the job's OIDC token for audience.
func (r *Run) IDToken(ctx context.Context, audience string) (string, error) {
	return r.rt.IDToken(ctx, audience)
}

// SigstoreIDToken requests the job's OIDC token for Fulcio: the token function
// signing.Prepare takes for keyless signing.
func (r *Run) SigstoreIDToken(ctx context.Context) (string, error) {
	return r.rt.SigstoreIDToken(ctx)
}

// Workspace is the absolute directory relative paths are resolved against:
// GITHUB_WORKSPACE on a runner, the working directory off one.
func (r *Run) Workspace() (string, error) {
	ws := r.rt.Context().Workspace
	if ws == "" || !r.rt.InActions() {
		var err error
		if ws, err = os.Getwd(); err != nil {
			return "", errkind.Infra(fmt.Errorf("reading the working directory: %w", err))
		}
	}
	ws, err := filepath.Abs(ws)
	if err != nil {
		return "", errkind.Infra(fmt.Errorf("resolving the workspace: %w", err))
	}
	return ws, nil
}

// Resolver returns a function that resolves a path input against the workspace
// (Workspace): a relative path is joined to it; an absolute path and "" are
// returned as they are.
func (r *Run) Resolver() (func(string) string, error) {
	ws, err := r.Workspace()
	if err != nil {
		return nil, err
	}
	return func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(ws, p)
	}, nil
}

// OutputDir resolves the folder an output input names (Resolver) and creates
// it. A folder in the workspace is created through readfile.MkdirInTree: a
// symbolic link the pull request commits in its place, or above it, that
// leaves the workspace is an input error naming the input, so the gate's
// reports are never written outside it.
func (r *Run) OutputDir(input, dir string) (string, error) {
	ws, err := r.Workspace()
	if err != nil {
		return "", err
	}
	resolve, _ := r.Resolver()
	out := resolve(dir)
	if err := readfile.MkdirInTree(ws, out); errors.Is(err, readfile.ErrEscapes) {
		return "", errkind.Input(fmt.Errorf("%s %s: %w", input, dir, err))
	} else if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
		return "", errkind.Input(fmt.Errorf("%s %s: a file is in the way (%w): name a folder", input, dir, err))
	} else if err != nil {
		return "", errkind.Infra(fmt.Errorf("creating %s %s: %w", input, dir, err))
	}
	return out, nil
}

// TempDir is the runner's temporary directory (RUNNER_TEMP), or the system's off
// a runner.
func (r *Run) TempDir() string {
	if d := r.rt.Getenv("RUNNER_TEMP"); d != "" {
		return d
	}
	return os.TempDir()
}

// RunnerTemp is the runner's temporary directory (RUNNER_TEMP) on a runner, and
// "" off one.
func (r *Run) RunnerTemp() string {
	if !r.rt.InActions() {
		return ""
	}
	return r.rt.Getenv("RUNNER_TEMP")
}

// Stdout is the log: a gate's terminal report of a local run (a table) is
// printed here.
func (r *Run) Stdout() io.Writer { return r.rt.Stdout() }

// GitHub returns a client of the run's GitHub API (GITHUB_API_URL, default
// https://api.github.com) authenticated with token, over HTTPClient. A bad
// GITHUB_API_URL is an input error.
func (r *Run) GitHub(token string) (*github.Client, error) {
	client := github.NewClient(r.rt.HTTPClient()).WithAuthToken(token)
	api, err := url.Parse(strings.TrimSuffix(r.rt.Context().APIURL, "/") + "/")
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("parsing GITHUB_API_URL: %w", err))
	}
	client.BaseURL = api
	return client, nil
}

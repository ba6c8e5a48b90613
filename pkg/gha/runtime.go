package gha

import (
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"sync"

	"github.com/secure-gates/secure-gates/pkg/netretry"
)

// Options configures a Runtime. Zero fields take safe defaults: an empty
// environment, output discarded, netretry.DefaultClient (connection timeouts,
// bounded retries of 5xx and 429 honouring Retry-After) and crypto/rand.
type Options struct {
	// Getenv reads a variable of the step's environment.
	Getenv func(string) string
	// Stdout receives workflow commands and log lines (the runner reads it).
	Stdout io.Writer
	// HTTPClient is used for the OIDC token request and GitHub API calls.
	HTTPClient *http.Client
	// Rand is the source of heredoc delimiters and stop-command tokens.
	Rand io.Reader
}

// Runtime is one step's view of the Actions runner.
type Runtime struct {
	getenv func(string) string
	out    io.Writer
	client *http.Client
	rand   io.Reader

	mu           sync.Mutex
	localOutputs []KeyValue // outputs kept when GITHUB_OUTPUT is unset (local runs)
	localEnv     []KeyValue
	masked       []string
}

// KeyValue is one output or environment entry.
type KeyValue struct {
	Name  string
	Value string
}

// New returns a Runtime over the given options.
func New(opts Options) *Runtime {
	r := &Runtime{getenv: opts.Getenv, out: opts.Stdout, client: opts.HTTPClient, rand: opts.Rand}
	if r.getenv == nil {
		r.getenv = func(string) string { return "" }
	}
	if r.out == nil {
		r.out = io.Discard
	}
	if r.client == nil {
		r.client = netretry.DefaultClient
	}
	if r.rand == nil {
		r.rand = rand.Reader
	}
	return r
}

// FromOS returns a Runtime over the process environment and standard output: what
// main uses.
func FromOS() *Runtime {
	return New(Options{Getenv: os.Getenv, Stdout: os.Stdout, HTTPClient: netretry.DefaultClient})
}

// Getenv reads a variable of the step's environment.
func (r *Runtime) Getenv(key string) string { return r.getenv(key) }

// Stdout is where workflow commands and log lines go.
func (r *Runtime) Stdout() io.Writer { return r.out }

// HTTPClient is the client for token and API requests.
func (r *Runtime) HTTPClient() *http.Client { return r.client }

// InActions reports whether the step runs on an Actions runner (GITHUB_ACTIONS=true).
func (r *Runtime) InActions() bool { return r.getenv("GITHUB_ACTIONS") == "true" }

// LocalOutputs returns the outputs set while GITHUB_OUTPUT was unset, in order: a
// local run prints them instead.
func (r *Runtime) LocalOutputs() []KeyValue {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]KeyValue(nil), r.localOutputs...)
}

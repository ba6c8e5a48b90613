// Package gatetest runs a gate in process, the way the binary runs it, for the
// gates' unit tests: the step's environment is a map (gha.Options injection),
// the log, outputs and summary are captured, and the exit code is App.Main's.
// The subprocess harness in action-test stays the test of the runner contract.
package gatetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// Result is what one run of a gate produced.
type Result struct {
	// Code is the exit code.
	Code int
	// Log is the step's standard output: log lines and workflow commands.
	Log string
	// Stderr holds the error line of a run off a runner.
	Stderr string
	// Outputs are the outputs the gate set.
	Outputs map[string]string
	// Summary is the step summary the gate wrote.
	Summary string
}

// Run runs g with args (--input value flags) and env as the step's whole
// environment. GITHUB_STEP_SUMMARY is pointed at a fresh file unless env sets
// it; GITHUB_OUTPUT must stay unset (outputs are captured in memory).
//
// First it checks g's declaration against its action.yml (gate.Gate.Check: an
// input or output declared on one side only fails t), so every gate test
// tests that too.
func Run(t testing.TB, g gate.Gate, env map[string]string, args ...string) Result {
	t.Helper()
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
	e := map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "summary.md")}
	for k, v := range env {
		e[k] = v
	}
	if e["GITHUB_OUTPUT"] != "" {
		t.Fatal("gatetest.Run captures outputs in memory: leave GITHUB_OUTPUT unset")
	}
	var stdout, stderr bytes.Buffer
	rt := gha.New(gha.Options{Getenv: func(k string) string { return e[k] }, Stdout: &stdout})
	app := &gate.App{Gates: []gate.Gate{g}, Stderr: &stderr}
	res := Result{Outputs: map[string]string{}}
	res.Code = app.Main(context.Background(), rt, append([]string{g.Name}, args...))
	res.Log, res.Stderr = stdout.String(), stderr.String()
	for _, kv := range rt.LocalOutputs() {
		res.Outputs[kv.Name] = kv.Value
	}
	if b, err := os.ReadFile(e["GITHUB_STEP_SUMMARY"]); err == nil {
		res.Summary = string(b)
	}
	return res
}

// Refused fails t unless res is a run refused for its inputs: exit 2, an error
// (on standard error, or on a runner the log's error line) naming every want,
// and neither an output nor a summary written.
func Refused(t testing.TB, res Result, want ...string) {
	t.Helper()
	if res.Code != 2 {
		t.Errorf("exit %d, want 2 (an input error)\n%s%s", res.Code, res.Stderr, res.Log)
	}
	for _, w := range want {
		if !strings.Contains(res.Stderr, w) && !strings.Contains(res.Log, w) {
			t.Errorf("the error does not name %q:\n%s%s", w, res.Stderr, res.Log)
		}
	}
	if len(res.Outputs) != 0 || res.Summary != "" {
		t.Errorf("outputs %v, summary %q on an input error", res.Outputs, res.Summary)
	}
}

// Refusal is one case of a gate's table of inputs refused before any work.
type Refusal struct {
	// Name names the subtest; empty, the arguments joined by spaces.
	Name string
	// Args are the case's own arguments (--input value flags).
	Args []string
	// Want is what the error must name (see Refused).
	Want []string
}

// Refuse is the Refusal named name ("" for the arguments joined) of the
// arguments args, whose error must name every want.
func Refuse(name string, args []string, want ...string) Refusal {
	return Refusal{Name: name, Args: args, Want: want}
}

// Refusals runs g once for each case, each in a parallel subtest, with env as
// the environment and args(c.Args) as the arguments (the case's own with the
// table's common ones; nil args takes the case's as they are), and checks that
// each run is Refused naming c.Want. check, if not nil, then inspects each
// result further (e.g. that no file was written).
func Refusals(t *testing.T, g gate.Gate, env map[string]string, args func([]string) []string, cases []Refusal, check func(t *testing.T, res Result)) {
	t.Helper()
	for _, c := range cases {
		t.Run(cmp.Or(c.Name, strings.Join(c.Args, " ")), func(t *testing.T) {
			t.Parallel()
			a := slices.Clone(c.Args)
			if args != nil {
				a = args(a)
			}
			res := Run(t, g, env, a...)
			Refused(t, res, c.Want...)
			if check != nil {
				check(t, res)
			}
		})
	}
}

// Untouched starts an HTTP server that must not be reached — the registry, the
// cluster or the API a gate must not call before its inputs are valid — and
// returns its URL. Every request is answered 503 and counted; when t and all
// its subtests have ended, t fails naming what (e.g. "the registry") if any
// request came.
func Untouched(t testing.TB, what string) string {
	t.Helper()
	hits := new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	t.Cleanup(func() {
		srv.Close()
		if n := hits.Load(); n != 0 {
			t.Errorf("%s was reached %d times", what, n)
		}
	})
	return srv.URL
}

// Event writes payload as an event file in a temporary folder and returns the
// variables of a run triggered by it (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH).
func Event(t testing.TB, name string, payload any) map[string]string {
	t.Helper()
	data, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": path}
}

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Golden compares got with the file testdata/name, or rewrites the file when the
// test runs with -update.
func Golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run go test -update after checking the change):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

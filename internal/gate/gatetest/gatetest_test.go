package gatetest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate"
)

// recorder is a testing.TB whose failures are recorded instead of failing the
// test; Fatal ends the goroutine it is called on, as testing's does.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) {
	r.mu.Lock()
	r.errors = append(r.errors, fmt.Sprint(args...))
	r.fatal = true
	r.mu.Unlock()
	panic(r)
}

// run calls f with a recorder sharing t's temporary folders and clean-ups, and
// returns what f failed with.
func run(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		f(r)
	}()
	return r
}

type inputs struct {
	Name string `input:"name"`
}

type outputs struct {
	Greeting string `output:"greeting"`
}

const action = "name: t\ndescription: t\ninputs:\n  name:\n    description: who\noutputs:\n  greeting:\n    description: hi\n"

func greet(_ context.Context, _ *gate.Run, in inputs) (outputs, error) {
	return outputs{Greeting: "hello " + in.Name}, nil
}

// Run checks the gate's declaration before it runs it: a gate whose action.yml
// declares an input its Go reader does not read fails the test.
func TestRunChecksDeclaration(t *testing.T) {
	t.Parallel()
	ok := gate.Define(gate.Spec{Name: "t", ActionYAML: []byte(action)}, greet)
	if r := run(t, func(tb testing.TB) { Run(tb, ok, nil, "--name", "x") }); len(r.errors) != 0 {
		t.Fatalf("a matching gate failed: %v", r.errors)
	}
	bad := gate.Define(gate.Spec{Name: "t", ActionYAML: []byte(strings.Replace(action, "outputs:", "  dead:\n    description: x\noutputs:", 1))}, greet)
	r := run(t, func(tb testing.TB) { Run(tb, bad, nil, "--name", "x") })
	if !r.fatal || len(r.errors) != 1 || !strings.Contains(r.errors[0], "inputs of t") {
		t.Errorf("an undeclared input: %v", r.errors)
	}
}

// Refused passes only an exit 2 naming every want with neither outputs nor a
// summary.
func TestRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		res   Result
		fails bool
	}{
		{"refused", Result{Code: 2, Stderr: "input x: bad"}, false},
		{"named in the runner's log", Result{Code: 2, Log: "::error::input x: bad"}, false},
		{"exit 1", Result{Code: 1, Stderr: "input x: bad"}, true},
		{"not named", Result{Code: 2, Stderr: "input y: bad"}, true},
		{"an output", Result{Code: 2, Stderr: "input x: bad", Outputs: map[string]string{"o": "1"}}, true},
		{"a summary", Result{Code: 2, Stderr: "input x: bad", Summary: "# x"}, true},
	} {
		r := run(t, func(tb testing.TB) { Refused(tb, tt.res, "input x") })
		if (len(r.errors) != 0) != tt.fails {
			t.Errorf("%s: failures %v", tt.name, r.errors)
		}
	}
}

// Untouched fails the test, once it and its subtests have ended, when the
// server was reached.
func TestUntouched(t *testing.T) {
	t.Parallel()
	var r *recorder
	t.Run("reached", func(t *testing.T) {
		r = &recorder{TB: t}
		url := Untouched(r, "the registry")
		resp, err := http.Get(url + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	if len(r.errors) != 1 || r.errors[0] != "the registry was reached 1 times" {
		t.Errorf("failures %v", r.errors)
	}
	var quiet *recorder
	t.Run("untouched", func(t *testing.T) {
		quiet = &recorder{TB: t}
		Untouched(quiet, "the registry")
	})
	if len(quiet.errors) != 0 {
		t.Errorf("failures %v", quiet.errors)
	}
}

package gate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

const testAction = `name: test gate
description: a gate for the frame's tests
inputs:
  name:
    description: who
    default: world
  count:
    description: how many
    default: "1"
  token:
    description: a token
    default: ${{ github.token }}
  password:
    description: a password
  fail:
    description: none, input, policy or policy-empty
    default: none
  timeout:
    description: bound
    default: 1m
outputs:
  greeting:
    description: the greeting
  count:
    description: the count
  extra:
    description: written only when set
`

type creds struct {
	Password string `input:"password,secret"`
}

type testInputs struct {
	Name  string `input:"name"`
	Count int    `input:"count"`
	Token string `input:"token,secret"`
	Fail  string `input:"fail"`
	creds
	gate.Timeout
}

func (in testInputs) Validate() error {
	if in.Count < 0 {
		return errors.New("count is negative")
	}
	if in.Name == "policy" {
		return errkind.Policy(errors.New("a classified error keeps its kind"))
	}
	return nil
}

type testOutputs struct {
	Greeting string `output:"greeting"`
	Count    int    `output:"count"`
	Extra    string `output:"extra,omitempty"`
	name     string
}

func (o testOutputs) Summary() string { return "## Hello " + o.name + "\n" }

func (o testOutputs) Annotations() []gha.Annotation {
	return []gha.Annotation{{Level: gha.LevelWarning, Title: "greeted", Message: o.name}}
}

// calls records what the gate's function saw.
type calls struct {
	n           int
	token       string
	hasDeadline bool
}

func testGate(c *calls) gate.Gate {
	return gate.Define(gate.Spec{Name: "test", ActionYAML: []byte(testAction), Positional: "name"},
		func(ctx context.Context, run *gate.Run, in testInputs) (testOutputs, error) {
			c.n++
			c.token = in.Token
			_, c.hasDeadline = ctx.Deadline()
			out := testOutputs{Greeting: "hello " + in.Name, Count: in.Count, name: in.Name}
			switch in.Fail {
			case "input":
				return testOutputs{}, errkind.Input(errors.New("failed before any result"))
			case "policy":
				return out, errkind.Policy(errors.New("failed by policy with a result"))
			}
			return out, nil
		})
}

func TestDefine(t *testing.T) {
	t.Parallel()
	actions := map[string]string{"GITHUB_ACTIONS": "true"}
	tests := []struct {
		name        string
		env         map[string]string
		args        []string
		wantCode    int
		wantCalls   int
		wantOutputs map[string]string // nil: none
		wantLog     []string
		wantToken   string
	}{
		{"outputs, summary and annotations written", nil, []string{"--count", "2", "bob"}, 0, 1,
			map[string]string{"greeting": "hello bob", "count": "2"}, []string{"warning: greeted: bob", "## Hello bob"}, ""},
		{"unevaluated token default is no value", nil, nil, 0, 1, map[string]string{"greeting": "hello world", "count": "1"}, nil, ""},
		{"token given is kept", nil, []string{"--token", "ghs_x"}, 0, 1, map[string]string{"greeting": "hello world", "count": "1"}, nil, "ghs_x"},
		{"decode error: exit 2, nothing runs", nil, []string{"--count", "x"}, 2, 0, nil, []string{`input "count": "x" is not an integer`}, ""},
		{"validate error: exit 2 before any work", nil, []string{"--count", "-1"}, 2, 0, nil, []string{"count is negative"}, ""},
		{"validate keeps a classified error", nil, []string{"policy"}, 1, 0, nil, nil, ""},
		{"timeout refused before any work", nil, []string{"--timeout", "7h"}, 2, 0, nil, []string{"over the 6h0m0s bound"}, ""},
		{"failure without a result writes nothing", nil, []string{"--fail", "input"}, 2, 1, nil, []string{"failed before any result"}, ""},
		{"failure with a result writes it", nil, []string{"--fail", "policy"}, 1, 1,
			map[string]string{"greeting": "hello world", "count": "1"}, []string{"## Hello world", "failed by policy with a result"}, ""},
		{"secrets masked first, even when decoding fails", actions, []string{"--password", "hunter2", "--count", "x"}, 2, 0, nil,
			[]string{"::add-mask::hunter2"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c calls
			res := gatetest.Run(t, testGate(&c), tt.env, tt.args...)
			if res.Code != tt.wantCode || c.n != tt.wantCalls {
				t.Fatalf("exit %d, %d calls; want exit %d, %d calls\nlog:\n%s\nstderr:\n%s", res.Code, c.n, tt.wantCode, tt.wantCalls, res.Log, res.Stderr)
			}
			if tt.wantOutputs == nil {
				tt.wantOutputs = map[string]string{}
			}
			if len(res.Outputs) != len(tt.wantOutputs) {
				t.Errorf("outputs %v, want %v", res.Outputs, tt.wantOutputs)
			}
			for k, v := range tt.wantOutputs {
				if res.Outputs[k] != v {
					t.Errorf("output %s = %q, want %q", k, res.Outputs[k], v)
				}
			}
			all := res.Log + res.Stderr + res.Summary
			for _, w := range tt.wantLog {
				if !strings.Contains(all, w) {
					t.Errorf("log lacks %q:\n%s", w, all)
				}
			}
			if c.n > 0 && (c.token != tt.wantToken || !c.hasDeadline) {
				t.Errorf("the function saw token %q (want %q), deadline %v", c.token, tt.wantToken, c.hasDeadline)
			}
			if strings.Contains(tt.name, "secrets masked") && strings.Index(res.Log, "::add-mask::hunter2") > strings.Index(res.Log, "::error") {
				t.Errorf("the mask came after the error:\n%s", res.Log)
			}
		})
	}
}

// Check compares a gate's inputs and outputs with its action.yml, both ways.
func TestGateCheck(t *testing.T) {
	t.Parallel()
	g := testGate(&calls{})
	if err := g.Check(); err != nil {
		t.Fatalf("matching gate: %v", err)
	}
	undeclared := strings.Replace(testAction, "  extra:\n    description: written only when set\n", "", 1)
	g.ActionYAML = []byte(undeclared)
	if err := g.Check(); err == nil || !strings.Contains(err.Error(), `output "extra" is written but action.yml does not declare it`) {
		t.Errorf("undeclared output: %v", err)
	}
	g.ActionYAML = []byte(testAction + "  never:\n    description: declared, never written\n")
	if err := g.Check(); err == nil || !strings.Contains(err.Error(), `action.yml declares output "never", which nothing writes`) {
		t.Errorf("unwritten output: %v", err)
	}
	g.ActionYAML = []byte(strings.Replace(testAction, "  fail:\n", "  unread:\n    description: x\n  fail:\n", 1))
	if err := g.Check(); err == nil || !strings.Contains(err.Error(), "inputs of test") {
		t.Errorf("unread input: %v", err)
	}
}

package gha_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFormatAnnotation(t *testing.T) {
	tests := []struct {
		name string
		a    gha.Annotation
		want string
	}{
		{"plain error", gha.Annotation{Level: gha.LevelError, Message: "boom"}, "::error::boom"},
		{"file and line", gha.Annotation{Level: gha.LevelWarning, File: "a/b.go", Line: 3, EndLine: 4, Title: "T"},
			"::warning endLine=4,file=a/b.go,line=3,title=T::"},
		{"data escaping", gha.Annotation{Level: gha.LevelNotice, Message: "50% done\r\nnext"}, "::notice::50%25 done%0D%0Anext"},
		{"property escaping", gha.Annotation{Level: gha.LevelError, File: "dir,x/a:b.go", Title: "a:b,c%", Message: "m"},
			"::error file=dir%2Cx/a%3Ab.go,title=a%3Ab%2Cc%25::m"},
		{"injection stays one command", gha.Annotation{Level: gha.LevelError, Message: "x\n::set-output name=result::pass"},
			"::error::x%0A::set-output name=result::pass"},
		{"unknown level becomes warning", gha.Annotation{Level: "fatal", Message: "m"}, "::warning::m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gha.FormatAnnotation(tt.a)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if strings.ContainsAny(got, "\r\n") {
				t.Errorf("annotation spans lines: %q", got)
			}
		})
	}
}

func TestSetOutputRandomDelimiter(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "output")
	env := map[string]string{"GITHUB_OUTPUT": out}
	rt := gha.New(gha.Options{Getenv: envOf(env)})
	hostile := "line1\nEOF\nresult=pass\nghadelimiter_\n::set-output name=result::pass"
	if err := rt.SetOutput("body", hostile); err != nil {
		t.Fatal(err)
	}
	if err := rt.SetOutput("result", "fail"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	got, err := gha.ParseFileCommands(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["body"] != hostile || got["result"] != "fail" {
		t.Fatalf("outputs = %q", got)
	}
	// Two writes use two different delimiters.
	delims := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if _, d, ok := strings.Cut(line, "<<"); ok {
			delims[d] = true
		}
	}
	if len(delims) != 2 {
		t.Errorf("want 2 distinct random delimiters, got %v", delims)
	}
}

// A fixed random source lets the test forge a value that contains the delimiter.
func TestSetOutputRefusesDelimiterInValue(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "output")
	zero := bytes.NewReader(make([]byte, 64))
	rt := gha.New(gha.Options{Getenv: envOf(map[string]string{"GITHUB_OUTPUT": out}), Rand: zero})
	delim := "ghadelimiter_" + strings.Repeat("00", 16)
	err := rt.SetOutput("x", "a\n"+delim+"\nresult=pass")
	if err == nil || !strings.Contains(err.Error(), "delimiter") {
		t.Fatalf("want delimiter refusal, got %v", err)
	}
	if data, _ := os.ReadFile(out); len(data) != 0 {
		t.Errorf("refused output was written: %q", data)
	}
}

func TestSetOutputName(t *testing.T) {
	rt := gha.New(gha.Options{})
	for _, bad := range []string{"", "a b", "a\nb", "a<<b", "1x", "a=b"} {
		if err := rt.SetOutput(bad, "v"); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if err := rt.SetOutput("ok-name_1", "v"); err != nil {
		t.Errorf("valid name refused: %v", err)
	}
	if got := rt.LocalOutputs(); len(got) != 1 || got[0].Value != "v" {
		t.Errorf("local outputs = %v", got)
	}
}

func TestSetEnvReserved(t *testing.T) {
	rt := gha.New(gha.Options{})
	for _, n := range []string{"NODE_OPTIONS", "GITHUB_TOKEN", "github_path"} {
		if err := rt.SetEnv(n, "x"); err == nil {
			t.Errorf("SetEnv(%q) accepted", n)
		}
	}
}

const testAction = `
name: test
description: d
inputs:
  body:
    description: the body
  min-words:
    description: words
    default: "5"
  fail-on-missing:
    default: "true"
  questions:
    description: q
  timeout:
    default: 30s
  token:
    required: true
    default: ${{ github.token }}
outputs:
  result:
    description: r
runs:
  using: docker
  image: ../../Dockerfile
  args: [test]
`

type testInputs struct {
	Body          string        `input:"body"`
	MinWords      int           `input:"min-words"`
	FailOnMissing bool          `input:"fail-on-missing"`
	Questions     []string      `input:"questions,lines"`
	Timeout       time.Duration `input:"timeout"`
	Token         string        `input:"token"`
}

func TestCollectAndDecodeInputs(t *testing.T) {
	a, err := gha.ParseAction([]byte(testAction))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    testInputs
		wantErr string
	}{
		{"defaults", nil, nil, testInputs{MinWords: 5, FailOnMissing: true, Timeout: 30 * time.Second, Token: "${{ github.token }}"}, ""},
		{"env", map[string]string{"INPUT_BODY": "hi", "INPUT_MIN-WORDS": "7", "INPUT_FAIL-ON-MISSING": "False", "INPUT_QUESTIONS": "a, b\nc", "INPUT_TOKEN": "t"},
			nil, testInputs{Body: "hi", MinWords: 7, Questions: []string{"a, b", "c"}, Timeout: 30 * time.Second, Token: "t"}, ""},
		{"flags win over env", map[string]string{"INPUT_BODY": "env"}, []string{"--body", "flag", "--token=x"},
			testInputs{Body: "flag", MinWords: 5, FailOnMissing: true, Timeout: 30 * time.Second, Token: "x"}, ""},
		{"positional", nil, []string{"--token", "x", "the body"}, testInputs{Body: "the body", MinWords: 5, FailOnMissing: true, Timeout: 30 * time.Second, Token: "x"}, ""},
		{"unknown flag", nil, []string{"--nope", "1"}, testInputs{}, "nope"},
		{"bad bool", map[string]string{"INPUT_FAIL-ON-MISSING": "yes"}, nil, testInputs{}, `input "fail-on-missing": "yes" is not a boolean`},
		{"bad int", map[string]string{"INPUT_MIN-WORDS": "five"}, nil, testInputs{}, `input "min-words": "five" is not an integer`},
		{"bad duration", map[string]string{"INPUT_TIMEOUT": "soon"}, nil, testInputs{}, `input "timeout"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := gha.New(gha.Options{Getenv: envOf(tt.env)})
			raw, err := rt.CollectInputs(a, tt.args, "body")
			var got testInputs
			if err == nil {
				err = gha.Decode(raw, &got)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotJ, _ := json.Marshal(got)
			wantJ, _ := json.Marshal(tt.want)
			if string(gotJ) != string(wantJ) {
				t.Errorf("got  %s\nwant %s", gotJ, wantJ)
			}
		})
	}
}

func TestRequiredInput(t *testing.T) {
	a, err := gha.ParseAction([]byte("name: x\ninputs:\n  image:\n    required: true\nruns: {using: docker, image: x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = gha.New(gha.Options{}).CollectInputs(a, nil, "")
	if err == nil || !strings.Contains(err.Error(), `input "image" is required`) {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeKeepsActionAndReaderEqual(t *testing.T) {
	var dst struct {
		A string `input:"a"`
	}
	if err := gha.Decode(gha.RawInputs{"a": "1", "b": "2"}, &dst); err == nil || !strings.Contains(err.Error(), "declares b, which nothing reads") {
		t.Errorf("dead input not reported: %v", err)
	}
	var dst2 struct {
		A string `input:"a"`
		C string `input:"c"`
	}
	if err := gha.Decode(gha.RawInputs{"a": "1"}, &dst2); err == nil || !strings.Contains(err.Error(), `"c", which action.yml does not declare`) {
		t.Errorf("undeclared input not reported: %v", err)
	}
}

func TestMaskAndRedact(t *testing.T) {
	var out bytes.Buffer
	rt := gha.New(gha.Options{Stdout: &out, Getenv: envOf(map[string]string{"GITHUB_ACTIONS": "true"})})
	rt.AddMask("s3cr%t\nline2")
	want := "::add-mask::s3cr%25t%0Aline2\n::add-mask::s3cr%25t\n::add-mask::line2\n"
	if out.String() != want {
		t.Errorf("mask commands = %q, want %q", out.String(), want)
	}
	if got := rt.Redact("token=s3cr%t\nline2!"); strings.Contains(got, "s3cr") {
		t.Errorf("not redacted: %q", got)
	}
	// Off a runner nothing acts on ::add-mask::, and writing it would print the
	// secret to the terminal: it is only remembered for Redact.
	out.Reset()
	local := gha.New(gha.Options{Stdout: &out})
	local.AddMask("s3cr%t")
	if out.Len() != 0 {
		t.Errorf("a local run printed %q", out.String())
	}
	if got := local.Redact("token=s3cr%t"); got != "token=***" {
		t.Errorf("local Redact = %q", got)
	}
}

// logUntrusted returns the lines LogUntrusted writes for text.
func logUntrusted(t *testing.T, text string) []string {
	t.Helper()
	var out bytes.Buffer
	if err := gha.New(gha.Options{Stdout: &out}).LogUntrusted(text); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
}

func TestLogUntrusted(t *testing.T) {
	lines := logUntrusted(t, "hello\n::set-output name=result::pass\n::add-mask::x")
	if !strings.HasPrefix(lines[0], "::stop-commands::") {
		t.Fatalf("first line %q", lines[0])
	}
	tok := strings.TrimPrefix(lines[0], "::stop-commands::")
	if len(tok) < 32 || lines[len(lines)-1] != "::"+tok+"::" {
		t.Fatalf("commands not resumed with the token: %q", lines)
	}
}

func TestInfofNeutralisesCommands(t *testing.T) {
	var out bytes.Buffer
	rt := gha.New(gha.Options{Stdout: &out})
	rt.Infof("ok\n  ::error::x")
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "::") {
			t.Errorf("line would be a command: %q", l)
		}
	}
}

func TestSummary(t *testing.T) {
	var s gha.Summary
	s.Heading(2, "Threat model").Table([]string{"Question", "Result"}, [][]string{{"a|b\nc", "<script>x</script>"}})
	got := s.String()
	for _, bad := range []string{"<script>", "a|b"} {
		if strings.Contains(got, bad) {
			t.Errorf("summary holds unescaped %q:\n%s", bad, got)
		}
	}
	if !strings.Contains(got, "| a\\|b<br>c |") {
		t.Errorf("cell not escaped as expected:\n%s", got)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "summary.md")
	rt := gha.New(gha.Options{Getenv: envOf(map[string]string{"GITHUB_STEP_SUMMARY": p})})
	rt.AddMask("hunter2")
	if err := rt.WriteSummary("pw hunter2\n"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if string(data) != "pw ***\n" {
		t.Errorf("summary file = %q", data)
	}
	big := strings.Repeat("x\n", gha.MaxSummaryBytes)
	if err := rt.WriteSummary(big); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Size() > gha.MaxSummaryBytes+100 {
		t.Errorf("summary not capped: %d bytes", fi.Size())
	}
}

func TestEvent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "event.json")
	os.WriteFile(p, []byte(`{"action":"opened","number":7,"pull_request":{"number":7,"body":"$(rm -rf /)","head":{"sha":"abc"}},"repository":{"full_name":"acme/w"}}`), 0o600)
	rt := gha.New(gha.Options{Getenv: envOf(map[string]string{"GITHUB_EVENT_PATH": p})})
	ev, err := rt.Event()
	if err != nil {
		t.Fatal(err)
	}
	if ev.PullRequest == nil || ev.PullRequest.Number != 7 || ev.PullRequest.Body != "$(rm -rf /)" || ev.Repository.FullName != "acme/w" {
		t.Errorf("event = %+v", ev)
	}
	if _, err := gha.New(gha.Options{}).Event(); !errors.Is(err, gha.ErrNoEvent) {
		t.Errorf("no event path: %v", err)
	}
	if _, err := gha.DecodeEvent(strings.NewReader("{")); err == nil {
		t.Error("bad JSON accepted")
	}
}

func TestIDToken(t *testing.T) {
	var gotAuth, gotAud string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotAud = r.Header.Get("Authorization"), r.URL.Query().Get("audience")
		if r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "api-version lost", 400)
			return
		}
		w.Write([]byte(`{"value":"eyJ.token.sig"}`))
	}))
	defer srv.Close()
	var out bytes.Buffer
	env := map[string]string{"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "req-tok"}
	rt := gha.New(gha.Options{Getenv: envOf(env), Stdout: &out, HTTPClient: srv.Client()})
	tok, err := rt.IDToken(context.Background(), gha.SigstoreAudience)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "eyJ.token.sig" || gotAuth != "Bearer req-tok" || gotAud != "sigstore" {
		t.Errorf("token=%q auth=%q aud=%q", tok, gotAuth, gotAud)
	}
	if !strings.Contains(out.String(), "::add-mask::eyJ.token.sig") || !strings.Contains(out.String(), "::add-mask::req-tok") {
		t.Errorf("token not masked: %q", out.String())
	}

	_, err = gha.New(gha.Options{}).IDToken(context.Background(), "sigstore")
	if !errors.Is(err, gha.ErrNoIDToken) || errkind.ExitCode(err) != 2 || !strings.Contains(err.Error(), "id-token: write") {
		t.Errorf("missing variables: %v", err)
	}
	down := gha.New(gha.Options{Getenv: envOf(map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:1/x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"})})
	if _, err := down.IDToken(context.Background(), "sigstore"); errkind.ExitCode(err) != 3 {
		t.Errorf("unreachable runner: %v (exit %d)", err, errkind.ExitCode(err))
	}
}

func TestParseAction(t *testing.T) {
	a, err := gha.ParseAction([]byte(testAction))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range a.Inputs {
		names = append(names, in.Name)
	}
	if strings.Join(names, ",") != "body,min-words,fail-on-missing,questions,timeout,token" {
		t.Errorf("input order = %v", names)
	}
	if a.Runs.Using != "docker" || len(a.Runs.Args) != 1 || len(a.Outputs) != 1 {
		t.Errorf("action = %+v", a)
	}
	if _, err := gha.ParseAction([]byte("inputs: [")); err == nil {
		t.Error("bad yaml accepted")
	}
}

func ExampleRuntime_SetOutput() {
	rt := gha.New(gha.Options{}) // no GITHUB_OUTPUT: a local run keeps outputs
	_ = rt.SetOutput("result", "pass")
	for _, kv := range rt.LocalOutputs() {
		fmt.Println(kv.Name, kv.Value)
	}
	// Output: result pass
}

func ExampleFormatAnnotation() {
	fmt.Println(gha.FormatAnnotation(gha.Annotation{Level: gha.LevelError, File: "main.go", Line: 3, Message: "100% wrong"}))
	// Output: ::error file=main.go,line=3::100%25 wrong
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

// Off a runner nothing reads workflow commands: a person at a terminal reads the
// log, so groups, annotations and debug lines are written for them.
func TestLocalRendering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		write  func(rt *gha.Runtime)
		want   string
		runner string // the same call on a runner
	}{
		{name: "group", write: func(rt *gha.Runtime) { rt.Group("Cataloguing x")() },
			want: "== Cataloguing x\n", runner: "::group::Cataloguing x\n::endgroup::\n"},
		{name: "annotation with a place and a title", write: func(rt *gha.Runtime) {
			rt.Annotate(gha.Annotation{Level: gha.LevelError, File: "a/b.go", Line: 3, Title: "CVE-1", Message: "100% bad"})
		}, want: "error: a/b.go:3: CVE-1: 100% bad\n", runner: "::error file=a/b.go,line=3,title=CVE-1::100%25 bad\n"},
		{name: "annotation of a file without a line, unknown level", write: func(rt *gha.Runtime) {
			rt.Annotate(gha.Annotation{Level: "fatal", File: "go.mod", Message: "m"})
		}, want: "warning: go.mod: m\n", runner: "::warning file=go.mod::m\n"},
		{name: "multi-line annotation", write: func(rt *gha.Runtime) { rt.Annotate(gha.Annotation{Level: gha.LevelNotice, Message: "a\nb"}) },
			want: "notice: a\nb\n", runner: "::notice::a%0Ab\n"},
		{name: "terminal escapes in a message", write: func(rt *gha.Runtime) {
			rt.Annotate(gha.Annotation{Level: gha.LevelWarning, Message: "\x1b]0;pwned\x07\x1b[2Jok\tx\u009b"})
		}, want: "warning: \\x1b]0;pwned\\a\\x1b[2Jok\tx\\u009b\n", runner: "::warning::\\x1b]0;pwned\\a\\x1b[2Jok\tx\\u009b\n"},
		{name: "debug hidden", write: func(rt *gha.Runtime) { rt.Debugf("n=%d", 1) }, want: "", runner: "::debug::n=1\n"},
		{name: "debug with RUNNER_DEBUG", env: map[string]string{"RUNNER_DEBUG": "1"}, write: func(rt *gha.Runtime) { rt.Debugf("n=%d", 1) },
			want: "debug: n=1\n", runner: "::debug::n=1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, onRunner := range []bool{false, true} {
				env := map[string]string{}
				for k, v := range tc.env {
					env[k] = v
				}
				want := tc.want
				if onRunner {
					env["GITHUB_ACTIONS"] = "true"
					want = tc.runner
				}
				var out bytes.Buffer
				tc.write(gha.New(gha.Options{Stdout: &out, Getenv: envOf(env)}))
				if out.String() != want {
					t.Errorf("on a runner %v: wrote %q, want %q", onRunner, out.String(), want)
				}
			}
		})
	}
}

// Off a runner, untrusted text still goes inside stop-commands, with its
// terminal control characters escaped.
func TestLogUntrustedLocal(t *testing.T) {
	lines := logUntrusted(t, "title \x1b[31mred\n::error::x")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "::stop-commands::") || lines[1] != `title \x1b[31mred` || lines[2] != "::error::x" {
		t.Errorf("wrote %q", lines)
	}
}

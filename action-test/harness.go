// Package actiontest runs secure-gates actions the way the GitHub Actions runner
// does: it parses the action's action.yml, applies input defaults (evaluating the
// few default expressions the actions use), sets INPUT_* and the runner's GITHUB_*
// variables, runs the built binary with the action's args, and returns the parsed
// outputs, step summary and workflow commands.
//
// The harness interprets the log as the runner does, including ::stop-commands::,
// so a test can assert that untrusted text produced no workflow command.
package actiontest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/secure-gates/secure-gates/pkg/gha"
)

// Harness runs actions from one repository checkout with one built binary.
type Harness struct {
	// Root is the secure-gates repository (holds actions/<gate>/action.yml).
	Root string
	// Binary is the built secure-gates binary.
	Binary string
}

// Step is one use of an action, as a workflow step would write it.
type Step struct {
	// Action is the folder under actions/, e.g. "threat-model".
	Action string
	// With are the step's inputs.
	With map[string]string
	// EventName and Event are GITHUB_EVENT_NAME and the payload written to
	// GITHUB_EVENT_PATH (nil: no payload file).
	EventName string
	Event     any
	// Repository, SHA and Ref default to acme/widgets, a fixed SHA and refs/heads/main.
	Repository, SHA, Ref string
	// Workspace is GITHUB_WORKSPACE and the working directory (default: a temp dir).
	Workspace string
	// Token is what ${{ github.token }} evaluates to.
	Token string
	// Env adds variables (e.g. ACTIONS_ID_TOKEN_REQUEST_URL, GITHUB_API_URL).
	Env map[string]string
	// Timeout bounds the run (default 2 minutes).
	Timeout time.Duration
	// TempDir holds the runner's files (GITHUB_OUTPUT, RUNNER_TEMP, ...). When set
	// it is kept, so a test can read what the step wrote; when empty a temporary
	// folder is used and removed after the step.
	TempDir string
}

// Command is one workflow command the runner would process.
type Command struct {
	Name       string
	Properties map[string]string
	Message    string
}

// Result is what a step produced.
type Result struct {
	ExitCode int
	Outputs  map[string]string
	Env      map[string]string
	Summary  string
	// Commands are the workflow commands processed (stop-commands honoured).
	Commands []Command
	// Log is the step's stdout as the log shows it (commands included).
	Log    string
	Stderr string
}

// Annotations returns the error, warning and notice commands.
func (r *Result) Annotations() []Command {
	var out []Command
	for _, c := range r.Commands {
		switch c.Name {
		case "error", "warning", "notice":
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many of the processed commands are named name (e.g.
// "error").
func (r *Result) Count(name string) int {
	n := 0
	for _, c := range r.Commands {
		if c.Name == name {
			n++
		}
	}
	return n
}

// Run runs step and returns its result. An error means the harness could not run
// the step at all; a failing step is a Result with a non-zero ExitCode.
func (h *Harness) Run(ctx context.Context, step Step) (*Result, error) {
	data, err := os.ReadFile(filepath.Join(h.Root, "actions", step.Action, "action.yml"))
	if err != nil {
		return nil, fmt.Errorf("reading action %s: %w", step.Action, err)
	}
	a, err := gha.ParseAction(data)
	if err != nil {
		return nil, err
	}
	if a.Runs.Using != "docker" {
		return nil, fmt.Errorf("action %s: runs.using is %q, want docker", step.Action, a.Runs.Using)
	}
	tmp := step.TempDir
	if tmp == "" {
		if tmp, err = os.MkdirTemp("", "actiontest-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
	}
	env, files, ws, err := runnerEnv(step, tmp)
	if err != nil {
		return nil, err
	}
	if err := inputEnv(a, step, env); err != nil {
		return nil, err
	}
	res, err := h.runBinary(ctx, step, a.Runs.Args, ws, env)
	if err != nil {
		return nil, err
	}
	read := func(n string) string { b, _ := os.ReadFile(files[n]); return string(b) }
	if res.Outputs, err = gha.ParseFileCommands(read("GITHUB_OUTPUT")); err != nil {
		return nil, fmt.Errorf("parsing GITHUB_OUTPUT: %w", err)
	}
	if res.Env, err = gha.ParseFileCommands(read("GITHUB_ENV")); err != nil {
		return nil, fmt.Errorf("parsing GITHUB_ENV: %w", err)
	}
	res.Summary = read("GITHUB_STEP_SUMMARY")
	return res, nil
}

// runnerEnv prepares in tmp what the runner gives a step: the workspace
// (step.Workspace, else tmp/workspace), the file-command files (files, by
// variable name), RUNNER_TEMP, the event file, and the GITHUB_* variables
// with step.Env over them.
func runnerEnv(step Step, tmp string) (env, files map[string]string, ws string, err error) {
	ws = step.Workspace
	if ws == "" {
		ws = filepath.Join(tmp, "workspace")
		if err := os.Mkdir(ws, 0o755); err != nil {
			return nil, nil, "", err
		}
	}
	files = map[string]string{}
	for _, n := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_STATE"} {
		files[n] = filepath.Join(tmp, strings.ToLower(n))
		if err := os.WriteFile(files[n], nil, 0o644); err != nil {
			return nil, nil, "", err
		}
	}
	runnerTemp := filepath.Join(tmp, "runner-temp")
	if err := os.Mkdir(runnerTemp, 0o755); err != nil {
		return nil, nil, "", err
	}
	env = map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"),
		"GITHUB_ACTIONS": "true", "CI": "true",
		"GITHUB_WORKSPACE": ws, "RUNNER_TEMP": runnerTemp, "RUNNER_OS": "Linux",
		"GITHUB_REPOSITORY": cmp.Or(step.Repository, "acme/widgets"),
		"GITHUB_SHA":        cmp.Or(step.SHA, "0123456789abcdef0123456789abcdef01234567"),
		"GITHUB_REF":        cmp.Or(step.Ref, "refs/heads/main"),
		"GITHUB_EVENT_NAME": cmp.Or(step.EventName, "push"),
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": "https://api.github.com",
		"GITHUB_RUN_ID": "1000", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_WORKFLOW": "ci",
		"GITHUB_ACTOR": "octocat", "GITHUB_JOB": "test",
	}
	for n, p := range files {
		env[n] = p
	}
	if step.Event != nil {
		ev, err := json.Marshal(step.Event)
		if err != nil {
			return nil, nil, "", fmt.Errorf("encoding event: %w", err)
		}
		p := filepath.Join(tmp, "event.json")
		if err := os.WriteFile(p, ev, 0o644); err != nil {
			return nil, nil, "", err
		}
		env["GITHUB_EVENT_PATH"] = p
	}
	for k, v := range step.Env {
		env[k] = v
	}
	return env, files, ws, nil
}

// inputEnv sets INPUT_<NAME> for every declared input, from with: or its
// default, as the runner does for container actions. An input not declared
// is an error (the runner warns; a test should not pass one).
func inputEnv(a *gha.Action, step Step, env map[string]string) error {
	for name := range step.With {
		if _, ok := a.Input(name); !ok {
			return fmt.Errorf("action %s has no input %q", step.Action, name)
		}
	}
	for _, in := range a.Inputs {
		v, ok := step.With[in.Name]
		if !ok {
			var err error
			if v, err = evalDefault(in.Default, step); err != nil {
				return fmt.Errorf("input %s: %w", in.Name, err)
			}
		}
		env[gha.InputEnvName(in.Name)] = v
	}
	return nil
}

// runBinary runs the binary with args in ws with exactly env, within the
// step's timeout (default 2 minutes), and returns its exit code, log and
// workflow commands; an exit code is a result, failing to run an error.
func (h *Harness) runBinary(ctx context.Context, step Step, args []string, ws string, env map[string]string) (*Result, error) {
	timeout := step.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Binary, args...)
	cmd.Dir = ws
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res := &Result{}
	start := time.Now()
	err := cmd.Run()
	RecordUsage(ws, step.Action, cmd, start)
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			return nil, fmt.Errorf("running %s: %w (stderr: %s)", step.Action, err, stderr.String())
		}
		res.ExitCode = ee.ExitCode()
	}
	res.Log, res.Stderr = stdout.String(), stderr.String()
	res.Commands = ParseCommands(res.Log)
	return res, nil
}

// usageLog is where RecordUsage appends: $SECURE_GATES_TEST_USAGE, read once.
var usageLog = sync.OnceValue(func() string { return os.Getenv("SECURE_GATES_TEST_USAGE") })

var usageMu sync.Mutex

// RecordUsage appends one line to the file $SECURE_GATES_TEST_USAGE names
// (nothing when it is unset): the wall time since start and the CPU time
// (user, system) of cmd, which has exited, and of the children it waited for,
// with where (a folder naming the test) and what ran. It is how the time a test
// spends in subprocesses is measured; it checks nothing.
func RecordUsage(where, what string, cmd *exec.Cmd, start time.Time) {
	if usageLog() == "" || cmd.ProcessState == nil {
		return
	}
	var user, sys time.Duration
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		user, sys = time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
	}
	if len(what) > 120 {
		what = what[:120]
	}
	usageMu.Lock()
	defer usageMu.Unlock()
	f, err := os.OpenFile(usageLog(), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%.2f\t%.2f\t%.2f\t%s\t%s\n", time.Since(start).Seconds(), user.Seconds(), sys.Seconds(), where, what)
}

var defaultExpr = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// evalDefault evaluates the expressions secure-gates' action.yml defaults use.
func evalDefault(def string, step Step) (string, error) {
	var bad error
	out := defaultExpr.ReplaceAllStringFunc(def, func(m string) string {
		switch expr := defaultExpr.FindStringSubmatch(m)[1]; expr {
		case "github.token":
			return step.Token
		case "github.repository":
			return cmp.Or(step.Repository, "acme/widgets")
		default:
			bad = fmt.Errorf("default expression %q is not supported by the harness", expr)
			return ""
		}
	})
	return out, bad
}

var commandLine = regexp.MustCompile(`^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$`)

// legacyCommands are the commands the runner also honours in its older form,
// "##[name props]data", wherever "##[" appears in a line.
var legacyCommands = map[string]bool{"add-mask": true, "set-output": true, "set-env": true, "add-path": true, "save-state": true,
	"error": true, "warning": true, "notice": true, "debug": true, "group": true, "endgroup": true, "echo": true,
	"add-matcher": true, "remove-matcher": true, "stop-commands": true}

// lineBreak is what the runner's line reader splits the output on.
var lineBreak = regexp.MustCompile(`\r\n|\r|\n`)

// ParseCommands interprets a step log the way the runner does: the log is split
// into lines at \n, \r\n and a lone \r; a line starting with :: (after leading
// white space, Unicode spaces included, as .NET's TrimStart removes them) is a
// command, and so is a legacy "##[name]" anywhere in a line;
// ::stop-commands::TOKEN suspends processing until a line ::TOKEN::.
func ParseCommands(log string) []Command {
	var out []Command
	stopToken := ""
	for _, line := range lineBreak.Split(log, -1) {
		trimmed := strings.TrimLeftFunc(line, unicode.IsSpace)
		if stopToken != "" {
			if trimmed == "::"+stopToken+"::" {
				stopToken = ""
			}
			continue
		}
		m := commandLine.FindStringSubmatch(trimmed)
		if m == nil {
			if i := strings.Index(line, "##["); i >= 0 {
				if j := strings.IndexByte(line[i:], ']'); j > 0 {
					info := line[i+3 : i+j]
					name, _, _ := strings.Cut(info, " ")
					if legacyCommands[name] {
						out = append(out, Command{Name: name, Properties: map[string]string{"legacy": info}, Message: line[i+j+1:]})
					}
				}
			}
			continue
		}
		c := Command{Name: m[1], Properties: map[string]string{}, Message: unescape(m[3], false)}
		if m[2] != "" {
			for _, kv := range strings.Split(m[2], ",") {
				k, v, _ := strings.Cut(kv, "=")
				c.Properties[k] = unescape(v, true)
			}
		}
		if c.Name == "stop-commands" {
			stopToken = c.Message
			continue
		}
		out = append(out, c)
	}
	return out
}

func unescape(s string, property bool) string {
	pairs := []string{"%0D", "\r", "%0A", "\n"}
	if property {
		pairs = append(pairs, "%3A", ":", "%2C", ",")
	}
	pairs = append(pairs, "%25", "%")
	return strings.NewReplacer(pairs...).Replace(s)
}

package actiontest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/gha"
)

// Workflow is a workflow file read for running: the subset of the syntax the
// secure-gates templates and the project's own workflows use — env at every
// level, jobs with needs, if, permissions, outputs, steps that use actions
// (`uses:` with `with:`) or run a bash script (`run:`), and jobs that call a
// reusable workflow (`uses:` with `with:` and `secrets:`).
type Workflow struct {
	On struct {
		WorkflowCall struct {
			Inputs map[string]struct {
				Default any `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"workflow_call"`
	} `yaml:"on"`
	Env  map[string]string       `yaml:"env"`
	Jobs map[string]*WorkflowJob `yaml:"jobs"`
}

// WorkflowJob is one job.
type WorkflowJob struct {
	Needs       stringList        `yaml:"needs"`
	If          string            `yaml:"if"`
	Permissions map[string]string `yaml:"permissions"`
	Outputs     map[string]string `yaml:"outputs"`
	Env         map[string]string `yaml:"env"`
	Steps       []WorkflowStep    `yaml:"steps"`
	// Uses, With and Secrets are a call of a reusable workflow.
	Uses    string            `yaml:"uses"`
	With    map[string]any    `yaml:"with"`
	Secrets map[string]string `yaml:"secrets"`
}

// WorkflowStep is one step of a job.
type WorkflowStep struct {
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	With  map[string]any    `yaml:"with"`
}

type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// ReadWorkflow parses a workflow file.
func ReadWorkflow(path string) (*Workflow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var w Workflow
	if err := yaml.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return &w, nil
}

// WorkflowRun runs a workflow's jobs the way the runner does: in the order
// needs gives, skipping a job whose needs did not all succeed or whose if is
// false (an if calling a status function — success(), failure(), always(),
// cancelled() — decides alone, as on GitHub; a step after a failed step runs
// only when its if calls one and is true), each job on a fresh runner (the
// workspace emptied), expressions evaluated from the github, env, inputs,
// secrets, needs and steps contexts, the secure-gates actions (published or
// ./actions/<gate>) run through their action.yml with the Harness, run: steps
// run by bash in the workspace with the runner's environment (GITHUB_OUTPUT,
// GITHUB_ENV, RUNNER_TEMP, GITHUB_REF_NAME, ... and the env of the workflow,
// job and step), and the few other actions emulated: actions/cache/restore and
// actions/cache/save (Caches), actions/checkout (copies
// Source), upload/download-artifact (between jobs), docker/setup-buildx-action
// and docker/login-action (nothing to do here), docker/build-push-action
// (Build); a job that calls a reusable workflow runs Call.
type WorkflowRun struct {
	Harness  *Harness
	Workflow *Workflow
	// Event is github.event_name; SHA, Ref, Repository, Token and Actor the
	// github context (defaults as the Harness's).
	Event, SHA, Ref, Repository, Token, Actor string
	// DefaultBranch is github.event.repository.default_branch (default main).
	DefaultBranch string
	// Inputs are the workflow_call inputs the caller gives (declared defaults
	// fill the rest); Secrets the secrets it passes.
	Inputs, Secrets map[string]string
	// Source is what actions/checkout checks out.
	Source string
	// Workspace is the runner's workspace path (the same on every runner, as
	// /github/workspace is for container actions).
	Workspace string
	// Env is added to every step's environment.
	Env map[string]string
	// IDTokenEnv is added to the steps of jobs granted id-token: write, as the
	// runner does (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN).
	IDTokenEnv map[string]string
	// With adjusts a secure-gates step's inputs before it runs; nil for none.
	With func(job, action string, with map[string]string)
	// Build stands in for docker/build-push-action: it builds and pushes with's
	// tags and returns the step's outputs (digest).
	Build func(with map[string]string) (map[string]string, error)
	// DAST stands in for zaproxy/action-baseline and zaproxy/action-api-scan:
	// it scans with["target"] and writes the report the dast gate reads into
	// the workspace (ZAP's report_json.json); action is the action's name.
	DAST func(action string, with map[string]string, workspace string) error
	// Previous are the job results of an earlier run; with them, only the jobs
	// Rerun names run again and the others keep their earlier results, as
	// GitHub's "Re-run jobs" does.
	Previous map[string]*JobResult
	Rerun    []string
	// Call stands in for a job that calls a reusable workflow (uses: at the job
	// level): it gets the job's with: and secrets: and, when the job is granted
	// id-token: write, IDTokenEnv; it returns the job's outputs, or why it
	// failed.
	Call func(ctx context.Context, job, uses string, with, secrets, env map[string]string) (outputs map[string]string, failed string, err error)
	// Timeout bounds each step (default 5 minutes).
	Timeout time.Duration

	// Caches is the cache service actions/cache/restore and save use; nil
	// starts an empty one. Share one between runs to see caches travel.
	Caches *ActionsCache

	artifacts map[string]string
	// runnerTemp is the running job's RUNNER_TEMP (runner.temp), shared by its
	// steps as on a runner.
	runnerTemp string
	// wfEnv is the workflow's env, evaluated; env the env context of what is
	// being evaluated.
	wfEnv, env map[string]string
	// status is what success() and failure() see: the needs' outcome while a
	// job's if is evaluated, the job's steps' outcome while it runs.
	status string
}

// JobResult is what one job did.
type JobResult struct {
	// Result is success, failure or skipped (needs.<job>.result).
	Result  string
	Outputs map[string]string
	// Steps are the secure-gates steps that ran, by id (or action name).
	Steps map[string]*Result
	// Failed names the step that failed, and why.
	Failed string
}

// ourAction matches our actions as published (by commit) or as the project's
// own workflows use them (./actions/<gate> of the checkout).
var ourAction = regexp.MustCompile(`^(?:secure-gates/secure-gates/actions/([a-z-]+)@[0-9a-f]{40}|\./actions/([a-z-]+))$`)

// Run runs every job and returns their results by name. An error is a workflow
// the emulation cannot run (a syntax it does not know), not a failing job.
func (wr *WorkflowRun) Run(ctx context.Context) (map[string]*JobResult, error) {
	if wr.artifacts == nil {
		wr.artifacts = map[string]string{}
	}
	order, err := wr.order()
	if err != nil {
		return nil, err
	}
	if wr.wfEnv, err = wr.layerEnv(nil, wr.Workflow.Env, nil, nil); err != nil {
		return nil, fmt.Errorf("workflow %w", err)
	}
	results := map[string]*JobResult{}
	for _, name := range order {
		job := wr.Workflow.Jobs[name]
		if prev, ok := wr.Previous[name]; ok && !slices.Contains(wr.Rerun, name) {
			results[name] = prev
			continue
		}
		jr := &JobResult{Outputs: map[string]string{}, Steps: map[string]*Result{}}
		results[name] = jr
		needsOK := true
		for _, n := range job.Needs {
			needsOK = needsOK && results[n].Result == "success"
		}
		ok := needsOK
		wr.status = jobStatus(job.Needs, results)
		wr.env = wr.wfEnv
		if (ok || statusFunc.MatchString(job.If)) && job.If != "" {
			v, err := wr.eval(job.If, results, nil, true)
			if err != nil {
				return nil, fmt.Errorf("job %s: if: %w", name, err)
			}
			ok = truthy(v)
			if !statusFunc.MatchString(job.If) {
				ok = ok && needsOK
			}
		}
		if !ok {
			jr.Result = "skipped"
			continue
		}
		if err := wr.runJob(ctx, name, job, jr, results); err != nil {
			return nil, fmt.Errorf("job %s: %w", name, err)
		}
	}
	return results, nil
}

func (wr *WorkflowRun) order() ([]string, error) {
	var order []string
	done := map[string]bool{}
	names := make([]string, 0, len(wr.Workflow.Jobs))
	for n := range wr.Workflow.Jobs {
		names = append(names, n)
	}
	slices.Sort(names)
	for len(order) < len(names) {
		progressed := false
		for _, n := range names {
			if done[n] {
				continue
			}
			ready := true
			for _, need := range wr.Workflow.Jobs[n].Needs {
				if _, ok := wr.Workflow.Jobs[need]; !ok {
					return nil, fmt.Errorf("job %s needs unknown job %s", n, need)
				}
				ready = ready && done[need]
			}
			if ready {
				order, done[n], progressed = append(order, n), true, true
			}
		}
		if !progressed {
			return nil, errors.New("the jobs' needs form a cycle")
		}
	}
	return order, nil
}

// layerEnv evaluates an env: mapping over base (later levels override).
func (wr *WorkflowRun) layerEnv(base, env map[string]string, results map[string]*JobResult, steps map[string]map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	wr.env = base
	for _, k := range sortedKeys(env) {
		v, err := wr.interpolate(env[k], results, steps)
		if err != nil {
			return nil, fmt.Errorf("env.%s: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (wr *WorkflowRun) runJob(ctx context.Context, name string, job *WorkflowJob, jr *JobResult, results map[string]*JobResult) error {
	jobEnv, err := wr.layerEnv(wr.wfEnv, job.Env, results, nil)
	if err != nil {
		return err
	}
	if job.Uses != "" {
		return wr.callJob(ctx, name, job, jr, results, jobEnv)
	}
	// A fresh runner: an empty workspace, its own temp folders.
	if err := os.RemoveAll(wr.Workspace); err != nil {
		return err
	}
	if err := os.MkdirAll(wr.Workspace, 0o755); err != nil {
		return err
	}
	runnerTemp, err := os.MkdirTemp("", "workflow-runner-temp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(runnerTemp)
	wr.runnerTemp = runnerTemp
	steps := map[string]map[string]string{}
	wr.status = "success"
	for i, st := range job.Steps {
		what := cmp.Or(st.Uses, "run")
		env, err := wr.layerEnv(jobEnv, st.Env, results, steps)
		if err != nil {
			return fmt.Errorf("step %d (%s): %w", i, what, err)
		}
		wr.env = env
		if jr.Failed != "" && !statusFunc.MatchString(st.If) {
			continue // an implicit success() after a failed step
		}
		if st.If != "" {
			v, err := wr.eval(st.If, results, steps, true)
			if err != nil {
				return fmt.Errorf("step %d: if: %w", i, err)
			}
			if !truthy(v) {
				continue
			}
		}
		with := map[string]string{}
		for k, raw := range st.With {
			v, err := wr.interpolate(fmt.Sprint(raw), results, steps)
			if err != nil {
				return fmt.Errorf("step %d (%s) with.%s: %w", i, what, k, err)
			}
			with[k] = v
		}
		var outputs map[string]string
		var failed string
		if st.Run != "" {
			script, err := wr.interpolate(st.Run, results, steps)
			if err != nil {
				return fmt.Errorf("step %d (run) run: %w", i, err)
			}
			// The step as written (expressions not evaluated: no secret in it)
			// names it in the usage log.
			label := "run " + cmp.Or(st.ID, fmt.Sprint(i)) + ": " + strings.Join(strings.Fields(st.Run), " ")
			res, err := wr.shell(ctx, job, st.Shell, script, label, env, runnerTemp)
			if err != nil {
				return fmt.Errorf("step %d (run): %w", i, err)
			}
			jr.Steps[cmp.Or(st.ID, fmt.Sprintf("run-%d", i))] = res
			outputs = res.Outputs
			if res.ExitCode != 0 {
				failed = fmt.Sprintf("run step %s exited %d", cmp.Or(st.ID, fmt.Sprint(i)), res.ExitCode)
			}
		} else {
			outputs, failed, err = wr.step(ctx, name, job, st, with, env, jr)
			if err != nil {
				return fmt.Errorf("step %d (%s): %w", i, st.Uses, err)
			}
		}
		if st.ID != "" {
			steps[st.ID] = outputs
		}
		if failed != "" && jr.Failed == "" {
			jr.Failed, wr.status = failed, "failure"
		}
	}
	if jr.Failed != "" {
		jr.Result = "failure"
		return nil
	}
	wr.env = jobEnv
	for k, expr := range job.Outputs {
		v, err := wr.interpolate(expr, results, steps)
		if err != nil {
			return fmt.Errorf("outputs.%s: %w", k, err)
		}
		jr.Outputs[k] = v
	}
	jr.Result = "success"
	return nil
}

// callJob runs a job that calls a reusable workflow through Call.
func (wr *WorkflowRun) callJob(ctx context.Context, name string, job *WorkflowJob, jr *JobResult, results map[string]*JobResult, jobEnv map[string]string) error {
	if wr.Call == nil {
		return fmt.Errorf("no Call given for the reusable workflow %s", job.Uses)
	}
	wr.env = jobEnv
	with, secrets := map[string]string{}, map[string]string{}
	for k, raw := range job.With {
		v, err := wr.interpolate(fmt.Sprint(raw), results, nil)
		if err != nil {
			return fmt.Errorf("with.%s: %w", k, err)
		}
		with[k] = v
	}
	for k, raw := range job.Secrets {
		v, err := wr.interpolate(raw, results, nil)
		if err != nil {
			return fmt.Errorf("secrets.%s: %w", k, err)
		}
		secrets[k] = v
	}
	var env map[string]string
	if job.Permissions["id-token"] == "write" {
		env = wr.IDTokenEnv
	}
	out, failed, err := wr.Call(ctx, name, job.Uses, with, secrets, env)
	if err != nil {
		return fmt.Errorf("calling %s: %w", job.Uses, err)
	}
	if failed != "" {
		jr.Result, jr.Failed = "failure", failed
		return nil
	}
	for k, v := range out {
		jr.Outputs[k] = v
	}
	jr.Result = "success"
	return nil
}

// shell runs a run: step's script with bash in the workspace, as the runner
// does on Linux (shell: bash → bash --noprofile --norc -eo pipefail; no shell
// → bash -e), with the runner's variables and files and env, and returns what
// it wrote to GITHUB_OUTPUT; label names the step in the usage log
// (RecordUsage).
func (wr *WorkflowRun) shell(ctx context.Context, j *WorkflowJob, shell, script, label string, env map[string]string, runnerTemp string) (*Result, error) {
	args := []string{"-e"}
	switch shell {
	case "":
	case "bash":
		args = []string{"--noprofile", "--norc", "-eo", "pipefail"}
	default:
		return nil, fmt.Errorf("shell %q is not emulated", shell)
	}
	tmp, err := os.MkdirTemp("", "workflow-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	files := map[string]string{}
	for _, n := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_STATE"} {
		files[n] = filepath.Join(tmp, strings.ToLower(n))
		if err := os.WriteFile(files[n], nil, 0o644); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(tmp, "script.sh")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		return nil, err
	}
	ref := cmp.Or(wr.Ref, "refs/heads/main")
	vars := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"), "GITHUB_ACTIONS": "true", "CI": "true",
		"GITHUB_WORKSPACE": wr.Workspace, "RUNNER_TEMP": runnerTemp, "RUNNER_OS": "Linux",
		"GITHUB_REPOSITORY": cmp.Or(wr.Repository, "acme/widgets"), "GITHUB_SHA": cmp.Or(wr.SHA, "0123456789abcdef0123456789abcdef01234567"),
		"GITHUB_REF": ref, "GITHUB_REF_NAME": refName(ref), "GITHUB_EVENT_NAME": wr.Event, "GITHUB_ACTOR": cmp.Or(wr.Actor, "octocat"),
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": "https://api.github.com", "GITHUB_RUN_ID": "1000", "GITHUB_RUN_ATTEMPT": "1",
	}
	for n, p := range files {
		vars[n] = p
	}
	for k, v := range wr.stepEnv(j, env) {
		vars[k] = v
	}
	ctx, cancel := context.WithTimeout(ctx, wr.timeout())
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append(args, path)...)
	cmd.Dir = wr.Workspace
	for _, k := range sortedKeys(vars) {
		cmd.Env = append(cmd.Env, k+"="+vars[k])
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res := &Result{}
	start := time.Now()
	err = cmd.Run()
	RecordUsage(wr.Workspace, label, cmd, start)
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			return nil, fmt.Errorf("running bash: %w (stderr: %s)", err, stderr.String())
		}
		res.ExitCode = ee.ExitCode()
	}
	res.Log, res.Stderr = stdout.String(), stderr.String()
	res.Commands = ParseCommands(res.Log)
	out, err := os.ReadFile(files["GITHUB_OUTPUT"])
	if err != nil {
		return nil, err
	}
	if res.Outputs, err = gha.ParseFileCommands(string(out)); err != nil {
		return nil, fmt.Errorf("parsing GITHUB_OUTPUT: %w", err)
	}
	return res, nil
}

// stepEnv is what a step of job j gets on top of the runner's variables: the
// run's Env, the ID-token request variables when j is granted id-token: write
// (as the runner does), then env, the step's own (later wins).
func (wr *WorkflowRun) stepEnv(j *WorkflowJob, env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range wr.Env {
		out[k] = v
	}
	if j.Permissions["id-token"] == "write" {
		for k, v := range wr.IDTokenEnv {
			out[k] = v
		}
	}
	if wr.runnerTemp != "" {
		out["RUNNER_TEMP"] = wr.runnerTemp // the job's, as on a runner
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// refName is github.ref_name: the branch or tag name of a ref.
func refName(ref string) string {
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if strings.HasPrefix(ref, p) {
			return strings.TrimPrefix(ref, p)
		}
	}
	return ref
}

// step runs one step and returns its outputs, or why it failed.
func (wr *WorkflowRun) step(ctx context.Context, job string, j *WorkflowJob, st WorkflowStep, with, stepEnv map[string]string, jr *JobResult) (map[string]string, string, error) {
	action, _, _ := strings.Cut(st.Uses, "@")
	if m := ourAction.FindStringSubmatch(st.Uses); m != nil {
		gate := cmp.Or(m[1], m[2])
		if wr.With != nil {
			wr.With(job, gate, with)
		}
		tmp, err := os.MkdirTemp("", "workflow-step-")
		if err != nil {
			return nil, "", err
		}
		res, err := wr.Harness.Run(ctx, Step{Action: gate, With: with, EventName: wr.Event, SHA: wr.SHA, Ref: wr.Ref, Repository: wr.Repository,
			Token: wr.Token, Workspace: wr.Workspace, Env: wr.stepEnv(j, stepEnv), TempDir: tmp, Timeout: wr.timeout()})
		if err != nil {
			return nil, "", err
		}
		jr.Steps[cmp.Or(st.ID, gate)] = res
		if res.ExitCode != 0 {
			return res.Outputs, fmt.Sprintf("%s exited %d", gate, res.ExitCode), nil
		}
		return res.Outputs, "", nil
	}
	switch action {
	case "actions/checkout":
		if with["persist-credentials"] != "false" {
			return nil, "", errors.New("actions/checkout without persist-credentials: false")
		}
		return nil, "", os.CopyFS(wr.Workspace, os.DirFS(wr.Source))
	case "actions/upload-artifact":
		src := filepath.Join(wr.Workspace, with["path"])
		if _, err := os.Stat(src); err != nil {
			if with["if-no-files-found"] == "error" {
				return nil, "upload-artifact: no files at " + with["path"], nil
			}
			return nil, "", nil
		}
		dst, err := os.MkdirTemp("", "workflow-artifact-")
		if err != nil {
			return nil, "", err
		}
		wr.artifacts[with["name"]] = dst
		return nil, "", os.CopyFS(dst, os.DirFS(src))
	case "actions/download-artifact":
		src, ok := wr.artifacts[with["name"]]
		if !ok {
			return nil, "download-artifact: no artifact " + with["name"], nil
		}
		return nil, "", os.CopyFS(filepath.Join(wr.Workspace, with["path"]), os.DirFS(src))
	case "zaproxy/action-baseline", "zaproxy/action-api-scan":
		if wr.DAST == nil {
			return nil, "", errors.New("no DAST given for " + action)
		}
		if err := wr.DAST(action, with, wr.Workspace); err != nil {
			return nil, action + ": " + err.Error(), nil
		}
		return nil, "", nil
	case "actions/cache/restore", "actions/cache/save":
		return wr.cacheStep(action, with)
	case "docker/setup-buildx-action", "docker/login-action":
		return nil, "", nil
	case "docker/build-push-action":
		if wr.Build == nil {
			return nil, "", errors.New("no Build given for docker/build-push-action")
		}
		out, err := wr.Build(with)
		if err != nil {
			return nil, "build-push: " + err.Error(), nil
		}
		return out, "", nil
	}
	return nil, "", fmt.Errorf("action %s is not emulated", st.Uses)
}

func (wr *WorkflowRun) timeout() time.Duration {
	if wr.Timeout > 0 {
		return wr.Timeout
	}
	return 5 * time.Minute
}

var exprRe = regexp.MustCompile(`\$\{\{(.*?)\}\}`)

// interpolate replaces each ${{ expr }} of s with its value.
func (wr *WorkflowRun) interpolate(s string, results map[string]*JobResult, steps map[string]map[string]string) (string, error) {
	var firstErr error
	out := exprRe.ReplaceAllStringFunc(s, func(m string) string {
		v, err := wr.eval(exprRe.FindStringSubmatch(m)[1], results, steps, false)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return str(v)
	})
	return out, firstErr
}

// eval evaluates one expression (an if: may omit the ${{ }}).
func (wr *WorkflowRun) eval(src string, results map[string]*JobResult, steps map[string]map[string]string, isIf bool) (any, error) {
	src = strings.TrimSpace(src)
	if isIf {
		src = strings.TrimSuffix(strings.TrimPrefix(src, "${{"), "}}")
	}
	node, perr := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(src + "}}"))
	if perr != nil {
		return nil, fmt.Errorf("%q: %s", src, perr.Message)
	}
	return wr.evalNode(node, results, steps)
}

func (wr *WorkflowRun) evalNode(n actionlint.ExprNode, results map[string]*JobResult, steps map[string]map[string]string) (any, error) {
	switch n := n.(type) {
	case *actionlint.StringNode:
		return n.Value, nil
	case *actionlint.BoolNode:
		return n.Value, nil
	case *actionlint.NullNode:
		return nil, nil
	case *actionlint.IntNode:
		return fmt.Sprint(n.Value), nil
	case *actionlint.VariableNode:
		return wr.context(strings.ToLower(n.Name), results, steps)
	case *actionlint.ObjectDerefNode:
		recv, err := wr.evalNode(n.Receiver, results, steps)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		switch r := recv.(type) {
		case map[string]any:
			m = r
		case secretsContext:
			m = r
		default:
			return nil, fmt.Errorf("property %s of a non-object", n.Property)
		}
		for k, v := range m {
			if strings.EqualFold(k, n.Property) {
				return v, nil
			}
		}
		if _, isSecrets := recv.(secretsContext); isSecrets {
			return "", nil // a secret the caller does not pass is empty
		}
		return nil, fmt.Errorf("no property %s (have %v)", n.Property, keys(m))
	case *actionlint.LogicalOpNode:
		l, err := wr.evalNode(n.Left, results, steps)
		if err != nil {
			return nil, err
		}
		if (n.Kind == actionlint.LogicalOpNodeKindOr) == truthy(l) {
			return l, nil
		}
		return wr.evalNode(n.Right, results, steps)
	case *actionlint.FuncCallNode:
		if strings.EqualFold(n.Callee, "format") && len(n.Args) > 0 {
			return wr.format(n.Args, results, steps)
		}
		if len(n.Args) > 0 {
			break
		}
		switch strings.ToLower(n.Callee) {
		case "always":
			return true, nil
		case "cancelled":
			return false, nil // runs are never cancelled here
		case "success":
			return wr.status == "success", nil
		case "failure":
			return wr.status == "failure", nil
		}
	case *actionlint.NotOpNode:
		v, err := wr.evalNode(n.Operand, results, steps)
		return !truthy(v), err
	case *actionlint.CompareOpNode:
		l, err := wr.evalNode(n.Left, results, steps)
		if err != nil {
			return nil, err
		}
		r, err := wr.evalNode(n.Right, results, steps)
		if err != nil {
			return nil, err
		}
		eq := strings.EqualFold(str(l), str(r)) // GitHub compares strings ignoring case
		switch n.Kind {
		case actionlint.CompareOpNodeKindEq:
			return eq, nil
		case actionlint.CompareOpNodeKindNotEq:
			return !eq, nil
		}
	}
	return nil, fmt.Errorf("expression %T is not emulated", n)
}

// format is GitHub's format(string, replaceValue0, ...): {N} is the Nth value,
// {{ and }} are braces.
func (wr *WorkflowRun) format(args []actionlint.ExprNode, results map[string]*JobResult, steps map[string]map[string]string) (any, error) {
	vals := make([]string, len(args))
	for i, a := range args {
		v, err := wr.evalNode(a, results, steps)
		if err != nil {
			return nil, err
		}
		vals[i] = str(v)
	}
	f, out := vals[0], strings.Builder{}
	for i := 0; i < len(f); i++ {
		switch {
		case strings.HasPrefix(f[i:], "{{"), strings.HasPrefix(f[i:], "}}"):
			out.WriteByte(f[i])
			i++
		case f[i] == '{':
			end := strings.IndexByte(f[i:], '}')
			n := -1
			if end > 0 {
				n, _ = strconv.Atoi(f[i+1 : i+end])
			}
			if n < 0 || n+1 >= len(vals) {
				return nil, fmt.Errorf("format(%q): bad placeholder", f)
			}
			out.WriteString(vals[n+1])
			i += end
		default:
			out.WriteByte(f[i])
		}
	}
	return out.String(), nil
}

// statusFunc finds a call of a status function in an if.
var statusFunc = regexp.MustCompile(`(?i)\b(success|failure|always|cancelled)\(\s*\)`)

// jobStatus is what success() and failure() see in a job's if: failure when
// a job it needs failed, else success.
func jobStatus(needs []string, results map[string]*JobResult) string {
	for _, n := range needs {
		if results[n].Result == "failure" {
			return "failure"
		}
	}
	return "success"
}

// secretsContext is the secrets object: a secret not passed is empty.
type secretsContext map[string]any

func (wr *WorkflowRun) context(name string, results map[string]*JobResult, steps map[string]map[string]string) (any, error) {
	switch name {
	case "github":
		return map[string]any{"event_name": wr.Event, "sha": cmp.Or(wr.SHA, "0123456789abcdef0123456789abcdef01234567"),
			"ref": cmp.Or(wr.Ref, "refs/heads/main"), "ref_name": refName(cmp.Or(wr.Ref, "refs/heads/main")),
			"repository": cmp.Or(wr.Repository, "acme/widgets"), "token": wr.Token,
			"actor": cmp.Or(wr.Actor, "octocat"),
			"event": map[string]any{"repository": map[string]any{"default_branch": cmp.Or(wr.DefaultBranch, "main")}}}, nil
	case "runner":
		return map[string]any{"temp": wr.runnerTemp, "os": "Linux", "arch": "X64"}, nil
	case "env":
		m := map[string]any{}
		for k, v := range wr.env {
			m[k] = v
		}
		return m, nil
	case "inputs":
		in := map[string]any{}
		for k, d := range wr.Workflow.On.WorkflowCall.Inputs {
			in[k] = ""
			if d.Default != nil {
				in[k] = fmt.Sprint(d.Default)
			}
		}
		for k, v := range wr.Inputs {
			if _, ok := in[k]; !ok {
				return nil, fmt.Errorf("input %s is not declared by the workflow", k)
			}
			in[k] = v
		}
		return in, nil
	case "secrets":
		s := secretsContext{}
		for k, v := range wr.Secrets {
			s[k] = v
		}
		return s, nil
	case "needs":
		m := map[string]any{}
		for j, r := range results {
			outs := map[string]any{}
			for k, v := range r.Outputs {
				outs[k] = v
			}
			m[j] = map[string]any{"result": r.Result, "outputs": outs}
		}
		return m, nil
	case "steps":
		m := map[string]any{}
		for id, o := range steps {
			outs := map[string]any{}
			for k, v := range o {
				outs[k] = v
			}
			m[id] = map[string]any{"outputs": outs}
		}
		return m, nil
	}
	return nil, fmt.Errorf("context %s is not emulated", name)
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	}
	return true
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case bool:
		if v {
			return "true"
		}
		return "false"
	case string:
		return v
	}
	return fmt.Sprint(v)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

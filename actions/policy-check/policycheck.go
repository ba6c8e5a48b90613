// Package policycheckaction is the policy-check action and the `secure-gates
// policy check` command: it loads the verify-and-deploy policy file exactly as
// verify-and-deploy does (pkg/policy), lints it (policy.Lint) and reports every
// error and warning as an annotation on the file's line, plus a step summary.
package policycheckaction

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the policy-check subcommand.
var Gate = gate.Gate{Name: "policy-check", ActionYAML: actionYAML, Positional: "policy", Run: run, Inputs: Inputs{}}

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Policy         string `input:"policy"`
	FailOnWarnings bool   `input:"fail-on-warnings"`
}

// Result is what Check found.
type Result struct {
	// Errors are the reasons the policy does not load (none when it loads).
	Errors []*policy.FieldError
	// Warnings are legal but dangerous settings of a policy that loads.
	Warnings []policy.Warning
}

func run(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) error {
	var in Inputs
	if err := gha.Decode(raw, &in); err != nil {
		return errkind.Input(err)
	}
	res, err := Check(rt, in.Policy, "")
	if err != nil {
		return err
	}
	if in.FailOnWarnings && len(res.Warnings) > 0 {
		return errkind.Policy(fmt.Errorf("policy %s has %d warning(s) and fail-on-warnings is true", in.Policy, len(res.Warnings)))
	}
	return nil
}

// Check loads the policy at path with key files resolved in baseDir (default: the
// workspace, or the working directory off a runner), lints it, and reports each
// error and warning as an annotation on the policy file (a readable line off a
// runner), the counts as outputs and a step summary. It returns an input error
// (exit code 2) when the policy does not load; warnings alone are not an error.
func Check(rt *gha.Runtime, path, baseDir string) (Result, error) {
	if strings.TrimSpace(path) == "" {
		return Result{}, errkind.Input(errors.New("policy: a file path is required"))
	}
	ws := rt.Context().Workspace
	if baseDir == "" {
		baseDir = ws
	}
	if baseDir == "" {
		baseDir = "."
	}
	file := annotationPath(path, ws)
	var res Result
	p, err := policy.Load(path, policy.Options{BaseDir: baseDir})
	if err != nil {
		if errkind.ExitCode(err) != errkind.ExitInput {
			return res, err
		}
		res.Errors = policy.Problems(err)
	} else {
		res.Warnings = policy.Lint(p)
	}
	for _, e := range res.Errors {
		rt.Annotate(gha.Annotation{Level: gha.LevelError, Title: "policy error", File: file, Line: e.Line, Message: oneLine(e.Error())})
	}
	for _, w := range res.Warnings {
		rt.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "policy warning", File: file, Line: w.Line, Message: oneLine(w.String())})
	}
	if err := rt.SetOutput("errors", strconv.Itoa(len(res.Errors))); err != nil {
		return res, errkind.Infra(err)
	}
	if err := rt.SetOutput("warnings", strconv.Itoa(len(res.Warnings))); err != nil {
		return res, errkind.Infra(err)
	}
	// Off a runner the annotations above are the report; a summary would repeat it.
	if rt.InActions() {
		if err := summary(rt, path, res); err != nil {
			return res, err
		}
	}
	if len(res.Errors) > 0 {
		return res, errkind.Input(fmt.Errorf("policy %s does not load: %d error(s), each annotated above; verify-and-deploy would refuse it", path, len(res.Errors)))
	}
	rt.Infof("policy %s loads: %d warning(s)", path, len(res.Warnings))
	return res, nil
}

// annotationPath is the policy file's path relative to the workspace, as
// annotations name files.
func annotationPath(path, ws string) string {
	if ws != "" && filepath.IsAbs(path) {
		if rel, err := filepath.Rel(ws, path); err == nil && filepath.IsLocal(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(filepath.Clean(path))
}

func summary(rt *gha.Runtime, path string, res Result) error {
	var s gha.Summary
	switch {
	case len(res.Errors) > 0:
		s.Heading(2, "Policy check: ✗ "+path+" does not load")
	case len(res.Warnings) > 0:
		s.Heading(2, "Policy check: ⚠ "+path+" loads, with warnings")
	default:
		s.Heading(2, "Policy check: ✓ "+path+" loads, no warnings")
	}
	var rows [][]string
	for _, e := range res.Errors {
		rows = append(rows, []string{"error", lineCell(e.Line), e.Error()})
	}
	for _, w := range res.Warnings {
		rows = append(rows, []string{"warning", lineCell(w.Line), w.String()})
	}
	if len(rows) > 0 {
		s.Table([]string{"", "line", "finding"}, rows)
	}
	if err := rt.WriteSummary(s.String()); err != nil {
		return errkind.Infra(err)
	}
	return nil
}

// oneLine keeps a finding on one line: text from the policy file (a key the YAML
// decoder quotes raw) cannot start a line of its own, which a log reader could
// take for a workflow command.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(s)
}

func lineCell(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

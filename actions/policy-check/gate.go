// Package policycheck is the policy-check action and the `secure-gates policy
// check` command: it loads the verify-and-deploy policy file exactly as
// verify-and-deploy does (pkg/policy), lints it (policy.Lint) and reports every
// error and warning as an annotation on the file's line, plus a step summary.
package policycheck

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the policy-check subcommand.
var Gate = gate.Define(gate.Spec{Name: "policy-check", ActionYAML: actionYAML, Positional: "policy"}, checkPolicy)

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Policy         string `input:"policy"`
	FailOnWarnings bool   `input:"fail-on-warnings"`
}

// Validate refuses an empty policy path.
func (in Inputs) Validate() error {
	if strings.TrimSpace(in.Policy) == "" {
		return errors.New("policy: a file path is required")
	}
	return nil
}

// Outputs are the action's outputs; the tags are the names in action.yml.
type Outputs struct {
	Errors   int `output:"errors"`
	Warnings int `output:"warnings"`

	report report
}

// Result is what Check found.
type Result struct {
	// Errors are the reasons the policy does not load (none when it loads).
	Errors []*policy.FieldError
	// Warnings are legal but dangerous settings of a policy that loads.
	Warnings []policy.Warning
}

func checkPolicy(_ context.Context, run *gate.Run, in Inputs) (Outputs, error) {
	out, err := evaluate(run, in.Policy, "")
	if err == nil && in.FailOnWarnings && out.Warnings > 0 {
		err = errkind.Policy(fmt.Errorf("policy %s has %d warning(s) and fail-on-warnings is true", in.Policy, out.Warnings))
	}
	return out, err
}

// Check is `secure-gates policy check`: the action's check of the policy at path
// with key files resolved in baseDir (default: the workspace, or the working
// directory off a runner), reported as the action reports it: each error and
// warning as an annotation on the policy file (a readable line off a runner),
// the counts as outputs and, on a runner, a step summary. It returns an input
// error (exit code 2) when the policy does not load; warnings alone are not an
// error.
func Check(rt *gha.Runtime, path, baseDir string) (Result, error) {
	if err := (Inputs{Policy: path}).Validate(); err != nil {
		return Result{}, errkind.Input(err)
	}
	out, err := evaluate(gate.NewRun(rt), path, baseDir)
	if out.report.file == "" {
		return Result{}, err
	}
	if werr := gate.Report(rt, out); werr != nil {
		return out.report.res, werr
	}
	return out.report.res, err
}

// evaluate loads and lints the policy and returns what to report.
func evaluate(run *gate.Run, path, baseDir string) (Outputs, error) {
	ws := run.Context().Workspace
	if baseDir == "" {
		baseDir = ws
	}
	if baseDir == "" {
		baseDir = "."
	}
	var res Result
	// The policy file is confined to the base directory (the workspace) when
	// it lies in it: a symbolic link out of it is refused.
	root, err := filepath.Abs(baseDir)
	if err != nil {
		return Outputs{}, errkind.Infra(fmt.Errorf("resolving %s: %w", baseDir, err))
	}
	p, err := policy.Load(path, policy.Options{BaseDir: baseDir, Root: root})
	if err != nil {
		if errkind.ExitCode(err) != errkind.ExitInput {
			return Outputs{}, err
		}
		res.Errors = policy.Problems(err)
	} else {
		res.Warnings = policy.Lint(p)
	}
	out := Outputs{Errors: len(res.Errors), Warnings: len(res.Warnings),
		report: report{res: res, path: path, file: annotationPath(path, ws), summary: run.InActions()}}
	if len(res.Errors) > 0 {
		return out, errkind.Input(fmt.Errorf("policy %s does not load: %d error(s), each annotated above; verify-and-deploy would refuse it", path, len(res.Errors)))
	}
	run.Infof("policy %s loads: %d warning(s)", path, len(res.Warnings))
	return out, nil
}

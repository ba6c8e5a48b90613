package verifyanddeploy

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/deploy"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

// Validate refuses every bad deploy, attest-vsa and report input, and every bad
// combination of them, before the policy is read, the registry reached or a
// cluster or GitOps repository touched.
func (in Inputs) Validate() error {
	if err := in.PagingInputs.Validate(); err != nil {
		return err
	}
	switch in.Deploy {
	case "none":
	case "kubectl":
		if _, _, err := deploy.ParseWorkload(in.Workload); err != nil {
			return errkind.Input(fmt.Errorf("deploy: kubectl needs the workload input: %w", err))
		}
		if !in.DryRun && in.Timeout.Timeout > 0 && in.RolloutTimeout >= in.Timeout.Timeout {
			return errkind.Input(fmt.Errorf("rollout-timeout (%s) is not shorter than timeout (%s), which bounds the whole gate: raise timeout above rollout-timeout plus the verification's time",
				in.RolloutTimeout, in.Timeout.Timeout))
		}
	case "gitops":
		if in.GitopsRepo == "" {
			return errkind.Input(errors.New("deploy: gitops needs the gitops-repo input (URL or path)"))
		}
	default:
		return errkind.Input(fmt.Errorf("deploy is %q, want none, kubectl or gitops", in.Deploy))
	}
	switch in.AttestVSA {
	case "auto", "true", "false":
	default:
		return errkind.Input(fmt.Errorf("attest-vsa is %q, want auto, true or false", in.AttestVSA))
	}
	if strings.TrimSpace(in.Report) == "" {
		return errkind.Input(errors.New("report: a path is required"))
	}
	return nil
}

// keyless reports whether the VSA would be signed keyless, and whether the job
// can: it needs the OIDC token request variables (id-token: write).
func (in Inputs) keyless(run *gate.Run) (keyless, canSign bool) {
	keyless = in.VSAKey == ""
	return keyless, !keyless || (run.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL") != "" && run.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") != "")
}

// checkVSAIdentity refuses attest-vsa: true without a signing identity, before
// any work: the run could never attest.
func (in Inputs) checkVSAIdentity(run *gate.Run) error {
	if _, ok := in.keyless(run); in.AttestVSA == "true" && !ok {
		return errkind.Input(errors.New("attest-vsa is true but there is no signing identity: set vsa-key, or give the job `permissions: id-token: write` for keyless"))
	}
	return nil
}

// loadPolicy loads the policy and decides the mode of this run — the one place
// it is decided: audit in the file applies only where the policy allows it for
// the environment; everywhere else the run enforces, and modeNote says why.
func loadPolicy(run *gate.Run, in Inputs) (pol *policy.Policy, modeNote string, err error) {
	// Key files the policy names are relative to the workspace (the repository
	// root; on a runner, the working directory) and must stay inside it.
	base := run.Context().Workspace
	if base == "" {
		base = "."
	}
	root, err := filepath.Abs(base)
	if err != nil {
		return nil, "", errkind.Infra(fmt.Errorf("resolving the workspace: %w", err))
	}
	if pol, err = policy.Load(in.Policy, policy.Options{BaseDir: base, Root: root}); err != nil {
		return nil, "", err
	}
	if eff := pol.EffectiveMode(in.Environment); eff != pol.Mode {
		modeNote = enforcedNote(in.Environment)
		run.Infof("policy %s is in audit mode; %s", in.Policy, modeNote)
		pol.Mode = eff
	}
	return pol, modeNote, nil
}

// enforcedNote says why audit mode does not apply to environment.
func enforcedNote(environment string) string {
	if strings.TrimSpace(environment) == "" {
		return "this run ENFORCES: no environment was given, and the policy's enforce-environments allow audit only for a named environment outside the list"
	}
	return fmt.Sprintf("this run ENFORCES: environment %q is in the policy's enforce-environments (compared case-insensitively, as GitHub compares environment names)", environment)
}

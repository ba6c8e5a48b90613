// Package verifyanddeploy is the verify-and-deploy action (gate 4): it resolves
// the image to its digest once, checks the whole attestation chain of that digest
// against the policy file with pkg/verify (every failure listed), writes the JSON
// report and a SLSA VSA, attests the VSA when a signing identity is available,
// and deploys the verified digest with pkg/deploy (kubectl or GitOps) — or, in
// audit mode, verifies and reports without ever blocking.
package verifyanddeploy

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/deploy"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/page"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the verify-and-deploy subcommand.
var Gate = gate.Define(gate.Spec{Name: "verify-and-deploy", ActionYAML: actionYAML, Positional: "image"}, verifyAndDeploy)

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Image       string `input:"image"`
	Policy      string `input:"policy"`
	Environment string `input:"environment"`
	TrustedRoot string `input:"trusted-root"`
	Deploy      string `input:"deploy"`
	DryRun      bool   `input:"dry-run"`
	// The workload deploy: kubectl deploys to.
	deploy.WorkloadInputs
	RolloutTimeout time.Duration `input:"rollout-timeout"`
	gate.Timeout
	GitopsRepo     string `input:"gitops-repo"`
	GitopsPath     string `input:"gitops-path"`
	GitopsBranch   string `input:"gitops-branch"`
	GitopsImage    string `input:"gitops-image"`
	Token          string `input:"token,secret"`
	Report         string `input:"report"`
	AttestVSA      string `input:"attest-vsa"`
	VSAKey         string `input:"vsa-key,pem"`
	VSAKeyPassword string `input:"vsa-key-password,secret"`
	SigningConfig  string `input:"signing-config"`
	oci.RegistryInputs
	page.PagingInputs
}

// Outputs are the action's outputs; the tags are the names in action.yml.
type Outputs struct {
	Verified       bool                           `output:"verified"`
	Digest         string                         `output:"digest"`
	Report         string                         `output:"report"`
	VSA            string                         `output:"vsa"`
	BreakGlass     bool                           `output:"break-glass"`
	ExceptionsUsed []attestation.AppliedException `output:"exceptions-used,json"`
	page.PagingOutputs

	outcome outcome
}

// PageOutcome pages on-call when the deploy is blocked (the chain does not
// verify in an enforced run: severity high, one alert per digest) or the
// deploy step fails after the verification; a later
// verified run resolves it (docs/paging.md). Audit mode blocks nothing and
// pages nothing; a verification that could not run pages an outage (the frame).
func (out Outputs) PageOutcome() (page.Outcome, bool) {
	o := out.outcome
	if o.rep == nil {
		return page.Outcome{}, false
	}
	blocked := !o.rep.Verified && !o.audit
	po := page.Outcome{Gate: "verify-and-deploy", Subject: o.rep.Image, Key: o.rep.Digest, Failed: blocked, FailedSeverity: finding.High,
		Ran: []string{"verify-and-deploy"}}
	if blocked {
		f := o.rep.Failures()
		if len(f) > 5 {
			f = append(f[:5:5], fmt.Sprintf("and %d more", len(f)-5))
		}
		po.FailedSummary = "deploy to " + cmp.Or(o.environment, "the environment") + " BLOCKED: " + strings.Join(f, "; ")
	} else if o.deployErr != nil {
		// Verified (or audit) but the deploy itself failed: the gate exits
		// non-zero, so it pages rather than resolving the digest's alert. The
		// error is not sent (a git or kubectl message may quote a credential):
		// the run's summary has it.
		po.Failed = true
		po.FailedSummary = "deploy to " + cmp.Or(o.environment, "the environment") + " FAILED after the verification (" + o.deploy + "; the run's summary says why)"
	}
	return po, true
}

// Version is recorded in the VSA's verifier.version.
var Version = "dev"

// verifyAndDeploy loads the policy, resolves the image once, verifies the
// digest, writes the report and VSA, then — unless an enforced failure blocks
// it — attests the VSA and deploys the digest.
func verifyAndDeploy(ctx context.Context, run *gate.Run, in Inputs) (Outputs, error) {
	if err := in.checkVSAIdentity(run); err != nil {
		return Outputs{}, err
	}
	pol, modeNote, err := loadPolicy(run, in)
	if err != nil {
		return Outputs{}, err
	}
	trust, err := verify.TrustedMaterial(ctx, in.TrustedRoot, pol)
	if err != nil {
		return Outputs{}, err
	}
	// The one resolution: from here on only ref (repo@sha256:…) is used.
	ref, err := oci.Resolve(ctx, in.Image, in.RegistryInputs.Options())
	if err != nil {
		return Outputs{}, err
	}
	if ref.Tag != "" {
		run.Infof("resolved %s to %s; the tag is not used again", in.Image, ref)
	}
	rep, err := verify.Verify(ctx, ref, verify.Options{Policy: pol, Registry: in.RegistryInputs.Options(), TrustedMaterial: trust, Environment: in.Environment})
	if err != nil {
		return Outputs{}, err
	}
	o := outcome{deploy: in.Deploy, environment: in.Environment, audit: pol.Mode == policy.ModeAudit, modeNote: modeNote, ref: ref, rep: rep,
		reportPath: in.Report, vsaPath: filepath.Join(filepath.Dir(in.Report), "vsa.json")}
	vsa := rep.VSA(pol, verify.VSAOptions{Version: Version})
	if err := writeJSON(o.reportPath, rep); err != nil {
		return Outputs{}, err
	}
	if err := writeJSON(o.vsaPath, vsa); err != nil {
		return Outputs{}, err
	}
	if blocked := !rep.Verified && !o.audit; blocked {
		o.vsaNote, o.deployNote = "not attested: the verification failed", blockedNote(in.Deploy)
		return o.outputs(), rep.Err()
	}
	o.vsaNote = "not attested: the verification failed (audit mode)"
	if rep.Verified {
		if o.vsaNote, err = attestVSA(ctx, run, in, ref, vsa); err != nil {
			return Outputs{}, err
		}
	}
	o.deployNote, err = deployDigest(ctx, run, in, ref, rep)
	o.deployErr = err
	return o.outputs(), err
}

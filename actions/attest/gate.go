// Package attest is the attest action: every gate's claim attested on the image
// digest in one step. Each predicate (type=path, one per line) is validated
// against its type before anything is signed; all are signed before anything is
// pushed; with provenance: true a SLSA provenance v1 predicate built from the job
// (SLSA Build L2) is attested too.
package attest

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/readfile"
	"github.com/secure-gates/secure-gates/pkg/signing"
	"github.com/secure-gates/secure-gates/pkg/signing/provenance"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the attest subcommand.
var Gate = gate.Define(gate.Spec{Name: "attest", ActionYAML: actionYAML, Positional: "image"}, attest)

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	signing.TargetInputs
	Predicates []string `input:"predicates,lines"`
	Provenance bool     `input:"provenance"`
	signing.Inputs
	gate.Timeout

	preds []signing.Predicate // read by Validate, without slsaprovenance=auto
}

// Validate refuses, before the registry or the token is touched, a tag with
// require-digest, a bad signature format or transparency setting, a predicate
// line that is not type=path of a known type or whose file is missing or too
// large, and a run with nothing to attest. It keeps the predicates it read;
// slsaprovenance=auto turns provenance on.
func (in *Inputs) Validate() error {
	if err := in.Target().CheckDigest(); err != nil {
		return err
	}
	if err := in.Inputs.Validate(); err != nil {
		return err
	}
	preds, err := ReadPredicates(in.Predicates)
	if err != nil {
		return err
	}
	for _, p := range preds {
		if p.Type == "slsaprovenance" && p.Source == "auto" {
			in.Provenance = true
			continue
		}
		in.preds = append(in.preds, p)
	}
	if len(in.preds) == 0 && !in.Provenance {
		return errkind.Input(errors.New("nothing to attest: give predicates (type=path, one per line) or provenance: true"))
	}
	return nil
}

// Outputs are the action's outputs; the tags are the names in action.yml.
type Outputs struct {
	Digest       string   `output:"digest"`
	ImageRef     string   `output:"image-ref"`
	Attestations []Output `output:"attestations,json"`

	report report
}

// started is when the step began: the provenance's finishedOn bound.
var started = time.Now()

func attest(ctx context.Context, run *gate.Run, in Inputs) (Outputs, error) {
	preds := in.preds
	if in.Provenance {
		p, err := jobProvenance(run)
		if err != nil {
			return Outputs{}, err
		}
		preds = append(preds, p)
	}
	ref, opts, err := signing.Prepare(ctx, in.Target(), in.Inputs, run.SigstoreIDToken)
	if err != nil {
		return Outputs{}, err
	}
	if ref.Tag != "" {
		run.Infof("resolved %s to %s; the tag is not used again", in.Image, ref)
	}
	res, err := signing.Attest(ctx, ref, preds, opts)
	if res == nil {
		return Outputs{}, err
	}
	if err == nil {
		run.Infof("attested %s with %d predicates as %s", ref, len(res.Attestations), res.Identity)
	}
	return Outputs{Digest: ref.Digest, ImageRef: ref.String(), Attestations: outputs(res.Attestations),
		report: report{ref: ref, res: res, err: err}}, err
}

// Output is one entry of the attestations output.
type Output struct {
	Type   string              `json:"type"`
	Digest string              `json:"digest"`
	Legacy string              `json:"legacy,omitempty"`
	Bundle string              `json:"bundle,omitempty"`
	Tlog   []signing.TlogEntry `json:"tlog,omitempty"`
}

func outputs(as []signing.Attestation) []Output {
	out := []Output{}
	for _, a := range as {
		out = append(out, Output{Type: a.Type, Digest: a.Digest, Legacy: a.Legacy, Bundle: a.Bundle, Tlog: a.Tlog})
	}
	return out
}

// ReadPredicates parses type=path lines and reads each file, bounded. The line
// slsaprovenance=auto stands for the job's provenance (Source "auto", no data).
func ReadPredicates(lines []string) ([]signing.Predicate, error) {
	var out []signing.Predicate
	var errs []error
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		typ, path, ok := strings.Cut(l, "=")
		typ, path = strings.TrimSpace(typ), strings.TrimSpace(path)
		if !ok || typ == "" || path == "" {
			errs = append(errs, fmt.Errorf("predicates: line %q: expected type=path", l))
			continue
		}
		if _, err := attestation.ResolveType(typ); err != nil {
			errs = append(errs, fmt.Errorf("predicates: %s: %w", path, err))
			continue
		}
		if typ == "slsaprovenance" && path == "auto" {
			out = append(out, signing.Predicate{Type: typ, Source: "auto"})
			continue
		}
		data, err := readfile.Bounded(path, attestation.DefaultMaxPayloadBytes)
		if errors.Is(err, readfile.ErrTooLarge) {
			err = fmt.Errorf("larger than the %d bytes a predicate may be", attestation.DefaultMaxPayloadBytes)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("predicates: %s: %w", path, err))
			continue
		}
		out = append(out, signing.Predicate{Type: typ, Data: data, Source: path})
	}
	if len(errs) > 0 {
		return nil, errkind.Input(errors.Join(errs...))
	}
	return out, nil
}

// jobProvenance builds SLSA provenance v1 from the runner's variables.
func jobProvenance(rt *gate.Run) (signing.Predicate, error) {
	c := rt.Context()
	p, err := provenance.Build(provenance.Context{
		ServerURL: c.ServerURL, Repository: c.Repository, SHA: c.SHA, Ref: c.Ref, EventName: c.EventName,
		WorkflowRef: c.WorkflowRef, RunID: c.RunID, RunAttempt: c.RunAttempt,
		RepositoryID: rt.Getenv("GITHUB_REPOSITORY_ID"), RepositoryOwnerID: rt.Getenv("GITHUB_REPOSITORY_OWNER_ID"),
		RunnerEnvironment: rt.Getenv("RUNNER_ENVIRONMENT"), RunnerOS: rt.Getenv("RUNNER_OS"), RunnerArch: rt.Getenv("RUNNER_ARCH"),
		StartedOn: started, FinishedOn: time.Now(),
	})
	if err != nil {
		return signing.Predicate{}, errkind.Input(fmt.Errorf("provenance: true: %w", err))
	}
	b, err := json.Marshal(p)
	if err != nil {
		return signing.Predicate{}, errkind.Infra(err)
	}
	return signing.Predicate{Type: "slsaprovenance", Data: b, Source: "provenance of this job"}, nil
}

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
	"io"
	"os"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
	"github.com/secure-gates/secure-gates/pkg/signing/provenance"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the attest subcommand.
var Gate = gate.Gate{Name: "attest", ActionYAML: actionYAML, Positional: "image", Run: run, Inputs: Inputs{}}

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Image         string   `input:"image"`
	RequireDigest bool     `input:"require-digest"`
	Predicates    []string `input:"predicates,lines"`
	Provenance    bool     `input:"provenance"`
	signing.Inputs
	oci.RegistryInputs
	Timeout time.Duration `input:"timeout"`
}

// started is when the step began: the provenance's finishedOn bound.
var started = time.Now()

func run(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) error {
	var in Inputs
	for _, s := range gha.Secrets(raw, &in) {
		rt.AddMask(s)
	}
	if err := gha.Decode(raw, &in); err != nil {
		return errkind.Input(err)
	}
	ctx, cancel, err := gate.WithTimeout(ctx, in.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	// Read and check the predicates before touching the registry or the token.
	preds, err := ReadPredicates(in.Predicates)
	if err != nil {
		return err
	}
	auto := false
	for i := 0; i < len(preds); i++ {
		if preds[i].Type == "slsaprovenance" && preds[i].Source == "auto" {
			auto = true
			preds = append(preds[:i], preds[i+1:]...)
			i--
		}
	}
	if in.Provenance || auto {
		p, err := jobProvenance(rt)
		if err != nil {
			return err
		}
		preds = append(preds, p)
	}
	if len(preds) == 0 {
		return errkind.Input(errors.New("nothing to attest: give predicates (type=path, one per line) or provenance: true"))
	}
	ref, opts, err := signing.Prepare(ctx, signing.Target{Image: in.Image, RequireDigest: in.RequireDigest, Registry: in.RegistryInputs.Options()}, in.Inputs, rt.SigstoreIDToken)
	if err != nil {
		return err
	}
	if ref.Tag != "" {
		rt.Infof("resolved %s to %s; the tag is not used again", in.Image, ref)
	}
	res, attErr := signing.Attest(ctx, ref, preds, opts)
	if res == nil {
		return attErr
	}
	out, err := json.Marshal(outputs(res.Attestations))
	if err != nil {
		return errkind.Infra(err)
	}
	for _, o := range []gha.KeyValue{
		{Name: "digest", Value: ref.Digest}, {Name: "image-ref", Value: ref.String()}, {Name: "attestations", Value: string(out)},
	} {
		if err := rt.SetOutput(o.Name, o.Value); err != nil {
			return errkind.Infra(err)
		}
	}
	var s gha.Summary
	title := "Attested"
	if attErr != nil {
		title = "Attestation INCOMPLETE"
	}
	s.Heading(2, title+": "+ref.String())
	s.Table([]string{"", ""}, signing.IdentityRows(ref, res.Identity))
	rows := make([][]string, 0, len(res.Attestations))
	for _, a := range res.Attestations {
		where := []string{}
		if a.Legacy != "" {
			where = append(where, a.Legacy)
		}
		if a.Bundle != "" {
			where = append(where, "referrer bundle "+a.Bundle)
		}
		rows = append(rows, []string{shortName(a.Type), a.Type, a.Digest, strings.Join(where, "; "), signing.TlogText(a.Tlog)})
	}
	s.Table([]string{"Claim", "Predicate type", "Envelope digest", "Where", "Transparency log"}, rows)
	var pe *signing.PartialError
	if errors.As(attErr, &pe) {
		s.Para("NOT pushed: " + strings.Join(pe.NotPushed, "; "))
	}
	if err := rt.WriteSummary(s.String()); err != nil {
		return errkind.Infra(err)
	}
	if attErr != nil {
		return attErr
	}
	rt.Infof("attested %s with %d predicates as %s", ref, len(res.Attestations), res.Identity)
	return nil
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

func shortName(uri string) string {
	for _, p := range attestation.PredicateTypes() {
		if p.URI == uri {
			return p.Name
		}
	}
	return uri
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
		data, err := readLimited(path, attestation.DefaultMaxPayloadBytes)
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

func readLimited(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("larger than the %d bytes a predicate may be", limit)
	}
	return b, nil
}

// jobProvenance builds SLSA provenance v1 from the runner's variables.
func jobProvenance(rt *gha.Runtime) (signing.Predicate, error) {
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

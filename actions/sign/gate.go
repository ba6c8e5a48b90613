// Package sign is the sign action: it resolves the image to its digest once and
// signs that digest with pkg/signing (cosign v2.6.5 as a library), keyless with
// the job's OIDC token by default or with a PEM key, in the legacy format, as a
// Sigstore bundle referrer, or both.
//
// The signing identity, transparency and format inputs are signing.Inputs, shared
// with the attest action; the registry credentials are oci.RegistryInputs.
package sign

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the sign subcommand.
var Gate = gate.Gate{Name: "sign", ActionYAML: actionYAML, Positional: "image", Run: run, Inputs: Inputs{}}

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Image         string `input:"image"`
	RequireDigest bool   `input:"require-digest"`
	signing.Inputs
	oci.RegistryInputs
	Annotations []string      `input:"annotations,lines"`
	Recursive   bool          `input:"recursive"`
	Timeout     time.Duration `input:"timeout"`
}

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
	ref, opts, err := signing.Prepare(ctx, signing.Target{Image: in.Image, RequireDigest: in.RequireDigest, Registry: in.RegistryInputs.Options()}, in.Inputs, rt.SigstoreIDToken)
	if err != nil {
		return err
	}
	if ref.Tag != "" {
		rt.Infof("resolved %s to %s; the tag is not used again", in.Image, ref)
	}
	if opts.Annotations, err = signing.ParseAnnotations(in.Annotations); err != nil {
		return err
	}
	opts.Recursive = in.Recursive
	res, signErr := signing.Sign(ctx, ref, opts)
	if res == nil {
		return signErr
	}
	sigs, err := json.Marshal(nonNil(res.Signatures))
	if err != nil {
		return errkind.Infra(err)
	}
	for _, o := range []gha.KeyValue{
		{Name: "digest", Value: ref.Digest}, {Name: "image-ref", Value: ref.String()},
		{Name: "signer", Value: res.Identity.String()}, {Name: "signatures", Value: string(sigs)},
	} {
		if err := rt.SetOutput(o.Name, o.Value); err != nil {
			return errkind.Infra(err)
		}
	}
	var s gha.Summary
	title := "Signed"
	if signErr != nil {
		title = "Signing INCOMPLETE"
	}
	s.Heading(2, title+": "+ref.String())
	s.Table([]string{"", ""}, signing.IdentityRows(ref, res.Identity))
	rows := make([][]string, 0, len(res.Signatures))
	for _, sg := range res.Signatures {
		rows = append(rows, []string{sg.Image, string(sg.Format), sg.Reference, signing.TlogText(sg.Tlog), yesNo(sg.Timestamped)})
	}
	s.Table([]string{"Image", "Format", "Where", "Transparency log", "Timestamp"}, rows)
	var pe *signing.PartialError
	if errors.As(signErr, &pe) {
		s.Para("NOT pushed: " + strings.Join(pe.NotPushed, "; "))
	}
	if err := rt.WriteSummary(s.String()); err != nil {
		return errkind.Infra(err)
	}
	if signErr != nil {
		return signErr
	}
	rt.Infof("signed %s as %s (%d signatures)", ref, res.Identity, len(res.Signatures))
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

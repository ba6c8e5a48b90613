// Package sign is the sign action: it resolves the image to its digest once and
// signs that digest with pkg/signing (cosign v2.6.5 as a library), keyless with
// the job's OIDC token by default or with a PEM key, in the legacy format, as a
// Sigstore bundle referrer, or both.
//
// The image, require-digest and registry credential inputs are
// signing.TargetInputs, the signing identity, transparency and format inputs
// signing.Inputs, both shared with the attest action.
package sign

import (
	"context"
	_ "embed"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the sign subcommand.
var Gate = gate.Define(gate.Spec{Name: "sign", ActionYAML: actionYAML, Positional: "image"}, sign)

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	signing.TargetInputs
	signing.Inputs
	Annotations []string `input:"annotations,lines"`
	Recursive   bool     `input:"recursive"`
	gate.Timeout

	annotations map[string]string // parsed by Validate
}

// Validate refuses, before the registry or the token is touched, a tag with
// require-digest, a bad signature format or transparency setting, and bad
// annotations or annotations the format would drop.
func (in *Inputs) Validate() error {
	if err := in.Target().CheckDigest(); err != nil {
		return err
	}
	if err := in.Inputs.Validate(); err != nil {
		return err
	}
	var err error
	if in.annotations, err = signing.ParseAnnotations(in.Annotations); err != nil {
		return err
	}
	format, _ := signing.ParseFormat(in.SignatureFormat) // checked by in.Inputs.Validate
	return signing.CheckAnnotations(format, in.annotations)
}

// Outputs are the action's outputs; the tags are the names in action.yml.
type Outputs struct {
	Digest     string              `output:"digest"`
	ImageRef   string              `output:"image-ref"`
	Signer     string              `output:"signer"`
	Signatures []signing.Signature `output:"signatures,json"`

	report report
}

func sign(ctx context.Context, run *gate.Run, in Inputs) (Outputs, error) {
	ref, opts, err := signing.Prepare(ctx, in.Target(), in.Inputs, run.SigstoreIDToken)
	if err != nil {
		return Outputs{}, err
	}
	if ref.Tag != "" {
		run.Infof("resolved %s to %s; the tag is not used again", in.Image, ref)
	}
	opts.Annotations, opts.Recursive = in.annotations, in.Recursive
	res, err := signing.Sign(ctx, ref, opts)
	if res == nil {
		return Outputs{}, err
	}
	if err == nil {
		run.Infof("signed %s as %s (%d signatures)", ref, res.Identity, len(res.Signatures))
	}
	return Outputs{Digest: ref.Digest, ImageRef: ref.String(), Signer: res.Identity.String(), Signatures: res.Signatures,
		report: report{ref: ref, res: res, err: err}}, err
}

// Package cosignlegacy checks the legacy (.sig / .att) signatures and
// attestations of an image with cosign's own verification code, the way
// Kyverno's ClusterPolicy reads them. Tests need it because cosign v2.6.5's
// CLI switches to the bundle format by itself as soon as a bundle referrer
// exists, so the legacy half of what a gate attaches cannot be checked with
// the CLI. It links cosign's library: only tests that already do import it.
package cosignlegacy

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/secure-gates/secure-gates/pkg/oci"
)

// Verify checks the legacy signatures of ref against the public key in the
// PEM file pubPath, without a transparency log, requiring the given
// annotations. predicateType "" checks image signatures; otherwise Verify
// passes only if a verified attestation has that predicate type. A file or key
// that cannot be read fails t; a verification failure is the returned error.
func Verify(t testing.TB, ref oci.Ref, pubPath, predicateType string, annotations map[string]any) error {
	t.Helper()
	ctx := context.Background()
	v, err := signature.LoadVerifierFromPEMFile(pubPath, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ref.Name()
	if err != nil {
		t.Fatal(err)
	}
	co := &cosign.CheckOpts{SigVerifier: v, IgnoreTlog: true, ClaimVerifier: cosign.SimpleClaimVerifier, Annotations: annotations}
	if predicateType == "" {
		_, _, err = cosign.VerifyImageSignatures(ctx, d, co)
		return err
	}
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, err := cosign.VerifyImageAttestations(ctx, d, co)
	if err != nil {
		return err
	}
	for _, a := range atts {
		pt, err := predicateTypeOf(a.Payload)
		if err != nil {
			return err
		}
		if pt == predicateType {
			return nil
		}
	}
	return fmt.Errorf("no verified legacy attestation of type %s", predicateType)
}

// predicateTypeOf reads the predicate type of a legacy attestation: a DSSE
// envelope whose payload is an in-toto statement.
func predicateTypeOf(payload func() ([]byte, error)) (string, error) {
	p, err := payload()
	if err != nil {
		return "", err
	}
	var env dsse.Envelope
	if err := json.Unmarshal(p, &env); err != nil {
		return "", err
	}
	st, err := env.DecodeB64Payload()
	if err != nil {
		return "", err
	}
	var s struct {
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(st, &s); err != nil {
		return "", err
	}
	return s.PredicateType, nil
}

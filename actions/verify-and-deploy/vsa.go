package verifyanddeploy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// attestVSA attests the VSA on the digest with pkg/signing when an identity is
// available, and says what happened.
func attestVSA(ctx context.Context, run *gate.Run, in Inputs, ref oci.Ref, vsa attestation.VSA) (string, error) {
	if in.AttestVSA == "false" {
		return "not attested (attest-vsa: false)", nil
	}
	keyless, ok := in.keyless(run)
	if !ok { // attest-vsa: auto (true without an identity was refused before any work)
		return "not attested: no signing identity (set vsa-key, or `permissions: id-token: write` for keyless)", nil
	}
	id := signing.Inputs{Key: in.VSAKey, KeyPassword: in.VSAKeyPassword, TrustedRoot: in.TrustedRoot, SigningConfig: in.SigningConfig, TlogUpload: keyless}
	sref, opts, err := signing.Prepare(ctx, signing.Target{Image: ref.String(), Registry: in.RegistryInputs.Options()}, id, run.SigstoreIDToken)
	if err != nil {
		return "", fmt.Errorf("attesting the VSA: %w", err)
	}
	data, err := json.Marshal(vsa)
	if err != nil {
		return "", errkind.Infra(err)
	}
	res, err := signing.Attest(ctx, sref, []signing.Predicate{{Type: attestation.PredicateVSA, Data: data, Source: "vsa"}}, opts)
	if err != nil {
		return "", fmt.Errorf("attesting the VSA on %s: %w", sref, err)
	}
	return vsaNote(res), nil
}

// vsaNote says who attested the VSA and where its envelope and bundle are.
func vsaNote(res *signing.AttestResult) string {
	where := ""
	if len(res.Attestations) > 0 {
		a := res.Attestations[0]
		where = " (envelope " + a.Digest
		if a.Bundle != "" {
			where += ", bundle " + a.Bundle
		}
		where += ")"
	}
	return "attested on the digest by " + res.Identity.String() + where
}

// writeJSON writes v as indented JSON to path atomically (temp + rename).
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return errkind.Infra(err)
	}
	return errkind.Infra(atomicfile.Write(path, append(data, '\n')))
}

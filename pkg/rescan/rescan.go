// Package rescan reads the SBOM an image digest was released with, so that
// the digest can be scanned again against today's vulnerability DB without
// pulling, cataloguing or rebuilding the image: from the digest's newest SBOM
// attestation that verifies against the policy (the signed record of what the
// release contained), or from an SBOM file (CycloneDX, SPDX or syft JSON).
//
// The package reads no environment and prints nothing.
package rescan

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/anchore/syft/syft/format"
	"github.com/anchore/syft/syft/sbom"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/readfile"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// MaxSBOMBytes caps an SBOM file read by ReadFile. An attested SBOM is
// bounded by the verifier's envelope cap.
const MaxSBOMBytes = 256 << 20

// Decode parses an SBOM document (CycloneDX JSON or XML, SPDX JSON or
// tag-value, syft JSON) into a syft SBOM; what names it in errors. A
// document that is none of these, or holds no packages, is an errkind.Input
// error.
func Decode(data []byte, what string) (*sbom.SBOM, error) {
	s, id, _, err := format.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("%s: not a readable SBOM (CycloneDX, SPDX or syft JSON): %w", what, err))
	}
	if s == nil || id == "" {
		return nil, errkind.Input(fmt.Errorf("%s: not a CycloneDX, SPDX or syft JSON document", what))
	}
	if s.Artifacts.Packages == nil || s.Artifacts.Packages.PackageCount() == 0 {
		return nil, errkind.Input(fmt.Errorf("%s: the SBOM lists no packages: nothing to scan (an SBOM of the image, as the sbom action writes it, is expected)", what))
	}
	return s, nil
}

// ReadFile reads and decodes the SBOM file at path (at most MaxSBOMBytes).
func ReadFile(path string) (*sbom.SBOM, error) {
	data, err := readfile.Bounded(path, MaxSBOMBytes)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("sbom: reading %s: %w", path, err))
	}
	return Decode(data, "sbom "+path)
}

// FromReport returns the SBOM of the newest verified CycloneDX attestation in
// rep (verify.Options.KeepEvidence set), else of the newest SPDX one, with
// that attestation. A digest with neither is an errkind.Policy error: there is
// no signed record of what it contains.
func FromReport(rep *verify.Report) (*sbom.SBOM, *verify.Evidence, error) {
	e := rep.NewestEvidence(attestation.PredicateCycloneDX, attestation.PredicateSPDX)
	if e == nil {
		return nil, nil, errkind.Policy(fmt.Errorf("%s carries no CycloneDX or SPDX attestation that verifies with the policy's identities: attest the SBOM at release (the attest action's cyclonedx or spdx predicate), or scan the image itself", rep.Image))
	}
	s, err := Decode(e.Statement.Predicate, "the SBOM attestation "+e.Digest+" of "+rep.Image)
	if err != nil {
		return nil, nil, errkind.Policy(err)
	}
	return s, e, nil
}

// FromAttestation verifies ref (repo@sha256:…) against opts.Policy and
// returns the SBOM of its newest verified SBOM attestation (FromReport). The
// digest itself need not pass the policy — a rescan is what finds out — only
// the SBOM attestation must verify.
func FromAttestation(ctx context.Context, ref oci.Ref, opts verify.Options) (*sbom.SBOM, *verify.Evidence, error) {
	if ref.Digest == "" {
		return nil, nil, errkind.Input(errors.New("rescan: the image must be named by digest"))
	}
	opts.KeepEvidence = true
	rep, err := verify.Verify(ctx, ref, opts)
	if err != nil {
		return nil, nil, err
	}
	return FromReport(rep)
}

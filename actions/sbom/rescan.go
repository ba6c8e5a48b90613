package sbom

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/rescan"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// SBOMAttestation is the sbom input value that rescans a digest from its
// verified SBOM attestation.
const SBOMAttestation = "attestation"

// checkSBOMInput refuses an sbom input the run cannot use.
func checkSBOMInput(in Inputs, src catalog.ImageSource) error {
	if in.SBOM == "" {
		return nil
	}
	if in.Image == "" || src.Kind != catalog.SourceRegistry {
		return errkind.Input(fmt.Errorf("sbom %q scans an SBOM of a registry image: set image to its repo@sha256:… reference (the vuln predicate is about that digest)", in.SBOM))
	}
	if !in.ScanVulns {
		return errkind.Input(errors.New("sbom is given but scan-vulns is false: scanning the SBOM is all this run would do"))
	}
	return nil
}

// readSBOM resolves the image once and reads the SBOM to scan (the sbom
// input) in place of a catalog.
func readSBOM(ctx context.Context, rt *gha.Runtime, in Inputs, src catalog.ImageSource, reg oci.Options, resolve func(string) string) (*catalog.Result, error) {
	ref, err := oci.Resolve(ctx, src.Ref, reg)
	if err != nil {
		return nil, err
	}
	if in.SBOM != SBOMAttestation {
		s, err := rescan.ReadFile(resolve(in.SBOM))
		if err != nil {
			return nil, err
		}
		return &catalog.Result{SBOM: s, Ref: ref, Packages: s.Artifacts.Packages.PackageCount()}, nil
	}
	base := rt.Context().Workspace
	if base == "" || !rt.InActions() {
		base = resolve(".")
	}
	pol, err := policy.Load(resolve(in.Policy), policy.Options{BaseDir: base})
	if err != nil {
		return nil, err
	}
	trust, err := verify.TrustedMaterial(ctx, resolve(in.TrustedRoot), pol)
	if err != nil {
		return nil, err
	}
	s, e, err := rescan.FromAttestation(ctx, ref, verify.Options{Policy: pol, Registry: reg, TrustedMaterial: trust})
	if err != nil {
		return nil, err
	}
	rt.Infof("scanning the SBOM attestation %s of %s (%s, signed by %s, evidence time %s)", e.Digest, ref, e.PredicateType,
		e.Signer, e.Time.Format(time.RFC3339))
	return &catalog.Result{SBOM: s, Ref: ref, Packages: s.Artifacts.Packages.PackageCount()}, nil
}

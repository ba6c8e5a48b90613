package sbom

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/rescan"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// SBOMAttestation is the sbom input value that rescans a digest from its
// verified SBOM attestation.
const SBOMAttestation = "attestation"

// rescanned is the SBOM a rescan scanned: the sbom input, and the attestation
// it was read from (nil for a file).
type rescanned struct {
	source   string
	evidence *verify.Evidence
}

// validateRescan refuses sbom, policy and trusted-root combinations the run
// cannot use (Validate, before any work).
func (in *Inputs) validateRescan() error {
	if in.SBOM == "" {
		if in.TrustedRoot != "" {
			return errkind.Input(errors.New("trusted-root is read only to verify an SBOM attestation (sbom: attestation): remove it, or set sbom"))
		}
		return nil
	}
	if in.Image == "" || in.src.Kind != catalog.SourceRegistry {
		return errkind.Input(fmt.Errorf("sbom %q scans an SBOM of a registry image: set image to its repo@sha256:… reference (the vuln predicate is about that digest)", in.SBOM))
	}
	if !in.ScanVulns {
		return errkind.Input(errors.New("sbom is given but scan-vulns is false: scanning the SBOM is all this run would do"))
	}
	if in.SBOM != SBOMAttestation && in.TrustedRoot != "" {
		return errkind.Input(fmt.Errorf("trusted-root is read only with sbom: attestation, and sbom is the file %q: remove trusted-root", in.SBOM))
	}
	return nil
}

// loadRescanPolicy loads the policy whose identities an SBOM attestation must
// verify with (sbom: attestation), or reads the SBOM file (sbom: FILE),
// before any registry or DB work: a bad file is an input error, whatever the
// registry's state.
func loadRescanPolicy(run *gate.Run, in *Inputs, resolve func(string) string) error {
	if in.SBOM == "" {
		return nil
	}
	if in.SBOM != SBOMAttestation {
		var err error
		in.sbomFile, err = rescan.ReadFile(resolve(in.SBOM))
		return err
	}
	base, err := run.Workspace()
	if err != nil {
		return err
	}
	in.pol, err = policy.Load(resolve(in.PolicyFile), policy.Options{BaseDir: base, Root: base})
	return err
}

// readSBOM resolves the image once and reads the SBOM to scan (the sbom
// input) in place of a catalog.
func readSBOM(ctx context.Context, run *gate.Run, in Inputs, reg oci.Options, resolve func(string) string) (*catalog.Result, *rescanned, error) {
	ref, err := oci.Resolve(ctx, in.src.Ref, reg)
	if err != nil {
		return nil, nil, err
	}
	done := &rescanned{source: in.SBOM}
	if in.SBOM != SBOMAttestation {
		s := in.sbomFile // read by loadRescanPolicy
		return &catalog.Result{SBOM: s, Ref: ref, Packages: s.Artifacts.Packages.PackageCount()}, done, nil
	}
	trust, err := verify.TrustedMaterial(ctx, resolve(in.TrustedRoot), in.pol)
	if err != nil {
		return nil, nil, err
	}
	s, e, err := rescan.FromAttestation(ctx, ref, verify.Options{Policy: in.pol, Registry: reg, TrustedMaterial: trust})
	if err != nil {
		return nil, nil, err
	}
	done.evidence = e
	run.Infof("scanning the SBOM attestation %s of %s (%s, signed by %s, evidence time %s)", e.Digest, ref, e.PredicateType,
		e.Signer, e.Time.Format(time.RFC3339))
	return &catalog.Result{SBOM: s, Ref: ref, Packages: s.Artifacts.Packages.PackageCount()}, done, nil
}

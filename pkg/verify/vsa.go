package verify

import (
	"strings"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

// DefaultVerifierID names this verifier in VSAs.
const DefaultVerifierID = "https://github.com/secure-gates/secure-gates/actions/verify-and-deploy"

// Custom verifiedLevels values (the SLSA VSA spec allows custom values that do
// not start with SLSA_). They make break-glass and exception use visible to
// anyone reading the VSA.
const (
	LevelBreakGlass     = "SECURE_GATES_BREAK_GLASS"
	LevelExceptionsUsed = "SECURE_GATES_EXCEPTIONS_USED"
	LevelAudit          = "SECURE_GATES_AUDIT_MODE"
	LevelScannerOutage  = "SECURE_GATES_SCANNER_OUTAGE"
)

// VSAOptions names the verifier in a VSA.
type VSAOptions struct {
	// VerifierID is verifier.id (default DefaultVerifierID).
	VerifierID string
	// Version is recorded as verifier.version["secure-gates"].
	Version string
}

// VSA returns the SLSA verification summary v1 of the report: the verifier,
// the policy (uri + sha256), every signature and attestation that satisfied a
// requirement (inputAttestations, exceptions included), the result, and the
// levels verified — SLSA_BUILD_LEVEL_3 for slsa-github-generator provenance
// verified by slsa-verifier, SLSA_BUILD_LEVEL_2 for the project's own provenance,
// SLSA_BUILD_LEVEL_0 otherwise — plus LevelBreakGlass, LevelExceptionsUsed,
// LevelScannerOutage and LevelAudit when they apply.
func (r *Report) VSA(p *policy.Policy, o VSAOptions) attestation.VSA {
	if o.VerifierID == "" {
		o.VerifierID = DefaultVerifierID
	}
	v := attestation.VSA{
		Verifier:           attestation.VSAVerifier{ID: o.VerifierID},
		TimeVerified:       r.VerifiedAt,
		ResourceURI:        r.Image,
		Policy:             attestation.ResourceDescriptor{URI: r.Policy.URI},
		VerificationResult: attestation.VerificationFailed,
		SLSAVersion:        "1.0",
	}
	if o.Version != "" {
		v.Verifier.Version = map[string]string{"secure-gates": o.Version}
	}
	if d := strings.TrimPrefix(r.Policy.Digest, "sha256:"); d != "" {
		v.Policy.Digest = map[string]string{"sha256": d}
	}
	if r.Verified {
		v.VerificationResult = attestation.VerificationPassed
	}
	for _, in := range r.Inputs {
		name := in.Kind
		if in.PredicateType != "" {
			name = in.PredicateType
		}
		v.InputAttestations = append(v.InputAttestations, attestation.ResourceDescriptor{
			Name: name, URI: in.Location, Digest: map[string]string{"sha256": strings.TrimPrefix(in.Digest, "sha256:")}})
	}
	for _, e := range r.ExceptionsUsed {
		v.InputAttestations = append(v.InputAttestations, attestation.ResourceDescriptor{
			Name: attestation.PredicateException, Digest: map[string]string{"sha256": strings.TrimPrefix(e.ID, "sha256:")}})
	}
	level := "SLSA_BUILD_LEVEL_0"
	if r.Verified && p != nil {
		for _, q := range p.Require {
			if q.PredicateType != attestation.PredicateSLSAProvenance {
				continue
			}
			if q.Builder == policy.BuilderSLSAGitHubGenerator {
				level = "SLSA_BUILD_LEVEL_3"
			} else if level != "SLSA_BUILD_LEVEL_3" {
				level = "SLSA_BUILD_LEVEL_2"
			}
		}
	}
	v.VerifiedLevels = []string{level}
	if r.BreakGlass {
		v.VerifiedLevels = append(v.VerifiedLevels, LevelBreakGlass)
	}
	if len(r.ExceptionsUsed) > 0 {
		v.VerifiedLevels = append(v.VerifiedLevels, LevelExceptionsUsed)
	}
	if len(r.OutagesWaived) > 0 {
		v.VerifiedLevels = append(v.VerifiedLevels, LevelScannerOutage)
	}
	if r.Mode == string(policy.ModeAudit) {
		v.VerifiedLevels = append(v.VerifiedLevels, LevelAudit)
	}
	return v
}

// VSAStatement wraps the VSA in an in-toto statement about the verified digest.
func (r *Report) VSAStatement(p *policy.Policy, o VSAOptions) (*attestation.Statement, error) {
	repo := r.Image
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	subj := []attestation.Subject{{Name: repo, Digest: map[string]string{"sha256": strings.TrimPrefix(r.Digest, "sha256:")}}}
	return attestation.NewStatement(subj, attestation.PredicateVSA, r.VSA(p, o))
}

package attestation

import (
	"fmt"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// Predicate type URIs. They are a public contract: verifiers outside the project
// match on them byte for byte.
const (
	// PredicateCycloneDX is a CycloneDX SBOM (JSON).
	PredicateCycloneDX = "https://cyclonedx.org/bom"
	// PredicateSPDX is an SPDX SBOM (JSON).
	PredicateSPDX = "https://spdx.dev/Document"
	// PredicateVuln is cosign's vulnerability-scan predicate.
	PredicateVuln = "https://cosign.sigstore.dev/attestation/vuln/v1"
	// PredicateSLSAProvenance is SLSA build provenance v1.
	PredicateSLSAProvenance = "https://slsa.dev/provenance/v1"
	// PredicateVSA is a SLSA verification summary attestation v1.
	PredicateVSA = "https://slsa.dev/verification_summary/v1"
	// PredicateCodeScan is the project's code-scan predicate.
	PredicateCodeScan = "https://secure-gates.dev/attestation/code-scan/v1"
	// PredicateThreatModel is the project's threat-model predicate.
	PredicateThreatModel = "https://secure-gates.dev/attestation/threat-model/v1"
	// PredicateException is the project's exception (waiver) predicate.
	PredicateException = "https://secure-gates.dev/attestation/exception/v1"
	// PredicateAssessment is the project's self-assessment predicate.
	PredicateAssessment = "https://secure-gates.dev/attestation/assessment/v1"
	// PredicateOpenVEX is an OpenVEX v0.2.0 document. verify-and-deploy
	// honours its not_affected and fixed statements only when an allowed
	// exception signer signed it, within the exceptions' lifetime bound.
	PredicateOpenVEX = "https://openvex.dev/ns/v0.2.0"
)

// PredicateType is one entry of the registry.
type PredicateType struct {
	// Name is the short name gates accept in inputs, e.g. "vuln".
	Name string
	// URI is the predicateType written into statements.
	URI string
	// Description says what claim the predicate makes.
	Description string
	// Own is true for the project's own predicate types, which have a JSON
	// schema (SchemaFile) and a doc page under docs/attestation/<Name>.md.
	Own bool
}

// SchemaFile is the path, inside this package, of the JSON schema of an own
// predicate type ("schema/<name>.json"), or "" for a standard type.
func (p PredicateType) SchemaFile() string {
	if !p.Own {
		return ""
	}
	return "schema/" + p.Name + ".json"
}

var registry = []PredicateType{
	{Name: "cyclonedx", URI: PredicateCycloneDX, Description: "SBOM in CycloneDX JSON"},
	{Name: "spdx", URI: PredicateSPDX, Description: "SBOM in SPDX JSON"},
	{Name: "vuln", URI: PredicateVuln, Description: "vulnerability scan (cosign's predicate: scanner, DB version, scan times)"},
	{Name: "slsaprovenance", URI: PredicateSLSAProvenance, Description: "SLSA build provenance v1"},
	{Name: "vsa", URI: PredicateVSA, Description: "SLSA verification summary v1: the deploy approval"},
	{Name: "code-scan", URI: PredicateCodeScan, Description: "code scan: tools, rules, counts by severity, SARIF digest, exceptions, outages, decision", Own: true},
	{Name: "threat-model", URI: PredicateThreatModel, Description: "threat model: the PR's four-question check and its result", Own: true},
	{Name: "exception", URI: PredicateException, Description: "exception (waiver) of findings, with reason, ticket, approver and expiry", Own: true},
	{Name: "assessment", URI: PredicateAssessment, Description: "self-assessment: the 20 questions' scores with evidence, total and tier", Own: true},
	{Name: "vex", URI: PredicateOpenVEX, Description: "OpenVEX v0.2.0 document: waives at deploy only when signed by an exception signer"},
}

// PredicateTypes returns the registry, in a fixed order (standard types first).
// The slice is a copy.
func PredicateTypes() []PredicateType {
	return append([]PredicateType(nil), registry...)
}

// ResolveType returns the URI for a short name ("vuln") or a registered URI
// (returned as is). Anything else is an error that lists the known short names.
// Matching is exact: no case folding, no trimming.
func ResolveType(nameOrURI string) (string, error) {
	for _, p := range registry {
		if nameOrURI == p.Name || nameOrURI == p.URI {
			return p.URI, nil
		}
	}
	names := make([]string, len(registry))
	for i, p := range registry {
		names[i] = p.Name
	}
	return "", errkind.Input(fmt.Errorf("unknown predicate type %q: want one of %s, or its URI", truncate(nameOrURI), strings.Join(names, ", ")))
}

func lookupURI(uri string) (PredicateType, bool) {
	for _, p := range registry {
		if p.URI == uri {
			return p, true
		}
	}
	return PredicateType{}, false
}

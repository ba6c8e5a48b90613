package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
)

// MaxResultBytes bounds the grype JSON document carried as the vuln predicate's
// result; a larger one is replaced by the compact list (CompactResult), so the
// statement stays within attestation.DefaultMaxPayloadBytes.
const MaxResultBytes = 8 << 20

// CompactFormat names the compact result's format.
const CompactFormat = "https://secure-gates.dev/vulndb/compact/v1"

// CompactResult is the vuln predicate's result when grype's document is too
// large: the findings only.
type CompactResult struct {
	Format   string            `json:"format"`
	Matches  []finding.Finding `json:"matches"`
	Packages int               `json:"packages"`
}

// DBVersion is the vuln predicate's scanner.db.version: the DB schema and its
// build time, "v6.1.3@2026-11-22T03:00:00Z".
func (i Info) DBVersion() string {
	return i.SchemaVersion + "@" + i.Built.UTC().Format(time.RFC3339)
}

// DBURI is the vuln predicate's scanner.db.uri: the URL the DB was downloaded
// from when known, else "grype-db:<source>" (db-dir, archive, cache).
func (i Info) DBURI() string {
	if i.URL != "" {
		return i.URL
	}
	return "grype-db:" + i.Source
}

// VulnPredicate builds cosign's vulnerability-scan predicate
// (attestation.PredicateVuln): scanner grype and its version, the DB (DBURI,
// DBVersion: schema and build time), the scan times, and as result grype's JSON
// document of the matches (CompactResult when that exceeds MaxResultBytes).
// invocation says what ran the scan; nil parameters are written as {}.
// The predicate passes attestation.ValidatePredicate.
func (r *Report) VulnPredicate(info Info, invocation attestation.VulnInvocation) (attestation.VulnScan, error) {
	if r == nil {
		return attestation.VulnScan{}, errkind.Infra(errors.New("vuln predicate: no scan report"))
	}
	if r.Finished.IsZero() || r.Started.IsZero() {
		return attestation.VulnScan{}, errkind.Infra(errors.New("vuln predicate: the report has no scan times"))
	}
	result, err := json.Marshal(r.doc)
	if err != nil {
		return attestation.VulnScan{}, errkind.Infra(fmt.Errorf("vuln predicate: encoding grype's document: %w", err))
	}
	if len(result) > MaxResultBytes {
		result, err = json.Marshal(CompactResult{Format: CompactFormat, Matches: r.Findings, Packages: r.Packages})
		if err != nil {
			return attestation.VulnScan{}, errkind.Infra(fmt.Errorf("vuln predicate: encoding the matches: %w", err))
		}
	}
	if len(invocation.Parameters) == 0 {
		invocation.Parameters = json.RawMessage(`{}`)
	}
	p := attestation.VulnScan{
		Invocation: invocation,
		Scanner: attestation.VulnScanner{
			URI:     grypeURI,
			Version: grypeVersion(),
			DB:      attestation.VulnDB{URI: info.DBURI(), Version: info.DBVersion()},
			Result:  result,
		},
		Metadata: attestation.VulnMetadata{ScanStartedOn: r.Started.UTC(), ScanFinishedOn: r.Finished.UTC()},
	}
	return p, nil
}

package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/anchore/grype/grype/presenter/models"

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

// WaiverField is the member the vuln predicate adds to a match of grype's
// document (in matches or ignoredMatches) that a repository waived at scan
// time: a finding.Waiver saying what waived it (kind exceptions-file or vex,
// the entry or vulnerability id, the source file, reason, ticket, expiry).
// Outside consumers of grype's JSON ignore the member; verify-and-deploy
// counts such matches as present unless a signed exception waives them.
const WaiverField = "secureGatesWaiver"

// CompactResult is the vuln predicate's result when grype's document is too
// large: the findings only, waived ones included with their Waived field.
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
//
// The result records every finding: a match an exceptions-file entry waived
// stays in matches, a match a VEX statement suppressed stays in grype's
// ignoredMatches, and each carries WaiverField saying what waived it.
// invocation says what ran the scan; nil parameters are written as {}.
// The predicate passes attestation.ValidatePredicate.
func (r *Report) VulnPredicate(info Info, invocation attestation.VulnInvocation) (attestation.VulnScan, error) {
	if r == nil {
		return attestation.VulnScan{}, errkind.Infra(errors.New("vuln predicate: no scan report"))
	}
	if r.Finished.IsZero() || r.Started.IsZero() {
		return attestation.VulnScan{}, errkind.Infra(errors.New("vuln predicate: the report has no scan times"))
	}
	result, err := r.annotatedDocument()
	if err != nil {
		return attestation.VulnScan{}, errkind.Infra(fmt.Errorf("vuln predicate: encoding grype's document: %w", err))
	}
	if len(result) > MaxResultBytes {
		all := append(slices.Clone(r.Findings), r.Suppressed...)
		result, err = json.Marshal(CompactResult{Format: CompactFormat, Matches: all, Packages: r.Packages})
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

// annotatedDocument is grype's JSON document of the scan with WaiverField on
// every match a waiver (an exceptions-file entry, a VEX statement) covers.
func (r *Report) annotatedDocument() ([]byte, error) {
	waivers := map[string]*finding.Waiver{}
	for _, fs := range [][]finding.Finding{r.Findings, r.Suppressed} {
		for _, f := range fs {
			if f.Waived != nil {
				waivers[f.Fingerprint] = f.Waived
			}
		}
	}
	if len(waivers) == 0 {
		return json.Marshal(r.doc)
	}
	type match struct {
		models.Match
		Waiver *finding.Waiver `json:"secureGatesWaiver,omitempty"`
	}
	type ignored struct {
		models.IgnoredMatch
		Waiver *finding.Waiver `json:"secureGatesWaiver,omitempty"`
	}
	ms := make([]match, len(r.doc.Matches))
	for i, m := range r.doc.Matches {
		ms[i] = match{Match: m}
		if i < len(r.matchFP) {
			ms[i].Waiver = waivers[r.matchFP[i]]
		}
	}
	var ig []ignored
	for i, m := range r.doc.IgnoredMatches {
		x := ignored{IgnoredMatch: m}
		if i < len(r.ignoredFP) {
			x.Waiver = waivers[r.ignoredFP[i]]
		}
		ig = append(ig, x)
	}
	rest := r.doc
	rest.Matches, rest.IgnoredMatches = nil, nil
	data, err := json.Marshal(rest)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	if top["matches"], err = json.Marshal(ms); err != nil {
		return nil, err
	}
	if len(ig) > 0 {
		if top["ignoredMatches"], err = json.Marshal(ig); err != nil {
			return nil, err
		}
	}
	return json.Marshal(top)
}

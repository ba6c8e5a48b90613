package vulndb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
// every match a waiver (an exceptions-file entry, a VEX statement) covers:
// the member is appended to the match's JSON object, and the document's
// members are then written in name order.
func (r *Report) annotatedDocument() ([]byte, error) {
	doc := r.docJSON
	if doc == nil {
		var err error
		if doc, err = json.Marshal(r.doc); err != nil {
			return nil, err
		}
	}
	waivers := map[string]*finding.Waiver{}
	for _, fs := range [][]finding.Finding{r.Findings, r.Suppressed} {
		for _, f := range fs {
			if f.Waived != nil {
				waivers[f.Fingerprint] = f.Waived
			}
		}
	}
	if len(waivers) == 0 {
		return doc, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, err
	}
	var err error
	if top["matches"], err = annotate(top["matches"], r.matchFP, waivers); err != nil {
		return nil, err
	}
	if ig, ok := top["ignoredMatches"]; ok {
		if top["ignoredMatches"], err = annotate(ig, r.ignoredFP, waivers); err != nil {
			return nil, err
		}
	}
	return json.Marshal(top)
}

// annotate adds WaiverField to the objects of the JSON array list whose
// fingerprint (fps, by index) a waiver covers.
func annotate(list json.RawMessage, fps []string, waivers map[string]*finding.Waiver) (json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(list, &items); err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(items))
	for i, it := range items {
		out[i] = it
		if i >= len(fps) || waivers[fps[i]] == nil {
			continue
		}
		it = bytes.TrimSpace(it)
		if len(it) < 2 || it[0] != '{' || it[len(it)-1] != '}' {
			return nil, fmt.Errorf("match %d is not a JSON object", i)
		}
		w, err := json.Marshal(waivers[fps[i]])
		if err != nil {
			return nil, err
		}
		sep := ","
		if len(bytes.TrimSpace(it[1:len(it)-1])) == 0 {
			sep = ""
		}
		out[i] = slices.Concat(it[:len(it)-1], []byte(sep+`"`+WaiverField+`":`), w, []byte("}"))
	}
	return json.Marshal(out)
}

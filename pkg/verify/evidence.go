package verify

import (
	"sort"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// Evidence is one verified attestation about the verified digest, of any
// predicate type but exceptions and VEX (read by the exception rules): its
// envelope verified with one of the policy's identities and its statement's
// subject holds the digest. Report.Evidence
// lists them when Options.KeepEvidence is set, for readers of the history of
// a digest (the rescan, pkg/kpi) that must use only what verifies.
type Evidence struct {
	// PredicateType is the statement's predicate type.
	PredicateType string
	// Format is legacy or bundle; Location is where it was found.
	Format, Location string
	// Digest is the sha256 of the verified payload: the attestation's id, as
	// Report.Inputs and a VSA's inputAttestations name it.
	Digest string
	// Signer describes the allowed identity that verified it.
	Signer string
	// Time is its evidence time (the earlier of its trusted signing time and
	// the time its predicate records; zero when it has neither) and
	// TimeSource where that time comes from (newest.go).
	Time       time.Time
	TimeSource string
	// Statement is the verified statement.
	Statement *attestation.Statement
}

// keepEvidence lists the verified attestations about the digest, one per
// distinct statement (copies in both formats are one piece of evidence, with
// the earliest time of any copy), oldest first; untimed ones come first.
func keepEvidence(byType map[string][]verifiedAtt) []Evidence {
	seen := map[[32]byte]int{}
	var out []Evidence
	for _, list := range byType {
		for i := range list {
			va := &list[i]
			at, src := evidenceTime(va)
			k := statementKey(va.statement)
			if j, ok := seen[k]; ok {
				if !at.IsZero() && (out[j].Time.IsZero() || at.Before(out[j].Time)) {
					out[j].Time, out[j].TimeSource = at, src
				}
				continue
			}
			seen[k] = len(out)
			out = append(out, Evidence{PredicateType: va.statement.PredicateType, Format: va.c.format, Location: va.c.location,
				Digest: va.digest, Signer: va.signer.identity.String(), Time: at, TimeSource: src, Statement: va.statement})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Location < out[j].Location
	})
	return out
}

// NewestEvidence returns the newest verified attestation of the first of
// predicateTypes that has one (Options.KeepEvidence must have been set), or
// nil. Of several at the newest time, the first by location is returned.
func (r *Report) NewestEvidence(predicateTypes ...string) *Evidence {
	for _, pt := range predicateTypes {
		var best *Evidence
		for i := range r.Evidence {
			e := &r.Evidence[i]
			if e.PredicateType != pt {
				continue
			}
			if best == nil || e.Time.After(best.Time) {
				best = e
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

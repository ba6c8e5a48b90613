package verify

import (
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// The newest trustworthy evidence decides. Of the verified attestations of one
// required type about the digest, only the newest is evaluated; older ones are
// reported as superseded and are never inputs, so an older passing scan cannot
// hide a newer failing one.
//
// An attestation's evidence time is the earliest of the times that bound when
// its evidence was made:
//
//   - its trusted signing time (a verified transparency-log integration time or
//     RFC 3161 timestamp). That time proves the signature existed by then, and
//     no later; anyone can log or timestamp an existing signature afresh, so on
//     its own it is only an upper bound;
//   - the time the predicate itself records, under the signature (vuln
//     metadata.scanFinishedOn, code-scan scanFinishedOn, provenance
//     runDetails.metadata.finishedOn or startedOn, CycloneDX metadata.timestamp,
//     SPDX creationInfo.created, threat-model checkedOn, assessment assessedAt,
//     VSA timeVerified).
//
// Taking the earliest means neither a fresh log entry or timestamp over an old
// signature, nor an old statement re-signed today, makes old evidence newer
// (the same reference max-age uses). Ties fail closed: every attestation at the
// newest time is evaluated and all must pass. An attestation with no time at
// all cannot be shown to be older than another, so it is always evaluated too.

// evidence is one verified attestation with its evidence time.
type evidence struct {
	va     *verifiedAtt
	at     time.Time // zero: no time
	source string
}

// evidenceTime returns the evidence time of va and what it comes from.
func evidenceTime(va *verifiedAtt) (time.Time, string) {
	var at time.Time
	var src string
	if pt, field := predicateTime(va.statement.PredicateType, va.statement.Predicate); !pt.IsZero() {
		at, src = pt.UTC(), "predicate "+field
	}
	if tt := va.signer.trustedTime; tt != nil && (at.IsZero() || tt.Before(at)) {
		at, src = tt.UTC(), va.signer.timeSource
	}
	return at, src
}

// evidenceTimeFields are, by predicate type, the fields (dotted paths) that
// record when the predicate's evidence was made, in order of preference: the
// first that is set is the predicate's time.
var evidenceTimeFields = map[string][]string{
	attestation.PredicateVuln:           {"metadata.scanFinishedOn"},
	attestation.PredicateCodeScan:       {"scanFinishedOn"},
	attestation.PredicateSLSAProvenance: {"runDetails.metadata.finishedOn", "runDetails.metadata.startedOn"},
	attestation.PredicateCycloneDX:      {"metadata.timestamp"},
	attestation.PredicateSPDX:           {"creationInfo.created"},
	attestation.PredicateThreatModel:    {"checkedOn"},
	attestation.PredicateDAST:           {"scanFinishedOn", "evaluatedOn"},
	attestation.PredicateAssessment:     {"assessedAt"},
	attestation.PredicateVSA:            {"timeVerified"},
}

// predicateTime reads the time a predicate of a known type records about when
// its evidence was made, and the field it comes from; zero when there is none
// or one of the type's time fields does not parse.
func predicateTime(predicateType string, pred json.RawMessage) (time.Time, string) {
	fields := evidenceTimeFields[predicateType]
	times := make([]time.Time, len(fields))
	for i, f := range fields {
		var err error
		if times[i], err = fieldTime(pred, f); err != nil {
			return time.Time{}, ""
		}
	}
	for i, at := range times {
		if !at.IsZero() {
			return at, fields[i]
		}
	}
	return time.Time{}, ""
}

// fieldTime decodes the time at a dotted path of pred the way encoding/json
// decodes a struct declaring just that path: keys match as json matches field
// names, an absent or null value is zero, a malformed one on the path is an
// error.
func fieldTime(pred json.RawMessage, path string) (time.Time, error) {
	keys := strings.Split(path, ".")
	t := reflect.TypeFor[time.Time]()
	for i := len(keys) - 1; i >= 0; i-- {
		tag := reflect.StructTag(`json:"` + keys[i] + `"`)
		t = reflect.StructOf([]reflect.StructField{{Name: "F", Type: t, Tag: tag}})
	}
	v := reflect.New(t)
	if err := json.Unmarshal(pred, v.Interface()); err != nil {
		return time.Time{}, err
	}
	field := v.Elem()
	for range keys {
		field = field.Field(0)
	}
	return field.Interface().(time.Time), nil
}

// newest splits the verified attestations of one type into those to evaluate —
// every one at the newest evidence time, and every one without a time — and
// those superseded by them. The order is deterministic (time, then location).
//
// Copies of one statement (the same attestation in both formats, say) are one
// piece of evidence: they share the earliest time any copy has, so a copy is
// never superseded by itself.
func newest(list []verifiedAtt) (current, superseded []evidence) {
	all := make([]evidence, len(list))
	earliest := map[[32]byte]evidence{}
	keys := make([][32]byte, len(list))
	for i := range list {
		at, src := evidenceTime(&list[i])
		all[i] = evidence{va: &list[i], at: at, source: src}
		keys[i] = statementKey(list[i].statement)
		if e, seen := earliest[keys[i]]; !seen || e.at.IsZero() || (!at.IsZero() && at.Before(e.at)) {
			earliest[keys[i]] = all[i]
		}
	}
	var latest time.Time
	for i := range all {
		if e := earliest[keys[i]]; !e.at.IsZero() {
			all[i].at, all[i].source = e.at, e.source
		}
		if all[i].at.After(latest) {
			latest = all[i].at
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].at.Equal(all[j].at) {
			return all[i].at.After(all[j].at)
		}
		return all[i].va.c.location < all[j].va.c.location
	})
	for _, e := range all {
		if e.at.IsZero() || e.at.Equal(latest) {
			current = append(current, e)
		} else {
			superseded = append(superseded, e)
		}
	}
	return current, superseded
}

// statementKey identifies a statement's content (type, subjects, predicate).
func statementKey(st *attestation.Statement) [32]byte {
	b, err := json.Marshal(st)
	if err != nil {
		return sha256.Sum256([]byte(st.PredicateType + string(st.Predicate)))
	}
	return sha256.Sum256(b)
}

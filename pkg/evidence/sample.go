package evidence

import (
	"encoding/json"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// Sources of a release time (ReleaseTime).
const (
	ReleaseTimeTrusted = "trusted signing time (transparency log or RFC 3161 timestamp) of the earliest verified input"
	ReleaseTimeScan    = "scanFinishedOn of the verified vulnerability scan (signed; no trusted time is recorded)"
)

// ReleaseTime places a verified image in an audit period: the earliest
// trusted signing time among the report's inputs or, when none has one (key
// signatures without a transparency log), the scanFinishedOn of the verified
// vulnerability-scan attestation. Zero when neither exists.
func ReleaseTime(b *Bundle) (time.Time, string) {
	var best time.Time
	for _, in := range b.Report.Inputs {
		if in.TrustedTime != nil && (best.IsZero() || in.TrustedTime.Before(best)) {
			best = *in.TrustedTime
		}
	}
	if !best.IsZero() {
		return best.UTC(), ReleaseTimeTrusted
	}
	for _, in := range b.Report.Inputs {
		if in.PredicateType != attestation.PredicateVuln {
			continue
		}
		if t := scanFinished(b, in); !t.IsZero() {
			return t.UTC(), ReleaseTimeScan
		}
	}
	return time.Time{}, ""
}

func scanFinished(b *Bundle, in verify.Input) time.Time {
	var idx Index
	if json.Unmarshal(b.Files[IndexFile], &idx) != nil {
		return time.Time{}
	}
	for _, f := range idx.Files {
		if f.Use != "input" || f.PredicateType != attestation.PredicateVuln {
			continue
		}
		body := b.Files[f.Path]
		var pred json.RawMessage
		var digest string
		if f.Role == "sigstore-bundle" {
			digest, _, pred = bundleStatement(body)
		} else {
			digest = sha256Hex(body)
			_, pred = envelopeStatement(body)
		}
		if digest != in.Digest {
			continue
		}
		var v attestation.VulnScan
		if json.Unmarshal(pred, &v) == nil && !v.Metadata.ScanFinishedOn.IsZero() {
			return v.Metadata.ScanFinishedOn
		}
	}
	return time.Time{}
}

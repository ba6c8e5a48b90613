package verify

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// RequirementSignature is the Requirement name of the image signature check.
const RequirementSignature = "signature"

// Report is the outcome of Verify: every requirement with its verdict and
// reasons, what was ignored and why, and the exceptions that were used or
// refused. It is written as the JSON report of the gate.
type Report struct {
	// Image is repo@sha256:… as verified.
	Image string `json:"image"`
	// Digest is the verified digest (sha256:…).
	Digest string `json:"digest"`
	// Policy identifies the policy applied.
	Policy PolicyRef `json:"policy"`
	// Mode is the policy's mode (enforce or audit).
	Mode string `json:"mode"`
	// Verified is true when every requirement passed.
	Verified bool `json:"verified"`
	// BreakGlass is true when the signature requirement passed only through a
	// break-glass signer.
	BreakGlass bool `json:"breakGlass"`
	// Requirements holds the signature requirement first, then each of the
	// policy's require entries in order.
	Requirements []RequirementResult `json:"requirements"`
	// Ignored lists signatures and attestations that satisfied nothing, with why.
	Ignored []Ignored `json:"ignored,omitempty"`
	// Superseded lists verified attestations about the digest that a newer one
	// of the same required type replaced: the newest evidence decides, so they
	// were not evaluated and are not inputs.
	Superseded []Superseded `json:"superseded,omitempty"`
	// OutagesWaived names the requirements that passed only through a signed
	// scanner-outage exception (policy on-scanner-outage: exception).
	OutagesWaived []string `json:"outagesWaived,omitempty"`
	// ExceptionsUsed are the exceptions that waived at least one finding.
	ExceptionsUsed []attestation.AppliedException `json:"exceptionsUsed,omitempty"`
	// ExceptionsRefused are exception attestations that waive nothing, with why.
	ExceptionsRefused []Ignored `json:"exceptionsRefused,omitempty"`
	// Inputs are the signatures and attestations that satisfied a requirement
	// (the VSA's inputAttestations).
	Inputs []Input `json:"inputs,omitempty"`
	// VerifiedAt is when the verification ran.
	VerifiedAt time.Time `json:"verifiedAt"`
	// Evidence lists every verified attestation about the digest, whatever
	// its type, when Options.KeepEvidence is set (not part of the JSON report).
	Evidence []Evidence `json:"-"`
}

// PolicyRef names a policy file by path and digest.
type PolicyRef struct {
	URI    string `json:"uri"`
	Digest string `json:"digest"`
}

// RequirementResult is the verdict on one requirement.
type RequirementResult struct {
	// Name is RequirementSignature or the require entry's type as written.
	Name string `json:"name"`
	// PredicateType is the required type's URI ("" for the signature).
	PredicateType string `json:"predicateType,omitempty"`
	// Passed is the verdict.
	Passed bool `json:"passed"`
	// Detail says what satisfied it (signer, scan time, ...).
	Detail string `json:"detail,omitempty"`
	// Reasons say why it failed, one per cause.
	Reasons []string `json:"reasons,omitempty"`
	// Waived, when set, says the requirement passed only through a signed
	// outage exception standing in for a scanner that did not run.
	Waived string `json:"waived,omitempty"`
}

// Mark is the requirement's verdict for a person: "✓" passed, "✗" failed,
// "⚠" passed only through an outage waiver; why is what satisfied it or, when
// it failed, its reasons.
func (r RequirementResult) Mark() (mark, why string) {
	switch {
	case !r.Passed:
		return "✗", strings.Join(r.Reasons, "; ")
	case r.Waived != "":
		return "⚠", r.Detail
	}
	return "✓", r.Detail
}

// Ignored is a signature or attestation that satisfied nothing.
type Ignored struct {
	// Kind is signature, attestation or exception.
	Kind string `json:"kind"`
	// Format is legacy (.sig/.att tags) or bundle (Sigstore bundle referrer).
	Format string `json:"format"`
	// Location is where it was found (tag or referrer digest, layer digest).
	Location string `json:"location"`
	// PredicateType is the type it claims (unverified when it did not verify).
	PredicateType string `json:"predicateType,omitempty"`
	// Reason says why it was ignored.
	Reason string `json:"reason"`
}

// Superseded is a verified attestation of a required type that a newer one
// about the same digest replaced.
type Superseded struct {
	// Requirement is the require entry's type as written.
	Requirement string `json:"requirement"`
	// Format is legacy or bundle.
	Format string `json:"format"`
	// Location is where it was found.
	Location string `json:"location"`
	// PredicateType is the attestation's type.
	PredicateType string `json:"predicateType"`
	// Digest is the sha256 of the verified payload.
	Digest string `json:"digest"`
	// Signer describes the allowed identity that verified it.
	Signer string `json:"signer"`
	// Time is its evidence time and TimeSource where that time comes from (a
	// transparency log, an RFC 3161 timestamp or a field of the predicate).
	Time       time.Time `json:"time"`
	TimeSource string    `json:"timeSource"`
	// SupersededBy is the location of a newest attestation, evaluated instead,
	// and NewestTime its evidence time.
	SupersededBy string    `json:"supersededBy"`
	NewestTime   time.Time `json:"newestTime"`
}

// Input is a signature or attestation that satisfied a requirement.
type Input struct {
	// Kind is signature or attestation.
	Kind string `json:"kind"`
	// Format is legacy or bundle.
	Format string `json:"format"`
	// PredicateType is the attestation's type ("" for a signature).
	PredicateType string `json:"predicateType,omitempty"`
	// Digest is the sha256 of the verified payload (DSSE envelope or signed payload).
	Digest string `json:"digest"`
	// Location is where it was found.
	Location string `json:"location"`
	// Signer describes the allowed identity that verified it.
	Signer string `json:"signer"`
	// TrustedTime is the verified signing time (tlog or RFC 3161), if any.
	TrustedTime *time.Time `json:"trustedTime,omitempty"`
}

// Failures returns "name: reason" for every failing reason of every requirement.
func (r *Report) Failures() []string {
	var out []string
	for _, q := range r.Requirements {
		if q.Passed {
			continue
		}
		for _, why := range q.Reasons {
			out = append(out, q.Name+": "+why)
		}
		if len(q.Reasons) == 0 {
			out = append(out, q.Name+": failed")
		}
	}
	return out
}

// Err returns nil when the image is verified, and otherwise a policy error
// listing every failure.
func (r *Report) Err() error {
	if r.Verified {
		return nil
	}
	f := r.Failures()
	if len(f) == 0 {
		return errkind.Policy(errors.New("verification failed"))
	}
	return errkind.Policy(fmt.Errorf("%s is not verified (%d failure(s)): %s", r.Image, len(f), strings.Join(f, "; ")))
}

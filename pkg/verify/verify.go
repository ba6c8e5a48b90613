// Package verify checks the whole attestation chain of one image digest against
// a policy (pkg/policy), fail closed, and reports every failure in one run.
//
// For a digest it fetches, within caps on count and size, every signature and
// attestation attached in either format — legacy cosign tags (sha256-<hex>.sig
// and .att) and Sigstore bundles attached as OCI referrers — whether made by the
// project's own sign/attest or by the cosign CLI, and verifies each with
// cosign v2.6.5's library against the policy's identities (keys, or keyless
// certificates: issuer exact, subject exact or anchored regexp, GitHub
// certificate extensions). Then:
//
//   - the signature requirement passes with a signature by an allowed identity,
//     or by a break-glass signer within the policy's ttl of its trusted signing
//     time (a transparency-log entry or an RFC 3161 timestamp is required);
//   - a certificate (keyless) signature counts only with a transparency-log
//     entry or RFC 3161 timestamp verified against the trusted root, checked at
//     that time; an identity with tlog: required needs the verified log entry;
//   - each required predicate type passes when the newest of the attestations
//     of exactly that type whose envelope verifies, whose signer is allowed and
//     whose statement subject holds the digest meets its conditions (vuln
//     freshness and deny, code-scan decision, provenance source repository,
//     slsa-verifier for slsa-github-generator provenance, the dast promotion
//     rule of dast.go: the newest DAST of the requirement's environment,
//     passing, fresh, no unwaived alert at or above the deny risk); older
//     ones are superseded (newest.go: ties and untimed ones are all
//     evaluated); a requirement that does not apply to Options.Environment
//     (a dast requirement, for a deploy into its own environment) passes as
//     not required;
//   - exception attestations signed by allowed exception signers, unexpired,
//     within the policy's exceptions.max-lifetime of their trusted signing time
//     (max-outage-lifetime for outage exceptions) and in scope, waive exactly
//     the findings they list; so do the not_affected and fixed statements of
//     OpenVEX attestations signed by an exception signer, for max-lifetime
//     from their trusted signing time (else their timestamp). Nothing else
//     waives: findings the repository waived at scan time (its exceptions
//     file, VEX documents) are recorded in the predicates and count as present
//     (waivers.go). Package-URL scopes match by finding.PURLMatches.
//
// Whatever satisfies nothing is listed as ignored with its reason. A registry or
// Sigstore failure (after the bounded retries of pkg/oci) is an infrastructure
// error (errkind.Infra), never "not signed".
package verify

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/bounds"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

// Defaults of the caps.
const (
	DefaultMaxSignatures    = 32
	DefaultMaxAttestations  = 128
	DefaultMaxEnvelopeBytes = attestation.DefaultMaxEnvelopeBytes
)

// Options configures Verify.
type Options struct {
	// Policy is the loaded policy (policy.Load). Required.
	Policy *policy.Policy
	// Registry configures registry access (credentials, retries).
	Registry oci.Options
	// TrustedMaterial is the Sigstore trust root (Fulcio CAs, Rekor logs,
	// timestamp authorities), e.g. from root.NewTrustedRootFromPath. Nil means
	// keys only, with no trusted time (so no break-glass).
	TrustedMaterial root.TrustedMaterial
	// Now is the verification time (default time.Now).
	Now func() time.Time
	// MaxSignatures caps legacy signatures read (default DefaultMaxSignatures).
	MaxSignatures int
	// MaxAttestations caps legacy attestations read (default DefaultMaxAttestations).
	MaxAttestations int
	// MaxEnvelopeBytes caps the size of one signature, attestation or bundle
	// (default DefaultMaxEnvelopeBytes).
	MaxEnvelopeBytes int64
	// SLSAVerifier runs slsa-verifier for slsa-github-generator provenance
	// (default: the slsa-verifier binary found in PATH, run with exec).
	SLSAVerifier *SLSAVerifier
	// KeepEvidence fills Report.Evidence with every verified attestation
	// about the digest (evidence.go).
	KeepEvidence bool
	// Environment is the environment the digest is being deployed to
	// ("" when unnamed). A requirement that does not apply to it
	// (policy.Requirement.AppliesTo: a dast requirement, for a deploy into
	// the environment its DAST runs in) passes as not required.
	Environment string
}

type verifier struct {
	opts       Options
	now        time.Time
	ref        oci.Ref
	exceptions []*exception
	refusedMap map[string][]string
	// unread says why no requirement can pass: attestations left unread by a
	// cap ("" when none).
	unread string
	// vexWaiving and vexBlocking are the statements of the accepted VEX
	// attestations that waive (not_affected, fixed) and that take waivers
	// away (affected, under_investigation): resolveVEX orders them.
	vexWaiving, vexBlocking []*vexStmt
	// infraErr is an infrastructure failure met while evaluating (slsa-verifier
	// could not reach a service): Verify returns it instead of a report.
	infraErr error
}

// verifiedAtt is an attestation that verified with an allowed signer.
type verifiedAtt struct {
	c         candidate
	signer    *signer
	statement *attestation.Statement
	digest    string
}

// Verify checks ref (repo@sha256:…, resolved once by the caller with
// oci.Resolve) against opts.Policy. A policy failure is not an error: it is a
// Report with Verified false (Report.Err gives the policy error). The error is
// for bad options (errkind.Input) and registry or Sigstore failures
// (errkind.Infra).
func Verify(ctx context.Context, ref oci.Ref, opts Options) (*Report, error) {
	if opts.Policy == nil {
		return nil, errkind.Input(errors.New("verify: no policy"))
	}
	opts = withDefaults(opts)
	d, err := ref.Name()
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("verify: %w", err))
	}
	h, err := v1.NewHash(ref.Digest)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("verify: digest %q: %w", ref.Digest, err))
	}
	v := &verifier{opts: opts, now: opts.Now().UTC(), ref: ref}
	p := opts.Policy
	rep := &Report{
		Image:      ref.String(),
		Digest:     ref.Digest,
		Policy:     PolicyRef{URI: p.Source, Digest: p.Digest.String()},
		Mode:       string(p.Mode),
		VerifiedAt: v.now,
	}

	f, err := v.fetch(ctx, d)
	if err != nil {
		return nil, err
	}
	rep.Ignored = append(rep.Ignored, f.overCap...)
	sigs, atts := splitCandidates(f.candidates)

	// Attestations first: bundles may turn out to be signatures.
	vs, err := v.verifyAttestations(ctx, atts, h, rep)
	if err != nil {
		return nil, err
	}
	v.acceptExceptions(vs.exceptions, rep)
	v.resolveVEX(rep)

	// The signature requirement.
	sigReq, sigInputs, bg, err := v.signatureRequirement(ctx, sigs, vs.bundleSigs, h, rep)
	if err != nil {
		return nil, err
	}
	rep.Requirements = append(rep.Requirements, sigReq)
	rep.Inputs = append(rep.Inputs, sigInputs...)
	rep.BreakGlass = bg

	// Each required type.
	byType := v.aboutDigestByType(vs.attestations, rep)
	if opts.KeepEvidence {
		rep.Evidence = keepEvidence(byType)
	}
	// Attestations left unread by a size or count cap may be the newest
	// evidence of any type (it is unknowable without reading them): no
	// requirement can pass while they are unread.
	v.unread = unreadReason(f.unread)
	v.requirements(ctx, byType, rep)
	ignoreNotRequired(p, byType, rep)
	v.reportExceptionsUsed(rep)
	if v.infraErr != nil {
		return nil, v.infraErr
	}
	rep.Verified = allPassed(rep.Requirements)
	sort.SliceStable(rep.Ignored, func(i, j int) bool { return rep.Ignored[i].Location < rep.Ignored[j].Location })
	return rep, nil
}

// withDefaults fills the unset clock and caps of opts.
func withDefaults(opts Options) Options {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.MaxSignatures = bounds.Or(opts.MaxSignatures, DefaultMaxSignatures)
	opts.MaxAttestations = bounds.Or(opts.MaxAttestations, DefaultMaxAttestations)
	opts.MaxEnvelopeBytes = bounds.Or(opts.MaxEnvelopeBytes, DefaultMaxEnvelopeBytes)
	return opts
}

// splitCandidates separates legacy signatures from everything else
// (attestations and bundles, which are routed by verifyAttestations).
func splitCandidates(cands []candidate) (sigs, atts []candidate) {
	for _, c := range cands {
		if c.kind == KindSignature {
			sigs = append(sigs, c)
		} else {
			atts = append(atts, c)
		}
	}
	return sigs, atts
}

// verifiedSets are the attestations and bundles that verified with an allowed
// signer for what they claim to be, not yet checked against the digest.
type verifiedSets struct {
	attestations []verifiedAtt // evidence, signed by a policy identity
	bundleSigs   []verifiedAtt // bundle-format image signatures
	exceptions   []verifiedAtt // exceptions and OpenVEX, by an exception signer
}

// verifyAttestations verifies each attestation or bundle against the
// identities allowed for the predicate type it claims: image signatures
// against the identities and break-glass signers, exceptions and OpenVEX
// against the exception signers, anything else against the identities. What
// does not verify is recorded in rep (refused exceptions also in v.refused).
func (v *verifier) verifyAttestations(ctx context.Context, atts []candidate, h v1.Hash, rep *Report) (verifiedSets, error) {
	var vs verifiedSets
	p := v.opts.Policy
	exceptionSigners := v.exceptionSigners()
	for _, c := range atts {
		claimed := v.claimedType(c)
		switch claimed {
		case types.CosignSignPredicateType:
			// A bundle-format image signature.
			va, reasons, err := v.verifyAny(ctx, c, h, v.signatureIdentities())
			if err != nil {
				return vs, err
			}
			if va == nil {
				rep.Ignored = append(rep.Ignored, Ignored{Kind: KindSignature, Format: c.format, Location: c.location,
					Reason: "does not verify with an allowed identity: " + strings.Join(reasons, " | ")})
				continue
			}
			vs.bundleSigs = append(vs.bundleSigs, *va)
		case attestation.PredicateException, attestation.PredicateOpenVEX:
			va, reasons, err := v.verifyAny(ctx, c, h, exceptionSigners)
			if err != nil {
				return vs, err
			}
			if va == nil {
				why := exceptionSignerRefusal(exceptionSigners, reasons)
				rep.ExceptionsRefused = append(rep.ExceptionsRefused, Ignored{Kind: KindException, Format: c.format,
					Location: c.location, PredicateType: claimed, Reason: why})
				v.noteRefused(c, why)
				continue
			}
			vs.exceptions = append(vs.exceptions, *va)
		default:
			va, reasons, err := v.verifyAny(ctx, c, h, p.Identities)
			if err != nil {
				return vs, err
			}
			if va == nil {
				rep.Ignored = append(rep.Ignored, Ignored{Kind: KindAttestation, Format: c.format, Location: c.location,
					PredicateType: claimed, Reason: "does not verify with an allowed identity: " + strings.Join(reasons, " | ")})
				continue
			}
			vs.attestations = append(vs.attestations, *va)
		}
	}
	return vs, nil
}

// exceptionSigners are the policy's exception signers (none without an
// exceptions section).
func (v *verifier) exceptionSigners() []policy.Identity {
	if p := v.opts.Policy; p.Exceptions != nil {
		return p.Exceptions.Signers
	}
	return nil
}

// breakGlassSigners are the policy's break-glass signers (none without a
// break-glass section).
func (v *verifier) breakGlassSigners() []policy.Identity {
	if p := v.opts.Policy; p.BreakGlass != nil {
		return p.BreakGlass.Signers
	}
	return nil
}

// signatureIdentities are the identities an image signature may verify
// with: the policy's identities, then its break-glass signers.
func (v *verifier) signatureIdentities() []policy.Identity {
	return append(append([]policy.Identity{}, v.opts.Policy.Identities...), v.breakGlassSigners()...)
}

// exceptionSignerRefusal says why an exception or VEX attestation signed by
// no allowed exception signer is refused.
func exceptionSignerRefusal(signers []policy.Identity, reasons []string) string {
	if len(signers) == 0 {
		return "the policy allows no exception signers"
	}
	return "signed by no allowed exception signer: " + strings.Join(reasons, " | ")
}

// acceptExceptions accepts the verified exceptions and signed VEX that are
// about this digest, valid, unexpired, within the lifetime bound and in
// scope; the others are listed in rep.ExceptionsRefused.
func (v *verifier) acceptExceptions(excs []verifiedAtt, rep *Report) {
	for _, va := range excs {
		accept := v.acceptException
		if va.statement.PredicateType == attestation.PredicateOpenVEX {
			accept = v.acceptVEX
		}
		if why := accept(va); why != "" {
			rep.ExceptionsRefused = append(rep.ExceptionsRefused, Ignored{Kind: KindException, Format: va.c.format,
				Location: va.c.location, PredicateType: va.statement.PredicateType, Reason: why})
		}
	}
}

// aboutDigestByType groups the verified attestations whose statement subject
// holds the digest by predicate type; the others are ignored.
func (v *verifier) aboutDigestByType(verified []verifiedAtt, rep *Report) map[string][]verifiedAtt {
	byType := map[string][]verifiedAtt{}
	for _, va := range verified {
		if !va.statement.HasSubjectDigest(v.ref.Digest) {
			rep.Ignored = append(rep.Ignored, Ignored{Kind: KindAttestation, Format: va.c.format, Location: va.c.location,
				PredicateType: va.statement.PredicateType,
				Reason:        "statement subject is another digest (" + subjectDigests(va.statement) + "), not " + v.ref.Digest})
			continue
		}
		byType[va.statement.PredicateType] = append(byType[va.statement.PredicateType], va)
	}
	return byType
}

// requirements evaluates every require entry of the policy into rep: one
// that does not apply to the environment passes as not required; while
// attestations are unread (v.unread) none passes.
func (v *verifier) requirements(ctx context.Context, byType map[string][]verifiedAtt, rep *Report) {
	for _, req := range v.opts.Policy.Require {
		if ok, why := req.AppliesTo(v.opts.Environment); !ok {
			rep.Requirements = append(rep.Requirements, RequirementResult{Name: req.Type, PredicateType: req.PredicateType,
				Passed: true, Detail: why})
			continue
		}
		res, in, older := v.requirement(ctx, req, byType[req.PredicateType], rep)
		if v.unread != "" {
			res.Passed, res.Waived = false, ""
			res.Reasons = append([]string{v.unread}, res.Reasons...)
		}
		rep.Requirements = append(rep.Requirements, res)
		for _, va := range in {
			rep.Inputs = append(rep.Inputs, input(*va))
		}
		rep.Superseded = append(rep.Superseded, older...)
	}
}

// ignoreNotRequired lists the verified attestations of types the policy does
// not require as ignored: they are not inputs.
func ignoreNotRequired(p *policy.Policy, byType map[string][]verifiedAtt, rep *Report) {
	for t, list := range byType {
		if _, required := p.Requirement(t); required {
			continue
		}
		for _, va := range list {
			rep.Ignored = append(rep.Ignored, Ignored{Kind: KindAttestation, Format: va.c.format, Location: va.c.location,
				PredicateType: t, Reason: "verified, but the policy does not require this type"})
		}
	}
}

// reportExceptionsUsed lists the accepted exceptions that waived something.
func (v *verifier) reportExceptionsUsed(rep *Report) {
	for _, e := range v.exceptions {
		if e.used > 0 {
			rep.ExceptionsUsed = append(rep.ExceptionsUsed, attestation.AppliedException{ID: e.id, Scope: e.pred.Scope,
				Reason: e.pred.Reason, Ticket: e.pred.Ticket, Expires: e.pred.Expires, FindingsWaived: e.used})
		}
	}
}

// allPassed reports whether every requirement passed.
func allPassed(results []RequirementResult) bool {
	for _, r := range results {
		if !r.Passed {
			return false
		}
	}
	return true
}

// unreadReason says why attestations left unread by a cap (attestations and
// bundles; signatures only ever add to what passes) fail every requirement:
// "" when there are none.
func unreadReason(unread []Ignored) string {
	var locs []string
	for _, ig := range unread {
		if ig.Kind == KindSignature {
			continue
		}
		locs = append(locs, shortLoc(ig.Location)+" ("+ig.Reason+")")
	}
	if len(locs) == 0 {
		return ""
	}
	return fmt.Sprintf("%d attestation(s) not read (over the cap): the newest evidence cannot be established, so no requirement passes: %s; remove what should not be attached, and re-attest evidence that is too large in smaller parts",
		len(locs), strings.Join(limit(locs), "; "))
}

// refusedExceptions maps a finding id to why exceptions naming it were refused,
// so a denied finding's reason can say so.
func (v *verifier) noteRefused(c candidate, why string) {
	st, err := v.unverifiedStatement(c)
	if err != nil {
		return
	}
	var e attestation.Exception
	if json.Unmarshal(st.Predicate, &e) != nil {
		return
	}
	for _, f := range e.Findings {
		v.refused()[f] = append(v.refused()[f], "exception "+shortLoc(c.location)+" "+why)
	}
}

func (v *verifier) refused() map[string][]string {
	if v.refusedMap == nil {
		v.refusedMap = map[string][]string{}
	}
	return v.refusedMap
}

func (v *verifier) acceptException(va verifiedAtt) string {
	st := va.statement
	var e attestation.Exception
	var why string
	_ = json.Unmarshal(st.Predicate, &e) // best effort, to name the findings of a refused exception
	switch {
	case !st.HasSubjectDigest(v.ref.Digest):
		why = "statement subject is another digest (" + subjectDigests(st) + ")"
	case attestation.ValidatePredicate(attestation.PredicateException, st.Predicate, attestation.Options{MaxPayloadBytes: int(v.opts.MaxEnvelopeBytes)}) != nil:
		why = "invalid exception predicate: " + oneLine(attestation.ValidatePredicate(attestation.PredicateException, st.Predicate, attestation.Options{}))
	case json.Unmarshal(st.Predicate, &e) != nil:
		why = "unreadable exception predicate"
	case e.Expires.IsZero():
		why = "has no expiry"
	case !e.Expires.After(v.now):
		why = "expired at " + e.Expires.UTC().Format(time.RFC3339)
	case !scopeApplies(e.Scope, v.ref.Repository):
		why = fmt.Sprintf("scope %q does not cover %s", e.Scope, v.ref.Repository)
	case finding.IsPURLScope(e.Scope) && !validPURLScope(e.Scope):
		why = fmt.Sprintf("scope %q is not a valid package URL", e.Scope)
	default:
		from, fromWhat := v.signedAt(va, time.Time{})
		why = v.lifetimeRefusal(e.Expires, from, fromWhat, isOutageException(e))
	}
	if why != "" {
		for _, f := range e.Findings {
			v.refused()[f] = append(v.refused()[f], "exception "+shortLoc(va.c.location)+" "+why)
		}
		return why
	}
	ex := &exception{id: va.digest, pred: e, signer: va.signer.identity.String(), findings: map[string]bool{}}
	for _, f := range e.Findings {
		ex.findings[strings.ToLower(f)] = true
	}
	v.exceptions = append(v.exceptions, ex)
	return ""
}

// claimedType reads the predicate type a candidate claims, without trusting it
// (for routing and reporting only).
func (v *verifier) claimedType(c candidate) string {
	st, err := v.unverifiedStatement(c)
	if err != nil {
		return ""
	}
	return st.PredicateType
}

func (v *verifier) unverifiedStatement(c candidate) (*attestation.Statement, error) {
	o := attestation.Options{MaxPayloadBytes: int(v.opts.MaxEnvelopeBytes)}
	if c.bundle != nil {
		env := c.bundle.GetDsseEnvelope()
		if env == nil {
			return nil, errors.New("no DSSE envelope")
		}
		return parseStatement(env.Payload, o)
	}
	payload, err := c.sig.Payload()
	if err != nil {
		return nil, err
	}
	env, err := attestation.ParseEnvelope(payload, o)
	if err != nil {
		return nil, err
	}
	return attestation.OpenEnvelope(env, o)
}

// parseStatement parses a statement; cosign's bundle-format image signature is
// a statement without a predicate and with an unnamed subject, which the strict
// parser may refuse, so it gets a narrow fallback.
func parseStatement(payload []byte, o attestation.Options) (*attestation.Statement, error) {
	st, err := attestation.ParseStatement(payload, o)
	if err == nil {
		return st, nil
	}
	var raw struct {
		Type          string                `json:"_type"`
		Subject       []attestation.Subject `json:"subject"`
		PredicateType string                `json:"predicateType"`
	}
	if json.Unmarshal(payload, &raw) == nil && raw.PredicateType == types.CosignSignPredicateType &&
		(raw.Type == attestation.StatementTypeV1 || raw.Type == attestation.StatementTypeV01) &&
		len(raw.Subject) > 0 && len(raw.Subject) <= attestation.MaxSubjects {
		return &attestation.Statement{Type: raw.Type, Subject: raw.Subject, PredicateType: raw.PredicateType}, nil
	}
	return nil, err
}

// verifyAny verifies c against ids and opens its statement.
func (v *verifier) verifyAny(ctx context.Context, c candidate, h v1.Hash, ids []policy.Identity) (*verifiedAtt, []string, error) {
	if len(ids) == 0 {
		return nil, []string{"no identity is allowed for it"}, nil
	}
	var (
		s       *signer
		reasons []string
		err     error
	)
	if c.bundle != nil {
		s, reasons, err = v.verifyBundle(ctx, c, ids)
	} else {
		s, reasons, err = v.verifyLegacy(ctx, c, h, ids)
	}
	if err != nil || s == nil {
		return nil, reasons, err
	}
	o := attestation.Options{MaxPayloadBytes: int(v.opts.MaxEnvelopeBytes)}
	var st *attestation.Statement
	if c.bundle != nil {
		st, err = parseStatement(s.statementPayload, o)
	} else {
		var env *attestation.Envelope
		env, err = attestation.ParseEnvelope(s.payload, o)
		if err == nil {
			st, err = attestation.OpenEnvelope(env, o)
		}
	}
	if err != nil {
		return nil, []string{"verified, but its statement is malformed: " + oneLine(err)}, nil
	}
	sum := sha256.Sum256(s.payload)
	return &verifiedAtt{c: c, signer: s, statement: st, digest: fmt.Sprintf("sha256:%x", sum)}, nil, nil
}

// signatureRequirement evaluates the signature requirement: it passes with a
// legacy or bundle signature of the digest by a policy identity, else with one
// by a break-glass signer within the policy's ttl of its trusted signing time
// (bg true). Signatures that count for nothing are recorded in rep.Ignored.
func (v *verifier) signatureRequirement(ctx context.Context, sigs []candidate, bundleSigs []verifiedAtt, h v1.Hash, rep *Report) (RequirementResult, []Input, bool, error) {
	res := RequirementResult{Name: RequirementSignature}
	good, reasons, err := v.acceptedSignatures(ctx, sigs, bundleSigs, h, rep)
	if err != nil {
		return res, nil, false, err
	}
	if g, found := chooseSignature(good); found {
		res.Passed = true
		res.Detail = g.why
		if !g.breakGlass {
			res.Detail = "signed by " + g.in.Signer + " (" + g.in.Format + ")"
		}
		return res, []Input{g.in}, g.breakGlass, nil
	}
	res.Reasons = signatureReasons(len(sigs) == 0 && len(bundleSigs) == 0, reasons, rep.Ignored)
	return res, nil, false, nil
}

// acceptedSignature is a signature that counts for the signature requirement.
type acceptedSignature struct {
	in         Input
	breakGlass bool
	why        string // for a break-glass signature: why it counts
}

// acceptedSignatures verifies the legacy signatures against the policy's
// identities and break-glass signers and checks that the bundle signatures
// (verified by verifyAttestations) are about the digest; a break-glass
// signature must also be within ttl (acceptSigner). It returns the accepted
// signatures in order, and why the others are refused (also in rep.Ignored).
func (v *verifier) acceptedSignatures(ctx context.Context, sigs []candidate, bundleSigs []verifiedAtt, h v1.Hash, rep *Report) ([]acceptedSignature, []string, error) {
	var good []acceptedSignature
	var reasons []string
	consider := func(in Input, s *signer, format, loc string) {
		g, why := v.acceptSigner(in, s)
		if why != "" {
			reasons = append(reasons, why)
			rep.Ignored = append(rep.Ignored, Ignored{Kind: KindSignature, Format: format, Location: loc, Reason: why})
			return
		}
		good = append(good, g)
	}
	all := v.signatureIdentities()
	for _, c := range sigs {
		s, rs, err := v.verifyLegacy(ctx, c, h, all)
		if err != nil {
			return nil, nil, err
		}
		if s == nil {
			why := "does not verify with an allowed identity: " + strings.Join(rs, " | ")
			rep.Ignored = append(rep.Ignored, Ignored{Kind: KindSignature, Format: c.format, Location: c.location, Reason: why})
			reasons = append(reasons, "signature "+shortLoc(c.location)+" "+why)
			continue
		}
		sum := sha256.Sum256(s.payload)
		consider(Input{Kind: KindSignature, Format: c.format, Digest: fmt.Sprintf("sha256:%x", sum), Location: c.location,
			Signer: s.identity.String(), TrustedTime: s.trustedTime}, s, c.format, c.location)
	}
	for _, va := range bundleSigs {
		if !va.statement.HasSubjectDigest(v.ref.Digest) {
			why := "bundle signature is about another digest (" + subjectDigests(va.statement) + ")"
			rep.Ignored = append(rep.Ignored, Ignored{Kind: KindSignature, Format: va.c.format, Location: va.c.location, Reason: why})
			reasons = append(reasons, why)
			continue
		}
		consider(input(va), va.signer, va.c.format, va.c.location)
	}
	return good, reasons, nil
}

// acceptSigner accepts a verified signature by s: at once when s is a policy
// identity; when s is only a break-glass signer, only within the policy's ttl
// of a trusted signing time that is not in the future. It returns why it
// refuses ("" when it accepts).
func (v *verifier) acceptSigner(in Input, s *signer) (acceptedSignature, string) {
	if !breakGlassOnly(v.opts.Policy.Identities, v.breakGlassSigners(), s.identity) {
		return acceptedSignature{in: in}, ""
	}
	ttl := v.opts.Policy.BreakGlass.TTL.Duration
	switch {
	case s.trustedTime == nil:
		return acceptedSignature{}, "break-glass signature by " + s.identity.String() + " has no trusted signing time (a transparency-log entry or RFC 3161 timestamp is required for break-glass)"
	case v.now.Sub(*s.trustedTime) > ttl:
		return acceptedSignature{}, fmt.Sprintf("break-glass signature by %s expired: signed %s (%s), ttl %s", s.identity.String(),
			s.trustedTime.Format(time.RFC3339), s.timeSource, ttl)
	case s.trustedTime.After(v.now.Add(MaxClockSkew)):
		return acceptedSignature{}, "break-glass signature's trusted time is in the future"
	}
	return acceptedSignature{in: in, breakGlass: true, why: fmt.Sprintf("BREAK-GLASS: signed by %s at %s (%s), within ttl %s",
		s.identity.String(), s.trustedTime.Format(time.RFC3339), s.timeSource, ttl)}, ""
}

// breakGlassOnly reports whether id is a break-glass signer and not also one
// of the policy's identities.
func breakGlassOnly(identities, breakGlass []policy.Identity, id policy.Identity) bool {
	for _, b := range breakGlass {
		if b.String() == id.String() {
			for _, a := range identities {
				if a.String() == id.String() {
					return false
				}
			}
			return true
		}
	}
	return false
}

// chooseSignature picks the signature that passes the requirement: the first
// by a policy identity, else the first break-glass one.
func chooseSignature(good []acceptedSignature) (acceptedSignature, bool) {
	for _, g := range good {
		if !g.breakGlass {
			return g, true
		}
	}
	if len(good) > 0 {
		return good[0], true
	}
	return acceptedSignature{}, false
}

// signatureReasons says why the signature requirement fails: "not signed"
// when nothing was found (none), else the refusals, then the refused bundles'
// reasons not already listed.
func signatureReasons(none bool, refusals []string, ignored []Ignored) []string {
	var reasons []string
	switch {
	case none && len(refusals) == 0:
		reasons = append(reasons, "image is not signed: no signature found (legacy .sig tag or Sigstore bundle referrer)")
	default:
		reasons = append(reasons, refusals...)
	}
	for _, ig := range ignored {
		if ig.Kind == KindSignature && ig.Format == FormatBundle && !containsReason(reasons, ig.Reason) {
			reasons = append(reasons, "bundle "+shortLoc(ig.Location)+" "+ig.Reason)
		}
	}
	return reasons
}

func containsReason(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// requirement evaluates one require entry over the verified attestations of its
// type: the newest (newest.go) are evaluated, and every one of them must meet
// every condition; older ones are returned as superseded. A scanner outage — no
// attestation of a scanner's type, or a code scan recording scanners that did
// not run — passes only when the requirement accepts outage exceptions and an
// accepted exception lists the outage (policy.OutageFindingID).
func (v *verifier) requirement(ctx context.Context, req policy.Requirement, list []verifiedAtt, rep *Report) (RequirementResult, []*verifiedAtt, []Superseded) {
	res := RequirementResult{Name: req.Type, PredicateType: req.PredicateType}
	if req.Builder == policy.BuilderSLSAGitHubGenerator {
		return v.slsaGitHubGenerator(ctx, req, res), nil, nil
	}
	var otherEnvs []string
	if req.PredicateType == attestation.PredicateDAST {
		list, otherEnvs = v.dastOfEnvironment(req, list, rep)
	}
	if len(list) == 0 {
		return v.noEvidence(req, res, otherEnvs, rep), nil, nil
	}
	current, older := newest(list)
	superseded := supersededBy(req, current[0], older)
	ev := v.evaluate(req, current)
	detail := ev.detail(current[0], len(older))
	switch {
	case !ev.failed && len(ev.outages) == 0:
		res.Passed = true
		res.Detail = detail
		return res, ev.inputs, superseded
	case !ev.failed:
		res.Detail = detail
		if v.waiveOutage(req, &res, strings.Join(ev.outages, "; "), rep) {
			return res, ev.inputs, superseded
		}
		res.Detail = ""
	}
	res.Reasons = ev.reasons(req, len(current), len(older))
	return res, nil, superseded
}

// noEvidence fails res, a requirement with no verified attestation of its
// type (of its environment, for DAST: otherEnvs are the environments of the
// others), saying what was ignored; an attestation that is missing altogether
// is a scanner outage, which an accepted outage exception waives.
func (v *verifier) noEvidence(req policy.Requirement, res RequirementResult, otherEnvs []string, rep *Report) RequirementResult {
	if len(otherEnvs) > 0 {
		res.Reasons = []string{fmt.Sprintf("no DAST of %s: the verified DAST attestation(s) of this digest are of %s; promotion needs a DAST of this digest in %s (deploy it there, scan, attest)",
			req.Environment, strings.Join(limit(otherEnvs), ", "), req.Environment)}
		return res
	}
	why := "no attestation of type " + req.PredicateType + " verified with an allowed identity"
	var ign []string
	for _, ig := range rep.Ignored {
		if ig.PredicateType == req.PredicateType {
			ign = append(ign, shortLoc(ig.Location)+": "+ig.Reason)
		}
	}
	if len(ign) > 0 {
		res.Reasons = []string{why + "; ignored: " + strings.Join(ign, "; ")}
		return res
	}
	why = "missing: no attestation of type " + req.PredicateType + " is attached"
	// Only a missing attestation can be a scanner that did not run; one
	// that is attached but does not verify is not an outage.
	if v.waiveOutage(req, &res, why, rep) {
		return res
	}
	res.Reasons = []string{why}
	if req.AcceptsOutageException() {
		res.Reasons = append(res.Reasons, outageHint(req))
	}
	return res
}

// supersededBy lists the older attestations of req's type as superseded by
// the newest one.
func supersededBy(req policy.Requirement, newest evidence, older []evidence) []Superseded {
	var superseded []Superseded
	for _, o := range older {
		superseded = append(superseded, Superseded{Requirement: req.Type, Format: o.va.c.format, Location: o.va.c.location,
			PredicateType: req.PredicateType, Digest: o.va.digest, Signer: o.va.signer.identity.String(),
			Time: o.at, TimeSource: o.source, SupersededBy: newest.va.c.location, NewestTime: newest.at})
	}
	return superseded
}

// evaluation is the outcome of a requirement's conditions over the newest
// attestations of its type.
type evaluation struct {
	// order lists each reason and outage once, in the order met; where
	// names the attestations it was met in.
	order   []string
	where   map[string][]string
	details []string
	outages []string
	// inputs holds one copy of each distinct statement; statements counts them.
	inputs     []*verifiedAtt
	statements int
	failed     bool
}

// evaluate checks req's conditions on every one of current. The same
// attestation often exists in both formats: every copy is evaluated, one copy
// of each statement is the input, and only its evaluation counts the findings
// exceptions waived.
func (v *verifier) evaluate(req policy.Requirement, current []evidence) evaluation {
	ev := evaluation{where: map[string][]string{}}
	distinct := map[[32]byte]bool{}
	for _, e := range current {
		va := e.va
		k := statementKey(va.statement)
		copyOf := distinct[k]
		var used []int
		if copyOf {
			used = v.usedCounts()
		}
		detail, reasons, outs := v.conditions(req, va)
		if copyOf {
			v.restoreUsed(used)
		} else {
			distinct[k] = true
			ev.inputs = append(ev.inputs, va)
		}
		d := strings.TrimPrefix(detail+"; signed by "+va.signer.identity.String(), "; ")
		if !containsReason(ev.details, d) {
			ev.details = append(ev.details, d)
		}
		ev.failed = ev.failed || len(reasons) > 0
		for _, r := range append(reasons, outs...) {
			if _, seen := ev.where[r]; !seen {
				ev.order = append(ev.order, r)
			}
			ev.where[r] = append(ev.where[r], shortLoc(va.c.location))
		}
		for _, o := range outs {
			if !slices.Contains(ev.outages, o) {
				ev.outages = append(ev.outages, o)
			}
		}
	}
	ev.statements = len(distinct)
	return ev
}

// detail is the detail of a passing requirement: what each evaluated
// attestation showed, and how many were tied or superseded.
func (ev evaluation) detail(newest evidence, older int) string {
	detail := strings.Join(ev.details, " | ")
	if ev.statements > 1 {
		detail += fmt.Sprintf("; %d statements share the newest evidence time, all evaluated", ev.statements)
	}
	if older > 0 {
		detail += fmt.Sprintf("; %d older superseded (newest %s, %s)", older, newest.at.Format(time.RFC3339), newest.source)
	}
	return detail
}

// reasons are the reasons of a failing requirement: each reason once,
// prefixed with where it was met unless all current attestations share it;
// the outage hint when only outages failed it; the first says how many older
// attestations were not evaluated.
func (ev evaluation) reasons(req policy.Requirement, current, older int) []string {
	var reasons []string
	for _, r := range ev.order {
		if len(ev.where[r]) < current {
			r = strings.Join(ev.where[r], ", ") + ": " + r
		}
		reasons = append(reasons, r)
	}
	if !ev.failed {
		reasons = append(reasons, outageHint(req))
	}
	if older > 0 && len(reasons) > 0 {
		reasons[0] += fmt.Sprintf(" (the newest evidence decides: %d older attestation(s) of this type superseded, not evaluated)", older)
	}
	return reasons
}

// usedCounts and restoreUsed save and restore how many findings each
// accepted exception waived, so that a copy of an evaluated statement does not
// count them again.
func (v *verifier) usedCounts() []int {
	used := make([]int, len(v.exceptions))
	for i, e := range v.exceptions {
		used[i] = e.used
	}
	return used
}

func (v *verifier) restoreUsed(used []int) {
	for i, e := range v.exceptions {
		e.used = used[i]
	}
}

// waiveOutage passes res when req accepts outage exceptions and an accepted
// exception lists the outage of its type; otherwise it leaves res alone and,
// for a requirement that could accept one, adds the hint to why.
func (v *verifier) waiveOutage(req policy.Requirement, res *RequirementResult, why string, rep *Report) bool {
	if !req.AcceptsOutageException() || v.unread != "" {
		return false
	}
	ids := []string{policy.OutageFindingID(req.PredicateType)}
	for _, p := range attestation.PredicateTypes() {
		if p.URI == req.PredicateType {
			ids = append(ids, policy.OutageFindingID(p.Name))
		}
	}
	for _, e := range v.exceptions {
		if e.vex {
			continue // VEX statements never waive an outage (acceptVEX refuses them too)
		}
		for _, id := range ids {
			if !e.findings[strings.ToLower(id)] {
				continue
			}
			e.used++
			res.Passed = true
			res.Reasons = nil
			res.Waived = fmt.Sprintf("SCANNER OUTAGE waived by exception %s (ticket %s, approver %s, expires %s): %s",
				short(e.id), e.pred.Ticket, e.pred.Approver, e.pred.Expires.UTC().Format(time.RFC3339), e.pred.Reason)
			res.Detail = strings.TrimPrefix(res.Detail+"; "+res.Waived+"; outage: "+why, "; ")
			rep.OutagesWaived = append(rep.OutagesWaived, req.Type)
			return true
		}
	}
	return false
}

// outageHint says how a scanner outage could pass the requirement.
func outageHint(req policy.Requirement) string {
	if !req.AcceptsOutageException() {
		return "an outage is not a pass: the policy does not accept outage exceptions for " + req.Type + " (on-scanner-outage: exception)"
	}
	return "an outage is not a pass: no accepted exception lists " + policy.OutageFindingID(req.Type)
}

func (v *verifier) conditions(req policy.Requirement, va *verifiedAtt) (detail string, reasons, outages []string) {
	pred := va.statement.Predicate
	switch req.PredicateType {
	case attestation.PredicateVuln:
		detail, reasons = v.checkVuln(req, pred, va.signer.trustedTime, v.refused())
		return detail, reasons, nil
	case attestation.PredicateCodeScan:
		return v.checkCodeScan(req, pred, va.signer.trustedTime)
	case attestation.PredicateSLSAProvenance:
		if err := attestation.ValidatePredicate(req.PredicateType, pred, attestation.Options{MaxPayloadBytes: int(v.opts.MaxEnvelopeBytes)}); err != nil {
			return "", []string{oneLine(err)}, nil
		}
		detail, reasons = checkProvenance(req, pred)
		return detail, reasons, nil
	case attestation.PredicateThreatModel:
		detail, reasons = checkThreatModel(pred)
		return detail, reasons, nil
	case attestation.PredicateDAST:
		if err := attestation.ValidatePredicate(req.PredicateType, pred, attestation.Options{MaxPayloadBytes: int(v.opts.MaxEnvelopeBytes)}); err != nil {
			return "", []string{oneLine(err)}, nil
		}
		return v.checkDAST(req, pred, va.signer.trustedTime)
	}
	if err := attestation.ValidatePredicate(req.PredicateType, pred, attestation.Options{MaxPayloadBytes: int(v.opts.MaxEnvelopeBytes)}); err != nil {
		return "", []string{oneLine(err)}, nil
	}
	return "", nil, nil
}

func input(va verifiedAtt) Input {
	kind := KindAttestation
	pt := va.statement.PredicateType
	if pt == types.CosignSignPredicateType {
		kind, pt = KindSignature, ""
	}
	return Input{Kind: kind, Format: va.c.format, PredicateType: pt, Digest: va.digest, Location: va.c.location,
		Signer: va.signer.identity.String(), TrustedTime: va.signer.trustedTime}
}

func subjectDigests(st *attestation.Statement) string {
	var ds []string
	for _, s := range st.Subject {
		if d := s.Digest["sha256"]; d != "" {
			ds = append(ds, "sha256:"+d)
		}
		if len(ds) == 3 {
			ds = append(ds, "…")
			break
		}
	}
	return strings.Join(ds, ", ")
}

// shortLoc shortens a location for reasons: the last path element.
func shortLoc(loc string) string {
	if i := strings.LastIndex(loc, " layer "); i >= 0 {
		return "layer " + short(loc[i+len(" layer "):])
	}
	if i := strings.LastIndex(loc, "@"); i >= 0 {
		return "referrer " + short(loc[i+1:])
	}
	return loc
}

func short(d string) string {
	if strings.HasPrefix(d, "sha256:") && len(d) > 19 {
		return d[:19]
	}
	return d
}

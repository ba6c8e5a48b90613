package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// signer is the outcome of verifying one candidate against a list of allowed
// identities.
type signer struct {
	identity    policy.Identity
	trustedTime *time.Time
	timeSource  string
	// tlog is true when a transparency-log entry of the signature verified
	// against the trusted root's Rekor log.
	tlog bool
	// payload is what was signed: the simple-signing JSON of a legacy signature,
	// the DSSE envelope JSON of a legacy attestation, the DSSE payload of a bundle.
	payload []byte
	// statementPayload is the in-toto statement (attestations and bundles).
	statementPayload []byte
}

// keyVerifier returns a sigstore verifier for a key identity.
func (v *verifier) keyVerifier(ctx context.Context, id policy.Identity) (signature.Verifier, error) {
	if id.IsKMS() {
		sv, err := kms.Get(ctx, id.Key, crypto.SHA256)
		if err != nil {
			// The binary links sigstore's providers for policy.KMSSchemes (the
			// only URIs that reach here); a key that cannot be loaded is the
			// policy's to fix, or the KMS's to answer.
			return nil, errkind.Input(fmt.Errorf("loading KMS key %s (check the URI and the KMS credentials of the job): %w", id.Key, err))
		}
		return sv, nil
	}
	if id.PublicKey == nil {
		return nil, errkind.Input(fmt.Errorf("key %s was not loaded (load the policy with policy.Load)", id.Key))
	}
	hash := crypto.SHA256
	if k, ok := id.PublicKey.(*ecdsa.PublicKey); ok {
		switch k.Curve {
		case elliptic.P384():
			hash = crypto.SHA384
		case elliptic.P521():
			hash = crypto.SHA512
		}
	}
	return signature.LoadVerifier(id.PublicKey, hash)
}

// checkOpts builds cosign's options for one identity and one candidate's
// available evidence (tlog entry, RFC 3161 timestamp).
func (v *verifier) checkOpts(ctx context.Context, id policy.Identity, hasTlog, hasTSA bool) (*cosign.CheckOpts, error) {
	co := &cosign.CheckOpts{
		RegistryClientOpts: v.ociOpts(ctx),
		IgnoreSCT:          true,
		IgnoreTlog:         true,
		Offline:            true,
	}
	tm := v.opts.TrustedMaterial
	if tm != nil {
		co.TrustedMaterial = tm
		if hasTlog && len(tm.RekorLogs()) > 0 {
			co.IgnoreTlog = false
		}
		if hasTSA && len(tm.TimestampingAuthorities()) > 0 {
			co.UseSignedTimestamps = true
		}
		co.IgnoreSCT = len(tm.CTLogs()) == 0
	}
	if id.IsKey() {
		sv, err := v.keyVerifier(ctx, id)
		if err != nil {
			return nil, err
		}
		co.SigVerifier = sv
		return co, nil
	}
	if tm == nil || len(tm.FulcioCertificateAuthorities()) == 0 {
		return nil, errkind.Input(errors.New("a keyless identity needs a trusted root holding a Fulcio CA (the trusted-root input)"))
	}
	co.Identities = []cosign.Identity{{Issuer: id.Issuer, Subject: id.Subject, SubjectRegExp: id.SubjectRegexp}}
	co.CertGithubWorkflowRepository = id.Repository
	co.CertGithubWorkflowRef = id.Ref
	co.CertGithubWorkflowName = id.Workflow
	co.CertGithubWorkflowTrigger = id.Trigger
	return co, nil
}

// transparencyGap says why a candidate carrying (or not) a transparency-log
// entry and an RFC 3161 timestamp cannot satisfy id, before any verification:
// a certificate needs either, verifiable against the trusted root (a
// short-lived certificate means nothing without a trusted time to check it
// at), and an identity with tlog: required needs the log entry. "" when it can.
func (v *verifier) transparencyGap(id policy.Identity, hasTlog, hasTSA bool) string {
	tm := v.opts.TrustedMaterial
	rekor := tm != nil && len(tm.RekorLogs()) > 0
	tsa := tm != nil && len(tm.TimestampingAuthorities()) > 0
	if id.RequiresTlog() && !(hasTlog && rekor) {
		if !hasTlog {
			return "carries no transparency-log entry, and the identity requires one (tlog: required)"
		}
		return "carries a transparency-log entry, but the trusted root holds no Rekor log to verify it, and the identity requires one (tlog: required)"
	}
	if id.IsKey() || (hasTlog && rekor) || (hasTSA && tsa) {
		return ""
	}
	switch {
	case !hasTlog && !hasTSA:
		return "a certificate signature is accepted only with a transparency-log entry or an RFC 3161 timestamp, and this one has neither (sign with tlog upload or a timestamp authority)"
	default:
		return "a certificate signature is accepted only with a transparency-log entry or an RFC 3161 timestamp verified against the trusted root, and the trusted root holds no Rekor log or timestamp authority for what this one carries"
	}
}

// transparencyHeld checks, after verification, that what transparencyGap
// demanded was verified: a trusted time for a certificate, a log entry for
// tlog: required.
func transparencyHeld(id policy.Identity, s *signer) string {
	if id.RequiresTlog() && !s.tlog {
		return "its transparency-log entry did not verify, and the identity requires one (tlog: required)"
	}
	if !id.IsKey() && s.trustedTime == nil {
		return "a certificate signature is accepted only with a verified transparency-log entry or RFC 3161 timestamp, and none verified"
	}
	return ""
}

// checkTrigger refuses a certificate issued to a pull_request* workflow unless
// the identity names that trigger.
func checkTrigger(id policy.Identity, ext certificate.Extensions) error {
	trig := ext.GithubWorkflowTrigger
	if trig == "" {
		trig = ext.BuildTrigger
	}
	if policy.IsPullRequestTrigger(trig) && id.Trigger != trig {
		return fmt.Errorf("certificate was issued to a %s workflow run; the policy accepts pull_request triggers only when an identity lists them", trig)
	}
	return nil
}

// verifyLegacy verifies a legacy signature or attestation against the
// identities, returning the first that verifies, or the reasons each failed.
func (v *verifier) verifyLegacy(ctx context.Context, c candidate, h v1.Hash, ids []policy.Identity) (*signer, []string, error) {
	rfc, err := c.sig.RFC3161Timestamp()
	if err != nil {
		return nil, []string{"unreadable RFC 3161 timestamp annotation: " + err.Error()}, nil
	}
	bndl, err := c.sig.Bundle()
	if err != nil {
		return nil, []string{"unreadable transparency-log bundle annotation: " + err.Error()}, nil
	}
	payload, err := c.sig.Payload()
	if err != nil {
		return nil, nil, infra("reading "+c.location, err)
	}
	var reasons []string
	for _, id := range ids {
		co, err := v.checkOpts(ctx, id, bndl != nil, rfc != nil)
		if err != nil {
			return nil, nil, err
		}
		if why := v.transparencyGap(id, bndl != nil, rfc != nil); why != "" {
			reasons = append(reasons, id.String()+": "+why)
			continue
		}
		err = unpanicked(func() error {
			if c.kind == KindSignature {
				co.ClaimVerifier = cosign.SimpleClaimVerifier
				_, err := cosign.VerifyImageSignature(ctx, c.sig, h, co)
				return err
			}
			_, err := cosign.VerifyBlobAttestation(ctx, c.sig, h, co)
			return err
		})
		if err != nil {
			reasons = append(reasons, id.String()+": "+oneLine(err))
			continue
		}
		cert, _ := c.sig.Cert()
		if cert != nil {
			ext, err := certificate.ParseExtensions(cert.Extensions)
			if err != nil {
				reasons = append(reasons, id.String()+": certificate extensions: "+oneLine(err))
				continue
			}
			if err := checkTrigger(id, ext); err != nil {
				reasons = append(reasons, id.String()+": "+err.Error())
				continue
			}
		}
		s := &signer{identity: id, payload: payload}
		if co.UseSignedTimestamps {
			var at *time.Time
			_ = unpanicked(func() error {
				ts, err := cosign.VerifyRFC3161Timestamp(c.sig, co)
				if err == nil && ts != nil {
					t := ts.Time
					at = &t
				}
				return err
			})
			if at != nil {
				s.trustedTime, s.timeSource = at, "RFC 3161 timestamp"
			}
		}
		if !co.IgnoreTlog && bndl != nil {
			// Offline: cosign verified the entry's SET against the trusted root.
			s.tlog = true
			t := time.Unix(bndl.Payload.IntegratedTime, 0).UTC()
			if s.trustedTime == nil || t.Before(*s.trustedTime) {
				s.trustedTime, s.timeSource = &t, "transparency log"
			}
		}
		if why := transparencyHeld(id, s); why != "" {
			reasons = append(reasons, id.String()+": "+why)
			continue
		}
		return s, nil, nil
	}
	return nil, reasons, nil
}

// verifyBundle verifies a Sigstore bundle against the identities. The artifact
// digest is checked later from the statement, so that a statement about another
// digest is reported as such.
func (v *verifier) verifyBundle(ctx context.Context, c candidate, ids []policy.Identity) (*signer, []string, error) {
	env := c.bundle.GetDsseEnvelope()
	if env == nil {
		return nil, []string{"bundle holds a message signature, not a DSSE envelope (cosign signs images with a DSSE statement)"}, nil
	}
	vc, err := c.bundle.VerificationContent()
	if err != nil {
		return nil, []string{"bundle verification material: " + oneLine(err)}, nil
	}
	hasTlog := len(c.bundle.GetVerificationMaterial().GetTlogEntries()) > 0
	ts, _ := c.bundle.Timestamps()
	hasTSA := len(ts) > 0
	var reasons []string
	for _, id := range ids {
		if id.IsKey() != (vc.PublicKey() != nil) {
			if id.IsKey() {
				reasons = append(reasons, id.String()+": bundle is signed with a certificate, not a key")
			} else {
				reasons = append(reasons, id.String()+": bundle is signed with a key, not a certificate")
			}
			continue
		}
		co, err := v.checkOpts(ctx, id, hasTlog, hasTSA)
		if err != nil {
			return nil, nil, err
		}
		if why := v.transparencyGap(id, hasTlog, hasTSA); why != "" {
			reasons = append(reasons, id.String()+": "+why)
			continue
		}
		if co.TrustedMaterial == nil {
			co.TrustedMaterial = &root.BaseTrustedMaterial{}
		}
		var res *sgverify.VerificationResult
		err = unpanicked(func() (err error) {
			res, err = cosign.VerifyNewBundle(ctx, co, sgverify.WithoutArtifactUnsafe(), c.bundle)
			return err
		})
		if err != nil {
			reasons = append(reasons, id.String()+": "+oneLine(err))
			continue
		}
		if res.Signature != nil && res.Signature.Certificate != nil {
			if err := checkTrigger(id, res.Signature.Certificate.Extensions); err != nil {
				reasons = append(reasons, id.String()+": "+err.Error())
				continue
			}
		}
		// With the log not ignored, cosign required a verified entry.
		s := &signer{identity: id, payload: env.Payload, statementPayload: env.Payload, tlog: !co.IgnoreTlog}
		for _, vt := range res.VerifiedTimestamps {
			// Only a log's integrated time and a TSA's timestamp are trusted
			// times; "CurrentTime" is the verifier's clock, not evidence.
			var src string
			switch vt.Type {
			case "Tlog":
				src = "transparency log"
			case "TimestampAuthority":
				src = "RFC 3161 timestamp"
			default:
				continue
			}
			t := vt.Timestamp.UTC()
			if s.trustedTime == nil || t.Before(*s.trustedTime) {
				s.trustedTime, s.timeSource = &t, src
			}
		}
		if why := transparencyHeld(id, s); why != "" {
			reasons = append(reasons, id.String()+": "+why)
			continue
		}
		return s, nil, nil
	}
	return nil, reasons, nil
}

// unpanicked runs a cosign verification of untrusted input and turns a panic
// into an error: cosign v2.6.5 indexes an empty list when an RFC 3161 timestamp
// verifies against none of the trusted root's authorities, so a bogus timestamp
// annotation would otherwise crash the gate.
func unpanicked(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cosign failed on it (%v): treated as not verified", r)
		}
	}()
	return f()
}

// maxLine bounds an error message or a tool's output quoted in a reason.
const maxLine = 300

// oneLine keeps an error message to one bounded line for tables, with cosign's
// most common wording made plain.
func oneLine(err error) string {
	s := textclip.Fold(err.Error())
	if strings.Contains(s, "accepted signatures do not match threshold") || strings.Contains(s, "invalid signature when validating ASN.1 encoded signature") {
		return "the signature does not verify with this key or certificate"
	}
	return textclip.Clip(s, maxLine)
}

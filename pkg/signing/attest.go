package signing

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// MaxPredicates bounds the predicates one Attest call takes.
const MaxPredicates = 64

// Predicate is one claim to attest.
type Predicate struct {
	// Type is a short name from the pkg/attestation registry ("cyclonedx",
	// "vuln", …) or a registered predicate type URI.
	Type string
	// Data is the predicate's JSON (one object).
	Data []byte
	// Source names where Data came from (a path), for error messages.
	Source string
}

// Attestation is one attestation pushed by Attest.
type Attestation struct {
	// Type is the predicate type URI.
	Type string `json:"type"`
	// Digest is the sha256 of the DSSE envelope (its JSON as written in the
	// legacy .att layer).
	Digest string `json:"digest"`
	// Legacy is the .att tag it was written under (legacy format).
	Legacy string `json:"legacy,omitempty"`
	// Bundle is the digest of its Sigstore bundle, pushed as a referrer.
	Bundle string `json:"bundle,omitempty"`
	// Tlog are its transparency-log entries (bundle format).
	Tlog []TlogEntry `json:"tlog,omitempty"`
}

// AttestResult is what Attest did.
type AttestResult struct {
	// Ref is the attested image.
	Ref oci.Ref `json:"-"`
	// Identity is who signed.
	Identity Identity `json:"identity"`
	// Attestations are those that landed, in the order of the predicates given;
	// Legacy and Bundle are set only for the forms that landed (after a partial
	// push, an attestation may have one and not the other).
	Attestations []Attestation `json:"attestations"`
}

// Statement validates p against its type and returns the in-toto statement
// about ref that Attest signs for it (JSON), and the predicate type URI.
func Statement(ref oci.Ref, p Predicate) ([]byte, string, error) {
	src := p.Source
	if src == "" {
		src = "predicate"
	}
	uri, err := attestation.ResolveType(p.Type)
	if err != nil {
		return nil, "", errkind.Input(fmt.Errorf("%s: predicate type: %w", src, err))
	}
	if err := attestation.ValidatePredicate(uri, p.Data, attestation.Options{}); err != nil {
		return nil, "", errkind.Input(fmt.Errorf("%s is not a valid %s predicate: %w", src, p.Type, err))
	}
	subject := attestation.Subject{Name: ref.Repository, Digest: map[string]string{"sha256": strings.TrimPrefix(ref.Digest, "sha256:")}}
	st, err := attestation.NewStatement([]attestation.Subject{subject}, uri, json.RawMessage(p.Data))
	if err != nil {
		return nil, "", errkind.Input(fmt.Errorf("%s: building the statement: %w", src, err))
	}
	b, err := st.Marshal()
	if err != nil {
		return nil, "", errkind.Input(fmt.Errorf("%s: %w", src, err))
	}
	if len(b) > attestation.MaxSignableStatementBytes {
		// Its envelope (base64, 4/3 larger) would be over what
		// verify-and-deploy reads: the attestation would be signed and pushed,
		// then left unread at deploy.
		return nil, "", errkind.Input(fmt.Errorf("%s: the %s statement is %d bytes, over the %d-byte limit: its signed envelope would exceed the %d bytes verify-and-deploy reads; reduce the predicate (fewer or smaller entries) or split it",
			src, p.Type, len(b), attestation.MaxSignableStatementBytes, attestation.DefaultMaxEnvelopeBytes))
	}
	return b, uri, nil
}

// ValidatePredicates checks every predicate against its type, as Attest does
// before signing anything, and returns all the problems joined.
func ValidatePredicates(ref oci.Ref, preds []Predicate) error {
	_, err := statements(ref, preds)
	return err
}

// stmt is a validated statement and its predicate type URI.
type stmt struct {
	payload []byte
	uri     string
}

// statements validates every predicate and builds its statement, in one pass;
// the error joins every problem.
func statements(ref oci.Ref, preds []Predicate) ([]stmt, error) {
	if len(preds) == 0 {
		return nil, errkind.Input(errors.New("no predicates to attest"))
	}
	if len(preds) > MaxPredicates {
		return nil, errkind.Input(fmt.Errorf("%d predicates: at most %d in one call", len(preds), MaxPredicates))
	}
	out := make([]stmt, len(preds))
	var errs []error
	for i, p := range preds {
		b, uri, err := Statement(ref, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[i] = stmt{b, uri}
	}
	if len(errs) > 0 {
		return nil, errkind.Input(errors.Join(errs...))
	}
	return out, nil
}

// Attest validates every predicate, signs one in-toto statement per predicate
// about ref, and pushes them all: nothing is pushed unless every predicate is
// valid and every signature was made. The legacy attestations are written in one
// manifest (they land together or not at all); each bundle is its own referrer.
// A push failing after something landed returns the result so far and a
// *PartialError.
func Attest(ctx context.Context, ref oci.Ref, preds []Predicate, opts Options) (*AttestResult, error) {
	d, err := ref.Name()
	if err != nil {
		return nil, err
	}
	stmts, err := statements(ref, preds)
	if err != nil {
		return nil, err
	}
	s, err := newSession(ctx, opts)
	if err != nil {
		return nil, err
	}
	res := &AttestResult{Ref: ref, Identity: s.identity}
	ro := s.remoteOptions(ctx, d.Repository)
	atts := make([]Attestation, len(stmts))
	bundles := make([][]byte, len(stmts))
	se := ociremote.SignedUnknown(d, ro...)
	attTag, err := ociremote.AttestationTag(d)
	if err != nil {
		return nil, errkind.Input(err)
	}
	for i, st := range stmts {
		b, err := s.bundle(ctx, &sign.DSSEData{Data: st.payload, PayloadType: attestation.PayloadTypeInToto})
		if err != nil {
			return nil, fmt.Errorf("signing the %s attestation: %w", st.uri, err)
		}
		env := b.GetDsseEnvelope()
		if env == nil || len(env.GetSignatures()) == 0 {
			return nil, errkind.Infra(fmt.Errorf("signing the %s attestation: no DSSE signature in the bundle", st.uri))
		}
		envJSON, err := json.Marshal(attestation.Envelope{
			PayloadType: env.GetPayloadType(),
			Payload:     base64.StdEncoding.EncodeToString(env.GetPayload()),
			Signatures:  []attestation.Signature{{KeyID: "", Sig: base64.StdEncoding.EncodeToString(env.GetSignatures()[0].GetSig())}},
		})
		if err != nil {
			return nil, errkind.Infra(err)
		}
		atts[i] = Attestation{Type: st.uri, Digest: digestOf(envJSON)}
		if opts.format().bundle() {
			if bundles[i], err = protojson.Marshal(b); err != nil {
				return nil, errkind.Infra(err)
			}
			atts[i].Bundle = digestOf(bundles[i])
			atts[i].Tlog = tlogEntries(b)
		}
		if opts.format().legacy() {
			sopts := []static.Option{
				static.WithLayerMediaType(ctypes.DssePayloadType),
				static.WithAnnotations(map[string]string{"predicateType": st.uri}),
			}
			if s.certDER != nil {
				sopts = append(sopts, static.WithCertChain([]byte(s.identity.Certificate), nil))
			}
			// cosign's legacy attestations timestamp the whole envelope.
			ts, err := s.timestamp(ctx, envJSON)
			if err != nil {
				return nil, err
			}
			if ts != nil {
				sopts = append(sopts, static.WithRFC3161Timestamp(ts))
			}
			att, err := static.NewAttestation(envJSON, sopts...)
			if err != nil {
				return nil, errkind.Infra(err)
			}
			if se, err = mutate.AttachAttestationToEntity(se, att); err != nil {
				return nil, errkind.Infra(fmt.Errorf("attaching the %s attestation: %w", st.uri, err))
			}
			atts[i].Legacy = attTag.String()
		}
	}

	// What landed, per attestation and form: the result lists exactly that.
	legacyLanded := false
	bundleLanded := make([]bool, len(atts))
	collect := func() {
		res.Attestations = nil
		for i, a := range atts {
			got := Attestation{Type: a.Type, Digest: a.Digest}
			if legacyLanded {
				got.Legacy = a.Legacy
			}
			if bundleLanded[i] {
				got.Bundle, got.Tlog = a.Bundle, a.Tlog
			}
			if got.Legacy != "" || got.Bundle != "" {
				res.Attestations = append(res.Attestations, got)
			}
		}
	}
	var items []pending
	if opts.format().legacy() {
		items = append(items, pending{
			desc: fmt.Sprintf("legacy attestations (%s) at %s", typesList(atts), attTag),
			push: func() error {
				if err := ociremote.WriteAttestations(d.Repository, se, ro...); err != nil {
					return oci.Classify("pushing the attestations of "+ref.String()+" to the registry", err)
				}
				return nil
			},
			done: func() { legacyLanded = true },
		})
	}
	if opts.format().bundle() {
		for i := range atts {
			items = append(items, pending{
				desc: "bundle of the " + atts[i].Type + " attestation",
				push: func() error {
					if err := ociremote.WriteAttestationNewBundleFormat(d, bundles[i], atts[i].Type, ro...); err != nil {
						return oci.Classify("pushing the "+atts[i].Type+" attestation bundle of "+ref.String()+" to the registry", err)
					}
					return nil
				},
				done: func() { bundleLanded[i] = true },
			})
		}
	}
	err = pushAll(items)
	collect()
	if err != nil {
		return res, err
	}
	return res, nil
}

func typesList(atts []Attestation) string {
	l := make([]string, len(atts))
	for i, a := range atts {
		l[i] = a.Type
	}
	return strings.Join(l, ", ")
}

package signing

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	coci "github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
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
	p := &attestPush{ref: ref, d: d, ro: s.remoteOptions(ctx, d.Repository),
		atts: make([]Attestation, len(stmts)), bundles: make([][]byte, len(stmts)), bundleLanded: make([]bool, len(stmts))}
	p.se = ociremote.SignedUnknown(d, p.ro...)
	if p.attTag, err = ociremote.AttestationTag(d); err != nil {
		return nil, errkind.Input(err)
	}
	for i, st := range stmts {
		b, envJSON, err := s.envelope(ctx, st)
		if err != nil {
			return nil, err
		}
		p.atts[i] = Attestation{Type: st.uri, Digest: digestOf(envJSON)}
		if opts.format().bundle() {
			if p.bundles[i], err = protojson.Marshal(b); err != nil {
				return nil, errkind.Infra(err)
			}
			p.atts[i].Bundle = digestOf(p.bundles[i])
			p.atts[i].Tlog = tlogEntries(b)
		}
		if opts.format().legacy() {
			att, err := s.legacyAttestation(ctx, st.uri, envJSON)
			if err != nil {
				return nil, err
			}
			if p.se, err = mutate.AttachAttestationToEntity(p.se, att); err != nil {
				return nil, errkind.Infra(fmt.Errorf("attaching the %s attestation: %w", st.uri, err))
			}
			p.atts[i].Legacy = p.attTag.String()
		}
	}
	err = pushAll(p.items(opts.format()))
	// What landed, per attestation and form: the result lists exactly that.
	res.Attestations = p.landed()
	if err != nil {
		return res, err
	}
	return res, nil
}

// envelope signs the statement into a bundle and returns it with its DSSE
// envelope's JSON (the form of cosign's legacy attestations).
func (s *session) envelope(ctx context.Context, st stmt) (*protobundle.Bundle, []byte, error) {
	b, err := s.bundle(ctx, &sign.DSSEData{Data: st.payload, PayloadType: attestation.PayloadTypeInToto})
	if err != nil {
		return nil, nil, fmt.Errorf("signing the %s attestation: %w", st.uri, err)
	}
	env := b.GetDsseEnvelope()
	if env == nil || len(env.GetSignatures()) == 0 {
		return nil, nil, errkind.Infra(fmt.Errorf("signing the %s attestation: no DSSE signature in the bundle", st.uri))
	}
	envJSON, err := json.Marshal(attestation.Envelope{
		PayloadType: env.GetPayloadType(),
		Payload:     base64.StdEncoding.EncodeToString(env.GetPayload()),
		Signatures:  []attestation.Signature{{KeyID: "", Sig: base64.StdEncoding.EncodeToString(env.GetSignatures()[0].GetSig())}},
	})
	if err != nil {
		return nil, nil, errkind.Infra(err)
	}
	return b, envJSON, nil
}

// legacyAttestation makes cosign's legacy attestation of the envelope
// envJSON of a predicate of type uri.
func (s *session) legacyAttestation(ctx context.Context, uri string, envJSON []byte) (coci.Signature, error) {
	sopts := []static.Option{
		static.WithLayerMediaType(ctypes.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": uri}),
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
	return att, nil
}

// attestPush is what Attest pushes (the legacy attestations attached to se,
// each attestation's bundle) and what of it landed.
type attestPush struct {
	ref     oci.Ref
	d       name.Digest
	ro      []ociremote.Option
	se      coci.SignedEntity
	attTag  name.Tag
	atts    []Attestation
	bundles [][]byte

	legacyLanded bool
	bundleLanded []bool
}

// items are the pushes in order: the legacy attestations (one push), then
// each bundle, as format f says.
func (p *attestPush) items(f Format) []pending {
	var items []pending
	if f.legacy() {
		items = append(items, pending{
			desc: fmt.Sprintf("legacy attestations (%s) at %s", typesList(p.atts), p.attTag),
			push: func() error {
				if err := ociremote.WriteAttestations(p.d.Repository, p.se, p.ro...); err != nil {
					return oci.Classify("pushing the attestations of "+p.ref.String()+" to the registry", err)
				}
				return nil
			},
			done: func() { p.legacyLanded = true },
		})
	}
	if f.bundle() {
		for i := range p.atts {
			items = append(items, pending{
				desc: "bundle of the " + p.atts[i].Type + " attestation",
				push: func() error {
					if err := ociremote.WriteAttestationNewBundleFormat(p.d, p.bundles[i], p.atts[i].Type, p.ro...); err != nil {
						return oci.Classify("pushing the "+p.atts[i].Type+" attestation bundle of "+p.ref.String()+" to the registry", err)
					}
					return nil
				},
				done: func() { p.bundleLanded[i] = true },
			})
		}
	}
	return items
}

// landed lists each attestation with the forms of it that landed (none when
// no form did).
func (p *attestPush) landed() []Attestation {
	var out []Attestation
	for i, a := range p.atts {
		got := Attestation{Type: a.Type, Digest: a.Digest}
		if p.legacyLanded {
			got.Legacy = a.Legacy
		}
		if p.bundleLanded[i] {
			got.Bundle, got.Tlog = a.Bundle, a.Tlog
		}
		if got.Legacy != "" || got.Bundle != "" {
			out = append(out, got)
		}
	}
	return out
}

func typesList(atts []Attestation) string {
	l := make([]string, len(atts))
	for i, a := range atts {
		l[i] = a.Type
	}
	return strings.Join(l, ", ")
}

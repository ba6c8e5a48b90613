package signing

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// MaxIndexManifests bounds the platform images Recursive signs.
const MaxIndexManifests = 256

// TlogEntry is one transparency-log entry of a signature.
type TlogEntry struct {
	// Kind is the entry type and version, e.g. "hashedrekord 0.0.2".
	Kind string `json:"kind"`
	// LogIndex is the entry's index in the log.
	LogIndex int64 `json:"logIndex"`
	// LogID is the hex key id of the log.
	LogID string `json:"logId"`
	// IntegratedTime is the Unix time the log recorded (Rekor v1; 0 for v2).
	IntegratedTime int64 `json:"integratedTime,omitempty"`
}

// String is "kind #index (log id prefix)".
func (e TlogEntry) String() string {
	id := e.LogID
	if len(id) > 12 {
		id = id[:12]
	}
	return fmt.Sprintf("%s #%d (log %s)", e.Kind, e.LogIndex, id)
}

// Signature is one signature pushed by Sign.
type Signature struct {
	// Image is the signed reference, repo@sha256:….
	Image string `json:"image"`
	// Format is FormatLegacy or FormatBundle.
	Format Format `json:"format"`
	// Reference is where it was written: the .sig tag, or the bundle's digest
	// for a referrer.
	Reference string `json:"reference"`
	// Tlog are the transparency-log entries (bundle format).
	Tlog []TlogEntry `json:"tlog,omitempty"`
	// Timestamped is true when an RFC 3161 timestamp is attached.
	Timestamped bool `json:"timestamped"`
}

// SignResult is what Sign did.
type SignResult struct {
	// Ref is the image named on input.
	Ref oci.Ref `json:"-"`
	// Identity is who signed.
	Identity Identity `json:"identity"`
	// Signatures are those that landed in the registry, in push order.
	Signatures []Signature `json:"signatures"`
}

// PartialError reports a push that failed after something had already landed.
// Err is the failure (its errkind is kept); Pushed and NotPushed describe exactly
// what is and is not in the registry.
type PartialError struct {
	Pushed    []string
	NotPushed []string
	Err       error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("%v; pushed: %s; NOT pushed: %s", e.Err, listOrNone(e.Pushed), listOrNone(e.NotPushed))
}

// Unwrap returns the underlying failure.
func (e *PartialError) Unwrap() error { return e.Err }

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "nothing"
	}
	return strings.Join(l, ", ")
}

// pending is a signed item waiting to be pushed.
type pending struct {
	desc string
	push func() error
	done func()
}

// pushAll runs the pushes in order; a failure after the first success is a
// *PartialError listing what landed and what did not.
func pushAll(items []pending) error {
	for i, it := range items {
		if err := it.push(); err != nil {
			if i == 0 {
				return err
			}
			pe := &PartialError{Err: err}
			for _, p := range items[:i] {
				pe.Pushed = append(pe.Pushed, p.desc)
			}
			for _, p := range items[i:] {
				pe.NotPushed = append(pe.NotPushed, p.desc)
			}
			return pe
		}
		if it.done != nil {
			it.done()
		}
	}
	return nil
}

// Sign signs ref (and with Options.Recursive every platform manifest of an
// index) in the formats opts.Format names. Everything is signed before anything
// is pushed. On a failed push the result holds what landed and the error is a
// *PartialError when something did.
func Sign(ctx context.Context, ref oci.Ref, opts Options) (*SignResult, error) {
	if _, err := ref.Name(); err != nil {
		return nil, err
	}
	if err := CheckAnnotations(opts.format(), opts.Annotations); err != nil {
		return nil, err
	}
	targets := []oci.Ref{ref}
	if opts.Recursive {
		children, err := platformManifests(ctx, ref, opts.Registry)
		if err != nil {
			return nil, err
		}
		targets = append(targets, children...)
	}
	s, err := newSession(ctx, opts)
	if err != nil {
		return nil, err
	}
	res := &SignResult{Ref: ref, Identity: s.identity}
	var items []pending
	for _, t := range targets {
		d, err := t.Name()
		if err != nil {
			return nil, err
		}
		ro := s.remoteOptions(ctx, d.Repository)
		if opts.format().legacy() {
			sig, ociSig, err := s.legacySignature(ctx, d)
			if err != nil {
				return nil, err
			}
			items = append(items, res.pending("legacy signature of "+t.String(), sig, func() error { return pushLegacy(t, d, ociSig, ro) }))
		}
		if opts.format().bundle() {
			sig, bundleJSON, err := s.bundleSignature(ctx, d)
			if err != nil {
				return nil, err
			}
			items = append(items, res.pending("bundle signature of "+t.String(), sig, func() error { return pushBundle(t, d, bundleJSON, ro) }))
		}
	}
	if err := pushAll(items); err != nil {
		return res, err
	}
	return res, nil
}

// pending is sig waiting to be pushed by push, added to r once it is.
func (r *SignResult) pending(desc string, sig Signature, push func() error) pending {
	return pending{desc: desc, push: push, done: func() { r.Signatures = append(r.Signatures, sig) }}
}

// pushLegacy attaches sig to the signatures of t (digest d) in the registry.
func pushLegacy(t oci.Ref, d name.Digest, sig coci.Signature, ro []ociremote.Option) error {
	newSE, err := mutate.AttachSignatureToEntity(ociremote.SignedUnknown(d, ro...), sig)
	if err != nil {
		return errkind.Infra(fmt.Errorf("attaching the signature to %s: %w", t, err))
	}
	if err := ociremote.WriteSignatures(d.Repository, newSE, ro...); err != nil {
		return oci.Classify("pushing the signature of "+t.String()+" to the registry", err)
	}
	return nil
}

// pushBundle writes the signature bundle of t (digest d) as a referrer of it.
func pushBundle(t oci.Ref, d name.Digest, bundleJSON []byte, ro []ociremote.Option) error {
	if err := ociremote.WriteAttestationNewBundleFormat(d, bundleJSON, ctypes.CosignSignPredicateType, ro...); err != nil {
		return oci.Classify("pushing the signature bundle of "+t.String()+" to the registry", err)
	}
	return nil
}

// legacySignature makes cosign's simple-signing signature of d.
func (s *session) legacySignature(ctx context.Context, d name.Digest) (Signature, coci.Signature, error) {
	payload, err := (&sigpayload.Cosign{Image: d, Annotations: annotationsAny(s.opts.Annotations)}).MarshalJSON()
	if err != nil {
		return Signature{}, nil, errkind.Input(fmt.Errorf("building the signature payload: %w", err))
	}
	raw, _, err := s.kp.SignData(ctx, payload)
	if err != nil {
		return Signature{}, nil, classifyService("signing "+d.String(), err)
	}
	var sopts []static.Option
	if s.certDER != nil {
		sopts = append(sopts, static.WithCertChain([]byte(s.identity.Certificate), nil))
	}
	ts, err := s.timestamp(ctx, raw)
	if err != nil {
		return Signature{}, nil, err
	}
	if ts != nil {
		sopts = append(sopts, static.WithRFC3161Timestamp(ts))
	}
	ociSig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(raw), sopts...)
	if err != nil {
		return Signature{}, nil, errkind.Infra(err)
	}
	tag, err := ociremote.SignatureTag(d)
	if err != nil {
		return Signature{}, nil, errkind.Input(err)
	}
	return Signature{Image: d.String(), Format: FormatLegacy, Reference: tag.String(), Timestamped: ts != nil}, ociSig, nil
}

// bundleSignature makes the bundle cosign v3 writes for `sign`: a DSSE envelope
// of an in-toto statement with predicate type https://sigstore.dev/cosign/sign/v1.
func (s *session) bundleSignature(ctx context.Context, d name.Digest) (Signature, []byte, error) {
	hexDigest := strings.TrimPrefix(d.DigestStr(), "sha256:")
	stmt := map[string]any{
		"_type":         attestation.StatementTypeV1,
		"subject":       []map[string]any{{"name": d.Context().Name(), "digest": map[string]string{"sha256": hexDigest}}},
		"predicateType": ctypes.CosignSignPredicateType,
		"predicate":     map[string]any{},
	}
	payload, err := json.Marshal(stmt)
	if err != nil {
		return Signature{}, nil, errkind.Input(err)
	}
	b, err := s.bundle(ctx, &sign.DSSEData{Data: payload, PayloadType: attestation.PayloadTypeInToto})
	if err != nil {
		return Signature{}, nil, err
	}
	bj, err := protojson.Marshal(b)
	if err != nil {
		return Signature{}, nil, errkind.Infra(err)
	}
	return Signature{
		Image: d.String(), Format: FormatBundle, Reference: "referrer bundle " + digestOf(bj),
		Tlog: tlogEntries(b), Timestamped: len(b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()) > 0,
	}, bj, nil
}

func tlogEntries(b *protobundle.Bundle) []TlogEntry {
	var out []TlogEntry
	for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
		out = append(out, TlogEntry{
			Kind:           strings.TrimSpace(e.GetKindVersion().GetKind() + " " + e.GetKindVersion().GetVersion()),
			LogIndex:       e.GetLogIndex(),
			LogID:          hex.EncodeToString(e.GetLogId().GetKeyId()),
			IntegratedTime: e.GetIntegratedTime(),
		})
	}
	return out
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func annotationsAny(m map[string]string) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// platformManifests lists the manifests of an index (none for an image).
func platformManifests(ctx context.Context, ref oci.Ref, o oci.Options) ([]oci.Ref, error) {
	desc, err := oci.Descriptor(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return nil, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, oci.Classify("reading the index "+ref.String(), err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, oci.Classify("reading the index "+ref.String(), err)
	}
	if len(im.Manifests) > MaxIndexManifests {
		return nil, errkind.Input(fmt.Errorf("index %s lists %d manifests, more than the %d recursive signing accepts", ref, len(im.Manifests), MaxIndexManifests))
	}
	var out []oci.Ref
	for _, m := range im.Manifests {
		if m.Digest.Algorithm != "sha256" {
			return nil, errkind.Input(fmt.Errorf("index %s lists a %s digest; only sha256 is signed", ref, m.Digest.Algorithm))
		}
		out = append(out, oci.Ref{Repository: ref.Repository, Digest: m.Digest.String()})
	}
	return out, nil
}

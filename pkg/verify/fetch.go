package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
)

// Kinds and formats of what is attached to an image.
const (
	KindSignature   = "signature"
	KindAttestation = "attestation"
	KindException   = "exception"

	FormatLegacy = "legacy"
	FormatBundle = "bundle"
)

// bundleMediaTypePrefix starts the media type of a Sigstore bundle layer.
const bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// candidate is one signature or attestation found next to the image, not yet
// verified.
type candidate struct {
	kind     string // KindSignature or KindAttestation (legacy); "" for bundles until opened
	format   string
	location string
	sig      oci.Signature    // legacy
	bundle   *sgbundle.Bundle // bundle format
}

// fetched is everything attached to a digest, within the caps.
type fetched struct {
	candidates []candidate
	// overCap lists what was left unread because of the caps, or malformed.
	overCap []Ignored
	// unread lists what was left unread because of a size or count cap: it
	// may be the newest evidence, so it blocks what it could belong to.
	unread []Ignored
}

// capped records ig as left unread because of a cap.
func (f *fetched) capped(ig Ignored) {
	f.overCap = append(f.overCap, ig)
	f.unread = append(f.unread, ig)
}

func (v *verifier) fetch(ctx context.Context, d name.Digest) (*fetched, error) {
	out := &fetched{}
	if err := v.fetchLegacy(ctx, d, KindSignature, out); err != nil {
		return nil, err
	}
	if err := v.fetchLegacy(ctx, d, KindAttestation, out); err != nil {
		return nil, err
	}
	if err := v.fetchBundles(ctx, d, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (v *verifier) ociOpts(ctx context.Context) []ociremote.Option {
	return []ociremote.Option{ociremote.WithRemoteOptions(v.opts.Registry.RemoteOptions(ctx)...)}
}

// notFound reports a registry 404 (nothing attached), as opposed to a failure.
func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

func infra(doing string, err error) error {
	if e := netretry.Explain(doing, err); e != nil {
		return errkind.Infra(e)
	}
	return errkind.Infra(fmt.Errorf("%s: %w", doing, err))
}

func (v *verifier) fetchLegacy(ctx context.Context, d name.Digest, kind string, out *fetched) error {
	var (
		tag name.Tag
		err error
	)
	if kind == KindSignature {
		tag, err = ociremote.SignatureTag(d, v.ociOpts(ctx)...)
	} else {
		tag, err = ociremote.AttestationTag(d, v.ociOpts(ctx)...)
	}
	if err != nil {
		return infra("naming the "+kind+" tag of "+d.String(), err)
	}
	sigs, err := ociremote.Signatures(tag, v.ociOpts(ctx)...)
	if err != nil {
		if notFound(err) {
			return nil
		}
		return infra("reading "+kind+"s from "+tag.String(), err)
	}
	m, err := sigs.Manifest()
	if err != nil {
		if notFound(err) {
			return nil
		}
		return infra("reading the "+kind+" manifest "+tag.String(), err)
	}
	if m == nil || len(m.Layers) == 0 {
		return nil
	}
	limit := v.opts.MaxSignatures
	if kind == KindAttestation {
		limit = v.opts.MaxAttestations
	}
	keep := make(map[v1.Hash]bool, len(m.Layers))
	for i, l := range m.Layers {
		loc := tag.String() + " layer " + l.Digest.String()
		switch {
		case i < len(m.Layers)-limit:
			// cosign appends: over the cap, the most recently attached are read,
			// so that the newest evidence is not the part left unread.
			out.capped(Ignored{Kind: kind, Format: FormatLegacy, Location: loc,
				Reason: fmt.Sprintf("not read: more than %d %ss are attached (cap): the %d attached last are read", limit, kind, limit)})
		case l.Size > v.opts.MaxEnvelopeBytes || l.Size < 0:
			out.capped(Ignored{Kind: kind, Format: FormatLegacy, Location: loc,
				Reason: fmt.Sprintf("not read: %d bytes, over the %d-byte cap", l.Size, v.opts.MaxEnvelopeBytes)})
		default:
			keep[l.Digest] = true
		}
	}
	list, err := sigs.Get()
	if err != nil {
		return infra("reading "+kind+"s from "+tag.String(), err)
	}
	for _, s := range list {
		h, err := s.Digest()
		if err != nil || !keep[h] {
			continue
		}
		out.candidates = append(out.candidates, candidate{kind: kind, format: FormatLegacy,
			location: tag.String() + " layer " + h.String(), sig: s})
	}
	return nil
}

func (v *verifier) fetchBundles(ctx context.Context, d name.Digest, out *fetched) error {
	idx, err := remote.Referrers(d, v.opts.Registry.RemoteOptions(ctx)...)
	if err != nil {
		if notFound(err) {
			return nil
		}
		return infra("listing the referrers of "+d.String(), err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return infra("reading the referrers of "+d.String(), err)
	}
	n := 0
	for _, desc := range im.Manifests {
		if !strings.HasPrefix(desc.ArtifactType, bundleMediaTypePrefix) {
			continue // not a Sigstore bundle (an SBOM attached as an artifact, say)
		}
		loc := d.Repository.String() + "@" + desc.Digest.String()
		n++
		if n > v.opts.MaxAttestations+v.opts.MaxSignatures {
			out.capped(Ignored{Kind: "bundle", Format: FormatBundle, Location: loc,
				Reason: fmt.Sprintf("not read: more than %d bundles are attached (cap)", v.opts.MaxAttestations+v.opts.MaxSignatures)})
			continue
		}
		b, why, overCap, err := v.readBundle(ctx, d.Repository.Digest(desc.Digest.String()))
		if err != nil {
			return err
		}
		if why != "" {
			ig := Ignored{Kind: "bundle", Format: FormatBundle, Location: loc, Reason: why}
			if overCap {
				out.capped(ig)
			} else {
				out.overCap = append(out.overCap, ig)
			}
			continue
		}
		out.candidates = append(out.candidates, candidate{format: FormatBundle, location: loc, bundle: b})
	}
	return nil
}

// readBundle reads one referrer manifest holding a bundle layer, within the caps.
// A malformed bundle is a reason (it is ignored), overCap when it is not read
// because of the size cap; a registry failure is an error.
func (v *verifier) readBundle(ctx context.Context, ref name.Digest) (_ *sgbundle.Bundle, why string, overCap bool, _ error) {
	img, err := remote.Image(ref, v.opts.Registry.RemoteOptions(ctx)...)
	if err != nil {
		return nil, "", false, infra("reading bundle manifest "+ref.String(), err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, "", false, infra("reading bundle manifest "+ref.String(), err)
	}
	if len(m.Layers) != 1 {
		return nil, fmt.Sprintf("a bundle manifest has exactly one layer, this one %d", len(m.Layers)), false, nil
	}
	l := m.Layers[0]
	if !strings.HasPrefix(string(l.MediaType), bundleMediaTypePrefix) {
		return nil, fmt.Sprintf("layer media type %q is not a Sigstore bundle", l.MediaType), false, nil
	}
	if l.Size > v.opts.MaxEnvelopeBytes || l.Size < 0 {
		return nil, fmt.Sprintf("not read: %d bytes, over the %d-byte cap", l.Size, v.opts.MaxEnvelopeBytes), true, nil
	}
	layer, err := img.LayerByDigest(l.Digest)
	if err != nil {
		return nil, "", false, infra("reading bundle layer "+l.Digest.String(), err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, "", false, infra("reading bundle layer "+l.Digest.String(), err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, v.opts.MaxEnvelopeBytes+1))
	if err != nil {
		return nil, "", false, infra("reading bundle layer "+l.Digest.String(), err)
	}
	if int64(len(data)) > v.opts.MaxEnvelopeBytes {
		return nil, fmt.Sprintf("not read: over the %d-byte cap", v.opts.MaxEnvelopeBytes), true, nil
	}
	b := &sgbundle.Bundle{}
	if err := b.UnmarshalJSON(bytes.TrimSpace(data)); err != nil {
		return nil, "not a valid Sigstore bundle: " + err.Error(), false, nil
	}
	if !b.MinVersion("v0.3") {
		return nil, "bundle version older than v0.3", false, nil
	}
	return b, "", false, nil
}

package signing

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
)

// session holds what one Sign or Attest call signs with: the key (or the
// ephemeral key and its Fulcio certificate) and the Sigstore services.
type session struct {
	opts     Options
	kp       sign.Keypair
	certDER  []byte
	identity Identity
	tsas     []*sign.TimestampAuthority
	tsaURLs  []string
	tlogs    []sign.Transparency
	tlogURLs []string
	// transport carries Fulcio and timestamp requests: netretry's retries and
	// timeouts, bound to the caller's context.
	transport http.RoundTripper
}

// fixedCert hands sign.Bundle the certificate fetched once for the session, so
// every signature of a call shares one Fulcio request.
type fixedCert []byte

func (c fixedCert) GetCertificate(context.Context, sign.Keypair, *sign.CertificateProviderOptions) ([]byte, error) {
	return c, nil
}

func newSession(ctx context.Context, opts Options) (*session, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	s := &session{opts: opts, transport: opts.transport(ctx)}
	fulcioURL, err := s.services()
	if err != nil {
		return nil, err
	}
	if key := opts.signingKey(ctx); key != nil {
		if err := key.Wait(); err != nil {
			return nil, err
		}
		s.kp = key.kp
		s.identity.KMSKey = key.kms
	} else {
		kp, err := sign.NewEphemeralKeypair(nil)
		if err != nil {
			return nil, errkind.Infra(fmt.Errorf("generating an ephemeral key: %w", err))
		}
		s.kp = kp
		f := sign.NewFulcio(&sign.FulcioOptions{BaseURL: fulcioURL, Timeout: opts.timeout(), Transport: s.transport})
		der, err := f.GetCertificate(ctx, kp, &sign.CertificateProviderOptions{IDToken: opts.IDToken})
		if err != nil {
			return nil, classifyService("getting a signing certificate from Fulcio at "+fulcioURL, err)
		}
		s.certDER = der
		sub, iss, err := certIdentity(der)
		if err != nil {
			return nil, errkind.Infra(fmt.Errorf("reading the certificate Fulcio issued: %w", err))
		}
		s.identity.Keyless, s.identity.Subject, s.identity.Issuer = true, sub, iss
		s.identity.Certificate = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	fp, err := fingerprint(s.kp.GetPublicKey())
	if err != nil {
		return nil, errkind.Input(err)
	}
	s.identity.KeyFingerprint = fp
	if s.identity.PublicKey, err = s.kp.GetPublicKeyPem(); err != nil {
		return nil, errkind.Input(err)
	}
	return s, nil
}

// services sets up the timestamp authorities and logs and returns the Fulcio URL.
func (s *session) services() (string, error) {
	o := s.opts
	retries, timeout := o.retries(), o.timeout()
	if sc := o.SigningConfig; sc != nil {
		now := o.now()
		fulcioURL := ""
		if !o.hasKey() {
			svc, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
			if err != nil {
				return "", errkind.Input(fmt.Errorf("signing config: no usable Fulcio: %w", err))
			}
			fulcioURL = svc.URL
		}
		if len(sc.TimestampAuthorityURLs()) > 0 {
			svcs, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now)
			if err != nil {
				return "", errkind.Input(fmt.Errorf("signing config: timestamp authorities: %w", err))
			}
			for _, svc := range svcs {
				s.addTSA(svc.URL, retries, timeout)
			}
		}
		if o.Tlog {
			svcs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), sign.RekorAPIVersions, now)
			if err != nil {
				return "", errkind.Input(fmt.Errorf("signing config: transparency logs: %w", err))
			}
			for _, svc := range svcs {
				s.addRekor(svc.URL, svc.MajorAPIVersion, retries, timeout)
			}
		}
		return fulcioURL, nil
	}
	sv := o.Services
	if sv.TimestampURL != "" {
		s.addTSA(sv.TimestampURL, retries, timeout)
	}
	if o.Tlog {
		u, v := sv.RekorURL, sv.RekorVersion
		if u == "" {
			u = PublicRekorURL
		}
		if v == 0 {
			v = 1
		}
		if v != 1 && v != 2 {
			return "", errkind.Input(fmt.Errorf("Rekor API version %d: expected 1 or 2", v))
		}
		s.addRekor(u, v, retries, timeout)
	}
	if sv.FulcioURL == "" {
		return PublicFulcioURL, nil
	}
	return sv.FulcioURL, nil
}

// addTSA adds a timestamp authority. Its retries are netretry's (s.transport);
// sigstore-go's own loop sends once.
func (s *session) addTSA(url string, _ uint, timeout time.Duration) {
	s.tsas = append(s.tsas, sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: url, Timeout: timeout, Transport: s.transport}))
	s.tsaURLs = append(s.tsaURLs, url)
}

// addRekor adds a transparency log. Rekor's client has its own transport and
// retries (go-retryablehttp, which honours Retry-After); each call is bounded by
// timeout and by the caller's context.
func (s *session) addRekor(url string, version uint32, retries uint, timeout time.Duration) {
	s.tlogs = append(s.tlogs, sign.NewRekor(&sign.RekorOptions{BaseURL: url, Version: version, Retries: retries, Timeout: timeout}))
	s.tlogURLs = append(s.tlogURLs, url)
}

// bundle signs content into a Sigstore bundle, with the session's certificate,
// timestamps and log entries, verified against the trusted root if one is set.
func (s *session) bundle(ctx context.Context, content sign.Content) (*protobundle.Bundle, error) {
	bo := sign.BundleOptions{Context: ctx, TimestampAuthorities: s.tsas, TransparencyLogs: s.tlogs}
	if s.certDER != nil {
		bo.CertificateProvider = fixedCert(s.certDER)
	}
	if s.opts.TrustedRoot != nil && s.certDER != nil {
		bo.TrustedRoot = s.opts.TrustedRoot
	}
	b, err := sign.Bundle(content, s.kp, bo)
	if err != nil {
		return nil, classifyService(s.serviceNames(), err)
	}
	return b, nil
}

// timestamp gets an RFC 3161 timestamp over data from the first authority.
func (s *session) timestamp(ctx context.Context, data []byte) (*bundle.RFC3161Timestamp, error) {
	if len(s.tsas) == 0 {
		return nil, nil
	}
	ts, err := s.tsas[0].GetTimestamp(ctx, data)
	if err != nil {
		return nil, classifyService("getting a timestamp from "+s.tsaURLs[0], err)
	}
	return bundle.TimestampToRFC3161Timestamp(ts), nil
}

func (s *session) serviceNames() string {
	n := "signing"
	if len(s.tsaURLs) > 0 {
		n += fmt.Sprintf(" (timestamp authority %v", s.tsaURLs)
		if len(s.tlogURLs) > 0 {
			n += fmt.Sprintf(", transparency log %v", s.tlogURLs)
		}
		n += ")"
	} else if len(s.tlogURLs) > 0 {
		n += fmt.Sprintf(" (transparency log %v)", s.tlogURLs)
	}
	return n
}

// remoteOptions are cosign's registry options for repo: our transport, retries
// and credentials, and the target repository pinned (cosign would otherwise
// read COSIGN_REPOSITORY from the environment).
func (s *session) remoteOptions(ctx context.Context, repo name.Repository) []ociremote.Option {
	return []ociremote.Option{
		ociremote.WithRemoteOptions(s.opts.Registry.RemoteOptions(ctx)...),
		ociremote.WithTargetRepository(repo),
	}
}

// classifyService marks a Sigstore service failure as infrastructure, unless the
// context was cancelled by the caller or the error is classified already.
func classifyService(doing string, err error) error {
	if errors.Is(err, context.Canceled) || errkind.Of(err) != errkind.KindUnknown {
		// Cancelled by the caller, or already classified (a KMS refusing to sign).
		return fmt.Errorf("%s: %w", doing, err)
	}
	if e := netretry.Explain(doing, err); e != nil {
		return errkind.Infra(e)
	}
	return errkind.Infra(fmt.Errorf("%s: %w", doing, err))
}

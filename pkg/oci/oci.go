// Package oci is how every gate names and reaches images: a reference is resolved
// from a tag to its digest once, and from then on only repo@sha256:… is used.
// Registry access goes through go-containerregistry with credentials from explicit
// options or the docker config.json keychain, and plain HTTP only for loopback
// registries. Every request goes through pkg/netretry: connection-level timeouts,
// bounded retries of 5xx and 429 answers honouring Retry-After, and errors naming
// the registry's host; go-containerregistry's own retries are off, so nothing is
// retried twice. The overall deadline is the caller's context.
//
// Errors are classified with pkg/errkind: a malformed reference, a missing image or
// refused credentials are input errors; an unreachable registry or a 5xx after the
// retries is an infrastructure error — never "not found" and never "not signed".
//
// RegistryInputs are the registry-username and registry-password inputs the
// gates that reach a registry share (embedded in their inputs).
package oci

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
)

// Options configures registry access. The zero value uses the docker config.json
// keychain, the default transport and three retries.
type Options struct {
	// Username and Password, when set, are used instead of the keychain.
	Username, Password string
	// Keychain overrides the default keychain (authn.DefaultKeychain).
	Keychain authn.Keychain
	// Transport is the HTTP transport under the retries (default a
	// netretry.BaseTransport: dial, TLS handshake and response header timeouts).
	Transport http.RoundTripper
	// Retries is the number of retries on 5xx, 408, 429 and network failures
	// (default 3; negative disables retries).
	Retries int
	// Backoff is the first retry delay, doubled each time (default 1s). A
	// Retry-After header asking for longer is honoured (netretry).
	Backoff time.Duration
	// ResponseHeaderTimeout is the longest wait for a registry to start
	// answering one request (default netretry.DefaultResponseHeaderTimeout).
	ResponseHeaderTimeout time.Duration
	// UserAgent is sent to the registry.
	UserAgent string
}

// Ref is an image named by digest.
type Ref struct {
	// Repository is registry/path, without tag or digest.
	Repository string
	// Digest is sha256:<64 hex>.
	Digest string
	// Tag is the tag the reference was resolved from, if any (reporting only: it is
	// never used again).
	Tag string
}

// String returns repo@sha256:….
func (r Ref) String() string { return r.Repository + "@" + r.Digest }

// Name returns the reference as a go-containerregistry digest name.
func (r Ref) Name() (name.Digest, error) {
	d, err := name.NewDigest(r.String(), name.StrictValidation)
	if err != nil {
		return name.Digest{}, errkind.Input(fmt.Errorf("parsing image reference %q: %w", r.String(), err))
	}
	return d, nil
}

// ParseReference parses an image reference (tag or digest). It refuses references
// without an explicit registry-qualified form only where go-containerregistry
// would; Docker Hub short names are accepted.
func ParseReference(ref string) (name.Reference, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, errkind.Input(errors.New("image reference is empty (expected registry/repo:tag or registry/repo@sha256:…)"))
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("parsing image reference %q: %w (expected registry/repo:tag or registry/repo@sha256:…)", ref, err))
	}
	return r, nil
}

// ParseDigestRef parses a reference that must carry a digest (repo@sha256:…). A tag
// is refused.
func ParseDigestRef(ref string) (Ref, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return Ref{}, err
	}
	d, ok := r.(name.Digest)
	if !ok {
		return Ref{}, errkind.Input(fmt.Errorf("image reference %q names a tag; a digest is required (repo@sha256:…)", ref))
	}
	if !strings.HasPrefix(d.DigestStr(), "sha256:") {
		return Ref{}, errkind.Input(fmt.Errorf("image reference %q: only sha256 digests are accepted", ref))
	}
	return Ref{Repository: d.Context().Name(), Digest: d.DigestStr()}, nil
}

// RemoteOptions returns go-containerregistry options for ctx: credentials,
// transport, retries and user agent. cosign, syft and the gates share them.
func (o Options) RemoteOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx)}
	switch {
	case o.Username != "" || o.Password != "":
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: o.Username, Password: o.Password}))
	case o.Keychain != nil:
		opts = append(opts, remote.WithAuthFromKeychain(o.Keychain))
	default:
		opts = append(opts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	opts = append(opts, remote.WithTransport(o.transport()),
		// netretry retries; go-containerregistry's own retry layer (around each
		// request, and around whole uploads) is a pass-through.
		remote.WithRetryBackoff(remote.Backoff{Duration: 0, Factor: 1, Steps: 1}),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes())
	if o.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(o.UserAgent))
	}
	return opts
}

// transport is the netretry transport over o.Transport. The base transport is
// shared between calls (its connection pool), the retry policy is o's.
func (o Options) transport() http.RoundTripper {
	attempts := o.Retries + 1
	switch {
	case o.Retries == 0:
		attempts = 4
	case o.Retries < 0:
		attempts = 1
	}
	base := o.Transport
	if base == nil {
		if o.ResponseHeaderTimeout > 0 {
			base = netretry.BaseTransport(netretry.Options{ResponseHeaderTimeout: o.ResponseHeaderTimeout})
		} else {
			base = defaultBase
		}
	}
	return netretry.New(netretry.Options{Attempts: attempts, Backoff: o.Backoff, Base: base})
}

// defaultBase is the connection pool of every registry call with default options.
var defaultBase = netretry.BaseTransport(netretry.Options{})

// Resolve turns ref into repo@sha256:…. A digest reference is checked to exist; a
// tag is resolved to the digest it points at now, once. Callers use the returned Ref
// from then on and never the tag, so a tag moved later cannot change what they act
// on.
func Resolve(ctx context.Context, ref string, o Options) (Ref, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return Ref{}, err
	}
	desc, err := remote.Head(r, o.RemoteOptions(ctx)...)
	if err != nil {
		// Some registries refuse HEAD on manifests; GET is authoritative.
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusMethodNotAllowed {
			d, gerr := remote.Get(r, o.RemoteOptions(ctx)...)
			if gerr != nil {
				return Ref{}, Classify(fmt.Sprintf("resolving image %s", ref), gerr)
			}
			desc = &d.Descriptor
		} else {
			return Ref{}, Classify(fmt.Sprintf("resolving image %s", ref), err)
		}
	}
	if desc.Digest.Algorithm != "sha256" {
		return Ref{}, errkind.Input(fmt.Errorf("resolving image %s: registry returned a %s digest, only sha256 is accepted", ref, desc.Digest.Algorithm))
	}
	out := Ref{Repository: r.Context().Name(), Digest: desc.Digest.String()}
	if d, ok := r.(name.Digest); ok {
		if d.DigestStr() != out.Digest {
			return Ref{}, errkind.Infra(fmt.Errorf("resolving image %s: registry answered with digest %s", ref, out.Digest))
		}
	} else if t, ok := r.(name.Tag); ok {
		out.Tag = t.TagStr()
	}
	return out, nil
}

// Descriptor fetches the manifest descriptor of a digest reference.
func Descriptor(ctx context.Context, ref Ref, o Options) (*remote.Descriptor, error) {
	d, err := ref.Name()
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(d, o.RemoteOptions(ctx)...)
	if err != nil {
		return nil, Classify("fetching "+ref.String(), err)
	}
	return desc, nil
}

// Classify wraps a registry error with what was being done and its kind: 401, 403
// and 404 are input errors (the reference or the credentials are wrong), anything
// else — network errors, timeouts, 5xx after retries — is an infrastructure error.
// A request that got no answer reads "<doing> from <host>: no answer within …".
func Classify(doing string, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return errkind.Input(fmt.Errorf("%s: the registry refused the credentials (HTTP %d); log in to the registry or set registry-username/registry-password: %w", doing, terr.StatusCode, err))
		case http.StatusNotFound:
			return errkind.Input(fmt.Errorf("%s: not found in the registry: %w", doing, err))
		}
		return errkind.Infra(fmt.Errorf("%s: registry error (HTTP %d): %w", doing, terr.StatusCode, err))
	}
	if e := netretry.Explain(doing, err); e != nil {
		return errkind.Infra(e)
	}
	var nerr net.Error
	if errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) {
		return errkind.Infra(fmt.Errorf("%s: registry unreachable: %w", doing, err))
	}
	return errkind.Infra(fmt.Errorf("%s: %w", doing, err))
}

// RegistryInputs are the registry-username and registry-password inputs of the
// gates that push or pull images; a gate embeds them in its Inputs (gha.Decode
// tags). The password is masked before anything runs.
type RegistryInputs struct {
	RegistryUsername string `input:"registry-username"`
	RegistryPassword string `input:"registry-password,secret"`
}

// Options are the registry options of these credentials, with the suite's
// User-Agent.
func (r RegistryInputs) Options() Options {
	return Options{Username: r.RegistryUsername, Password: r.RegistryPassword, UserAgent: "secure-gates"}
}

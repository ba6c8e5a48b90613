package signing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// Format is where signatures and attestations are written.
type Format string

// The signature formats.
const (
	// FormatLegacy is cosign v2's .sig/.att tags (what Kyverno ClusterPolicy reads).
	FormatLegacy Format = "legacy"
	// FormatBundle is a Sigstore bundle v0.3 per signature, as an OCI referrer.
	FormatBundle Format = "bundle"
	// FormatBoth writes both, so every verifier can read one of them.
	FormatBoth Format = "both"
)

// ParseFormat parses "legacy", "bundle" or "both"; empty means FormatBoth.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.TrimSpace(s)); f {
	case "":
		return FormatBoth, nil
	case FormatLegacy, FormatBundle, FormatBoth:
		return f, nil
	default:
		return "", errkind.Input(fmt.Errorf("signature format %q: expected legacy, bundle or both", s))
	}
}

// Includes reports whether f writes g (FormatBoth includes both).
func (f Format) Includes(g Format) bool { return f == g || f == FormatBoth }

func (f Format) legacy() bool { return f.Includes(FormatLegacy) }
func (f Format) bundle() bool { return f.Includes(FormatBundle) }

// Public-good Sigstore endpoints, used when neither Services nor SigningConfig
// name one.
const (
	PublicFulcioURL = "https://fulcio.sigstore.dev"
	PublicRekorURL  = "https://rekor.sigstore.dev"
)

// Services names the Sigstore services to use when no signing config is given.
type Services struct {
	// FulcioURL is the certificate authority for keyless signing
	// (default PublicFulcioURL).
	FulcioURL string
	// RekorURL is the transparency log (default PublicRekorURL).
	RekorURL string
	// RekorVersion is the Rekor API major version, 1 or 2 (default 1).
	RekorVersion uint32
	// TimestampURL is an RFC 3161 timestamp authority's full endpoint URL
	// (e.g. https://tsa.example/api/v1/timestamp); empty for none.
	TimestampURL string
}

// Options configure Sign and Attest. The zero value signs nothing: a Key or an
// IDToken is required.
type Options struct {
	// Registry is how the image's registry is reached.
	Registry oci.Options
	// Key is a PEM private key (content), a path to one, or a KMS URI
	// (awskms://, gcpkms://, azurekms://, hashivault://, openbao://; see the
	// package doc). Empty, with no SigningKey, means keyless with IDToken.
	Key string
	// KeyPassword decrypts Key. It is never included in errors.
	KeyPassword []byte
	// SigningKey, when set, is the key to sign with, started early with LoadKey;
	// Key and KeyPassword are then not used.
	SigningKey *Key
	// IDToken is the OIDC token exchanged at Fulcio for keyless signing
	// (audience "sigstore").
	IDToken string
	// SigningConfig, when set, selects Fulcio, Rekor and timestamp authorities
	// (sigstore-go signing_config.json v0.2) and overrides Services.
	SigningConfig *root.SigningConfig
	// Services are the Sigstore endpoints when SigningConfig is nil.
	Services Services
	// TrustedRoot, when set, verifies every bundle right after it is made, before
	// anything is pushed.
	TrustedRoot root.TrustedMaterial
	// Tlog uploads every signature to the transparency log.
	Tlog bool
	// Format is where signatures go (default FormatBoth).
	Format Format
	// Annotations are signed into the legacy simple-signing payload of Sign
	// (cosign verify -a checks them).
	Annotations map[string]string
	// Recursive makes Sign sign every platform manifest of an index too.
	Recursive bool
	// Retries bounds retries of each Sigstore service call on 5xx, 429 and
	// network failures (default 3; negative disables). Fulcio and timestamp
	// calls retry through pkg/netretry (backoff honouring Retry-After); Rekor's
	// client retries on its own.
	Retries int
	// Timeout bounds each Sigstore service call (default 30s); the caller's
	// context bounds them all.
	Timeout time.Duration
	// Transport is the HTTP transport under the retries of Fulcio and timestamp
	// calls (default netretry's, with its connection-level timeouts).
	Transport http.RoundTripper
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) retries() uint {
	switch {
	case o.Retries < 0:
		return 0
	case o.Retries == 0:
		return 3
	default:
		return uint(o.Retries)
	}
}

// transport is the Fulcio and timestamp transport of one call under ctx.
func (o Options) transport(ctx context.Context) http.RoundTripper {
	base := o.Transport
	if base == nil {
		base = sigstoreBase
	}
	return netretry.Bind(ctx, netretry.New(netretry.Options{Attempts: int(o.retries()) + 1, Base: base}))
}

// sigstoreBase is the connection pool of Sigstore calls.
var sigstoreBase = netretry.BaseTransport(netretry.Options{})

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 30 * time.Second
	}
	return o.Timeout
}

func (o Options) hasKey() bool { return o.SigningKey != nil || o.Key != "" }

// signingKey is the key to sign with, nil for keyless.
func (o Options) signingKey(ctx context.Context) *Key {
	if o.SigningKey != nil {
		return o.SigningKey
	}
	if o.Key == "" {
		return nil
	}
	return LoadKey(ctx, o.Key, o.KeyPassword)
}

func (o Options) format() Format {
	if o.Format == "" {
		return FormatBoth
	}
	return o.Format
}

// check refuses option combinations that would silently drop something.
func (o Options) check() error {
	if _, err := ParseFormat(string(o.Format)); err != nil {
		return err
	}
	if err := checkTlog(o.format(), o.Tlog); err != nil {
		return err
	}
	if !o.hasKey() && o.IDToken == "" {
		return errkind.Input(errors.New("no signing key and no OIDC token: pass a key, or sign keyless with an ID token"))
	}
	return nil
}

// checkTlog refuses a transparency-log upload with the legacy format, which
// would drop the log entry.
func checkTlog(f Format, tlog bool) error {
	if tlog && f == FormatLegacy {
		return errkind.Input(errors.New("transparency-log upload with signature format legacy: the legacy format carries no log entry here; " +
			"use signature format both or bundle, or turn the upload off"))
	}
	return nil
}

// CheckAnnotations refuses annotations with the bundle format, which would drop
// them: they are signed into the legacy signature payload.
func CheckAnnotations(f Format, annotations map[string]string) error {
	if f == FormatBundle && len(annotations) > 0 {
		return errkind.Input(errors.New("annotations are signed into the legacy signature payload; with signature format bundle they would be dropped: use legacy or both"))
	}
	return nil
}

// ParseAnnotations reads key=value lines (blank lines ignored). Keys must be
// unique and non-empty.
func ParseAnnotations(lines []string) (map[string]string, error) {
	out := map[string]string{}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errkind.Input(fmt.Errorf("annotation %q: expected key=value", l))
		}
		if _, dup := out[k]; dup {
			return nil, errkind.Input(fmt.Errorf("annotation %q given twice", k))
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

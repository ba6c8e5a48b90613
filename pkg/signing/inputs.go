package signing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// Inputs are the signing identity, transparency and format inputs the sign and
// attest actions share; a gate embeds them in its Inputs (the tags are the
// action.yml names, read by gha.Decode). A key given as PEM content and the key
// password are masked before anything runs.
type Inputs struct {
	Key             string `input:"key,pem"`
	KeyPassword     string `input:"key-password,secret"`
	FulcioURL       string `input:"fulcio-url"`
	RekorURL        string `input:"rekor-url"`
	TimestampURL    string `input:"timestamp-url"`
	TrustedRoot     string `input:"trusted-root"`
	SigningConfig   string `input:"signing-config"`
	TlogUpload      bool   `input:"tlog-upload"`
	SignatureFormat string `input:"signature-format"`
}

// Validate checks what needs no file or network: the signature format, and a
// transparency-log upload with the legacy format (which would drop the entry).
func (in Inputs) Validate() error {
	f, err := ParseFormat(in.SignatureFormat)
	if err != nil {
		return err
	}
	return checkTlog(f, in.TlogUpload)
}

// MaxConfigBytes bounds trusted_root.json and signing_config.json.
const MaxConfigBytes = 4 << 20

// Target is the image a signing step works on and how to reach it.
type Target struct {
	// Image is the reference as given (a tag is resolved once).
	Image string
	// RequireDigest refuses an Image without a digest.
	RequireDigest bool
	// Registry carries the registry credentials.
	Registry oci.Options
}

// CheckDigest refuses an Image without a digest when RequireDigest is set (the
// require-digest input): Validate of a gate calls it before any work.
func (t Target) CheckDigest() error {
	if !t.RequireDigest {
		return nil
	}
	if _, err := oci.ParseDigestRef(t.Image); err != nil {
		return errkind.Input(fmt.Errorf("image %q: require-digest is true and the reference has no digest (expected repo@sha256:…): %w", t.Image, err))
	}
	return nil
}

// Prepare resolves the target's image once and builds the signing options from
// in: the key or, without one, the OIDC token idToken returns (called only after
// the image resolved, so a bad image fails without asking for a token). A bad
// key is reported before a registry failure: it is the user's to fix.
func Prepare(ctx context.Context, t Target, in Inputs, idToken func(context.Context) (string, error)) (oci.Ref, Options, error) {
	if err := t.CheckDigest(); err != nil {
		return oci.Ref{}, Options{}, err
	}
	format, err := ParseFormat(in.SignatureFormat)
	if err != nil {
		return oci.Ref{}, Options{}, err
	}
	opts := Options{
		Registry: t.Registry, Tlog: in.TlogUpload, Format: format,
		Services: Services{FulcioURL: in.FulcioURL, RekorURL: in.RekorURL, TimestampURL: in.TimestampURL},
	}
	if in.Key != "" {
		// Load the key while the configs are read and the image is resolved:
		// a cosign key's scrypt KDF, or a KMS round trip, takes longer than that.
		opts.SigningKey = LoadKey(ctx, in.Key, []byte(in.KeyPassword))
	}
	if in.SigningConfig != "" {
		b, err := ReadConfig(in.SigningConfig, "signing-config")
		if err != nil {
			return oci.Ref{}, Options{}, err
		}
		if opts.SigningConfig, err = root.NewSigningConfigFromJSON(b); err != nil {
			return oci.Ref{}, Options{}, errkind.Input(fmt.Errorf("signing-config %s: %w", in.SigningConfig, err))
		}
	}
	if in.TrustedRoot != "" {
		b, err := ReadConfig(in.TrustedRoot, "trusted-root")
		if err != nil {
			return oci.Ref{}, Options{}, err
		}
		tr, err := root.NewTrustedRootFromJSON(b)
		if err != nil {
			return oci.Ref{}, Options{}, errkind.Input(fmt.Errorf("trusted-root %s: %w", in.TrustedRoot, err))
		}
		opts.TrustedRoot = tr
	}
	ref, err := oci.Resolve(ctx, t.Image, t.Registry)
	if err != nil {
		if opts.SigningKey != nil {
			if kerr := opts.SigningKey.Wait(); kerr != nil {
				return oci.Ref{}, Options{}, kerr
			}
		}
		return oci.Ref{}, Options{}, err
	}
	if in.Key == "" {
		tok, err := idToken(ctx)
		if err != nil {
			return oci.Ref{}, Options{}, fmt.Errorf("keyless signing (no key input): %w", err)
		}
		opts.IDToken = tok
	}
	return ref, opts, nil
}

// ReadConfig reads a trusted_root.json or signing_config.json named by the input
// called input, refusing one over MaxConfigBytes (input errors, exit 2).
func ReadConfig(path, input string) ([]byte, error) {
	// Bounded: a FIFO or a device (size 0 to stat) is refused, not read forever.
	b, err := readfile.Bounded(path, MaxConfigBytes)
	if errors.Is(err, readfile.ErrTooLarge) {
		return nil, errkind.Input(fmt.Errorf("%s %s: more than %d bytes", input, path, MaxConfigBytes))
	}
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("%s: %w", input, err))
	}
	return b, nil
}

// IdentityRows are the digest and signer rows of a sign or attest summary.
func IdentityRows(ref oci.Ref, id Identity) [][]string {
	rows := [][]string{{"Digest", ref.Digest}, {"Image", ref.String()}}
	if ref.Tag != "" {
		rows = append(rows, []string{"Resolved from tag", ref.Tag})
	}
	if id.Keyless {
		rows = append(rows, []string{"Signer (certificate subject)", id.Subject}, []string{"Issuer", id.Issuer})
	} else {
		rows = append(rows, []string{"Signer (key fingerprint)", id.KeyFingerprint})
		if id.KMSKey != "" {
			rows = append(rows, []string{"KMS key", id.KMSKey})
		}
	}
	return rows
}

// TlogText renders transparency-log entries for a summary cell ("none" for
// none).
func TlogText(es []TlogEntry) string {
	if len(es) == 0 {
		return "none"
	}
	l := make([]string, len(es))
	for i, e := range es {
		l[i] = e.String()
	}
	return strings.Join(l, "; ")
}

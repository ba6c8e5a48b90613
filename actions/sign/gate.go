// Package sign is the sign action: it resolves the image to its digest once and
// signs that digest with pkg/signing (cosign v2.6.5 as a library), keyless with
// the job's OIDC token by default or with a PEM key, in the legacy format, as a
// Sigstore bundle referrer, or both.
//
// The helpers Common and SignerOptions are shared with the attest action, whose
// key, keyless and format inputs are the same.
package sign

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the sign subcommand.
var Gate = gate.Gate{Name: "sign", ActionYAML: actionYAML, Positional: "image", Run: run, Inputs: Inputs{}}

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Image            string        `input:"image"`
	RequireDigest    bool          `input:"require-digest"`
	Key              string        `input:"key"`
	KeyPassword      string        `input:"key-password"`
	FulcioURL        string        `input:"fulcio-url"`
	RekorURL         string        `input:"rekor-url"`
	TimestampURL     string        `input:"timestamp-url"`
	TrustedRoot      string        `input:"trusted-root"`
	SigningConfig    string        `input:"signing-config"`
	TlogUpload       bool          `input:"tlog-upload"`
	SignatureFormat  string        `input:"signature-format"`
	RegistryUsername string        `input:"registry-username"`
	RegistryPassword string        `input:"registry-password"`
	Annotations      []string      `input:"annotations,lines"`
	Recursive        bool          `input:"recursive"`
	Timeout          time.Duration `input:"timeout"`
}

// Common are the inputs sign and attest share.
type Common struct {
	Image, Key, KeyPassword                     string
	RequireDigest, TlogUpload                   bool
	FulcioURL, RekorURL, TimestampURL           string
	TrustedRoot, SigningConfig, SignatureFormat string
	RegistryUsername, RegistryPassword          string
}

// MaxConfigBytes bounds trusted_root.json and signing_config.json.
const MaxConfigBytes = 4 << 20

func run(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) error {
	var in Inputs
	if err := gha.Decode(raw, &in); err != nil {
		return errkind.Input(err)
	}
	ctx, cancel, err := gate.WithTimeout(ctx, in.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	c := Common{
		Image: in.Image, Key: in.Key, KeyPassword: in.KeyPassword, RequireDigest: in.RequireDigest, TlogUpload: in.TlogUpload,
		FulcioURL: in.FulcioURL, RekorURL: in.RekorURL, TimestampURL: in.TimestampURL, TrustedRoot: in.TrustedRoot,
		SigningConfig: in.SigningConfig, SignatureFormat: in.SignatureFormat,
		RegistryUsername: in.RegistryUsername, RegistryPassword: in.RegistryPassword,
	}
	MaskSecrets(rt, c)
	ref, opts, err := Prepare(ctx, rt, c)
	if err != nil {
		return err
	}
	if opts.Annotations, err = signing.ParseAnnotations(in.Annotations); err != nil {
		return err
	}
	opts.Recursive = in.Recursive
	res, signErr := signing.Sign(ctx, ref, opts)
	if res == nil {
		return signErr
	}
	sigs, err := json.Marshal(nonNil(res.Signatures))
	if err != nil {
		return errkind.Infra(err)
	}
	for _, o := range []gha.KeyValue{
		{Name: "digest", Value: ref.Digest}, {Name: "image-ref", Value: ref.String()},
		{Name: "signer", Value: res.Identity.String()}, {Name: "signatures", Value: string(sigs)},
	} {
		if err := rt.SetOutput(o.Name, o.Value); err != nil {
			return errkind.Infra(err)
		}
	}
	var s gha.Summary
	title := "Signed"
	if signErr != nil {
		title = "Signing INCOMPLETE"
	}
	s.Heading(2, title+": "+ref.String())
	SummaryHeader(&s, ref, res.Identity)
	rows := make([][]string, 0, len(res.Signatures))
	for _, sg := range res.Signatures {
		rows = append(rows, []string{sg.Image, string(sg.Format), sg.Reference, tlogText(sg.Tlog), yesNo(sg.Timestamped)})
	}
	s.Table([]string{"Image", "Format", "Where", "Transparency log", "Timestamp"}, rows)
	var pe *signing.PartialError
	if errors.As(signErr, &pe) {
		s.Para("NOT pushed: " + strings.Join(pe.NotPushed, "; "))
	}
	if err := rt.WriteSummary(s.String()); err != nil {
		return errkind.Infra(err)
	}
	if signErr != nil {
		return signErr
	}
	rt.Infof("signed %s as %s (%d signatures)", ref, res.Identity, len(res.Signatures))
	return nil
}

// MaskSecrets masks the key password, the registry password and a key given as
// content, line by line, before anything else runs.
func MaskSecrets(rt *gha.Runtime, c Common) {
	for _, s := range []string{c.KeyPassword, c.RegistryPassword} {
		if s != "" {
			rt.AddMask(s)
		}
	}
	if strings.Contains(c.Key, "-----BEGIN") {
		for _, l := range strings.Split(c.Key, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "-----") {
				rt.AddMask(l)
			}
		}
	}
}

// Prepare resolves the image once and builds the signing options from the
// common inputs: the key or, without one, the job's OIDC token.
func Prepare(ctx context.Context, rt *gha.Runtime, c Common) (oci.Ref, signing.Options, error) {
	reg := oci.Options{Username: c.RegistryUsername, Password: c.RegistryPassword, UserAgent: "secure-gates"}
	if c.RequireDigest {
		if _, err := oci.ParseDigestRef(c.Image); err != nil {
			return oci.Ref{}, signing.Options{}, errkind.Input(fmt.Errorf("image %q: require-digest is true and the reference has no digest (expected repo@sha256:…): %w", c.Image, err))
		}
	}
	format, err := signing.ParseFormat(c.SignatureFormat)
	if err != nil {
		return oci.Ref{}, signing.Options{}, err
	}
	opts := signing.Options{
		Registry: reg, Tlog: c.TlogUpload, Format: format,
		Services: signing.Services{FulcioURL: c.FulcioURL, RekorURL: c.RekorURL, TimestampURL: c.TimestampURL},
	}
	if c.Key != "" {
		// Load the key while the configs are read and the image is resolved:
		// a cosign key's scrypt KDF, or a KMS round trip, takes longer than that.
		opts.SigningKey = signing.LoadKey(ctx, c.Key, []byte(c.KeyPassword))
	}
	if c.SigningConfig != "" {
		b, err := readBounded(c.SigningConfig, "signing-config")
		if err != nil {
			return oci.Ref{}, signing.Options{}, err
		}
		if opts.SigningConfig, err = root.NewSigningConfigFromJSON(b); err != nil {
			return oci.Ref{}, signing.Options{}, errkind.Input(fmt.Errorf("signing-config %s: %w", c.SigningConfig, err))
		}
	}
	if c.TrustedRoot != "" {
		b, err := readBounded(c.TrustedRoot, "trusted-root")
		if err != nil {
			return oci.Ref{}, signing.Options{}, err
		}
		tr, err := root.NewTrustedRootFromJSON(b)
		if err != nil {
			return oci.Ref{}, signing.Options{}, errkind.Input(fmt.Errorf("trusted-root %s: %w", c.TrustedRoot, err))
		}
		opts.TrustedRoot = tr
	}
	// Resolve before asking for a token: a bad image fails without one.
	ref, err := oci.Resolve(ctx, c.Image, reg)
	if err != nil {
		if opts.SigningKey != nil {
			// A bad key is reported first: it is the user's to fix, whatever
			// the registry did.
			if kerr := opts.SigningKey.Wait(); kerr != nil {
				return oci.Ref{}, signing.Options{}, kerr
			}
		}
		return oci.Ref{}, signing.Options{}, err
	}
	if ref.Tag != "" {
		rt.Infof("resolved %s to %s; the tag is not used again", c.Image, ref)
	}
	if c.Key == "" {
		tok, err := rt.IDToken(ctx, gha.SigstoreAudience)
		if err != nil {
			return oci.Ref{}, signing.Options{}, fmt.Errorf("keyless signing (no key input): %w", err)
		}
		opts.IDToken = tok
	}
	return ref, opts, nil
}

func readBounded(path, input string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("%s: %w", input, err))
	}
	if st.Size() > MaxConfigBytes {
		return nil, errkind.Input(fmt.Errorf("%s %s: %d bytes, more than %d", input, path, st.Size(), MaxConfigBytes))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("%s: %w", input, err))
	}
	return b, nil
}

// SummaryHeader writes the digest and signer lines of a summary.
func SummaryHeader(s *gha.Summary, ref oci.Ref, id signing.Identity) {
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
	s.Table([]string{"", ""}, rows)
}

func tlogText(es []signing.TlogEntry) string {
	if len(es) == 0 {
		return "none"
	}
	l := make([]string, len(es))
	for i, e := range es {
		l[i] = e.String()
	}
	return strings.Join(l, "; ")
}

// TlogText renders transparency-log entries for a summary cell.
func TlogText(es []signing.TlogEntry) string { return tlogText(es) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Package cosigntest holds the cosign helpers that tests of signatures share
// (pkg/signing's and action-test's): a random image pushed and resolved, a
// cosign key pair on disk, the real cosign CLI run offline, and cosign's own
// verification of the legacy (.sig / .att) format. It links cosign: import it
// only from tests that link it already.
package cosigntest

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// PushRandomImage pushes a random single-layer image to host/repo:tag and
// returns it resolved (by digest, tag kept).
func PushRandomImage(t testing.TB, host, repo, tag string) oci.Ref {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	return PushImage(t, host, repo, tag, img)
}

// PushImage pushes img to host/repo:tag and returns it resolved.
func PushImage(t testing.TB, host, repo, tag string, img v1.Image) oci.Ref {
	t.Helper()
	r, err := name.ParseReference(fmt.Sprintf("%s/%s:%s", host, repo, tag))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	ref, err := oci.Resolve(context.Background(), r.String(), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// KeyPair writes a cosign key pair, the private key encrypted with password,
// as dir/cosign.key and dir/cosign.pub, and returns their paths.
func KeyPair(t testing.TB, dir, password string) (keyPath, pubPath string) {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	keyPath, pubPath = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(keyPath, kb.PrivateBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubPath, kb.PublicBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return keyPath, pubPath
}

// Run runs the real cosign CLI (testinfra.CosignCLI) offline, with a private
// HOME and TUF root, and returns its combined output.
func Run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testinfra.CosignCLI.Path(t), args...)
	home := t.TempDir()
	cmd.Env = []string{"HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf"), "COSIGN_PASSWORD=", "PATH=" + os.Getenv("PATH")}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// MustPass runs the cosign CLI and fails the test if it fails.
func MustPass(t testing.TB, args ...string) string {
	t.Helper()
	out, err := Run(t, args...)
	if err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// MustFail runs the cosign CLI and fails the test if it passes (a
// verification that must not verify).
func MustFail(t testing.TB, args ...string) string {
	t.Helper()
	out, err := Run(t, args...)
	if err == nil {
		t.Fatalf("cosign %s passed, want a failure\n%s", strings.Join(args, " "), out)
	}
	return out
}

// LegacyVerify checks the legacy (.sig / .att) signatures of ref with cosign's
// own verification code, in the legacy mode — what Kyverno ClusterPolicy
// reads: cosign v2.6.5's CLI switches to the bundle format by itself as soon
// as a bundle referrer exists, so the legacy half of a "both" signature is
// checked through the library the CLI uses. predicateType "" checks
// signatures, otherwise attestations of that type; annotations, when set,
// must be on the signature.
func LegacyVerify(t testing.TB, ref oci.Ref, pubPath, predicateType string, annotations map[string]any) error {
	t.Helper()
	ctx := context.Background()
	pemBytes, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ref.Name()
	if err != nil {
		t.Fatal(err)
	}
	co := &cosign.CheckOpts{SigVerifier: v, IgnoreTlog: true, ClaimVerifier: cosign.SimpleClaimVerifier, Annotations: annotations}
	if predicateType == "" {
		_, _, err = cosign.VerifyImageSignatures(ctx, d, co)
		return err
	}
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	atts, _, err := cosign.VerifyImageAttestations(ctx, d, co)
	if err != nil {
		return err
	}
	for _, a := range atts {
		p, err := a.Payload()
		if err != nil {
			return err
		}
		var env struct {
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal(p, &env); err != nil {
			return err
		}
		st, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			return err
		}
		var s struct {
			PredicateType string `json:"predicateType"`
		}
		if err := json.Unmarshal(st, &s); err != nil {
			return err
		}
		if s.PredicateType == predicateType {
			return nil
		}
	}
	return fmt.Errorf("no verified legacy attestation of type %s", predicateType)
}

// Package cosigntest holds the cosign helpers that tests of signatures share:
// a random image pushed and resolved, a cosign key pair on disk, and the cosign
// CLI (testinfra.RunCosign) that must pass or must fail. It links cosign:
// import it only from tests that link it already (cosignlegacy checks the
// legacy format).
package cosigntest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"

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

// MustPass runs the cosign CLI and fails the test if it fails.
func MustPass(t testing.TB, args ...string) string {
	t.Helper()
	out, err := testinfra.RunCosign(t, nil, args...)
	if err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// MustFail runs the cosign CLI and fails the test if it passes (a
// verification that must not verify).
func MustFail(t testing.TB, args ...string) string {
	t.Helper()
	out, err := testinfra.RunCosign(t, nil, args...)
	if err == nil {
		t.Fatalf("cosign %s passed, want a failure\n%s", strings.Join(args, " "), out)
	}
	return out
}

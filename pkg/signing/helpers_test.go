package signing_test

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

// pushImage pushes a random single-layer image to host/repo:tag and returns it
// resolved.
func pushImage(t *testing.T, host, repo, tag string) oci.Ref {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	return pushImg(t, host, repo, tag, img)
}

func pushImg(t *testing.T, host, repo, tag string, img v1.Image) oci.Ref {
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

// keyPair writes a cosign key pair (encrypted with password) and returns the
// private key PEM and the public key path.
func keyPair(t *testing.T, password string) (priv string, pubPath string) {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte(password), nil })
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pubPath = filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(pubPath, kb.PublicBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return string(kb.PrivateBytes), pubPath
}

func mustCosign(t *testing.T, args ...string) string {
	t.Helper()
	out, err := testinfra.RunCosign(t, nil, args...)
	if err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func mustFailCosign(t *testing.T, args ...string) string {
	t.Helper()
	out, err := testinfra.RunCosign(t, nil, args...)
	if err == nil {
		t.Fatalf("cosign %s passed, want a failure\n%s", strings.Join(args, " "), out)
	}
	return out
}

package signing_test

import (
	"os"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra/cosigntest"
)

// The cosign helpers every signature test shares live in cosigntest.
var (
	pushImage      = cosigntest.PushRandomImage
	pushImg        = cosigntest.PushImage
	mustCosign     = cosigntest.MustPass
	mustFailCosign = cosigntest.MustFail
)

// keyPair writes a cosign key pair (encrypted with password) and returns the
// private key PEM and the public key path.
func keyPair(t *testing.T, password string) (priv string, pubPath string) {
	t.Helper()
	keyPath, pubPath := cosigntest.KeyPair(t, t.TempDir(), password)
	b, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), pubPath
}

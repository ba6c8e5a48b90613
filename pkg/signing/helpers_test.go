package signing_test

import (
	"os"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra/cosigntest"
)

// keyPair writes a cosign key pair (encrypted with password) and returns the
// private key PEM and the public key path.
func keyPair(t *testing.T, password string) (priv string, pubPath string) {
	t.Helper()
	keyPath, pubPath := cosigntest.KeyPair(t, t.TempDir(), password)
	pem, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem), pubPath
}

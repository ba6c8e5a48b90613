package cosigntest

import (
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// KeylessTrust reads the signing config and the trusted root of st, the local
// Sigstore stack, in the form keyless signing takes them (signing.Options
// SigningConfig and TrustedRoot).
func KeylessTrust(t testing.TB, st *testinfra.Sigstore) (*root.SigningConfig, *root.TrustedRoot) {
	t.Helper()
	sc, err := root.NewSigningConfigFromPath(st.SigningConfig)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromPath(st.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	return sc, tr
}

package scrypt

import (
	"bytes"
	"crypto/rand"
	"testing"

	xscrypt "golang.org/x/crypto/scrypt"
)

// TestSameAsXCrypto checks that the output is x/crypto's for the parameters
// cosign and securesystemslib use (N 2^15, 2^16, 2^17 with r 8, p 1) and a few
// others, over random passwords and salts.
func TestSameAsXCrypto(t *testing.T) {
	params := []struct{ N, r, p int }{{1 << 15, 8, 1}, {1 << 16, 8, 1}, {1 << 17, 8, 1}, {1024, 1, 1}, {16, 3, 5}, {4096, 16, 2}}
	if testing.Short() {
		params = params[3:]
	}
	for _, pr := range params {
		pw, salt := make([]byte, 19), make([]byte, 32)
		if _, err := rand.Read(pw); err != nil {
			t.Fatal(err)
		}
		if _, err := rand.Read(salt); err != nil {
			t.Fatal(err)
		}
		want, err := xscrypt.Key(pw, salt, pr.N, pr.r, pr.p, 32)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Key(pw, salt, pr.N, pr.r, pr.p, 32)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("N=%d r=%d p=%d: %x, x/crypto %x", pr.N, pr.r, pr.p, got, want)
		}
	}
}

// BenchmarkCosignKey compares the derivation of a cosign key (N 2^16, r 8)
// with x/crypto's.
func BenchmarkCosignKey(b *testing.B) {
	salt := make([]byte, 32)
	b.Run("this", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Key([]byte("password"), salt, 1<<16, 8, 1, 32); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("x-crypto", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := xscrypt.Key([]byte("password"), salt, 1<<16, 8, 1, 32); err != nil {
				b.Fatal(err)
			}
		}
	})
}

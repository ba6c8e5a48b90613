package signing

import (
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/secure-gates/secure-gates/internal/third_party/forked/scrypt"
)

// The parameters securesystemslib's encrypted package (the format of
// cosign.key) accepts: its legacy, standard (cosign's) and OWASP levels.
var cosignKDFParams = []struct{ N, R, P int }{{1 << 15, 8, 1}, {1 << 16, 8, 1}, {1 << 17, 8, 1}}

// decryptCosignKey opens the body of an ENCRYPTED SIGSTORE PRIVATE KEY (or
// ENCRYPTED COSIGN PRIVATE KEY) block, as securesystemslib's
// encrypted.Decrypt does: scrypt derives the nacl/secretbox key from the
// password. The derivation uses internal/third_party/forked/scrypt, whose
// output is x/crypto's but which is a third faster; secretbox authenticates
// the result, so a wrong password fails rather than yielding a wrong key.
func decryptCosignKey(body, password []byte) ([]byte, error) {
	var d struct {
		KDF struct {
			Name   string `json:"name"`
			Params struct {
				N int `json:"N"`
				R int `json:"r"`
				P int `json:"p"`
			} `json:"params"`
			Salt []byte `json:"salt"`
		} `json:"kdf"`
		Cipher struct {
			Name  string `json:"name"`
			Nonce []byte `json:"nonce"`
		} `json:"cipher"`
		Ciphertext []byte `json:"ciphertext"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("reading the encrypted key: %w", err)
	}
	if d.KDF.Name != "scrypt" {
		return nil, fmt.Errorf("unknown key derivation %q (want scrypt)", d.KDF.Name)
	}
	if d.Cipher.Name != "nacl/secretbox" {
		return nil, fmt.Errorf("unknown cipher %q (want nacl/secretbox)", d.Cipher.Name)
	}
	known := false
	for _, p := range cosignKDFParams {
		known = known || (p.N == d.KDF.Params.N && p.R == d.KDF.Params.R && p.P == d.KDF.Params.P)
	}
	if !known {
		return nil, fmt.Errorf("unsupported scrypt parameters N=%d r=%d p=%d", d.KDF.Params.N, d.KDF.Params.R, d.KDF.Params.P)
	}
	var nonce [24]byte
	if len(d.Cipher.Nonce) != len(nonce) {
		return nil, fmt.Errorf("nonce of %d bytes, want %d", len(d.Cipher.Nonce), len(nonce))
	}
	copy(nonce[:], d.Cipher.Nonce)
	dk, err := scrypt.Key(password, d.KDF.Salt, d.KDF.Params.N, d.KDF.Params.R, d.KDF.Params.P, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the key: %w", err)
	}
	var key [32]byte
	copy(key[:], dk)
	clear(dk)
	plain, ok := secretbox.Open(nil, d.Ciphertext, &nonce, &key)
	clear(key[:])
	if !ok {
		return nil, errors.New("decryption failed")
	}
	return plain, nil
}

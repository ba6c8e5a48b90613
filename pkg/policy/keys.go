package policy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParsePublicKeyPEM parses one PEM "PUBLIC KEY" block (PKIX, what `cosign
// generate-key-pair` writes) holding an ECDSA, Ed25519 or RSA (2048 bits or
// more) key.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found (want a PEM \"PUBLIC KEY\")")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM block is %q, want \"PUBLIC KEY\" (a public key, never a private one)", block.Type)
	}
	if b, _ := pem.Decode(rest); b != nil {
		return nil, errors.New("more than one PEM block: give one public key per identity")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", err)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits: at least 2048 are required", k.N.BitLen())
		}
	default:
		return nil, fmt.Errorf("unsupported public key type %T", pub)
	}
	return pub, nil
}

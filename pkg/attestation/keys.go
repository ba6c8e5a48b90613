package attestation

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// minRSABits is the smallest RSA key NewSigner and NewVerifier accept.
const minRSABits = 2048

// keyScheme is how one public key signs: the hash applied to the message first
// (zero for Ed25519, which signs the message itself) and the key's id.
type keyScheme struct {
	pub   crypto.PublicKey
	hash  crypto.Hash
	keyID string
}

func schemeFor(pub crypto.PublicKey) (keyScheme, error) {
	var h crypto.Hash
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			h = crypto.SHA256
		case elliptic.P384():
			h = crypto.SHA384
		case elliptic.P521():
			h = crypto.SHA512
		default:
			return keyScheme{}, fmt.Errorf("ECDSA curve %s: want P-256, P-384 or P-521", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return keyScheme{}, fmt.Errorf("Ed25519 public key is %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return keyScheme{}, fmt.Errorf("RSA key is %d bits, want at least %d", k.N.BitLen(), minRSABits)
		}
		h = crypto.SHA256
	default:
		return keyScheme{}, fmt.Errorf("key type %T: want *ecdsa.PublicKey, ed25519.PublicKey or *rsa.PublicKey", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return keyScheme{}, fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return keyScheme{pub: pub, hash: h, keyID: hex.EncodeToString(sum[:])}, nil
}

// digest returns what the key's algorithm signs for data.
func (s keyScheme) digest(data []byte) []byte {
	if s.hash == 0 {
		return data
	}
	h := s.hash.New()
	h.Write(data)
	return h.Sum(nil)
}

// KeyID returns the key id: lowercase hex of the sha256 of the public key's
// PKIX DER encoding.
func (s keyScheme) KeyID() (string, error) { return s.keyID, nil }

type keySigner struct {
	keyScheme
	key crypto.Signer
}

// NewSigner returns a Signer over key, which may be any crypto.Signer (a local
// key or one held in a KMS) whose public key is ECDSA P-256/P-384/P-521 (hashed
// with SHA-256/384/512, ASN.1 DER signature — cosign's scheme for its P-256
// keys), Ed25519 (the message itself), or RSA of at least 2048 bits (PKCS #1
// v1.5 with SHA-256, what cosign uses for RSA keys). Its key id is lowercase hex
// of the sha256 of the public key's PKIX DER encoding.
func NewSigner(key crypto.Signer) (Signer, error) {
	if key == nil {
		return nil, errkind.Input(errors.New("creating signer: key is nil"))
	}
	s, err := schemeFor(key.Public())
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("creating signer: %w", err))
	}
	return &keySigner{keyScheme: s, key: key}, nil
}

// Sign signs data with the key's scheme.
func (s *keySigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sig, err := s.key.Sign(rand.Reader, s.digest(data), s.hash)
	if err != nil {
		return nil, fmt.Errorf("signing with key %s: %w", s.keyID, err)
	}
	return sig, nil
}

type keyVerifier struct{ keyScheme }

// NewVerifier returns a Verifier for a public key of the kinds [NewSigner]
// accepts, with the same scheme and key id.
func NewVerifier(key crypto.PublicKey) (Verifier, error) {
	s, err := schemeFor(key)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("creating verifier: %w", err))
	}
	return &keyVerifier{keyScheme: s}, nil
}

// Verify checks sig over data.
func (v *keyVerifier) Verify(ctx context.Context, data, sig []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ok := false
	switch k := v.pub.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, v.digest(data), sig)
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, data, sig)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, v.hash, v.digest(data), sig) == nil
	}
	if !ok {
		return fmt.Errorf("signature does not verify with key %s", v.keyID)
	}
	return nil
}

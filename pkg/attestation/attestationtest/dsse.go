// Package attestationtest signs and verifies DSSE envelopes with local keys,
// for tests: the product never does either itself (cosign signs and
// verifies; pkg/attestation parses the envelopes it is given, strictly, with
// ParseEnvelope and OpenEnvelope). Tests use it to make envelopes a verifier
// reads, and to check the ones the gates write.
//
// [Sign] wraps a payload in a DSSE envelope, signing the pre-authentication
// encoding [PAE] of its type and body; [Verify] checks an envelope against
// trusted keys and reports which keys verified it. [NewSigner] and
// [NewVerifier] adapt standard library keys: ECDSA (P-256 with SHA-256, as
// cosign signs; P-384 with SHA-384; P-521 with SHA-512; ASN.1 DER
// signatures), Ed25519, and RSA (PKCS #1 v1.5 with SHA-256, 2048 bits or
// more: what cosign uses for RSA keys).
package attestationtest

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
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// ErrNoValidSignature is wrapped by the error [Verify] returns when no signature
// of the envelope verifies with any of the keys given.
var ErrNoValidSignature = errors.New("no signature verified")

// Signer signs the bytes it is given (the PAE of an envelope). Implementations
// choose the hash and encoding; see [NewSigner].
type Signer interface {
	// KeyID names the key; it is written into the envelope as a hint.
	KeyID() (string, error)
	// Sign returns the signature of data.
	Sign(ctx context.Context, data []byte) ([]byte, error)
}

// Verifier checks a signature made by the matching [Signer].
type Verifier interface {
	// KeyID names the key; Verify reports it for every key that verified.
	KeyID() (string, error)
	// Verify returns nil if sig is a valid signature of data.
	Verify(ctx context.Context, data, sig []byte) error
}

// PAE returns the DSSE v1 pre-authentication encoding of a payload:
// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in decimal bytes.
// It is what is signed, so that neither the type nor the body can be changed
// without breaking the signature.
func PAE(payloadType string, payload []byte) []byte {
	lt, lb := strconv.Itoa(len(payloadType)), strconv.Itoa(len(payload))
	out := make([]byte, 0, len("DSSEv1")+4+len(lt)+len(payloadType)+len(lb)+len(payload))
	out = append(out, "DSSEv1 "...)
	out = append(out, lt...)
	out = append(out, ' ')
	out = append(out, payloadType...)
	out = append(out, ' ')
	out = append(out, lb...)
	out = append(out, ' ')
	return append(out, payload...)
}

// Sign returns an envelope holding payload, of type payloadType (for a
// statement, attestation.PayloadTypeInToto), signed by signer over [PAE]. A signer failure
// is an infrastructure error (the key may live in a KMS).
func Sign(ctx context.Context, payload []byte, payloadType string, signer Signer) (*attestation.Envelope, error) {
	if payloadType == "" {
		return nil, errkind.Input(errors.New("signing DSSE envelope: payload type is empty"))
	}
	if signer == nil {
		return nil, errkind.Input(errors.New("signing DSSE envelope: signer is nil"))
	}
	keyID, err := signer.KeyID()
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("signing DSSE envelope: getting key id: %w", err))
	}
	sig, err := signer.Sign(ctx, PAE(payloadType, payload))
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("signing DSSE envelope with key %q: %w", keyID, err))
	}
	return &attestation.Envelope{
		PayloadType: payloadType,
		Payload:     base64.StdEncoding.EncodeToString(payload),
		Signatures:  []attestation.Signature{{KeyID: keyID, Sig: base64.StdEncoding.EncodeToString(sig)}},
	}, nil
}

// Verify checks every signature of env against every verifier and returns the
// key ids (from the verifiers, never from the envelope) of the verifiers that
// verified at least one signature, in the order given. If none did, the error
// wraps [ErrNoValidSignature] and is a policy failure. Verify does not look at
// the payload's content; see attestation.OpenEnvelope.
func Verify(ctx context.Context, env *attestation.Envelope, verifiers ...Verifier) ([]string, error) {
	if env == nil {
		return nil, errkind.Input(errors.New("verifying DSSE envelope: envelope is nil"))
	}
	if len(verifiers) == 0 {
		return nil, errkind.Input(errors.New("verifying DSSE envelope: no verification keys given"))
	}
	payload, err := decodeBase64(env.Payload)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("verifying DSSE envelope: payload: %w", err))
	}
	pae := PAE(env.PayloadType, payload)
	sigs := make([][]byte, 0, len(env.Signatures))
	for _, s := range env.Signatures {
		if b, err := decodeBase64(s.Sig); err == nil && len(b) > 0 {
			sigs = append(sigs, b)
		}
	}
	var verified []string
	for _, v := range verifiers {
		if v == nil {
			continue
		}
		keyID, err := v.KeyID()
		if err != nil {
			return nil, fmt.Errorf("verifying DSSE envelope: getting key id: %w", err)
		}
		for _, sig := range sigs {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("verifying DSSE envelope: %w", err)
			}
			if v.Verify(ctx, pae, sig) == nil {
				if !slices.Contains(verified, keyID) {
					verified = append(verified, keyID)
				}
				break
			}
		}
	}
	if len(verified) == 0 {
		return nil, errkind.Policy(fmt.Errorf("verifying DSSE envelope: %w: %d signature(s), %d key(s)", ErrNoValidSignature, len(env.Signatures), len(verifiers)))
	}
	return verified, nil
}

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

// decodeBase64 accepts standard or URL-safe base64, as DSSE allows.
func decodeBase64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
		return b, nil
	}
	return base64.URLEncoding.Strict().DecodeString(s)
}

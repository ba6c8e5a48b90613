package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// MaxKeyBytes bounds a key file.
const MaxKeyBytes = 64 << 10

// IsKMSURI reports whether key names a KMS key (awskms://, gcpkms://,
// azurekms://, hashivault:// or openbao://) rather than a PEM key.
func IsKMSURI(key string) bool {
	_, ok := kmsProvider(key)
	return ok
}

// Identity describes who signed: a key fingerprint, or a certificate's subject
// and issuer.
type Identity struct {
	// Keyless is true for a Fulcio certificate.
	Keyless bool `json:"keyless"`
	// KeyFingerprint is sha256:<hex> of the public key's PKIX DER encoding.
	KeyFingerprint string `json:"keyFingerprint"`
	// Subject is the certificate's subject alternative name (keyless), e.g.
	// https://github.com/acme/widgets/.github/workflows/ci.yml@refs/heads/main.
	Subject string `json:"subject,omitempty"`
	// Issuer is the OIDC issuer recorded in the certificate (keyless).
	Issuer string `json:"issuer,omitempty"`
	// KMSKey is the KMS URI of the key, when the key lives in a KMS.
	KMSKey string `json:"kmsKey,omitempty"`
	// Certificate is the PEM signing certificate (keyless).
	Certificate string `json:"-"`
	// PublicKey is the PEM public key.
	PublicKey string `json:"-"`
}

// String is a one-line description for logs and summaries.
func (id Identity) String() string {
	if id.Keyless {
		return fmt.Sprintf("%s (issuer %s)", id.Subject, id.Issuer)
	}
	if id.KMSKey != "" {
		return "key " + id.KeyFingerprint + " (" + id.KMSKey + ")"
	}
	return "key " + id.KeyFingerprint
}

// keyPair is a sign.Keypair over a crypto.Signer loaded from a PEM key.
type keyPair struct {
	publicKey
	priv crypto.Signer
}

var _ sign.Keypair = (*keyPair)(nil)

func newKeyPair(priv crypto.Signer) (*keyPair, error) {
	switch pub := priv.Public().(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	case ed25519.PublicKey:
		return nil, errors.New("Ed25519 keys are not supported (cosign verifies them as Ed25519ph); use an ECDSA P-256 key (cosign generate-key-pair)")
	default:
		return nil, fmt.Errorf("unsupported key type %T", pub)
	}
	pk, err := newPublicKey(priv.Public())
	if err != nil {
		return nil, err
	}
	return &keyPair{publicKey: pk, priv: priv}, nil
}

// SignData hashes data with the key's hash and signs the digest.
func (k *keyPair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	digest, hf := k.digest(data)
	sig, err := k.priv.Sign(rand.Reader, digest, hf)
	if err != nil {
		return nil, nil, err
	}
	return sig, digest, nil
}

// publicKey is the half of a sign.Keypair that the public key decides, shared
// by the PEM and the KMS key pairs: algorithm, hint and PEM.
type publicKey struct {
	pub  crypto.PublicKey
	alg  signature.AlgorithmDetails
	hint []byte
}

// newPublicKey reads pub's default algorithm; the hint is the base64 sha256 of
// its PKIX DER, as cosign's.
func newPublicKey(pub crypto.PublicKey) (publicKey, error) {
	details, err := signature.GetDefaultPublicKeyDetails(pub)
	if err != nil {
		return publicKey{}, err
	}
	alg, err := signature.GetAlgorithmDetails(details)
	if err != nil {
		return publicKey{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return publicKey{}, err
	}
	sum := sha256.Sum256(der)
	return publicKey{pub: pub, alg: alg, hint: []byte(base64.StdEncoding.EncodeToString(sum[:]))}, nil
}

func (k *publicKey) GetHashAlgorithm() protocommon.HashAlgorithm { return k.alg.GetProtoHashType() }
func (k *publicKey) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}
func (k *publicKey) GetHint() []byte                { return k.hint }
func (k *publicKey) GetPublicKey() crypto.PublicKey { return k.pub }
func (k *publicKey) GetKeyAlgorithm() string {
	switch k.alg.GetKeyType() {
	case signature.ECDSA:
		return "ECDSA"
	case signature.RSA:
		return "RSA"
	}
	return ""
}
func (k *publicKey) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.pub)
	return string(b), err
}

// digest hashes data with the key's hash, which it returns too.
func (k *publicKey) digest(data []byte) ([]byte, crypto.Hash) {
	hf := k.alg.GetHashType()
	h := hf.New()
	h.Write(data)
	return h.Sum(nil), hf
}

// Key is a signing key given as Options.SigningKey: a PEM private key or a KMS
// key, loaded in the background by LoadKey.
type Key struct {
	done chan struct{}
	kp   sign.Keypair
	kms  string
	err  error
}

// LoadKey starts loading key (PEM content, a path to a PEM file, or a KMS URI)
// and returns at once: decrypting a cosign key runs its scrypt KDF and a KMS key
// needs a round trip to the KMS, and the caller can resolve the image meanwhile.
// Sign and Attest wait for the key when they need it; Wait returns the outcome.
// Cancelling ctx stops a KMS request, not a KDF already running.
func LoadKey(ctx context.Context, key string, password []byte) *Key {
	k := &Key{done: make(chan struct{})}
	go func() {
		defer close(k.done)
		if IsKMSURI(key) {
			k.kms = strings.TrimSpace(key)
			kp, err := loadKMSKey(ctx, k.kms)
			if err != nil {
				k.err = err
				return
			}
			k.kp = kp
			return
		}
		kp, err := loadKey(key, password)
		if err != nil {
			k.err = err
			return
		}
		k.kp = kp
	}()
	return k
}

// Wait blocks until the key is loaded and returns why it could not be (an input
// error for a bad key, password or KMS URI; an infrastructure error when the KMS
// could not be reached).
func (k *Key) Wait() error {
	<-k.done
	return k.err
}

// loadKey turns a PEM key (content or path) into a keypair.
func loadKey(key string, password []byte) (*keyPair, error) {
	data := []byte(key)
	source := "key"
	if !strings.Contains(key, "-----BEGIN") {
		path := strings.TrimSpace(key)
		var err error
		switch data, err = readfile.Bounded(path, MaxKeyBytes); {
		case errors.Is(err, readfile.ErrTooLarge):
			return nil, errkind.Input(fmt.Errorf("key file %s: more than the %d bytes a PEM key can be", path, MaxKeyBytes))
		case errors.Is(err, readfile.ErrNotRegular): // a FIFO or a device
			return nil, errkind.Input(fmt.Errorf("reading key file: %w", err))
		case err != nil:
			return nil, errkind.Input(fmt.Errorf("key: not PEM content and not a readable file: %w", err))
		}
		source = "key file " + path
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errkind.Input(fmt.Errorf("%s: no PEM block (expected a PEM private key such as cosign.key)", source))
	}
	var priv crypto.PrivateKey
	switch block.Type {
	case cosign.CosignPrivateKeyPemType, cosign.SigstorePrivateKeyPemType:
		der, err := decryptCosignKey(block.Bytes, password)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("%s: decrypting the cosign key (is key-password right?): %w", source, err))
		}
		if priv, err = x509.ParsePKCS8PrivateKey(der); err != nil {
			return nil, errkind.Input(fmt.Errorf("%s: parsing the decrypted key: %w", source, err))
		}
	default:
		var err error
		priv, err = cryptoutils.UnmarshalPEMToPrivateKey(data, func(bool) ([]byte, error) { return password, nil })
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("%s: parsing the PEM private key (%s): %w", source, block.Type, err))
		}
	}
	cs, ok := priv.(crypto.Signer)
	if !ok {
		return nil, errkind.Input(fmt.Errorf("%s: %T is not a signing key", source, priv))
	}
	kp, err := newKeyPair(cs)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("%s: %w", source, err))
	}
	return kp, nil
}

// fingerprint is sha256:<hex> of a public key's PKIX DER.
func fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// certIdentity reads the subject and issuer of a Fulcio certificate.
func certIdentity(der []byte) (subject, issuer string, err error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", err
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return "", "", err
	}
	return sum.SubjectAlternativeName, sum.Issuer, nil
}

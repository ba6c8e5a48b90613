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
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// These tests moved here from pkg/attestation with the signer and verifier.

const (
	imageHex   = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	imageDig   = "sha256:" + imageHex
	minimalPre = `{"bomFormat":"CycloneDX","specVersion":"1.6"}`
)

// wantErr fails unless err says want.
func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
}

func TestPAE(t *testing.T) {
	tests := []struct {
		name, typ string
		body      []byte
		want      string
	}{
		// The DSSE specification's own test vector (protocol.md, "Test Vectors").
		{"spec vector", "http://example.com/HelloWorld", []byte("hello world"), "DSSEv1 29 http://example.com/HelloWorld 11 hello world"},
		{"empty type and body", "", nil, "DSSEv1 0  0 "},
		// Lengths count bytes, not characters: "é" is 2 bytes, "类型" 6.
		{"UTF-8 lengths in bytes", "类型", []byte("é"), "DSSEv1 6 类型 2 é"},
		{"in-toto type", attestation.PayloadTypeInToto, []byte("{}"), "DSSEv1 28 application/vnd.in-toto+json 2 {}"},
		{"body with spaces and digits", "t", []byte("1 2 3"), "DSSEv1 1 t 5 1 2 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(PAE(tt.typ, tt.body)); got != tt.want {
				t.Errorf("PAE = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPAESpecSignature(t *testing.T) {
	x, _ := new(big.Int).SetString("46950820868899156662930047687818585632848591499744589407958293238635476079160", 10)
	y, _ := new(big.Int).SetString("5640078356564379163099075877009565129882514886557779369047442380624545832820", 10)
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	raw, err := base64.StdEncoding.DecodeString("A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==")
	if err != nil || len(raw) != 64 {
		t.Fatalf("decoding spec signature: %v (len %d)", err, len(raw))
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	env := &attestation.Envelope{
		PayloadType: "http://example.com/HelloWorld",
		Payload:     "aGVsbG8gd29ybGQ=",
		Signatures:  []attestation.Signature{{Sig: base64.StdEncoding.EncodeToString(der)}},
	}
	if _, err := Verify(context.Background(), env, v); err != nil {
		t.Fatalf("the spec's signature does not verify: %v", err)
	}
	env.PayloadType = "http://example.com/HelloWorle"
	if _, err := Verify(context.Background(), env, v); err == nil {
		t.Fatal("the spec's signature verified a different payload type")
	}
}

func TestCosignEnvelopeInterop(t *testing.T) {
	data, err := os.ReadFile("../testdata/cosign/oci-attestation.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		VerificationMaterial struct {
			Certificate struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"certificate"`
		} `json:"verificationMaterial"`
		DSSEEnvelope json.RawMessage `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(data, &bundle); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(bundle.VerificationMaterial.Certificate.RawBytes)
	if err != nil {
		t.Fatal(err)
	}
	env, err := attestation.ParseEnvelope(bundle.DSSEEnvelope, attestation.Options{})
	if err != nil {
		t.Fatalf("ParseEnvelope: %v", err)
	}
	v, err := NewVerifier(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := Verify(context.Background(), env, v)
	if err != nil {
		t.Fatalf("cosign's envelope does not verify with its certificate key: %v", err)
	}
	wantID, _ := v.KeyID()
	if len(ids) != 1 || ids[0] != wantID {
		t.Errorf("Verify returned %v, want [%s]", ids, wantID)
	}
	st, err := attestation.OpenEnvelope(env, attestation.Options{})
	if err != nil {
		t.Fatalf("OpenEnvelope: %v", err)
	}
	if st.Type != attestation.StatementTypeV01 {
		t.Errorf("cosign wrote _type %q; the package docs say v0.1", st.Type)
	}
	if !st.HasSubjectDigest("sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4") {
		t.Errorf("subject digest not found in %+v", st.Subject)
	}
}

type testKey struct {
	name string
	key  crypto.Signer
}

func testKeys(t *testing.T) []testKey {
	t.Helper()
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return []testKey{{"ecdsa-p256", p256}, {"ecdsa-p384", p384}, {"ed25519", ed}, {"rsa-2048", rsaKey}}
}

// testStatement is a CycloneDX statement about imageDig.
func testStatement(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"_type": attestation.StatementTypeV1, "predicateType": attestation.PredicateCycloneDX,
		"subject": []any{map[string]any{"name": "ghcr.io/acme/widgets", "digest": map[string]string{"sha256": imageHex}}}, "predicate": json.RawMessage(minimalPre)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignVerify(t *testing.T) {
	ctx := context.Background()
	payload := testStatement(t)
	keys := testKeys(t)
	for i, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			signer, err := NewSigner(k.key)
			if err != nil {
				t.Fatal(err)
			}
			verifier, err := NewVerifier(k.key.Public())
			if err != nil {
				t.Fatal(err)
			}
			env, err := Sign(ctx, payload, attestation.PayloadTypeInToto, signer)
			if err != nil {
				t.Fatal(err)
			}
			// Through JSON and the untrusted-input parser, as a verifier sees it.
			wire, _ := json.Marshal(env)
			parsed, err := attestation.ParseEnvelope(wire, attestation.Options{})
			if err != nil {
				t.Fatalf("attestation.ParseEnvelope of our own envelope: %v", err)
			}
			ids, err := Verify(ctx, parsed, verifier)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			signerID, _ := signer.KeyID()
			if len(ids) != 1 || ids[0] != signerID || parsed.Signatures[0].KeyID != signerID {
				t.Errorf("key ids: verified %v, envelope hint %q, signer %q", ids, parsed.Signatures[0].KeyID, signerID)
			}
			st, err := attestation.OpenEnvelope(parsed, attestation.Options{})
			if err != nil || !st.HasSubjectDigest(imageDig) {
				t.Fatalf("OpenEnvelope: %v", err)
			}

			// Another key does not verify it.
			other := keys[(i+1)%len(keys)]
			otherV, _ := NewVerifier(other.key.Public())
			_, err = Verify(ctx, parsed, otherV)
			if !errors.Is(err, ErrNoValidSignature) || errkind.Of(err) != errkind.KindPolicy {
				t.Errorf("wrong key: got %v (kind %v), want ErrNoValidSignature as a policy failure", err, errkind.Of(err))
			}

			// Any changed byte of the payload or of the payload type breaks it.
			for j := range payload {
				changed := []byte(string(payload))
				changed[j] ^= 0x01
				tampered := *parsed
				tampered.Payload = base64.StdEncoding.EncodeToString(changed)
				if _, err := Verify(ctx, &tampered, verifier); err == nil {
					t.Fatalf("verified with payload byte %d changed", j)
				}
			}
			for j := range attestation.PayloadTypeInToto {
				changed := []byte(attestation.PayloadTypeInToto)
				changed[j] ^= 0x01
				tampered := *parsed
				tampered.PayloadType = string(changed)
				if _, err := Verify(ctx, &tampered, verifier); err == nil {
					t.Fatalf("verified with payload type byte %d changed", j)
				}
			}
		})
	}
}

func TestVerifyReportsOnlyKeysThatVerified(t *testing.T) {
	ctx := context.Background()
	keys := testKeys(t)
	s0, _ := NewSigner(keys[0].key)
	s2, _ := NewSigner(keys[2].key)
	env, err := Sign(ctx, []byte("payload"), attestation.PayloadTypeInToto, s0)
	if err != nil {
		t.Fatal(err)
	}
	env2, _ := Sign(ctx, []byte("payload"), attestation.PayloadTypeInToto, s2)
	env.Signatures = append(env.Signatures, attestation.Signature{KeyID: "garbage", Sig: "!!"}, env2.Signatures[0])
	// The envelope's keyid hint is never trusted: lie about it.
	env.Signatures[0].KeyID = "someone-else"

	var vs []Verifier
	for _, k := range keys {
		v, _ := NewVerifier(k.key.Public())
		vs = append(vs, v)
	}
	ids, err := Verify(ctx, env, vs[3], vs[2], vs[1], vs[0], vs[0])
	if err != nil {
		t.Fatal(err)
	}
	id0, _ := vs[0].KeyID()
	id2, _ := vs[2].KeyID()
	if strings.Join(ids, ",") != id2+","+id0 {
		t.Errorf("Verify = %v, want [%s %s]", ids, id2, id0)
	}
}

func TestVerifyErrors(t *testing.T) {
	ctx := context.Background()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := NewSigner(k)
	v, _ := NewVerifier(k.Public())
	env, _ := Sign(ctx, []byte("x"), attestation.PayloadTypeInToto, s)

	if _, err := Verify(ctx, env); errkind.Of(err) != errkind.KindInput {
		t.Errorf("no verifiers: %v", err)
	}
	if _, err := Verify(ctx, nil, v); errkind.Of(err) != errkind.KindInput {
		t.Errorf("nil envelope: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Verify(cancelled, env, v); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := Sign(cancelled, []byte("x"), attestation.PayloadTypeInToto, s); !errors.Is(err, context.Canceled) || errkind.Of(err) != errkind.KindInfra {
		t.Errorf("Sign with cancelled context: %v (kind %v)", err, errkind.Of(err))
	}
	if _, err := Sign(ctx, []byte("x"), "", s); errkind.Of(err) != errkind.KindInput {
		t.Errorf("Sign with empty type: %v", err)
	}
}

func TestNewSignerRejectsWeakKeys(t *testing.T) {
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.Signer
		want string
	}{
		{"P-224", p224, "want P-256, P-384 or P-521"},
		{"RSA-1024", rsa1024, "RSA key is 1024 bits, want at least 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSigner(tt.key)
			wantErr(t, err, tt.want)
			_, err = NewVerifier(tt.key.Public())
			wantErr(t, err, tt.want)
		})
	}
	_, err = NewVerifier("not a key")
	wantErr(t, err, "key type string")
}

func TestKeyID(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	sum := sha256.Sum256(der)
	s, _ := NewSigner(k)
	v, _ := NewVerifier(k.Public())
	sid, _ := s.KeyID()
	vid, _ := v.KeyID()
	if want := fmt.Sprintf("%x", sum); sid != want || vid != want {
		t.Errorf("signer %s, verifier %s, want %s", sid, vid, want)
	}
}

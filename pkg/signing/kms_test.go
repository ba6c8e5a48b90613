package signing_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/cosignlegacy"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// setEnv sets KEY=VALUE pairs for the test (the KMS providers read their SDKs'
// usual variables, as in cosign).
func setEnv(t *testing.T, env []string) {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// closedPort is a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestSignAndAttestWithAWSKMS signs and attests with a key that lives in a real
// AWS KMS implementation (local-kms, through the AWS SDK and sigstore's AWS
// provider), and the cosign CLI verifies both with the public key and with the
// KMS URI itself.
func TestSignAndAttestWithAWSKMS(t *testing.T) {
	kms := testinfra.StartLocalKMS(t)
	setEnv(t, kms.Env)
	reg := testinfra.StartRegistry(t)
	ctx := context.Background()
	pub := filepath.Join(t.TempDir(), "kms.pub")
	if err := os.WriteFile(pub, kms.PublicKeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, otherPub := keyPair(t, "other")

	ref := pushImage(t, reg.Host, "kms/app", "v1")
	res, err := signing.Sign(ctx, ref, signing.Options{Key: kms.KeyURI(), Format: signing.FormatBoth, Annotations: map[string]string{"gate": "sign"}})
	if err != nil {
		t.Fatal(err)
	}
	pk, err := cryptoutils.UnmarshalPEMToPublicKey(kms.PublicKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if res.Identity.KMSKey != kms.KeyURI() || res.Identity.Keyless || !strings.Contains(res.Identity.String(), kms.KeyURI()) {
		t.Errorf("identity = %+v", res.Identity)
	}
	if got, _ := cryptoutils.MarshalPublicKeyToPEM(pk); res.Identity.PublicKey != string(got) {
		t.Errorf("identity public key = %q, want the KMS key's", res.Identity.PublicKey)
	}
	if len(res.Signatures) != 2 {
		t.Fatalf("signatures = %+v", res.Signatures)
	}
	mustCosign(t, append(append([]string{"verify"}, verifyArgs(signing.FormatBoth, pub)...), ref.String())...)
	mustFailCosign(t, append(append([]string{"verify"}, verifyArgs(signing.FormatBoth, otherPub)...), ref.String())...)
	if err := cosignlegacy.Verify(t, ref, pub, "", map[string]any{"gate": "sign"}); err != nil {
		t.Errorf("legacy signature: %v", err)
	}
	// cosign fetches the public key from the KMS itself.
	if out, err := testinfra.RunCosign(t, kms.Env, append([]string{"verify", "--key", kms.KeyURI(), "--insecure-ignore-tlog", "--new-bundle-format", "--trusted-root", emptyTrustedRoot}, ref.String())...); err != nil {
		t.Fatalf("cosign verify --key %s: %v\n%s", kms.KeyURI(), err, out)
	}

	att, err := signing.Attest(ctx, ref, []signing.Predicate{predicate(t, "cyclonedx"), predicate(t, "vuln")}, signing.Options{Key: kms.KeyURI(), Format: signing.FormatBoth})
	if err != nil {
		t.Fatal(err)
	}
	if len(att.Attestations) != 2 || att.Identity.KMSKey != kms.KeyURI() {
		t.Fatalf("attest result = %+v", att)
	}
	for _, typ := range []string{"cyclonedx", "vuln"} {
		mustCosign(t, append(append([]string{"verify-attestation", "--type", typ}, verifyArgs(signing.FormatBoth, pub)...), ref.String())...)
	}
	if err := cosignlegacy.Verify(t, ref, pub, "https://cyclonedx.org/bom", nil); err != nil {
		t.Errorf("legacy attestation: %v", err)
	}
}

// TestKMSKeyErrors: a malformed KMS URI is an input error before anything is
// contacted, a key the KMS does not have is an input error, and a KMS that does
// not answer is an infrastructure error; each names the key.
func TestKMSKeyErrors(t *testing.T) {
	kms := testinfra.StartLocalKMS(t)
	reg := testinfra.StartRegistry(t)
	ref := pushImage(t, reg.Host, "kms/errors", "v1")
	down := closedPort(t)
	tests := []struct {
		name string
		key  string
		env  []string
		kind errkind.Kind
		want string
	}{
		{"aws malformed", "awskms://", nil, errkind.KindInput, "not a valid AWS KMS key reference"},
		{"aws malformed key id", "awskms:///not a key", nil, errkind.KindInput, "not a valid AWS KMS key reference"},
		{"gcp malformed", "gcpkms://projects/p/keyRings/r", nil, errkind.KindInput, "not a valid Google Cloud KMS key reference"},
		{"azure malformed", "azurekms://vault-only", nil, errkind.KindInput, "not a valid Azure Key Vault key reference"},
		{"vault malformed", "hashivault://transit/keys/k", nil, errkind.KindInput, "not a valid HashiCorp Vault transit key reference"},
		{"aws unknown alias", "awskms://" + kms.Endpoint + "/alias/no-such-key", kms.Env, errkind.KindInput, "NotFoundException"},
		{"aws unreachable", "awskms://" + down + "/alias/secure-gates-test", testinfra.AWSTestEnv(""), errkind.KindInfra, "fetching the public key from AWS KMS"},
		{"vault not configured", "hashivault://signing", []string{"VAULT_ADDR=", "BAO_ADDR=", "VAULT_TOKEN=t"}, errkind.KindInput, "setting up the HashiCorp Vault transit client"},
		{"vault unreachable", "hashivault://signing", []string{"VAULT_ADDR=http://" + down, "VAULT_TOKEN=t", "VAULT_MAX_RETRIES=0"}, errkind.KindInfra, "fetching the public key from HashiCorp Vault transit"},
		{"gcp no credentials", "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k", []string{"GOOGLE_APPLICATION_CREDENTIALS=" + filepath.Join(t.TempDir(), "absent.json")}, errkind.KindInput, "setting up the Google Cloud KMS client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			for _, f := range []func() error{
				func() error {
					_, err := signing.Sign(context.Background(), ref, signing.Options{Key: tt.key, Format: signing.FormatLegacy})
					return err
				},
				func() error {
					_, err := signing.Attest(context.Background(), ref, []signing.Predicate{predicate(t, "vuln")}, signing.Options{Key: tt.key, Format: signing.FormatLegacy})
					return err
				},
			} {
				err := f()
				if err == nil || errkind.Of(err) != tt.kind || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), strings.TrimSpace(tt.key)) {
					t.Fatalf("error = %v (%v), want a %v error naming %s and containing %q", err, errkind.Of(err), tt.kind, tt.key, tt.want)
				}
			}
			assertNothingAttached(t, ref)
		})
	}
}

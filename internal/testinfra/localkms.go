package testinfra

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// LocalKMS is nsmithuk/local-kms, an AWS KMS API implementation in Go (real
// ECDSA signing behind the KMS JSON protocol), built like the other tools.
var LocalKMS = Tool{Name: "local-kms", Package: "github.com/nsmithuk/local-kms", Version: "v0.0.0-20260228092603-2a5e92d09ab6"}

// KMS is a running local AWS KMS with one ECDSA P-256 signing key.
type KMS struct {
	// Endpoint is the TLS host:port the AWS SDK talks to (sigstore's AWS
	// provider always uses https://ENDPOINT).
	Endpoint string
	// KeyID is the key's id; Alias ("alias/secure-gates-test") names it too.
	KeyID, Alias string
	// PublicKeyPEM is the key's public half, for verifying what it signed.
	PublicKeyPEM []byte
	// Env are the variables the AWS SDK needs: static test credentials, the
	// region, the TLS proxy's certificate as CA bundle, no instance metadata and
	// no shared config files.
	Env []string
}

// KeyURI is the key reference secure-gates and cosign take, by alias.
func (k *KMS) KeyURI() string { return "awskms://" + k.Endpoint + "/" + k.Alias }

var localKMSStarted = regexp.MustCompile(`Local KMS started on 0\.0\.0\.0:([0-9]+)`)

// StartLocalKMS builds (once) and starts local-kms on a free port with a seeded
// ECDSA P-256 key and the alias alias/secure-gates-test, fronted by a TLS
// reverse proxy on 127.0.0.1, and stops both when t ends.
func StartLocalKMS(t testing.TB) *KMS {
	t.Helper()
	bin := LocalKMS.Path(t)
	dir := t.TempDir()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	const keyID = "5e7c2f0a-8f1b-4c1e-9d3a-6b2f4c8e1a90"
	const alias = "alias/secure-gates-test"
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})
	seed := fmt.Sprintf("Keys:\n  Asymmetric:\n    Ecc:\n      - Metadata:\n          KeyId: %s\n          KeyUsage: SIGN_VERIFY\n          Description: secure-gates test key\n        PrivateKeyPem: |\n%s\nAliases:\n  - AliasName: %s\n    TargetKeyId: %s\n",
		keyID, indent(string(keyPEM), "          "), alias, keyID)
	seedPath := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seedPath, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"PORT=0", "KMS_REGION=eu-west-2", "KMS_ACCOUNT_ID=111122223333", "KMS_SEED_PATH=" + seedPath, "KMS_DATA_PATH=" + filepath.Join(dir, "data"), "HOME=" + dir}
	port := startReporting(t, cmd, "local-kms", localKMSStarted, func(cmd *exec.Cmd) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	backend, err := url.Parse("http://127.0.0.1:" + port)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(backend))
	t.Cleanup(proxy.Close)
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &KMS{
		Endpoint: strings.TrimPrefix(proxy.URL, "https://"), KeyID: keyID, Alias: alias,
		PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
		Env:          AWSTestEnv(ca),
	}
}

// AWSTestEnv are AWS SDK settings that reach nothing but what a test names:
// static credentials, a region, caBundle (if not empty) as the only CA, and no
// instance metadata service or shared config files.
func AWSTestEnv(caBundle string) []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=AKIDSECUREGATESTEST", "AWS_SECRET_ACCESS_KEY=secure-gates-test-secret", "AWS_REGION=eu-west-2",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_MAX_ATTEMPTS=2",
	}
	if caBundle != "" {
		env = append(env, "AWS_CA_BUNDLE="+caBundle)
	}
	return env
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

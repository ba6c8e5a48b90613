package signing

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// TestDecryptCosignKeyMatchesSecuresystemslib: what securesystemslib encrypts
// (cosign.key's format) at each of its KDF levels decrypts to the same bytes,
// and a wrong password, a changed ciphertext or unknown parameters fail.
func TestDecryptCosignKeyMatchesSecuresystemslib(t *testing.T) {
	t.Parallel()
	plain := []byte("a PKCS #8 key would be here")
	for _, level := range []encrypted.KDFParameterStrength{encrypted.Legacy, encrypted.Standard, encrypted.OWASP} {
		body, err := encrypted.EncryptWithCustomKDFParameters(plain, []byte("s3cret"), level)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decryptCosignKey(body, []byte("s3cret"))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("level %d: %q, %v", level, got, err)
		}
		ref, err := encrypted.Decrypt(body, []byte("s3cret"))
		if err != nil || !bytes.Equal(ref, got) {
			t.Fatalf("level %d: securesystemslib gives %q, %v", level, ref, err)
		}
		if level != encrypted.Standard {
			continue
		}
		if _, err := decryptCosignKey(body, []byte("s3cre7")); err == nil || !strings.Contains(err.Error(), "decryption failed") {
			t.Errorf("wrong password: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		orig := m["ciphertext"].(string)
		ct := []byte(orig)
		// Another base64 character: the ciphertext still decodes, and only
		// secretbox's authentication can refuse it.
		if ct[5] == 'A' {
			ct[5] = 'B'
		} else {
			ct[5] = 'A'
		}
		m["ciphertext"] = string(ct)
		tampered, _ := json.Marshal(m)
		if _, err := decryptCosignKey(tampered, []byte("s3cret")); err == nil || !strings.Contains(err.Error(), "decryption failed") {
			t.Errorf("a changed ciphertext: %v, want decryption failed", err)
		}
		m["ciphertext"] = orig
		m["kdf"].(map[string]any)["params"] = map[string]int{"N": 1 << 10, "r": 8, "p": 1}
		weak, _ := json.Marshal(m)
		if _, err := decryptCosignKey(weak, []byte("s3cret")); err == nil || !strings.Contains(err.Error(), "unsupported scrypt parameters") {
			t.Errorf("weak parameters: %v", err)
		}
	}
}

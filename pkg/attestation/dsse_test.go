package attestation

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// The DSSE specification's test vector signature: ECDSA P-256 with SHA-256
// (RFC 6979) over the PAE, signature as raw r||s. It was made by another
// implementation, so it checks PAE byte for byte and our ECDSA verifier.
// A Sigstore bundle made by cosign (keyless, Fulcio P-256 certificate): its
// DSSE signature must verify with our verifier, and its legacy v0.1 statement
// must parse.
// A legacy cosign --type vuln envelope parses; its predicate carries the zero
// times cosign writes when the scan gave none, which ValidatePredicate refuses.
func TestCosignVulnEnvelope(t *testing.T) {
	data, err := os.ReadFile("testdata/cosign/vuln-envelope.json")
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseEnvelope(data, Options{})
	if err != nil {
		t.Fatalf("ParseEnvelope: %v", err)
	}
	st, err := OpenEnvelope(env, Options{})
	if err != nil {
		t.Fatalf("OpenEnvelope: %v", err)
	}
	if st.PredicateType != PredicateVuln {
		t.Fatalf("predicateType %q", st.PredicateType)
	}
	var p VulnScan
	if err := json.Unmarshal(st.Predicate, &p); err != nil {
		t.Fatalf("cosign's vuln predicate does not decode into VulnScan: %v", err)
	}
	if !p.Metadata.ScanFinishedOn.IsZero() {
		t.Fatalf("fixture changed: scanFinishedOn %v", p.Metadata.ScanFinishedOn)
	}
	if err := ValidatePredicate(st.PredicateType, st.Predicate, Options{}); err == nil {
		t.Error("ValidatePredicate accepted a vuln predicate with no scanner and zero times")
	}
}

// The key id is documented as hex sha256 of the PKIX DER public key.
func testStatement(t *testing.T) []byte {
	t.Helper()
	st, err := NewStatement([]Subject{{Name: "ghcr.io/acme/widgets", Digest: map[string]string{"sha256": imageHex}}}, PredicateCycloneDX, json.RawMessage(minimalPre))
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// envelopeJSON builds an envelope document from parts.
func envelopeJSON(payloadType, payload, signatures string) []byte {
	return []byte(fmt.Sprintf(`{"payloadType":%q,"payload":%q,"signatures":%s}`, payloadType, payload, signatures))
}

func TestParseEnvelopeRejects(t *testing.T) {
	payload := base64.StdEncoding.EncodeToString(testStatement(t))
	sig := `[{"keyid":"k","sig":"` + base64.StdEncoding.EncodeToString([]byte("signature")) + `"}]`
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte(`{"payloadType"`), "invalid JSON"},
		{"array", []byte(`[]`), "want a JSON object"},
		{"duplicate payload", []byte(`{"payloadType":"` + PayloadTypeInToto + `","payload":"e30=","payload":"e30="}`), `duplicate key "payload"`},
		{"unknown field", []byte(`{"payloadType":"` + PayloadTypeInToto + `","payload":"` + payload + `","signatures":` + sig + `,"extra":1}`), `unknown field "extra"`},
		{"missing payloadType", []byte(`{"payload":"` + payload + `","signatures":` + sig + `}`), "payloadType is missing"},
		{"other payload type", envelopeJSON("application/json", payload, sig), `payloadType "application/json"`},
		{"in-toto type in another case", envelopeJSON("application/vnd.in-toto+JSON", payload, sig), "want \"application/vnd.in-toto+json\""},
		{"missing payload", []byte(`{"payloadType":"` + PayloadTypeInToto + `","signatures":` + sig + `}`), "payload is missing"},
		{"payload not base64", envelopeJSON(PayloadTypeInToto, "not base64!", sig), "payload: invalid base64"},
		{"payload with line break", envelopeJSON(PayloadTypeInToto, payload[:8]+"\n"+payload[8:], sig), "line break"},
		{"payload with non-canonical padding bits", envelopeJSON(PayloadTypeInToto, "e31=", sig), "invalid base64"},
		{"empty payload", envelopeJSON(PayloadTypeInToto, "", sig), "payload is empty"},
		{"missing signatures", []byte(`{"payloadType":"` + PayloadTypeInToto + `","payload":"` + payload + `"}`), "signatures is missing"},
		{"signatures null", envelopeJSON(PayloadTypeInToto, payload, `null`), "signatures: want an array"},
		{"no signatures", envelopeJSON(PayloadTypeInToto, payload, `[]`), "signatures is empty"},
		{"signature without sig", envelopeJSON(PayloadTypeInToto, payload, `[{"keyid":"k"}]`), "signature 0: sig is missing"},
		{"empty sig", envelopeJSON(PayloadTypeInToto, payload, `[{"sig":""}]`), "sig is empty"},
		{"sig not base64", envelopeJSON(PayloadTypeInToto, payload, `[{"sig":"***"}]`), "sig: invalid base64"},
		{"sig too large", envelopeJSON(PayloadTypeInToto, payload, `[{"sig":"`+base64.StdEncoding.EncodeToString(make([]byte, maxSignatureBytes+1))+`"}]`), "over the limit of 16384"},
		{"keyid too large", envelopeJSON(PayloadTypeInToto, payload, `[{"keyid":"`+strings.Repeat("k", maxKeyIDBytes+1)+`","sig":"c2ln"}]`), "keyid is 1025 bytes"},
		{"unknown signature field", envelopeJSON(PayloadTypeInToto, payload, `[{"sig":"c2ln","cert":"x"}]`), `unknown field "cert"`},
		{"signature not an object", envelopeJSON(PayloadTypeInToto, payload, `["c2ln"]`), "signature 0: want a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEnvelope(tt.data, Options{})
			checkErr(t, err, tt.want)
			if errkind.Of(err) != errkind.KindInput {
				t.Errorf("kind %v, want input", errkind.Of(err))
			}
		})
	}
}

func TestParseEnvelopeAcceptsURLSafeBase64(t *testing.T) {
	// The DSSE spec requires verifiers to accept URL-safe base64 too. Six "~"
	// in a row hold an aligned "~~~", whose standard base64 is "fn5+".
	st, err := NewStatement([]Subject{{Name: "x", Digest: map[string]string{"sha256": imageHex}}},
		PredicateCycloneDX, map[string]string{"bomFormat": "CycloneDX", "specVersion": "1.6", "note": "~~~~~~"})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := st.Marshal()
	urlSafe := base64.URLEncoding.EncodeToString(payload)
	if urlSafe == base64.StdEncoding.EncodeToString(payload) {
		t.Fatal("test payload encodes the same in both alphabets")
	}
	env, err := ParseEnvelope(envelopeJSON(PayloadTypeInToto, urlSafe, `[{"sig":"c2ln"}]`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenEnvelope(env, Options{})
	if err != nil || !got.HasSubjectDigest(imageDig) {
		t.Fatalf("OpenEnvelope: %v", err)
	}
}

func TestParseEnvelopeLimits(t *testing.T) {
	payload := testStatement(t)
	b64 := base64.StdEncoding.EncodeToString(payload)
	sigs := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `{"keyid":"","sig":"c2ln"}`
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	tests := []struct {
		name    string
		data    []byte
		opts    Options
		wantErr string
	}{
		{"exactly the default signature cap", envelopeJSON(PayloadTypeInToto, b64, sigs(DefaultMaxSignatures)), Options{}, ""},
		{"one signature over the default cap", envelopeJSON(PayloadTypeInToto, b64, sigs(DefaultMaxSignatures+1)), Options{}, "9 signatures, over the limit of 8"},
		{"exactly a configured cap", envelopeJSON(PayloadTypeInToto, b64, sigs(2)), Options{MaxSignatures: 2}, ""},
		{"one over a configured cap", envelopeJSON(PayloadTypeInToto, b64, sigs(3)), Options{MaxSignatures: 2}, "3 signatures, over the limit of 2"},
		{"payload at the cap", envelopeJSON(PayloadTypeInToto, b64, sigs(1)), Options{MaxPayloadBytes: len(payload)}, ""},
		{"payload one byte over the cap", envelopeJSON(PayloadTypeInToto, b64, sigs(1)), Options{MaxPayloadBytes: len(payload) - 1}, fmt.Sprintf("over the limit of %d", len(payload)-1)},
		{"envelope far over the cap", envelopeJSON(PayloadTypeInToto, strings.Repeat("A", 4<<20), sigs(1)), Options{MaxPayloadBytes: 1024}, "envelope is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEnvelope(tt.data, tt.opts)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestOpenEnvelopeRejects(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(testStatement(t))
	tests := []struct {
		name string
		env  *Envelope
		want string
	}{
		{"nil", nil, "envelope is nil"},
		{"other payload type", &Envelope{PayloadType: "text/plain", Payload: good}, `payloadType "text/plain"`},
		{"bad base64", &Envelope{PayloadType: PayloadTypeInToto, Payload: "%%%"}, "invalid base64"},
		{"payload not a statement", &Envelope{PayloadType: PayloadTypeInToto, Payload: base64.StdEncoding.EncodeToString([]byte(`{"a":1}`))}, `unknown field "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenEnvelope(tt.env, Options{})
			checkErr(t, err, tt.want)
		})
	}
}

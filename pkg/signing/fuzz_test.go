package signing_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// FuzzParseAnnotations: the annotations input never panics, and what it accepts
// has non-empty, unique keys without surrounding space.
func FuzzParseAnnotations(f *testing.F) {
	for _, s := range []string{"a=b\nc=d", "=x", "a=1\na=2", "k = v = w", "\n\n", "ключ=значение"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := signing.ParseAnnotations(strings.Split(s, "\n"))
		if err != nil {
			return
		}
		for k := range m {
			if k == "" || strings.TrimSpace(k) != k {
				t.Fatalf("accepted key %q", k)
			}
		}
	})
}

// FuzzValidatePredicates: a predicate file is untrusted input. Whatever is
// accepted is one JSON object.
func FuzzValidatePredicates(f *testing.F) {
	ref := oci.Ref{Repository: "127.0.0.1:5000/acme/app", Digest: "sha256:" + strings.Repeat("ab", 32)}
	for _, s := range []string{`{"bomFormat":"CycloneDX","specVersion":"1.5"}`, `{"bomFormat":"CycloneDX"}`, `[]`, `{"a":1,"a":2}`, `{`} {
		f.Add("cyclonedx", []byte(s))
	}
	f.Add("vuln", []byte(`{"scanner":{"uri":"x"},"metadata":{"scanFinishedOn":"2026-01-01T00:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		err := signing.ValidatePredicates(ref, []signing.Predicate{{Type: typ, Data: data}})
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil {
			t.Fatalf("accepted a predicate that is not a JSON object: %q", data)
		}
	})
}

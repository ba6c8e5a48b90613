package attestation

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

// seedFiles adds every file matching pattern to f's corpus.
func seedFiles(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds match %s: %v", pattern, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseStatement(f *testing.F) {
	seedFiles(f, "testdata/statement-*.golden.json")
	f.Add(statementJSON(StatementTypeV01, goodSubjects, PredicateVuln, `{}`))
	f.Add(statementJSON(StatementTypeV1, subjectJSON(`{"sha256":"`+imageHex+`","sha512":"`+sha512Hex+`"}`), PredicateSPDX, `{"a":[1,{"b":null}]}`))
	f.Add(statementJSON(StatementTypeV1, `[]`, PredicateVuln, `{}`))
	f.Add([]byte(`{"_type":"` + StatementTypeV1 + `","_type":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStatement(data, Options{MaxPayloadBytes: 1 << 20})
		if err != nil {
			return
		}
		// Whatever parses obeys the rules and survives a round trip.
		if len(st.Subject) == 0 || len(st.Subject) > MaxSubjects {
			t.Fatalf("parsed %d subjects", len(st.Subject))
		}
		for _, s := range st.Subject {
			if !st.HasSubjectDigest("sha256:" + s.Digest["sha256"]) {
				t.Fatalf("subject %q has no valid sha256 digest", s.Name)
			}
		}
		out, err := st.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed statement: %v", err)
		}
		again, err := ParseStatement(out, Options{MaxPayloadBytes: 2 << 20})
		if err != nil {
			t.Fatalf("re-parsing %s: %v", out, err)
		}
		out2, _ := again.Marshal()
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip not stable:\n%s\n%s", out, out2)
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	seedFiles(f, "testdata/cosign/*.json")
	golden, err := os.ReadFile("testdata/statement-code-scan.golden.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(envelopeJSON(PayloadTypeInToto, base64.StdEncoding.EncodeToString(golden), `[{"keyid":"k","sig":"c2ln"}]`))
	f.Add(envelopeJSON(PayloadTypeInToto, base64.URLEncoding.EncodeToString(golden), `[{"sig":"c2ln"},{"sig":"c2ln"}]`))
	f.Add(envelopeJSON("application/json", "e30=", `[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvelope(data, Options{MaxPayloadBytes: 1 << 20})
		if err != nil {
			return
		}
		if env.PayloadType != PayloadTypeInToto || len(env.Signatures) == 0 || len(env.Signatures) > DefaultMaxSignatures {
			t.Fatalf("parsed an envelope that breaks the rules: %+v", env)
		}
		if st, err := OpenEnvelope(env, Options{MaxPayloadBytes: 1 << 20}); err == nil {
			if _, err := st.Marshal(); err != nil {
				t.Fatalf("Marshal of an opened statement: %v", err)
			}
		}
	})
}

func FuzzValidatePredicate(f *testing.F) {
	for _, p := range registry {
		b, err := os.ReadFile("testdata/predicates/" + p.Name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Name, b)
	}
	f.Add("vuln", []byte(`{"scanner":{"uri":"x"},"metadata":{"scanFinishedOn":"0001-01-01T00:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		err := ValidatePredicate(typ, data, Options{MaxPayloadBytes: 1 << 20})
		if err == nil {
			if _, rerr := ResolveType(typ); rerr != nil {
				t.Fatalf("validated a predicate of unknown type %q", typ)
			}
		}
	})
}

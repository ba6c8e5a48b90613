package attestation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

const (
	imageHex   = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	imageDig   = "sha256:" + imageHex
	otherHex   = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"
	sha512Hex  = "ee26b0dd4af7e749aa1a8ee3c10ae9923f618980772e473f8819a5d4940e0db27ac185f8a0e1d5f84f88bc887fd67b143732c304cc5fa9ad8e6f57f50028a8ff"
	minimalPre = `{"bomFormat":"CycloneDX","specVersion":"1.6"}`
)

// statementJSON builds a statement document from parts, so each test case
// changes exactly one thing.
func statementJSON(typ, subjects, predicateType, predicate string) []byte {
	return []byte(fmt.Sprintf(`{"_type":%q,"subject":%s,"predicateType":%q,"predicate":%s}`, typ, subjects, predicateType, predicate))
}

func subjectJSON(digests string) string {
	return `[{"name":"ghcr.io/acme/widgets","digest":` + digests + `}]`
}

var goodSubjects = subjectJSON(`{"sha256":"` + imageHex + `"}`)

func TestParseStatementAccepts(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Statement
	}{
		{
			name: "v1",
			data: statementJSON(StatementTypeV1, goodSubjects, PredicateCycloneDX, minimalPre),
			want: Statement{Type: StatementTypeV1, PredicateType: PredicateCycloneDX,
				Subject: []Subject{{Name: "ghcr.io/acme/widgets", Digest: map[string]string{"sha256": imageHex}}}},
		},
		{
			name: "legacy v0.1 as cosign writes it",
			data: statementJSON(StatementTypeV01, goodSubjects, PredicateVuln, `{}`),
			want: Statement{Type: StatementTypeV01, PredicateType: PredicateVuln,
				Subject: []Subject{{Name: "ghcr.io/acme/widgets", Digest: map[string]string{"sha256": imageHex}}}},
		},
		{
			name: "sha512 beside sha256, v1 resource descriptor fields ignored, no name",
			data: statementJSON(StatementTypeV1, `[{"uri":"oci://x","digest":{"sha256":"`+imageHex+`","sha512":"`+sha512Hex+`"},"annotations":{"a":"b"}}]`, PredicateSPDX, `{}`),
			want: Statement{Type: StatementTypeV1, PredicateType: PredicateSPDX,
				Subject: []Subject{{Digest: map[string]string{"sha256": imageHex, "sha512": sha512Hex}}}},
		},
		{
			name: "no predicate",
			data: []byte(`{"_type":"` + StatementTypeV1 + `","subject":` + goodSubjects + `,"predicateType":"https://example.com/p"}`),
			want: Statement{Type: StatementTypeV1, PredicateType: "https://example.com/p",
				Subject: []Subject{{Name: "ghcr.io/acme/widgets", Digest: map[string]string{"sha256": imageHex}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseStatement(tt.data, Options{})
			if err != nil {
				t.Fatalf("ParseStatement: %v", err)
			}
			if st.Type != tt.want.Type || st.PredicateType != tt.want.PredicateType {
				t.Errorf("got type %q predicateType %q, want %q %q", st.Type, st.PredicateType, tt.want.Type, tt.want.PredicateType)
			}
			gotSub, _ := json.Marshal(st.Subject)
			wantSub, _ := json.Marshal(tt.want.Subject)
			if !bytes.Equal(gotSub, wantSub) {
				t.Errorf("subjects: got %s, want %s", gotSub, wantSub)
			}
		})
	}
}

func TestParseStatementRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string // substring of the error
	}{
		{"not JSON", []byte(`{"_type":`), "invalid JSON"},
		{"array at top level", []byte(`[1,2]`), "want a JSON object, got an array"},
		{"string at top level", []byte(`"x"`), "want a JSON object, got a string"},
		{"two top-level values", []byte(`{}{}`), "more than one top-level value"},
		{"invalid UTF-8", []byte("{\"_type\":\"\xff\"}"), "not valid UTF-8"},
		{"duplicate top-level key", []byte(`{"_type":"` + StatementTypeV1 + `","_type":"x"}`), `duplicate key "_type"`},
		{"duplicate key inside predicate", statementJSON(StatementTypeV1, goodSubjects, PredicateCycloneDX, `{"a":{"b":1,"b":2}}`), `duplicate key "b"`},
		{"unknown top-level field", []byte(`{"_type":"` + StatementTypeV1 + `","subject":` + goodSubjects + `,"predicateType":"https://x.dev/p","signatures":[]}`), `unknown field "signatures"`},
		{"field name in another case", []byte(`{"_type":"` + StatementTypeV1 + `","Subject":` + goodSubjects + `,"predicateType":"https://x.dev/p"}`), `unknown field "Subject"`},
		{"missing _type", []byte(`{"subject":` + goodSubjects + `,"predicateType":"https://x.dev/p"}`), "_type is missing"},
		{"_type not a string", []byte(`{"_type":1}`), "_type: want a string"},
		{"wrong _type", statementJSON("https://in-toto.io/Statement/v0.2", goodSubjects, PredicateVuln, `{}`), `_type "https://in-toto.io/Statement/v0.2"`},
		{"_type v1.0 spelling", statementJSON("https://in-toto.io/Statement/v1.0", goodSubjects, PredicateVuln, `{}`), `_type "https://in-toto.io/Statement/v1.0"`},
		{"missing subject", []byte(`{"_type":"` + StatementTypeV1 + `","predicateType":"https://x.dev/p"}`), "subject is missing"},
		{"subject not an array", statementJSON(StatementTypeV1, `{"name":"x"}`, PredicateVuln, `{}`), "subject: want an array"},
		{"subject null", statementJSON(StatementTypeV1, `null`, PredicateVuln, `{}`), "subject: want an array"},
		{"empty subject", statementJSON(StatementTypeV1, `[]`, PredicateVuln, `{}`), "subject is empty"},
		{"subject entry not an object", statementJSON(StatementTypeV1, `["x"]`, PredicateVuln, `{}`), "subject 0: want a JSON object"},
		{"subject without digest", statementJSON(StatementTypeV1, `[{"name":"x"}]`, PredicateVuln, `{}`), "subject 0: digest is missing"},
		{"subject digest in another case", statementJSON(StatementTypeV1, `[{"name":"x","Digest":{"sha256":"`+imageHex+`"}}]`, PredicateVuln, `{}`), "digest is missing"},
		{"empty digest set", statementJSON(StatementTypeV1, subjectJSON(`{}`), PredicateVuln, `{}`), "digest is empty"},
		{"no sha256", statementJSON(StatementTypeV1, subjectJSON(`{"sha512":"`+sha512Hex+`"}`), PredicateVuln, `{}`), "no sha256 digest"},
		{"sha256 upper case", statementJSON(StatementTypeV1, subjectJSON(`{"sha256":"`+strings.ToUpper(imageHex)+`"}`), PredicateVuln, `{}`), "want lowercase hex"},
		{"sha256 too short", statementJSON(StatementTypeV1, subjectJSON(`{"sha256":"`+imageHex[:63]+`"}`), PredicateVuln, `{}`), "want 64 lowercase hex characters, got 63"},
		{"sha256 with prefix", statementJSON(StatementTypeV1, subjectJSON(`{"sha256":"`+imageDig+`"}`), PredicateVuln, `{}`), "want 64 lowercase hex"},
		{"sha256 a tag", statementJSON(StatementTypeV1, subjectJSON(`{"sha256":"latest"}`), PredicateVuln, `{}`), "want 64 lowercase hex"},
		{"sha512 wrong length", statementJSON(StatementTypeV1, subjectJSON(`{"sha256":"`+imageHex+`","sha512":"`+imageHex+`"}`), PredicateVuln, `{}`), "sha512 digest"},
		{"digest value not a string", statementJSON(StatementTypeV1, subjectJSON(`{"sha256":1}`), PredicateVuln, `{}`), "every value must be a string"},
		{"name not a string", statementJSON(StatementTypeV1, `[{"name":1,"digest":{"sha256":"`+imageHex+`"}}]`, PredicateVuln, `{}`), "name: want a string"},
		{"missing predicateType", []byte(`{"_type":"` + StatementTypeV1 + `","subject":` + goodSubjects + `}`), "predicateType is missing"},
		{"short name as predicateType", statementJSON(StatementTypeV1, goodSubjects, "vuln", `{}`), "not an absolute URI"},
		{"empty predicateType", statementJSON(StatementTypeV1, goodSubjects, "", `{}`), "predicateType: empty"},
		{"predicate an array", statementJSON(StatementTypeV1, goodSubjects, PredicateVuln, `[]`), "predicate: want a JSON object"},
		{"predicate a string (cosign --type spdx)", statementJSON(StatementTypeV1, goodSubjects, PredicateSPDX, `"SPDXVersion: SPDX-2.3"`), "predicate is a JSON string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseStatement(tt.data, Options{})
			if err == nil {
				t.Fatalf("ParseStatement accepted %s as %+v", tt.data, st)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if errkind.Of(err) != errkind.KindInput {
				t.Errorf("error kind %v, want input", errkind.Of(err))
			}
		})
	}
}

func TestParseStatementSubjectLimits(t *testing.T) {
	subjects := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`{"name":"s%d","digest":{"sha256":"%s"}}`, i, imageHex)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	digests := func(n int) string {
		parts := []string{`"sha256":"` + imageHex + `"`}
		for i := 1; i < n; i++ {
			parts = append(parts, fmt.Sprintf(`"custom%d":"v"`, i))
		}
		return subjectJSON("{" + strings.Join(parts, ",") + "}")
	}
	tests := []struct {
		name     string
		subjects string
		wantErr  string
	}{
		{"exactly MaxSubjects", subjects(MaxSubjects), ""},
		{"one subject over", subjects(MaxSubjects + 1), "1025 subjects, over the limit of 1024"},
		{"exactly MaxDigestsPerSubject", digests(MaxDigestsPerSubject), ""},
		{"one digest over", digests(MaxDigestsPerSubject + 1), "33 digests, over the limit of 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStatement(statementJSON(StatementTypeV1, tt.subjects, PredicateVuln, `{}`), Options{})
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestParseStatementPayloadCap(t *testing.T) {
	base := statementJSON(StatementTypeV1, goodSubjects, PredicateCycloneDX, `{"pad":""}`)
	padded := func(size int) []byte {
		return bytes.Replace(base, []byte(`"pad":""`), []byte(`"pad":"`+strings.Repeat("x", size-len(base))+`"`), 1)
	}
	tests := []struct {
		name    string
		data    []byte
		opts    Options
		wantErr string
	}{
		{"at a configured cap", padded(4096), Options{MaxPayloadBytes: 4096}, ""},
		{"one byte over a configured cap", padded(4097), Options{MaxPayloadBytes: 4096}, "4097 bytes, over the limit of 4096"},
		{"at the default cap", padded(DefaultMaxPayloadBytes), Options{}, ""},
		{"one byte over the default cap", padded(DefaultMaxPayloadBytes + 1), Options{}, "over the limit of 16777216"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStatement(tt.data, tt.opts)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestNewStatementGolden(t *testing.T) {
	pred, err := os.ReadFile("testdata/predicates/code-scan.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStatement([]Subject{{Name: "ghcr.io/acme/widgets", Digest: map[string]string{"sha256": imageHex}}}, PredicateCodeScan, json.RawMessage(pred))
	if err != nil {
		t.Fatalf("NewStatement: %v", err)
	}
	got, err := st.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	golden.Check(t, filepath.Join("testdata", "statement-code-scan.golden.json"), got)
	// What we write, we read back unchanged.
	back, err := ParseStatement(got, Options{})
	if err != nil {
		t.Fatalf("ParseStatement of our own output: %v", err)
	}
	again, _ := back.Marshal()
	if !bytes.Equal(again, got) {
		t.Errorf("round trip changed the statement:\n%s\n%s", got, again)
	}
}

func TestNewStatementRejects(t *testing.T) {
	good := []Subject{{Name: "ghcr.io/acme/widgets", Digest: map[string]string{"sha256": imageHex}}}
	tests := []struct {
		name          string
		subjects      []Subject
		predicateType string
		predicate     any
		want          string
	}{
		{"no subjects", nil, PredicateCycloneDX, json.RawMessage(minimalPre), "subject is empty"},
		{"subject without name", []Subject{{Digest: map[string]string{"sha256": imageHex}}}, PredicateCycloneDX, json.RawMessage(minimalPre), "name is empty"},
		{"tag instead of digest", []Subject{{Name: "x", Digest: map[string]string{"sha256": "v1.2.3"}}}, PredicateCycloneDX, json.RawMessage(minimalPre), "want 64 lowercase hex"},
		{"no sha256", []Subject{{Name: "x", Digest: map[string]string{"sha512": sha512Hex}}}, PredicateCycloneDX, json.RawMessage(minimalPre), "no sha256 digest"},
		{"short name for type", good, "cyclonedx", json.RawMessage(minimalPre), "use ResolveType"},
		{"nil predicate", good, PredicateCycloneDX, nil, "predicate is nil"},
		{"predicate not an object", good, PredicateCycloneDX, []string{"a"}, "want a JSON object"},
		{"predicate invalid for its registered type", good, PredicateCycloneDX, map[string]string{"bomFormat": "SPDX"}, `bomFormat "SPDX"`},
		{"own predicate failing its schema", good, PredicateException, Exception{Reason: "r"}, "/findings"},
		{"own predicate with a zero required time", good, PredicateException,
			Exception{Findings: []string{"CVE-2021-44228"}, Reason: "r", Ticket: "T-1", Approver: "a"}, "missing property 'expires'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewStatement(tt.subjects, tt.predicateType, tt.predicate)
			checkErr(t, err, tt.want)
		})
	}
}

func TestNewStatementCopiesSubjects(t *testing.T) {
	subjects := []Subject{{Name: "x", Digest: map[string]string{"sha256": imageHex}}}
	st, err := NewStatement(subjects, "https://example.com/custom/v1", map[string]int{"a": 1})
	if err != nil {
		t.Fatal(err)
	}
	subjects[0].Digest["sha256"] = otherHex
	if !st.HasSubjectDigest(imageDig) {
		t.Error("changing the caller's map changed the statement")
	}
}

func TestMarshalValidates(t *testing.T) {
	st := &Statement{Type: StatementTypeV1, PredicateType: PredicateVuln, Subject: []Subject{{Name: "x", Digest: map[string]string{"sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}}}}
	_, err := st.Marshal()
	checkErr(t, err, "no sha256 digest")
}

func TestHasSubjectDigest(t *testing.T) {
	st, err := ParseStatement(statementJSON(StatementTypeV1,
		`[{"name":"a","digest":{"sha256":"`+otherHex+`"}},{"name":"b","digest":{"sha256":"`+imageHex+`"}}]`, PredicateVuln, `{}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		digest string
		want   bool
	}{
		{imageDig, true},                               // second subject
		{"sha256:" + otherHex, true},                   // first subject
		{"sha256:" + sha512Hex[:64], false},            // absent
		{imageHex, false},                              // no algorithm
		{"sha256:" + strings.ToUpper(imageHex), false}, // not canonical
		{"sha512:" + sha512Hex, false},                 // only sha256 digests match
		{"ghcr.io/acme/widgets:latest", false},         // a tag
		{"", false},
	}
	for _, tt := range tests {
		if got := st.HasSubjectDigest(tt.digest); got != tt.want {
			t.Errorf("HasSubjectDigest(%q) = %v, want %v", tt.digest, got, tt.want)
		}
	}
}

// checkErr fails t unless err is nil when want is "" or contains want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

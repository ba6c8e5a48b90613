package attestation

import (
	"encoding/json"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// examplePredicate reads the golden example of a registered type.
func examplePredicate(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/predicates/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit is one change to a JSON document: path is "/"-separated keys and array
// indexes; del removes the value, otherwise it is set to value.
type edit struct {
	path  string
	value any
	del   bool
}

func set(path string, value any) edit { return edit{path: path, value: value} }
func del(path string) edit            { return edit{path: path, del: true} }

func applyEdit(t *testing.T, doc []byte, e edit) []byte {
	t.Helper()
	var root any
	if err := json.Unmarshal(doc, &root); err != nil {
		t.Fatal(err)
	}
	keys := strings.Split(e.path, "/")
	node := root
	for _, k := range keys[:len(keys)-1] {
		switch n := node.(type) {
		case map[string]any:
			node = n[k]
		case []any:
			i, _ := strconv.Atoi(k)
			node = n[i]
		}
	}
	last := keys[len(keys)-1]
	m, ok := node.(map[string]any)
	if !ok {
		t.Fatalf("edit %q: parent is not an object", e.path)
	}
	if e.del {
		delete(m, last)
	} else {
		m[last] = e.value
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidatePredicateExamples(t *testing.T) {
	for _, p := range PredicateTypes() {
		t.Run(p.Name, func(t *testing.T) {
			data := examplePredicate(t, p.Name)
			if err := ValidatePredicate(p.Name, data, Options{}); err != nil {
				t.Errorf("by short name: %v", err)
			}
			if err := ValidatePredicate(p.URI, data, Options{}); err != nil {
				t.Errorf("by URI: %v", err)
			}
		})
	}
}

func TestValidatePredicateRejects(t *testing.T) {
	tests := []struct {
		typ  string
		name string
		edit edit
		want string // "" means the edited predicate is still valid
	}{
		{"code-scan", "decision missing", del("decision"), "/: missing property 'decision'"},
		{"code-scan", "decision in capitals", set("decision", "PASS"), "/decision: value must be one of 'pass', 'fail'"},
		{"code-scan", "misspelt field", set("decison", "pass"), "additional properties 'decison' not allowed"},
		{"code-scan", "sarif digest is a tag", set("sarif/digest", "latest"), "/sarif/digest"},
		{"code-scan", "negative count", set("counts/critical", -1), "/counts/critical: minimum"},
		{"code-scan", "count not an integer", set("counts/high", 1.5), "/counts/high"},
		{"code-scan", "unknown severity count missing", del("counts/unknown"), "/counts: missing property 'unknown'"},
		{"code-scan", "no tools, with an outage", set("tools", []any{}), ""},
		{"code-scan", "tools null", set("tools", nil), "/tools"},
		{"code-scan", "no outages, with tools", set("outages", []any{}), ""},
		{"code-scan", "notScanned count 0", set("notScanned/count", 0), "/notScanned/count: minimum"},
		{"code-scan", "notScanned count below the files listed", set("notScanned/count", 1), "/notScanned/count: 1 is less than the 2 files listed"},
		{"code-scan", "notScanned without files", set("notScanned/files", []any{}), "/notScanned/files: minItems"},
		{"code-scan", "notScanned file without reason", del("notScanned/files/0/reason"), "/notScanned/files/0: missing property 'reason'"},
		{"code-scan", "notScanned blank path is a name", set("notScanned/files/0/path", " "), ""},
		{"code-scan", "notScanned misspelt", set("notScaned", map[string]any{}), "additional properties 'notScaned' not allowed"},
		{"code-scan", "tool without version", del("tools/0/version"), "/tools/0: missing property 'version'"},
		{"code-scan", "rules without count", del("rules/count"), "/rules: missing property 'count'"},
		{"code-scan", "start time not RFC 3339", set("scanStartedOn", "2026-11-20 10:02:55"), "/scanStartedOn"},
		{"code-scan", "finished before started", set("scanFinishedOn", "2026-11-20T10:00:00Z"), "scanFinishedOn is before scanStartedOn"},
		{"code-scan", "outage policy unknown", set("outages/0/policy", "ignore"), "/outages/0/policy"},
		{"code-scan", "outage without time", del("outages/0/at"), "/outages/0: missing property 'at'"},
		{"code-scan", "applied exception without expiry", del("exceptionsApplied/0/expires"), "/exceptionsApplied/0: missing property 'expires'"},
		{"code-scan", "short commit", set("source/commit", "4b825dc"), "/source/commit"},
		{"code-scan", "no source is fine", del("source"), ""},
		{"code-scan", "no outages is fine", del("outages"), ""},
		{"threat-model", "digest in capitals", set("answersDigest", "sha256:B5BB9D8014A0F9B1D61E21E796D78DCCDF1352F23CD32812F4850B878AE4944C"), "/answersDigest"},
		{"threat-model", "PR number 0", set("pullRequest/number", 0), "/pullRequest/number"},
		{"threat-model", "repository not owner/name", set("pullRequest/repository", "widgets"), "/pullRequest/repository"},
		{"threat-model", "no questions", set("questions", []any{}), "/questions: minItems"},
		{"threat-model", "pass with an unanswered question", set("questions/1/answered", false), `result is pass but question "What can go wrong?" is not answered`},
		{"threat-model", "result missing", del("result"), "missing property 'result'"},
		{"threat-model", "checkedOn not a time", set("checkedOn", "today"), "/checkedOn"},
		{"assessment", "total not the sum", set("total", 25), "/total: 25, but the scores add up to 24"},
		{"assessment", "tier not the total's", set("tier", 3), "/tier: 3, but a total of 24 is tier 2"},
		{"assessment", "ids out of order", set("questions/0/id", 2), "/questions/0: id 2, want 1"},
		{"assessment", "score 3", set("questions/0/score", 3), "/questions/0/score"},
		{"assessment", "no questions", set("questions", []any{}), "/questions: minItems"},
		{"assessment", "unknown source", set("questions/0/source", "vibes"), "/questions/0/source"},
		{"assessment", "no evidence", set("questions/0/evidence", []any{}), "/questions/0/evidence"},
		{"assessment", "repository not owner/name", set("repository", "widgets"), "/repository"},
		{"exception", "no findings", set("findings", []any{}), "/findings: minItems"},
		{"exception", "empty finding id", set("findings", []any{""}), "/findings/0"},
		{"exception", "no expiry", del("expires"), "missing property 'expires'"},
		{"exception", "date without time", set("expires", "2026-12-31"), "/expires"},
		{"exception", "blank reason", set("reason", "   "), "/reason"},
		{"exception", "no approver", del("approver"), "missing property 'approver'"},
		{"exception", "empty scope is not unscoped", set("scope", ""), "/scope"},
		{"exception", "misspelt scope", set("scopes", "pkg:npm/lodash"), "additional properties 'scopes' not allowed"},
		{"exception", "breakGlass not a boolean", set("breakGlass", "yes"), "/breakGlass"},
		{"exception", "break-glass exception", set("breakGlass", true), ""},
		{"vuln", "no scanner uri", del("scanner/uri"), "scanner.uri is missing"},
		{"vuln", "empty scanner uri", set("scanner/uri", ""), "scanner.uri is empty"},
		{"vuln", "scanner not an object", set("scanner", "grype"), "scanner: want an object"},
		{"vuln", "no finish time", del("metadata/scanFinishedOn"), "metadata.scanFinishedOn is missing"},
		{"vuln", "finish time not RFC 3339", set("metadata/scanFinishedOn", "yesterday"), "want an RFC 3339 time"},
		{"vuln", "zero finish time (cosign's default)", set("metadata/scanFinishedOn", "0001-01-01T00:00:00Z"), "zero time"},
		{"vuln", "finish time a number", set("metadata/scanFinishedOn", 1700000000), "metadata.scanFinishedOn: want a string"},
		{"cyclonedx", "SPDX document", set("bomFormat", "SPDX"), `bomFormat "SPDX"`},
		{"cyclonedx", "no specVersion", del("specVersion"), "specVersion is missing"},
		{"cyclonedx", "specVersion a number", set("specVersion", 1.6), "specVersion: want a string"},
		{"spdx", "version without prefix", set("spdxVersion", "2.3"), `spdxVersion "2.3"`},
		{"spdx", "no SPDXID", del("SPDXID"), "SPDXID is missing"},
		{"slsaprovenance", "no buildType", del("buildDefinition/buildType"), "buildDefinition.buildType is missing"},
		{"slsaprovenance", "empty builder id", set("runDetails/builder/id", ""), "runDetails.builder.id is empty"},
		{"vsa", "result in lower case", set("verificationResult", "passed"), `verificationResult "passed"`},
		{"vsa", "no verifier id", del("verifier/id"), "verifier.id is missing"},
		{"vsa", "failed result", set("verificationResult", "FAILED"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.name, func(t *testing.T) {
			data := applyEdit(t, examplePredicate(t, tt.typ), tt.edit)
			err := ValidatePredicate(tt.typ, data, Options{})
			checkErr(t, err, tt.want)
			if err != nil {
				uri, _ := ResolveType(tt.typ)
				if !strings.Contains(err.Error(), uri) {
					t.Errorf("error %q does not name the predicate type", err)
				}
				if errkind.Of(err) != errkind.KindInput {
					t.Errorf("kind %v, want input", errkind.Of(err))
				}
			}
		})
	}
}

func TestValidatePredicateShape(t *testing.T) {
	tests := []struct {
		name, typ string
		data      []byte
		opts      Options
		want      string
	}{
		{"unknown type", "sbom", []byte(`{}`), Options{}, "want one of cyclonedx, spdx, vuln"},
		{"not an object", "vuln", []byte(`[]`), Options{}, "want a JSON object"},
		{"duplicate key", "cyclonedx", []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","bomFormat":"SPDX"}`), Options{}, `duplicate key "bomFormat"`},
		{"over the size cap", "cyclonedx", []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6"}`), Options{MaxPayloadBytes: 10}, "over the limit of 10"},
		{"at the size cap", "cyclonedx", []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6"}`), Options{MaxPayloadBytes: 45}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, ValidatePredicate(tt.typ, tt.data, tt.opts), tt.want)
		})
	}
}

// The Go types carry exactly the JSON the schemas and examples use: decoding
// an example and encoding it again loses and changes nothing.
func TestPredicateTypesRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"code-scan", &CodeScan{}},
		{"threat-model", &ThreatModel{}},
		{"exception", &Exception{}},
		{"assessment", &Assessment{}},
		{"vuln", &VulnScan{}},
		{"slsaprovenance", &Provenance{}},
		{"vsa", &VSA{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := examplePredicate(t, tt.name)
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tt.v); err != nil {
				t.Fatalf("decoding the example: %v", err)
			}
			out, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			_ = json.Unmarshal(data, &want)
			_ = json.Unmarshal(out, &got)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round trip changed the predicate:\nwant %s\ngot  %s", data, out)
			}
			if err := ValidatePredicate(tt.name, out, Options{}); err != nil {
				t.Errorf("re-encoded predicate is invalid: %v", err)
			}
		})
	}
}

func TestValidateOpenVEX(t *testing.T) {
	base := examplePredicate(t, "vex")
	for _, tt := range []struct {
		name, from, to string
	}{
		{"other context", `"https://openvex.dev/ns/v0.2.0"`, `"https://example.com/ns"`},
		{"no timestamp", `"timestamp": "2026-12-01T09:00:00Z",`, ``},
		{"unknown status", `"not_affected"`, `"waived"`},
		{"no vulnerability name", `"name": "CVE-2021-44228"`, `"name": ""`},
		{"no author", `"author": "security-team@acme.example",`, ``},
	} {
		data := strings.Replace(string(base), tt.from, tt.to, 1)
		if data == string(base) {
			t.Fatalf("%s: edit did not apply", tt.name)
		}
		if err := ValidatePredicate("vex", []byte(data), Options{}); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

// A code-scan predicate may list no tool only when it records why: every
// selected scanner had an outage (scanners: deps with the DB unobtainable).
func TestCodeScanNoToolsNeedsOutage(t *testing.T) {
	data := applyEdit(t, applyEdit(t, examplePredicate(t, "code-scan"), del("outages")), set("tools", []any{}))
	checkErr(t, ValidatePredicate("code-scan", data, Options{}), "/: missing property 'outages'")
	data = applyEdit(t, applyEdit(t, examplePredicate(t, "code-scan"), set("outages", []any{})), set("tools", []any{}))
	checkErr(t, ValidatePredicate("code-scan", data, Options{}), "/outages: minItems")
}

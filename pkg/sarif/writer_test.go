package sarif

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

func TestWriteGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sampleRuns(), Options{Root: testRoot}); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "report.sarif.golden"), buf.Bytes())
}

func TestWriteIsSchemaValid(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sampleRuns(), Options{Root: testRoot}); err != nil {
		t.Fatal(err)
	}
	assertSchemaValid(t, "Write output", buf.Bytes())

	// The output carries what the schema check is meant to cover.
	out := buf.String()
	for _, want := range []string{`"suppressions"`, `"partialFingerprints"`, `"security-severity": "9.5"`, `"automationDetails"`, `"help"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	if n := strings.Count(out, `"tool"`); n != 3 {
		t.Errorf("output has %d runs, want 3", n)
	}
}

// go-sarif alone emits null for unset suppression fields, which the schema
// rejects; Marshal must not. This also proves the validator can fail.
func TestMarshalDropsNullsTheSchemaRejects(t *testing.T) {
	rep, err := Build(sampleRuns(), Options{Root: testRoot})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`null`)) {
		t.Fatal("go-sarif output has no null: this test no longer shows anything")
	}
	if err := schemaError(t, raw); err == nil {
		t.Error("schema accepted go-sarif's raw output with nulls; the validator is not checking")
	}
	data, err := Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(`null`)) {
		t.Errorf("Marshal output contains null:\n%s", data)
	}
	assertSchemaValid(t, "Marshal output", data)
}

func TestWriteIsDeterministic(t *testing.T) {
	var want bytes.Buffer
	if err := Write(&want, sampleRuns(), Options{Root: testRoot}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		runs := sampleRuns()
		rng.Shuffle(len(runs), func(a, b int) { runs[a], runs[b] = runs[b], runs[a] })
		for j := range runs {
			r := &runs[j]
			rng.Shuffle(len(r.Rules), func(a, b int) { r.Rules[a], r.Rules[b] = r.Rules[b], r.Rules[a] })
			rng.Shuffle(len(r.Results), func(a, b int) { r.Results[a], r.Results[b] = r.Results[b], r.Results[a] })
		}
		var got bytes.Buffer
		if err := Write(&got, runs, Options{Root: testRoot}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("shuffle %d: output depends on input order", i)
		}
	}
}

func TestWriteFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.sarif")
	if err := WriteFile(path, sampleRuns(), Options{Root: testRoot}); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, sampleRuns(), Options{Root: testRoot}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, buf.Bytes()) {
		t.Error("WriteFile content differs from Write")
	}

	// Invalid input: the existing file stays as it was, no temp file remains.
	bad := sampleRuns()
	bad[0].Results[0].Locations[0].Path = "/etc/passwd"
	err = WriteFile(path, bad, Options{Root: testRoot})
	if err == nil {
		t.Fatal("WriteFile accepted a path outside the root")
	}
	if errkind.Of(err) != errkind.KindInput {
		t.Errorf("error kind = %v, want input", errkind.Of(err))
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, first) {
		t.Error("a failed WriteFile changed the existing file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only results.sarif", names)
	}

	// Unwritable destination: an error, and nothing created.
	missing := filepath.Join(dir, "no", "such", "dir", "x.sarif")
	if err := WriteFile(missing, sampleRuns(), Options{Root: testRoot}); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

func TestBuildRejectsInvalidRuns(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r []Run) []Run
		want   string
	}{
		{"empty tool name", func(r []Run) []Run { r[0].Tool.Name = ""; return r }, "tool name is empty"},
		{"relative information URI", func(r []Run) []Run { r[0].Tool.InformationURI = "gitleaks"; return r }, "not an absolute URI"},
		{"duplicate rule", func(r []Run) []Run { r[1].Rules[1].ID = r[1].Rules[0].ID; return r }, "defined twice"},
		{"undefined rule", func(r []Run) []Run { r[2].Results[0].RuleID = "nope"; return r }, `rule "nope" is not among the run's rules`},
		{"bad level", func(r []Run) []Run { r[2].Results[0].Level = "fatal"; return r }, `level "fatal"`},
		{"bad default level", func(r []Run) []Run { r[2].Rules[0].DefaultLevel = "high"; return r }, `default level "high"`},
		{"empty message", func(r []Run) []Run { r[2].Results[0].Message = " "; return r }, "message is empty"},
		{"path escapes root", func(r []Run) []Run { r[2].Results[0].Locations[0].Path = "../other/x.yaml"; return r }, "leaves the repository root"},
		{"absolute path outside root", func(r []Run) []Run { r[2].Results[0].Locations[0].Path = "/etc/passwd"; return r }, "leaves the repository root"},
		{"end before start", func(r []Run) []Run { r[2].Results[0].Locations[0].EndLine = 2; return r }, "end line 2 is before start line 20"},
		{"column without line", func(r []Run) []Run {
			r[2].Results[0].Locations[0] = Location{Path: "a", StartColumn: 3}
			return r
		}, "without a start line"},
		{"score over 10", func(r []Run) []Run { r[1].Rules[0].SecuritySeverity = 10.1; return r }, "expected a score in (0, 10]"},
		{"NaN score", func(r []Run) []Run { r[1].Rules[0].SecuritySeverity = math.NaN(); return r }, "expected a score in (0, 10]"},
		{"reserved property", func(r []Run) []Run { r[1].Rules[0].Properties = map[string]any{"tags": []string{"x"}}; return r }, `property "tags" is reserved`},
		{"unencodable property", func(r []Run) []Run { r[1].Results[0].Properties = map[string]any{"f": func() {}}; return r }, "properties are not JSON"},
		{"bad suppression kind", func(r []Run) []Run { r[0].Results[1].Suppression.Kind = "waiver"; return r }, `suppression kind "waiver"`},
		{"relative help URI", func(r []Run) []Run { r[1].Rules[0].HelpURI = "advisories/x"; return r }, "help URI"},
		{"duplicate tool and category", func(r []Run) []Run {
			extra := manyResults("grype", "deps/go/", 1)
			return append(r, extra)
		}, `runs 1 and 3 both have tool "grype" category "deps/go"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.mutate(sampleRuns()), Options{Root: testRoot})
			wantInputError(t, err, "Build", tt.want)
		})
	}
}

func TestRelativeURI(t *testing.T) {
	tests := []struct {
		root, path string
		want       string // "" means an error
	}{
		{"", "src/main.go", "src/main.go"},
		{"", "./src/main.go", "src/main.go"},
		{"", "src/../go.mod", "go.mod"},
		{"/repo", "/repo/src/main.go", "src/main.go"},
		{"/repo/", "/repo/./src//main.go", "src/main.go"},
		{"/repo", "file:///repo/a%20b/c.go", "a%20b/c.go"},
		{"", "third party/lib #1/x.c", "third%20party/lib%20%231/x.c"},
		{"", "c:weird/name?.go", "c%3Aweird/name%3F.go"},
		{"", "docs/ünïcode.md", "docs/%C3%BCn%C3%AFcode.md"},
		{"/repo", "/repo", ""},
		{"/repo", "/repository/x", ""},
		{"/repo", "/etc/passwd", ""},
		{"", "/abs/without/root", ""},
		{"relative-root", "/x/y", ""},
		{"", "../outside", ""},
		{"", "a/../../outside", ""},
		{"", ".", ""},
		{"", "", ""},
		{"", "https://example.com/x", ""},
		{"/repo", "file://otherhost/repo/x", ""},
		{"", "a\x00b", ""},
	}
	for _, tt := range tests {
		got, err := RelativeURI(tt.root, tt.path)
		if tt.want == "" {
			if err == nil {
				t.Errorf("RelativeURI(%q, %q) = %q, want an error", tt.root, tt.path, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("RelativeURI(%q, %q) = %q, %v; want %q", tt.root, tt.path, got, err, tt.want)
		}
	}
}

// The emitted security-severity string never moves a score into a higher
// bucket than GitHub would give the exact score, and stays in the same one.
func TestSecuritySeverityString(t *testing.T) {
	tests := map[float64]string{9.8: "9.8", 10: "10.0", 8.96: "8.9", 6.95: "6.9", 2.3: "2.3", 0.05: "0.1", 7: "7.0"}
	for score, want := range tests {
		runs := []Run{{
			Tool:  Tool{Name: "t"},
			Rules: []Rule{{ID: "r", SecuritySeverity: score}},
		}}
		rep, err := Build(runs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		props := rep.Runs[0].Tool.Driver.Rules[0].Properties
		got, _ := props["security-severity"].(string)
		if got != want {
			t.Errorf("score %v emitted as %q, want %q", score, got, want)
		}
		if tags, _ := props["tags"].([]string); !slices.Contains(tags, "security") {
			t.Errorf("score %v: tags %v lack \"security\", which GitHub requires to use the score", score, tags)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint("rule", "go.mod", "pkg@1")
	if a != Fingerprint("rule", "go.mod", "pkg@1") {
		t.Error("Fingerprint is not stable")
	}
	for _, other := range [][]string{{"rule", "go.mod", "pkg@2"}, {"rule", "go.mo", "dpkg@1"}, {"rule", "go.mod"}} {
		if Fingerprint(other...) == a {
			t.Errorf("Fingerprint(%q) collides with a different input", other)
		}
	}
}

func TestComputedFingerprintsSurviveLineShifts(t *testing.T) {
	run := func(shift int) []Run {
		return []Run{{
			Tool:  Tool{Name: "t"},
			Rules: []Rule{{ID: "r"}},
			Results: []Result{
				{RuleID: "r", Message: "same", Locations: []Location{{Path: "a.go", StartLine: 10 + shift}}},
				{RuleID: "r", Message: "same", Locations: []Location{{Path: "a.go", StartLine: 20 + shift}}},
				{RuleID: "r", Message: "given", Locations: []Location{{Path: "a.go", StartLine: 30 + shift}}, PartialFingerprints: map[string]string{FingerprintKey: "mine"}},
			},
		}}
	}
	fps := func(shift int) []string {
		rep, err := Build(run(shift), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rep.Runs[0].Results {
			out = append(out, r.PartialFingerprints[FingerprintKey].(string))
		}
		return out
	}
	before, after := fps(0), fps(7)
	if !slices.Equal(before, after) {
		t.Errorf("fingerprints changed when lines moved: %v -> %v", before, after)
	}
	if before[0] == before[1] {
		t.Errorf("two findings got the same fingerprint %q: GitHub would merge them", before[0])
	}
	if before[2] != "mine" {
		t.Errorf("given fingerprint replaced by %q", before[2])
	}
}

func TestStripNulls(t *testing.T) {
	tests := map[string]string{
		`{"a":null}`:                        `{}`,
		`{"a":null,"b":1}`:                  `{"b":1}`,
		`{"x":1,"a":null}`:                  `{"x":1}`,
		`{"x":1,"a":null,"b":null,"c":2}`:   `{"x":1,"c":2}`,
		`[null,{"a":null},null]`:            `[null,{},null]`,
		`{"s":"\"k\":null,","t":"a\\"}`:     `{"s":"\"k\":null,","t":"a\\"}`,
		`{"o":{"p":null},"q":[{"r":null}]}`: `{"o":{},"q":[{}]}`,
		`{"nullish":"null","n":nullx}`:      `{"nullish":"null","n":nullx}`,
	}
	for in, want := range tests {
		got, err := stripNulls([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("stripNulls(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := stripNulls([]byte(`{"a`)); err == nil {
		t.Error("stripNulls accepted an unterminated string")
	}
}

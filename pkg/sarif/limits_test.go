package sarif

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gosarif "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// readDoc parses a packed document back and checks what every document must
// satisfy: SARIF 2.1.0 within GitHub's limits, and its recorded gzip size.
func readDoc(t *testing.T, d Document, lim Limits) *gosarif.Report {
	t.Helper()
	rep, err := Read(bytes.NewReader(d.JSON), int64(len(d.JSON)))
	if err != nil {
		t.Fatalf("reading packed document: %v", err)
	}
	if err := Check(rep, lim); err != nil {
		t.Errorf("packed document breaks the limits: %v", err)
	}
	gz, err := gzipBytes(d.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(gz)) != d.GzipSize {
		t.Errorf("GzipSize = %d, but the document gzips to %d bytes", d.GzipSize, len(gz))
	}
	if lim.MaxGzipBytes > 0 && d.GzipSize > lim.MaxGzipBytes {
		t.Errorf("document is %d bytes gzipped, over the %d limit", d.GzipSize, lim.MaxGzipBytes)
	}
	if len(rep.Runs) != len(d.Runs) {
		t.Errorf("document has %d runs, Runs describes %d", len(rep.Runs), len(d.Runs))
	}
	for i, r := range rep.Runs {
		if i < len(d.Runs) && (Category(r) != d.Runs[i].Category || len(r.Results) != d.Runs[i].Results) {
			t.Errorf("run %d is category %q with %d results, Runs says %+v", i, Category(r), len(r.Results), d.Runs[i])
		}
	}
	return rep
}

func TestPackSplitsRunOverResultLimit(t *testing.T) {
	t.Parallel()
	run := manyResults("grype", "deps", MaxResultsPerRun+1)
	docs, err := Pack([]Run{run}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("got %d documents, want 1 holding both parts", len(docs))
	}
	rep := readDoc(t, docs[0], GitHubLimits())
	if len(rep.Runs) != 2 {
		t.Fatalf("got %d runs, want 2", len(rep.Runs))
	}
	got := []string{Category(rep.Runs[0]), Category(rep.Runs[1])}
	if got[0] != "deps" || got[1] != "deps/part-2" {
		t.Errorf("categories = %q, want [deps deps/part-2]", got)
	}
	if n0, n1 := len(rep.Runs[0].Results), len(rep.Runs[1].Results); n0 != MaxResultsPerRun || n1 != 1 {
		t.Errorf("parts hold %d and %d results, want %d and 1", n0, n1, MaxResultsPerRun)
	}
	// Every result is kept, once, and ruleIndex points at its rule in its part.
	seen := map[string]bool{}
	for _, r := range rep.Runs {
		for _, res := range r.Results {
			seen[*res.Message.Text] = true
			if rule := r.Tool.Driver.Rules[*res.RuleIndex]; rule.ID != *res.RuleID {
				t.Fatalf("result for %s has ruleIndex pointing at %s", *res.RuleID, rule.ID)
			}
		}
	}
	if len(seen) != MaxResultsPerRun+1 {
		t.Errorf("%d distinct results after splitting, want %d", len(seen), MaxResultsPerRun+1)
	}
	assertSchemaValid(t, "split document", docs[0].JSON)
}

func TestPackPutsTwentyRunsPerDocument(t *testing.T) {
	var runs []Run
	for i := range MaxRunsPerFile + 1 {
		runs = append(runs, manyResults("tool", fmt.Sprintf("cat-%02d", i), 2))
	}
	docs, err := Pack(runs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	if a, b := len(docs[0].Runs), len(docs[1].Runs); a != 20 || b != 1 {
		t.Errorf("documents hold %d and %d runs, want 20 and 1", a, b)
	}
	for i, d := range docs {
		readDoc(t, d, GitHubLimits())
		assertSchemaValid(t, fmt.Sprintf("document %d", i), d.JSON)
	}
}

func TestPackRefusesDuplicateToolAndCategory(t *testing.T) {
	runs := []Run{manyResults("grype", "deps", 1), manyResults("gitleaks", "deps", 1), manyResults("grype", "deps/", 1)}
	_, err := Pack(runs, Options{})
	wantInputError(t, err, "Pack of two grype runs with category deps", `runs 0 and 2 both have tool "grype" category "deps"`)
}

func TestPackRefusesSplitCategoryCollision(t *testing.T) {
	runs := []Run{manyResults("grype", "deps", 3), manyResults("grype", "deps/part-2", 1)}
	_, err := Pack(runs, Options{Limits: Limits{MaxResultsPerRun: 2}})
	if err == nil || !strings.Contains(err.Error(), `category "deps/part-2"`) {
		t.Fatalf("err = %v, want a collision on deps/part-2", err)
	}
}

func TestPackSplitsBySize(t *testing.T) {
	// Incompressible messages so the size, not the count, forces splits.
	run := manyResults("scanner", "big", 40)
	for i := range run.Results {
		run.Results[i].Message = randomText(t, 600)
	}
	lim := Limits{MaxGzipBytes: 4000}
	docs, err := Pack([]Run{run, manyResults("other", "", 3)}, Options{Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	categories := map[string]bool{}
	for _, d := range docs {
		rep := readDoc(t, d, lim)
		for _, r := range rep.Runs {
			key := r.Tool.Driver.Name + "|" + Category(r)
			if categories[key] {
				t.Errorf("category %s appears twice across documents", key)
			}
			categories[key] = true
			if r.Tool.Driver.Name == "scanner" {
				total += len(r.Results)
			}
		}
		assertSchemaValid(t, "size-split document", d.JSON)
	}
	if total != 40 {
		t.Errorf("documents hold %d of the 40 results", total)
	}
	if len(categories) < 4 {
		t.Errorf("only %d runs: a 40×600-byte incompressible run cannot fit 4000 bytes in fewer than 6", len(categories))
	}
	if !categories["scanner|big"] || !categories["scanner|big/part-2"] || !categories["other|"] {
		t.Errorf("categories %v lack big, big/part-2 or the uncategorized run", categories)
	}
}

func TestPackFailsWhenOneResultCannotFit(t *testing.T) {
	run := manyResults("scanner", "big", 1)
	run.Results[0].Message = randomText(t, 5000)
	_, err := Pack([]Run{run}, Options{Limits: Limits{MaxGzipBytes: 2000}})
	if err == nil || !strings.Contains(err.Error(), "single result 0") || !strings.Contains(err.Error(), "2000-byte limit") {
		t.Fatalf("err = %v, want one naming the single result and the limit", err)
	}
}

func TestPackSplitsOnRuleLimit(t *testing.T) {
	run := Run{Tool: Tool{Name: "t"}, Category: "c"}
	for i := range 5 {
		run.Rules = append(run.Rules, Rule{ID: fmt.Sprintf("R%d", i)})
		run.Results = append(run.Results, Result{RuleID: fmt.Sprintf("R%d", i), Message: "m", Locations: []Location{{Path: fmt.Sprintf("f%d", i)}}})
	}
	run.Rules = append(run.Rules, Rule{ID: "unused"})
	lim := Limits{MaxRulesPerRun: 2}
	docs, err := Pack([]Run{run}, Options{Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	rep := readDoc(t, docs[0], lim)
	if len(rep.Runs) != 3 {
		t.Fatalf("got %d runs, want 3 (2+2+1 rules)", len(rep.Runs))
	}
}

func TestPackRefusesWhatSplittingCannotFix(t *testing.T) {
	tags := manyResults("t", "c", 1)
	tags.Rules[0].Tags = []string{"a", "b", "c"}
	if _, err := Pack([]Run{tags}, Options{Limits: Limits{MaxTagsPerRule: 2}}); err == nil || !strings.Contains(err.Error(), "has 3 tags") {
		t.Errorf("tags: err = %v", err)
	}
	locs := manyResults("t", "c", 1)
	locs.Results[0].Locations = append(locs.Results[0].Locations, Location{Path: "b"}, Location{Path: "c"})
	if _, err := Pack([]Run{locs}, Options{Limits: Limits{MaxLocationsPerResult: 2}}); err == nil || !strings.Contains(err.Error(), "has 3 locations") {
		t.Errorf("locations: err = %v", err)
	}
}

// At GitHub's real 10 MB limit: a result too large for any document is
// refused by Pack, and Upload refuses such a document before sending it.
func TestRealSizeLimit(t *testing.T) {
	t.Parallel()
	run := manyResults("scanner", "huge", 1)
	run.Results[0].Message = randomText(t, 14_000_000) // ~10.6 MB gzipped
	rep, err := Build([]Run{run}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if size, _ := gzipSize(data); size <= MaxUploadGzipBytes {
		t.Fatalf("test document is only %d bytes gzipped", size)
	}
	if _, err := Pack([]Run{run}, Options{}); err == nil || !strings.Contains(err.Error(), "10000000-byte limit") {
		t.Errorf("Pack: err = %v, want the 10 MB limit", err)
	}
	fake := newFakeGitHub(t)
	fake.noCalls = true
	_, err = Upload(t.Context(), fake.client, fake.request(data))
	if err == nil || !strings.Contains(err.Error(), "GitHub accepts at most 10000000") {
		t.Errorf("Upload: err = %v, want a refusal before sending", err)
	}
	if errkind.Of(err) != errkind.KindInput {
		t.Errorf("Upload error kind = %v, want input", errkind.Of(err))
	}
}

func TestCheck(t *testing.T) {
	rep, err := Build([]Run{manyResults("a", "x", 3), manyResults("b", "", 1)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(rep, Limits{}); err != nil {
		t.Fatalf("Check refused a small valid report: %v", err)
	}
	// Same tool, ids without a slash: both have no category for GitHub.
	dup := *rep
	a, b := *rep.Runs[0], *rep.Runs[0]
	a.AutomationDetails = &gosarif.RunAutomationDetails{ID: ptr("run-1")}
	b.AutomationDetails = &gosarif.RunAutomationDetails{ID: ptr("run-2")}
	dup.Runs = []*gosarif.Run{&a, &b}
	err = Check(&dup, Limits{MaxResultsPerRun: 2})
	if err == nil {
		t.Fatal("Check accepted two runs of one tool without categories")
	}
	for _, want := range []string{`runs 0 and 1 both have tool "a" category ""`, "3 results: GitHub accepts at most 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestCategory(t *testing.T) {
	tests := map[string]string{"a/b/": "a/b", "a/b/2024-01-01": "a/b", "a": "", "/": "", "": ""}
	for id, want := range tests {
		r := &gosarif.Run{AutomationDetails: &gosarif.RunAutomationDetails{ID: ptr(id)}}
		if got := Category(r); got != want {
			t.Errorf("Category(id %q) = %q, want %q", id, got, want)
		}
	}
	if got := Category(&gosarif.Run{}); got != "" {
		t.Errorf("Category(no automationDetails) = %q", got)
	}
}

func randomText(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n*3/4+3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)[:n]
}

// gunzip is the inverse of the upload encoding, for the fake server.
func gunzip(data []byte, max int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > max {
		return nil, fmt.Errorf("decompressed SARIF over %d bytes", max)
	}
	return out, nil
}

func TestDocumentWriteFile(t *testing.T) {
	docs, err := Pack(sampleRuns(), Options{Root: testRoot})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scan.sarif")
	if err := docs[0].WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, docs[0].JSON) {
		t.Error("file content differs from Document.JSON")
	}
	// Pack of a report that fits is the same document Write produces.
	var buf bytes.Buffer
	if err := Write(&buf, sampleRuns(), Options{Root: testRoot}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), docs[0].JSON) {
		t.Error("Pack and Write disagree on a report within the limits")
	}
}

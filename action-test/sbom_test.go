package actiontest

import (
	"archive/tar"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// The four advisories of the test DB, by the ids grype reports and their CVEs.
var sbomWantVulns = map[string]string{
	"GHSA-jfh8-c2jp-5v3q": "CVE-2021-44228", // log4j-core 2.14.1, critical
	"GHSA-69ch-w2m2-3vjp": "CVE-2022-32149", // golang.org/x/text v0.3.7, high
	"GHSA-35jh-r3h4-6jhm": "CVE-2021-23337", // lodash 4.17.20, high
	"CVE-2023-5678":       "CVE-2023-5678",  // Debian 12 openssl (libssl3), medium
}

// sbomImageLayout writes the SBOM fixture image as an OCI layout (no registry).
func sbomImageLayout(t *testing.T, layers ...string) string {
	t.Helper()
	if len(layers) == 0 {
		layers = []string{testinfra.LayerFromDir(t, testinfra.SBOMRootfs(t))}
	}
	return testinfra.OCILayout(t, testinfra.ImageFromLayers(t, layers...), "")
}

func readJSON(t *testing.T, path string, v any) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return data
}

func TestSBOMImageFromRegistry(t *testing.T) {
	t.Parallel()
	reg := testinfra.StartRegistry(t)
	ref, digest := testinfra.SBOMImage(t, reg)
	db := testinfra.GrypeDB(t)
	ws := t.TempDir()
	res := run(t, Step{Action: "sbom", Workspace: ws, With: map[string]string{
		"image":        ref,
		"formats":      "cyclonedx-json,spdx-json,syft-json,cyclonedx-xml,spdx-tag-value",
		"db-dir":       db,
		"upload-sarif": "false",
	}})
	// log4j (critical), x/text and lodash (high) have fixes: the gate fails.
	if res.ExitCode != 1 {
		t.Fatalf("exit %d, want 1 (policy)\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	out := res.Outputs
	if out["digest"] != digest {
		t.Errorf("digest output %q, want the pushed %s", out["digest"], digest)
	}
	wantPkgs := len(testinfra.SBOMFixturePackages) + 2 // + the Go main module and stdlib
	if out["packages"] != fmt.Sprint(wantPkgs) {
		t.Errorf("packages output %q, want %d", out["packages"], wantPkgs)
	}
	for sev, n := range map[string]string{"critical": "1", "high": "2", "medium": "1", "low": "0"} {
		if out[sev] != n {
			t.Errorf("%s output %q, want %s", sev, out[sev], n)
		}
	}
	sbomDir := filepath.Join(ws, "sbom")
	if out["cyclonedx"] != filepath.Join(sbomDir, "sbom.cdx.json") || out["spdx"] != filepath.Join(sbomDir, "sbom.spdx.json") {
		t.Errorf("document outputs %q %q", out["cyclonedx"], out["spdx"])
	}
	for _, f := range []string{"sbom.cdx.json", "sbom.spdx.json", "sbom.syft.json", "sbom.cdx.xml", "sbom.spdx", "vuln-predicate.json", "sbom-vulns.sarif"} {
		if _, err := os.Stat(filepath.Join(sbomDir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}

	// Both SBOMs validate, hold exactly the fixture's packages, and name the image by digest.
	repo := reg.Host + "/test/app"
	wantPURL := "pkg:oci/app@" + digest + "?arch=amd64&repository_url=" + strings.ReplaceAll(repo, "/", "%2F")
	wantSet := []string{testinfra.SBOMFixtureModule + " UNKNOWN", "stdlib " + testinfra.FixtureGoVersion(t)}
	for _, p := range testinfra.SBOMFixturePackages {
		wantSet = append(wantSet, p.Name+" "+p.Version)
	}
	slices.Sort(wantSet)

	var cdx struct {
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct {
				Name, Version, Purl string
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Type, Name, Version, Purl string
		} `json:"components"`
	}
	cdxData := readJSON(t, out["cyclonedx"], &cdx)
	if err := testinfra.ValidateCycloneDX16(t, cdxData); err != nil {
		t.Errorf("CycloneDX does not validate against bom-1.6.schema.json: %v", err)
	}
	var cdxSet []string
	for _, c := range cdx.Components {
		if c.Type != "file" && c.Type != "operating-system" {
			cdxSet = append(cdxSet, c.Name+" "+c.Version)
		}
	}
	slices.Sort(cdxSet)
	if !slices.Equal(cdxSet, wantSet) {
		t.Errorf("CycloneDX packages:\n got %q\nwant %q", cdxSet, wantSet)
	}
	if cdx.SpecVersion != "1.6" || cdx.Metadata.Component.Purl != wantPURL || cdx.Metadata.Component.Version != digest {
		t.Errorf("CycloneDX %s subject %+v, want purl %s", cdx.SpecVersion, cdx.Metadata.Component, wantPURL)
	}

	spdxData := readJSON(t, out["spdx"], nil)
	if err := testinfra.ValidateSPDX23(t, spdxData); err != nil {
		t.Errorf("SPDX does not validate against spdx-schema-2.3.json: %v", err)
	}
	if spdx := testinfra.ReadSPDX(t, spdxData); !slices.Equal(spdx.Packages, wantSet) || spdx.Version != "SPDX-2.3" || spdx.RootPURL != wantPURL {
		t.Errorf("SPDX %s packages %q (want %q), root purl %q", spdx.Version, spdx.Packages, wantSet, spdx.RootPURL)
	}

	// The vuln predicate holds the four expected matches and validates.
	predData := readJSON(t, out["vuln-predicate"], nil)
	if err := attestation.ValidatePredicate(attestation.PredicateVuln, predData, attestation.Options{}); err != nil {
		t.Errorf("vuln predicate: %v", err)
	}
	var pred struct {
		Scanner struct {
			URI string `json:"uri"`
			DB  struct {
				Version string `json:"version"`
			} `json:"db"`
			Result struct {
				Matches []struct {
					Vulnerability struct {
						ID string `json:"id"`
					} `json:"vulnerability"`
					RelatedVulnerabilities []struct {
						ID string `json:"id"`
					} `json:"relatedVulnerabilities"`
				} `json:"matches"`
			} `json:"result"`
		} `json:"scanner"`
	}
	if err := json.Unmarshal(predData, &pred); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range pred.Scanner.Result.Matches {
		cve := m.Vulnerability.ID
		for _, r := range m.RelatedVulnerabilities {
			if strings.HasPrefix(r.ID, "CVE-") {
				cve = r.ID
			}
		}
		got[m.Vulnerability.ID] = cve
	}
	if fmt.Sprint(got) != fmt.Sprint(sbomWantVulns) {
		t.Errorf("vuln predicate matches %v, want %v", got, sbomWantVulns)
	}

	// The SARIF run is categorised per image and holds the four results.
	var sarif struct {
		Runs []struct {
			AutomationDetails struct {
				ID string `json:"id"`
			} `json:"automationDetails"`
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	readJSON(t, out["sarif"], &sarif)
	if len(sarif.Runs) != 1 || sarif.Runs[0].AutomationDetails.ID != "sbom/"+repo+"/" || len(sarif.Runs[0].Results) != 4 {
		t.Errorf("SARIF runs %+v", sarif.Runs)
	}

	wantSummary(t, res, "| deb | 1 |", "| go-module | 3 |", "| java-archive | 1 |", "| npm | 1 |", "GHSA-jfh8-c2jp-5v3q", "fails the gate", "sbom.spdx.json")
	if errs := res.Count("error"); errs != 4 { // three failing vulnerabilities and the frame's error
		t.Errorf("%d error annotations, want 4: %+v", errs, res.Annotations())
	}
}

func TestSBOMExceptionsWaive(t *testing.T) {
	t.Parallel()
	img := sbomImageLayout(t)
	ws := t.TempDir()
	soon := time.Now().AddDate(0, 0, 30).Format("2006-01-02")
	ex := `exceptions:
  - id: CVE-2021-44228
    reason: jndi lookups disabled by configuration
    expires: ` + soon + `
  - id: GHSA-69ch-w2m2-3vjp
    reason: language tags only parsed from trusted config
    expires: ` + soon + `
  - id: CVE-2021-23337
    scope: pkg:npm/lodash
    reason: template() never called
    expires: ` + soon + `
  - id: CVE-2023-5678
    reason: expired waiver
    expires: 2020-01-01
`
	if err := os.MkdirAll(filepath.Join(ws, ".secure-gates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, ".secure-gates", "exceptions.yaml"), []byte(ex), 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, Step{Action: "sbom", Workspace: ws, With: map[string]string{
		"image": "oci-dir:" + img, "db-dir": testinfra.GrypeDB(t), "upload-sarif": "false", "formats": "cyclonedx-json",
	}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d, want 0 with the failing vulnerabilities waived\n%s", res.ExitCode, res.Log)
	}
	if res.Outputs["critical"] != "0" || res.Outputs["high"] != "0" || res.Outputs["medium"] != "1" {
		t.Errorf("counts %v, want waived ones not counted", res.Outputs)
	}
	if res.Outputs["spdx"] != "" {
		t.Errorf("spdx output %q for a run not asked to write SPDX", res.Outputs["spdx"])
	}
	if !strings.Contains(res.Summary, "waived: jndi lookups disabled by configuration") {
		t.Errorf("summary does not show the waiver:\n%s", res.Summary)
	}
	// Issue 13: the vuln predicate keeps the waived matches, marked with what
	// waived them, so verify-and-deploy can count them.
	pred, err := os.ReadFile(res.Outputs["vuln-predicate"])
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(pred), `"secureGatesWaiver"`); n != 3 || !strings.Contains(string(pred), `"kind": "exceptions-file"`) && !strings.Contains(string(pred), `"kind":"exceptions-file"`) {
		t.Errorf("the vuln predicate marks %d waived matches, want 3 marked exceptions-file", n)
	}
	expired := false
	for _, a := range res.Annotations() {
		expired = expired || (a.Name == "warning" && strings.Contains(a.Message, "CVE-2023-5678") && strings.Contains(a.Message, "expired"))
	}
	if !expired {
		t.Errorf("no warning for the expired exception: %+v", res.Annotations())
	}
}

func TestSBOMOutagePolicy(t *testing.T) {
	t.Parallel()
	img := sbomImageLayout(t)
	stale := testinfra.GrypeDBBuiltAt(t, time.Now().Add(-30*24*time.Hour))
	for _, tc := range []struct {
		policy   string
		wantExit int
	}{
		{"fail", 3},
		{"continue", 0},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			t.Parallel()
			ws := t.TempDir()
			res := run(t, Step{Action: "sbom", Workspace: ws, With: map[string]string{
				"image": "oci-dir:" + img, "db-dir": stale, "max-db-age": "120h", "on-scanner-outage": tc.policy, "upload-sarif": "false",
			}})
			if res.ExitCode != tc.wantExit {
				t.Fatalf("exit %d, want %d\n%s\n%s", res.ExitCode, tc.wantExit, res.Log, res.Stderr)
			}
			if tc.policy == "fail" {
				return
			}
			// The SBOMs are written; no vulnerability result is claimed.
			if res.Outputs["cyclonedx"] == "" || res.Outputs["vuln-predicate"] != "" || res.Outputs["critical"] != "" || res.Outputs["high"] != "" {
				t.Errorf("outputs %v: want the SBOM and empty vulnerability outputs", res.Outputs)
			}
			if _, err := os.Stat(filepath.Join(ws, "sbom", "vuln-predicate.json")); !os.IsNotExist(err) {
				t.Errorf("a vuln predicate was written without a scan: %v", err)
			}
			warned := false
			for _, a := range res.Annotations() {
				warned = warned || (a.Name == "warning" && strings.Contains(a.Properties["title"], "did not run"))
			}
			if !warned || !strings.Contains(res.Summary, "did not run") {
				t.Errorf("the outage is not reported: %+v\n%s", res.Annotations(), res.Summary)
			}
		})
	}
}

func TestSBOMLimits(t *testing.T) {
	t.Parallel()
	many := filepath.Join(t.TempDir(), "many.tar")
	f, err := os.Create(many)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for i := 0; i < 100_000; i++ {
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%03d/f%06d", i/1000, i), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	f.Close()
	img := sbomImageLayout(t, many)
	ws := t.TempDir()
	res := run(t, Step{Action: "sbom", Workspace: ws, With: map[string]string{
		"image": "oci-dir:" + img, "max-files": "50000", "scan-vulns": "false",
	}})
	if res.ExitCode != 3 {
		t.Fatalf("exit %d, want 3 (infrastructure: a limit crossed)\n%s", res.ExitCode, res.Log)
	}
	if !strings.Contains(res.Log+res.Stderr, "more than 50000 files (max-files)") {
		t.Errorf("the error does not name the limit:\n%s\n%s", res.Log, res.Stderr)
	}
	if ents, _ := os.ReadDir(filepath.Join(ws, "sbom")); len(ents) != 0 {
		t.Errorf("documents written despite the limit: %v", ents)
	}
	if res.Outputs["cyclonedx"] != "" || res.Outputs["packages"] != "" {
		t.Errorf("outputs set despite the limit: %v", res.Outputs)
	}
}

// dtServer is a Dependency-Track double checking the documented request shape.
type dtServer struct {
	mu      sync.Mutex
	key     string
	uploads []map[string]any
	polls   int
	errs    []string
}

func (s *dtServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("X-Api-Key") != s.key {
		s.errs = append(s.errs, "request without the API key: "+r.URL.Path)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/api/v1/bom" && r.Header.Get("Content-Type") == "application/json":
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			s.errs = append(s.errs, "upload body: "+err.Error())
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		s.uploads = append(s.uploads, body)
		json.NewEncoder(w).Encode(map[string]string{"token": "a1b2c3d4-0000-4000-8000-00000000beef"})
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/event/token/a1b2c3d4-0000-4000-8000-00000000beef":
		s.polls++
		json.NewEncoder(w).Encode(map[string]bool{"processing": s.polls < 2})
	default:
		s.errs = append(s.errs, "undocumented request "+r.Method+" "+r.URL.Path)
		http.NotFound(w, r)
	}
}

func TestSBOMDependencyTrack(t *testing.T) {
	t.Parallel()
	img := sbomImageLayout(t)
	key := "odt_Zk3yS3cr3tV4lu3forTh3T3st"
	dt := &dtServer{key: key}
	ts := httptest.NewServer(dt)
	defer ts.Close()
	res := run(t, Step{Action: "sbom", Repository: "acme/widgets", With: map[string]string{
		"image": "oci-dir:" + img, "scan-vulns": "false", "formats": "spdx-json",
		"dependency-track-url": ts.URL, "dependency-track-api-key": key,
	}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if len(dt.errs) > 0 {
		t.Errorf("contract violations: %q", dt.errs)
	}
	if len(dt.uploads) != 1 || dt.polls != 2 {
		t.Fatalf("%d uploads, %d polls; want 1 upload polled until processed", len(dt.uploads), dt.polls)
	}
	u := dt.uploads[0]
	if u["projectName"] != "acme/widgets" || u["projectVersion"] != res.Outputs["digest"] || u["autoCreate"] != true {
		t.Errorf("project fields %v %v %v, want acme/widgets, %s, autoCreate", u["projectName"], u["projectVersion"], u["autoCreate"], res.Outputs["digest"])
	}
	raw, _ := u["bom"].(string)
	bom, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		t.Fatalf("bom is not base64: %v", err)
	}
	if err := testinfra.ValidateCycloneDX16(t, bom); err != nil {
		t.Errorf("the uploaded BOM is not valid CycloneDX 1.6: %v", err)
	}
	if !strings.Contains(string(bom), "pkg:oci/layout@"+res.Outputs["digest"]) {
		t.Errorf("the uploaded BOM does not name the image by digest")
	}
	masked := false
	for _, c := range res.Commands {
		masked = masked || (c.Name == "add-mask" && c.Message == key)
	}
	if !masked {
		t.Error("the API key was not masked")
	}
	if n := strings.Count(res.Log, key); n != 1 { // the add-mask command itself
		t.Errorf("the API key appears %d times in the log", n)
	}
	if !strings.Contains(res.Summary, "Dependency-Track processed") {
		t.Errorf("summary:\n%s", res.Summary)
	}
}

func TestSBOMPathAndInputErrors(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "requirements.txt"), []byte("flask==2.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := run(t, Step{Action: "sbom", Workspace: ws, With: map[string]string{"path": ".", "scan-vulns": "false", "output-dir": "out"}})
	if res.ExitCode != 0 || res.Outputs["packages"] != "1" || res.Outputs["digest"] != "" || res.Outputs["cyclonedx"] != filepath.Join(ws, "out", "sbom.cdx.json") {
		t.Errorf("path run: exit %d outputs %v\n%s", res.ExitCode, res.Outputs, res.Stderr)
	}
	reg := testinfra.StartRegistry(t)
	for _, tc := range []struct {
		name string
		with map[string]string
	}{
		{"image and path", map[string]string{"image": "oci-dir:x", "path": "."}},
		{"neither", map[string]string{}},
		{"unknown format", map[string]string{"path": ".", "formats": "cyclonedx"}},
		{"bad cutoff", map[string]string{"path": ".", "severity-cutoff": "severe"}},
		{"bad outage policy", map[string]string{"path": ".", "on-scanner-outage": "ignore"}},
		{"url without key", map[string]string{"path": ".", "dependency-track-url": "https://dt.example.com"}},
		{"image not in the registry", map[string]string{"image": reg.Host + "/nope/app:v1", "scan-vulns": "false"}},
		{"bad reference", map[string]string{"image": "Not A Reference"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, Step{Action: "sbom", Workspace: ws, With: tc.with})
			if res.ExitCode != 2 {
				t.Errorf("exit %d, want 2 (input)\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
			}
		})
	}
}

// The image findings go to code scanning as one run categorised per image (the
// code scanning double of scan_test.go checks the documented upload contract).
func TestSBOMUploadSARIF(t *testing.T) {
	t.Parallel()
	img := sbomImageLayout(t)
	cs := &codeScanning{t: t}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	res := run(t, Step{Action: "sbom", Token: "ghs_scantoken", Env: map[string]string{"GITHUB_API_URL": srv.URL},
		With: map[string]string{"image": "oci-dir:" + img, "db-dir": testinfra.GrypeDB(t), "severity-cutoff": "critical", "only-fixed": "false"}})
	if res.ExitCode != 1 {
		t.Fatalf("exit %d, want 1 (log4j is critical)\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	if len(cs.uploads) != 1 {
		t.Fatalf("%d uploads, want 1", len(cs.uploads))
	}
	var doc struct {
		Runs []struct {
			Tool struct {
				Driver struct{ Name string }
			}
			AutomationDetails struct{ ID string }
			Results           []struct{ RuleID string }
		}
	}
	if err := json.Unmarshal(cs.sarifs[0], &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || doc.Runs[0].AutomationDetails.ID != "sbom/layout/" || doc.Runs[0].Tool.Driver.Name != "grype" || len(doc.Runs[0].Results) != 4 {
		t.Errorf("uploaded SARIF runs %+v", doc.Runs)
	}
	if strings.Contains(res.Log, "ghs_scantoken") && strings.Count(res.Log, "ghs_scantoken") != 1 {
		t.Errorf("the token appears in the log")
	}
}

// severity-cutoff: none records every finding and fails on none: the paved road
// leaves the decision to verify-and-deploy, where signed exceptions apply.
func TestSBOMCutoffNone(t *testing.T) {
	t.Parallel()
	img := sbomImageLayout(t)
	res := run(t, Step{Action: "sbom", With: map[string]string{"image": "oci-dir:" + img, "db-dir": testinfra.GrypeDB(t),
		"severity-cutoff": "none", "upload-sarif": "false"}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d, want 0\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	if res.Outputs["critical"] == "0" || res.Outputs["vuln-predicate"] == "" {
		t.Errorf("outputs %v: the criticals are not recorded", res.Outputs)
	}
	data, err := os.ReadFile(res.Outputs["vuln-predicate"])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"CVE-2021-44228", "CVE-2022-32149", "CVE-2021-23337", "CVE-2023-5678"} {
		if !strings.Contains(string(data), id) {
			t.Errorf("the vuln predicate does not carry %s", id)
		}
	}
	if !strings.Contains(res.Summary, "severity-cutoff: none") {
		t.Errorf("the summary does not say nothing fails the step:\n%s", res.Summary)
	}
}

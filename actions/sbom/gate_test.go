package sbom

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// project is a directory with an npm lock file: two packages to catalogue.
func project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	lock := `{"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{"":{"name":"app","version":"1.0.0","dependencies":{"lodash":"4.17.21"}},` +
		`"node_modules/lodash":{"version":"4.17.21","resolved":"https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz","license":"MIT"}}}`
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A directory catalogued on a runner without the vulnerability scan: the
// documents, the outputs (vulnerability counts empty, not 0) and the summary.
func TestSBOMDirectory(t *testing.T) {
	t.Parallel()
	dir, out := project(t), filepath.Join(t.TempDir(), "sbom")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": dir}
	res := gatetest.Run(t, Gate, env, "--path", ".", "--scan-vulns=false", "--output-dir", out)
	if res.Code != 0 {
		t.Fatalf("exit %d\n%s", res.Code, res.Log)
	}
	want := map[string]string{"digest": "", "cyclonedx": filepath.Join(out, "sbom.cdx.json"), "vuln-predicate": "", "sarif": "",
		"critical": "", "high": "", "medium": "", "low": ""}
	for k, v := range want {
		if got, ok := res.Outputs[k]; !ok || (v != "" && got != v) || (v == "" && got != "") {
			t.Errorf("output %s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	if res.Outputs["packages"] == "0" || len(res.Outputs) != 12 || res.Outputs["paged"] != "0" || res.Outputs["page-failures"] != "0" {
		t.Errorf("outputs %v", res.Outputs)
	}
	for _, f := range []string{res.Outputs["cyclonedx"], res.Outputs["spdx"]} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	gatetest.Golden(t, "summary-directory.md", strings.NewReplacer(dir, "$DIR", out, "$OUT").Replace(res.Summary))
}

// closedRef is an image by digest on a loopback port nothing listens on.
const closedRef = "127.0.0.1:1/app@sha256:0000000000000000000000000000000000000000000000000000000000000000"

// Every input and combination is refused before any work: upload-sarif on a
// runner without a token used to be found only after the image was catalogued,
// both SBOMs written and the SBOM handed to Dependency-Track.
func TestSBOMInputsBeforeWork(t *testing.T) {
	t.Parallel()
	dt := gatetest.Untouched(t, "Dependency-Track")
	dir, out := project(t), filepath.Join(t.TempDir(), "sbom")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": dir}
	dtArgs := []string{"--dependency-track-url", dt, "--dependency-track-api-key", "odt_key"}
	gatetest.Refusals(t, Gate, env, func(args []string) []string { return append(args, "--output-dir", out) }, []gatetest.Refusal{
		gatetest.Refuse("", append([]string{"--path", "."}, dtArgs...), "upload-sarif needs the token input"),
		gatetest.Refuse("", []string{"--path", ".", "--image", "a/b:c"}, "give exactly one of image"),
		gatetest.Refuse("", []string{"--path", ".", "--upload-sarif=false", "--dependency-track-url", dt}, "dependency-track-url and dependency-track-api-key go together"),
		gatetest.Refuse("", []string{"--path", ".", "--upload-sarif=false", "--formats", "pdf"}, "pdf"),
		gatetest.Refuse("", []string{"--path", ".", "--upload-sarif=false", "--on-scanner-outage", "shrug"}, "shrug"),
		gatetest.Refuse("", []string{"--path", ".", "--upload-sarif=false", "--max-files", "-1"}, "must not be negative"),
		// A rescan (the sbom input) is refused before the registry is contacted:
		// the image below is on a closed port.
		gatetest.Refuse("", []string{"--path", ".", "--sbom", "attestation"}, "scans an SBOM of a registry image"),
		gatetest.Refuse("", []string{"--image", "oci-dir:img", "--sbom", "bom.json"}, "scans an SBOM of a registry image"),
		gatetest.Refuse("", []string{"--image", closedRef, "--sbom", "attestation", "--upload-sarif=false", "--db-dir", "nodb", "--policy", "missing.yaml"}, "missing.yaml"),
		gatetest.Refuse("", []string{"--image", closedRef, "--sbom", "attestation", "--scan-vulns=false"}, "scan-vulns is false"),
		gatetest.Refuse("", []string{"--image", closedRef, "--sbom", "bom.json", "--trusted-root", "root.json"}, "trusted-root is read only with sbom: attestation"),
		// A missing SBOM file is an input error before the registry (or the
		// DB) is contacted: the image is on a closed port.
		gatetest.Refuse("", []string{"--image", closedRef, "--sbom", "missing-bom.json", "--upload-sarif=false", "--db-dir", "nodb"}, "missing-bom.json"),
		gatetest.Refuse("", []string{"--path", ".", "--trusted-root", "root.json"}, "trusted-root is read only to verify an SBOM attestation"),
	}, func(t *testing.T, res gatetest.Result) {
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("documents written before the input error (%v)", err)
		}
		if strings.Contains(res.Log, "odt_key") && !strings.Contains(res.Log, "::add-mask::odt_key") {
			t.Error("the API key is in the log")
		}
	})
}

// A rescan of an SBOM file: the digest's packages are scanned against the DB
// without cataloguing the image, no SBOM document is written, and the summary
// says which SBOM was scanned and that a file is not verified.
func TestSBOMRescanFile(t *testing.T) {
	t.Parallel()
	reg := testinfra.StartRegistry(t)
	tagRef, digest := testinfra.SBOMImage(t, reg)
	ref := strings.TrimSuffix(tagRef, ":v1") + "@" + digest
	ws := t.TempDir()
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws}
	res := gatetest.Run(t, Gate, env, "--image", ref, "--scan-vulns=false", "--upload-sarif=false", "--formats", "cyclonedx-json")
	if res.Code != 0 {
		t.Fatalf("release sbom: exit %d\n%s", res.Code, res.Log)
	}
	out := filepath.Join(ws, "rescan")
	res = gatetest.Run(t, Gate, env, "--image", ref, "--sbom", filepath.Join("sbom", "sbom.cdx.json"), "--db-dir", testinfra.GrypeDB(t),
		"--upload-sarif=false", "--severity-cutoff", "none", "--output-dir", "rescan")
	if res.Code != 0 || res.Outputs["digest"] != digest || res.Outputs["cyclonedx"] != "" || res.Outputs["critical"] != "1" {
		t.Fatalf("rescan: exit %d, outputs %v\n%s", res.Code, res.Outputs, res.Log)
	}
	if _, err := os.Stat(filepath.Join(out, "sbom.cdx.json")); !os.IsNotExist(err) {
		t.Errorf("the rescan wrote an SBOM document (%v)", err)
	}
	summary := strings.NewReplacer(ref, "$REF", out, "$OUT").Replace(res.Summary)
	summary = regexp.MustCompile(`grype DB [^\n]*? \(`).ReplaceAllString(summary, "grype DB $$DB (")
	gatetest.Golden(t, "summary-rescan-file.md", summary)
}

// The rescan line of an attested SBOM names the attestation, its signer and
// its evidence time.
func TestSubjectLine(t *testing.T) {
	t.Parallel()
	cat := &catalog.Result{Packages: 3}
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		res  *result
		want string
	}{
		{&result{subject: "/src", cat: cat}, "Catalogued /src: 3 packages."},
		{&result{subject: "r/app@sha256:ab", cat: cat, rescan: &rescanned{source: "attestation", evidence: &verify.Evidence{
			Digest: "sha256:cd", PredicateType: attestation.PredicateCycloneDX, Signer: "key cosign.pub", Time: at}}},
			"Scanned the SBOM (attestation) of r/app@sha256:ab: 3 packages. It is the attestation sha256:cd (" + attestation.PredicateCycloneDX +
				"), signed by key cosign.pub, evidence time 2026-11-02T10:00:00Z."},
		{&result{subject: "r/app@sha256:ab", cat: cat, rescan: &rescanned{source: "bom.json"}},
			"Scanned the SBOM (bom.json) of r/app@sha256:ab: 3 packages. The file is read as given: no signature is checked."},
	} {
		if got := subjectLine(tt.res); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

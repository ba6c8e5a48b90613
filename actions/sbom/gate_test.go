package sbom

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
)

func TestDeclaration(t *testing.T) {
	t.Parallel()
	if err := Gate.Check(); err != nil {
		t.Fatal(err)
	}
}

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

// Every input and combination is refused before any work: upload-sarif on a
// runner without a token used to be found only after the image was catalogued,
// both SBOMs written and the SBOM handed to Dependency-Track.
func TestSBOMInputsBeforeWork(t *testing.T) {
	t.Parallel()
	var dtCalls atomic.Int32
	dt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dtCalls.Add(1)
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer dt.Close()
	dir, out := project(t), filepath.Join(t.TempDir(), "sbom")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": dir}
	dtArgs := []string{"--dependency-track-url", dt.URL, "--dependency-track-api-key", "odt_key"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{append([]string{"--path", "."}, dtArgs...), "upload-sarif needs the token input"},
		{[]string{"--path", ".", "--image", "a/b:c"}, "give exactly one of image"},
		{[]string{"--path", ".", "--upload-sarif=false", "--dependency-track-url", dt.URL}, "dependency-track-url and dependency-track-api-key go together"},
		{[]string{"--path", ".", "--upload-sarif=false", "--formats", "pdf"}, "pdf"},
		{[]string{"--path", ".", "--upload-sarif=false", "--on-scanner-outage", "shrug"}, "shrug"},
		{[]string{"--path", ".", "--upload-sarif=false", "--max-files", "-1"}, "must not be negative"},
	} {
		res := gatetest.Run(t, Gate, env, append(tt.args, "--output-dir", out)...)
		if res.Code != 2 || !strings.Contains(res.Log, tt.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", tt.args, res.Code, tt.want, res.Log)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v: documents written before the input error (%v)", tt.args, err)
		}
		if strings.Contains(res.Log, "odt_key") && !strings.Contains(res.Log, "::add-mask::odt_key") {
			t.Errorf("%v: the API key is in the log", tt.args)
		}
	}
	if n := dtCalls.Load(); n != 0 {
		t.Errorf("Dependency-Track was called %d times before the input error", n)
	}
}

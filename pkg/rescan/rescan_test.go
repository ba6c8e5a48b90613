package rescan

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

func TestReadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		return testinfra.WriteFile(t, filepath.Join(dir, name), content, 0o644)
	}
	cdx := write("bom.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[
{"type":"library","bom-ref":"a","name":"lodash","version":"4.17.20","purl":"pkg:npm/lodash@4.17.20"}]}`)
	s, err := ReadFile(cdx)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Artifacts.Packages.PackageCount(); n != 1 {
		t.Errorf("%d packages, want 1", n)
	}
	for _, tt := range []struct{ name, content, want string }{
		{"not an SBOM", `{"hello":"world"}`, "not a readable SBOM"},
		{"no packages", `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[]}`, "lists no packages"},
		{"garbage", "\x00\x01", "not a readable SBOM"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFile(write(tt.name, tt.content))
			if err == nil || errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want an input error with %q", err, tt.want)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); errkind.Of(err) != errkind.KindInput {
		t.Errorf("missing file: %v", err)
	}
}

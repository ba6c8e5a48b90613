package catalog

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anchore/syft/syft/file"
)

// TestAllLocationsCallers is the tripwire of the catalog cache's one piece of
// knowledge about syft's catalogers: that what a run makes of the resolver's
// AllLocations listing depends only on the locations in a nix store
// (nixStoreGlob). In the linked syft, the only callers are the nix store
// cataloger and the file catalogers, which createConfig switches off. A syft
// upgrade that adds a caller fails this test: check what the new caller keeps
// of the listing, and change recordingResolver.AllLocations (and
// catalogFormat) before changing the list below.
func TestAllLocationsCallers(t *testing.T) {
	if sel := createConfig().Files.Selection; sel != file.NoFilesSelection {
		t.Fatalf("file catalogers selected (%q): they list every file, which the catalog cache does not record", sel)
	}
	dir := syftSource(t)
	var callers []string
	err := filepath.WalkDir(filepath.Join(dir, "syft"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), ".AllLocations(") {
			rel, _ := filepath.Rel(dir, p)
			callers = append(callers, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{
		"syft/file/cataloger/filemetadata/cataloger.go",     // file catalogers: off
		"syft/file/cataloger/internal/all_regular_files.go", // file catalogers: off
		"syft/internal/fileresolver/container_image_deep_squash.go",
		"syft/internal/fileresolver/deferred.go",
		"syft/internal/fileresolver/excluding_file.go",
		"syft/pkg/cataloger/internal/pkgtest/observing_resolver.go",
		"syft/pkg/cataloger/nix/store_cataloger.go", // nixStoreGlob
	}
	for _, c := range callers {
		if !slices.Contains(allowed, c) {
			t.Errorf("%s calls AllLocations: what does it keep of the listing? (see the test's comment)", c)
		}
	}
	if len(callers) == 0 {
		t.Error("no caller of AllLocations found: is the syft source where the test looks?")
	}
}

// syftSource is the linked syft module's source directory in the module
// cache.
func syftSource(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/anchore/syft").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("finding the syft source: %v", err)
	}
	return strings.TrimSpace(string(out))
}

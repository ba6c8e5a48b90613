package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anchore/syft/syft"
	syftpkg "github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// fixtureFiles is a small source tree holding one known-vulnerable package per
// ecosystem the test DB has an advisory for. The jar is added by writeFixture.
var fixtureFiles = map[string]string{
	"go.mod": "module example.com/app\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.7\n",
	"package-lock.json": `{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "app", "version": "1.0.0", "dependencies": {"lodash": "4.17.20"}},
    "node_modules/lodash": {
      "version": "4.17.20",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz",
      "integrity": "sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA=="
    }
  }
}
`,
	"etc/os-release":      testinfra.DebianOSRelease,
	"etc/debian_version":  "12.2\n",
	"var/lib/dpkg/status": testinfra.DebianDpkgStatus,
}

// writeFixture writes the fixture tree into dir, with lib/log4j-core-2.14.1.jar
// holding only a bare manifest and
// META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties.
func writeFixture(dir string) error {
	for name, body := range fixtureFiles {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// syft 1.54.1 reads a jar's pom.properties only when the jar has a manifest
	// (every real jar does): without one it catalogs nothing.
	mf, err := zw.Create("META-INF/MANIFEST.MF")
	if err != nil {
		return err
	}
	fmt.Fprint(mf, "Manifest-Version: 1.0\r\n\r\n")
	w, err := zw.Create("META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties")
	if err != nil {
		return err
	}
	fmt.Fprint(w, "groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n")
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "lib", "log4j-core-2.14.1.jar"), buf.Bytes(), 0o644)
}

// fixtureDir is where fixtureCatalog wrote the fixture tree ("" until it
// has), for TestMain to remove.
var fixtureDir string

// fixtureCatalog catalogs the fixture tree once per test process with syft
// (the license scanner, built by CreateSBOM, is built once with it).
var fixtureCatalog = sync.OnceValues(func() (*sbom.SBOM, error) {
	dir, err := os.MkdirTemp("", "vulndb-fixture-")
	if err != nil {
		return nil, err
	}
	fixtureDir = filepath.Join(dir, "repo")
	if err := writeFixture(filepath.Join(fixtureDir, "app")); err != nil {
		return nil, err
	}
	return catalogDir(filepath.Join(fixtureDir, "app"))
})

// catalogFixture returns the fixture tree's root and its catalog
// (fixtureCatalog).
func catalogFixture(t testing.TB) (string, *sbom.SBOM) {
	t.Helper()
	s, err := fixtureCatalog()
	if err != nil {
		t.Fatalf("cataloging the fixture: %v", err)
	}
	return fixtureDir, s
}

// catalogDir catalogs the directory dir with syft's default configuration.
func catalogDir(dir string) (*sbom.SBOM, error) {
	src, err := syft.GetSource(context.Background(), dir, syft.DefaultGetSourceConfig().WithSources("dir"))
	if err != nil {
		return nil, fmt.Errorf("syft source: %w", err)
	}
	defer src.Close()
	return syft.CreateSBOM(context.Background(), src, syft.DefaultCreateSBOMConfig())
}

// normalize replaces the machine-specific fixture path in output.
func normalize(b []byte, dir string) []byte {
	return bytes.ReplaceAll(b, []byte(dir), []byte("<fixture>"))
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func syftType(s string) syftpkg.Type { return syftpkg.Type(s) }

// outageNow is the clock of the outage-policy tests.
var outageNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// staleDB builds a DB six days older than outageNow: over the default max age
// (five days), an outage.
func staleDB(t *testing.T) string {
	t.Helper()
	return testinfra.GrypeDBBuiltAt(t, outageNow.Add(-6*24*time.Hour))
}

// policyCase is a DB load under an outage policy and what it must give.
type policyCase struct {
	name       string
	o          Options
	policy     OutagePolicy
	wantExit   int  // the gate's exit code
	wantOutage bool // an outage record
	wantDB     bool // a DB loaded (and, matched, a report)
}

// loadDB loads the DB o names, failing t on an error; it is closed when t ends.
func loadDB(t *testing.T, o Options) *DB {
	t.Helper()
	db, err := Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// matchFixture matches the catalogued fixture tree against db, paths relative
// to the fixture's root (o.Root), and returns that root and the report. An
// error fails t.
func matchFixture(t *testing.T, db *DB, o MatchOptions) (root string, r *Report) {
	t.Helper()
	root, s := catalogFixture(t)
	o.Root = root
	r, err := db.Match(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	return root, r
}

package testinfra

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The grype v6 vulnerability DB the tests scan against is built at test time from
// four real advisories — log4j-core CVE-2021-44228 (GHSA-jfh8-c2jp-5v3q),
// golang.org/x/text CVE-2022-32149 (GHSA-69ch-w2m2-3vjp), lodash CVE-2021-23337
// (GHSA-35jh-r3h4-6jhm), Debian 12 openssl CVE-2023-5678 — by grype v0.120.1's own
// v6 writer, in the command action-test/bench/dbgen. The command runs as a separate
// process (built once per source version into the tools cache) so that test binaries
// importing testinfra do not link grype's DB code.

// dbgenPkg is the DB builder's package, relative to the repository root.
const dbgenPkg = "./action-test/bench/dbgen"

var (
	grypeOnce sync.Once
	grypeErr  error
	grypeDir  string // per-process cache: root/, db.tar.gz, listing/
)

// GrypeDB returns a grype DB root (a folder holding 6/vulnerability.db and
// 6/import.json, what GRYPE_DB_CACHE_DIR and the db-dir input point at), built now.
// It is built once per test process and shared: do not modify it (use
// GrypeDBBuiltAt for a private copy).
func GrypeDB(t testing.TB) string {
	t.Helper()
	return filepath.Join(sharedGrypeDB(t), "root")
}

// GrypeDBArchive returns the same DB as GrypeDB as a tar.gz archive holding
// vulnerability.db at its top level (what `grype db import` and the db-dir input
// accept). Shared per process: do not modify it.
func GrypeDBArchive(t testing.TB) string {
	t.Helper()
	return filepath.Join(sharedGrypeDB(t), "db.tar.gz")
}

// GrypeDBBuiltAt builds a private DB root in a test temp dir whose build time is
// built (for DB-age tests), and returns the root.
func GrypeDBBuiltAt(t testing.TB, built time.Time) string {
	t.Helper()
	dir := t.TempDir()
	runDBGen(t, "-root", filepath.Join(dir, "root"), "-built", built.UTC().Format(time.RFC3339))
	return filepath.Join(dir, "root")
}

// GrypeDBListing is a loopback HTTP server that serves a DB the way grype's
// distribution does: a latest.json listing (made by grype's own distribution
// package, with the archive's sha256 checksum) next to a tar.gz archive.
type GrypeDBListing struct {
	// URL is the listing's URL (…/latest.json): grype's update URL
	// (GRYPE_DB_UPDATE_URL), the vulndb Options.UpdateURL.
	URL string
	// Dir is the folder served; tests may corrupt or remove files in it.
	Dir      string
	requests atomic.Int64
	archives atomic.Int64
}

// Requests counts the HTTP requests served so far.
func (l *GrypeDBListing) Requests() int { return int(l.requests.Load()) }

// ArchiveDownloads counts the GET requests for the archive (downloads of the
// DB; grype's downloader also sends a HEAD first).
func (l *GrypeDBListing) ArchiveDownloads() int { return int(l.archives.Load()) }

// GrypeDBServer serves a freshly built DB (build time now) from a loopback HTTP
// server that is closed when the test ends.
func GrypeDBServer(t testing.TB) *GrypeDBListing {
	t.Helper()
	return GrypeDBServerBuiltAt(t, time.Now())
}

// GrypeDBServerBuiltAt is GrypeDBServer with the DB's build time set.
func GrypeDBServerBuiltAt(t testing.TB, built time.Time) *GrypeDBListing {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "listing")
	runDBGen(t, "-root", filepath.Join(filepath.Dir(dir), "root"), "-listing", dir, "-built", built.UTC().Format(time.RFC3339))
	l := &GrypeDBListing{Dir: dir}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.requests.Add(1)
		if filepath.Ext(r.URL.Path) == ".gz" && r.Method == http.MethodGet {
			l.archives.Add(1)
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	l.URL = srv.URL + "/latest.json"
	return l
}

func sharedGrypeDB(t testing.TB) string {
	t.Helper()
	grypeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "secure-gates-grypedb-")
		if err != nil {
			grypeErr = err
			return
		}
		bin, err := dbgenBinary(t)
		if err != nil {
			grypeErr = err
			return
		}
		cmd := exec.Command(bin, "-root", filepath.Join(dir, "root"), "-archive", filepath.Join(dir, "db.tar.gz"))
		if out, err := cmd.CombinedOutput(); err != nil {
			grypeErr = fmt.Errorf("building the grype DB: %v\n%s", err, out)
			return
		}
		grypeDir = dir
	})
	if grypeErr != nil {
		t.Fatalf("testinfra: %v", grypeErr)
	}
	return grypeDir
}

func runDBGen(t testing.TB, args ...string) {
	t.Helper()
	bin, err := dbgenBinary(t)
	if err != nil {
		t.Fatalf("testinfra: %v", err)
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("testinfra: building the grype DB (%s %v): %v\n%s", bin, args, err, out)
	}
}

var (
	dbgenOnce sync.Once
	dbgenBin  string
	dbgenErr  error
)

// dbgenBinary builds the DB builder into <ToolsDir>/dbgen@<hash of its source and
// go.sum>/dbgen, once per source version and machine (a lock file serialises
// parallel test binaries).
func dbgenBinary(t testing.TB) (string, error) {
	t.Helper()
	dbgenOnce.Do(func() { dbgenBin, dbgenErr = buildDBGen(ToolsDir(t)) })
	return dbgenBin, dbgenErr
}

func buildDBGen(toolsDir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	key, err := sourceKey(root)
	if err != nil {
		return "", fmt.Errorf("hashing the DB builder's source: %w", err)
	}
	return BuildOnce(filepath.Join(toolsDir, "dbgen@"+key), "dbgen", func(tmp string) error {
		cmd := exec.Command("go", "build", "-o", tmp, dbgenPkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOFLAGS=") // same build settings as go test: shares its build cache
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s (needs the Go toolchain and the module cache of go.mod): %v\n%s", dbgenPkg, err, lastLines(string(out), 30))
		}
		return nil
	})
}

// sourceKey hashes the DB builder's Go files and go.sum.
func sourceKey(root string) (string, error) {
	files, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(dbgenPkg), "*.go"))
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	files = append(files, filepath.Join(root, "go.sum"))
	h := sha256.New()
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\n", filepath.Base(f))
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

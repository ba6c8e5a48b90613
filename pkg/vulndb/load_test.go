package vulndb

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// copyTree copies the DB root src into a new temp dir (for tests that damage it).
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	testinfra.CopyTree(t, src, dst)
	return dst
}

func writeFile(t *testing.T, p, body string) string {
	t.Helper()
	return testinfra.WriteFile(t, p, body, 0o644)
}

// tarGzOf writes a tar.gz holding the given files.
func tarGzOf(t *testing.T, p string, files map[string][]byte) string {
	t.Helper()
	return testinfra.WriteTar(t, p, func(tw *tar.Writer) {
		for name, b := range files {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b))}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(b); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestLoadLocal covers the db-dir input: the layouts accepted, and what each
// wrong input is classified as (the gate's exit code).
func TestLoadLocal(t *testing.T) {
	root := testinfra.GrypeDB(t)
	archive := testinfra.GrypeDBArchive(t)
	tmp := t.TempDir()

	corrupt := copyTree(t, root)
	dbFile := filepath.Join(corrupt, "6", "vulnerability.db")
	b, err := os.ReadFile(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff // one byte changed, import.json not rewritten
	if err := os.WriteFile(dbFile, b, 0o644); err != nil {
		t.Fatal(err)
	}

	schema5 := filepath.Join(tmp, "schema5")
	writeFile(t, filepath.Join(schema5, "5", "vulnerability.db"), "old")
	plain := filepath.Join(tmp, "plain")
	writeFile(t, filepath.Join(plain, "README"), "not a DB")
	bare := copyTree(t, filepath.Join(root, "6")) // a folder holding vulnerability.db, not named 6

	tests := []struct {
		name     string
		dir      string
		now      time.Time
		wantKind errkind.Kind
		wantErr  string
		source   string
	}{
		{name: "DB root", dir: root, source: SourceDBDir},
		{name: "the 6 folder", dir: filepath.Join(root, "6"), source: SourceDBDir},
		{name: "a folder holding vulnerability.db", dir: bare, source: SourceDBDir},
		{name: "tar.gz archive", dir: archive, source: SourceArchive},
		{name: "missing", dir: filepath.Join(tmp, "nope"), wantKind: errkind.KindInput, wantErr: "does not exist"},
		{name: "not a DB", dir: plain, wantKind: errkind.KindInput, wantErr: "is not a grype DB: no 6/vulnerability.db"},
		{name: "older schema", dir: schema5, wantKind: errkind.KindInput, wantErr: "holds a schema v5 DB"},
		{name: "file not an archive", dir: writeFile(t, filepath.Join(tmp, "db.json"), "{}"), wantKind: errkind.KindInput, wantErr: "is a file but not a DB archive"},
		{name: "archive not gzip", dir: writeFile(t, filepath.Join(tmp, "bad.tar.gz"), "garbage"), wantKind: errkind.KindInput, wantErr: "could not be imported"},
		{name: "archive without a DB", dir: tarGzOf(t, filepath.Join(tmp, "empty.tar.gz"), map[string][]byte{"README": []byte("x")}), wantKind: errkind.KindInput, wantErr: "vulnerability.db"},
		{name: "checksum mismatch", dir: corrupt, wantKind: errkind.KindInfra, wantErr: "bad db checksum"},
		{name: "too old", dir: root, now: time.Now().Add(121 * time.Hour), wantKind: errkind.KindInfra, wantErr: "older than the max age 120h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{DBDir: tt.dir}
			if !tt.now.IsZero() {
				o.Now = func() time.Time { return tt.now }
			}
			db, err := Load(context.Background(), o)
			if tt.wantErr != "" {
				if err == nil {
					db.Close()
					t.Fatalf("Load(%s) succeeded, want a %v error containing %q", tt.dir, tt.wantKind, tt.wantErr)
				}
				if errkind.Of(err) != tt.wantKind || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load(%s) = %v (kind %v), want kind %v containing %q", tt.dir, err, errkind.Of(err), tt.wantKind, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%s): %v", tt.dir, err)
			}
			info := db.Info()
			if info.Source != tt.source || info.Location != tt.dir || !strings.HasPrefix(info.SchemaVersion, "v6.") {
				t.Errorf("Info = %+v, want source %s, location %s, schema v6.x", info, tt.source, tt.dir)
			}
			if age := time.Since(info.Built); age < -time.Minute || age > time.Hour { // the DB records whole seconds
				t.Errorf("Info.Built = %v, want the test DB's build time (minutes ago)", info.Built)
			}
			path := info.Path
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.source == SourceArchive {
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the imported archive copy %s is still there after Close (err %v)", path, err)
				}
			}
		})
	}
}

// TestLoadAge checks the age bound against a DB whose build time is known.
func TestLoadAge(t *testing.T) {
	built := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	root := testinfra.GrypeDBBuiltAt(t, built)
	tests := []struct {
		name   string
		now    time.Time
		maxAge time.Duration
		ok     bool
	}{
		{"fresh", built.Add(time.Hour), 0, true},
		{"just within the default", built.Add(120 * time.Hour), 0, true},
		{"past the default", built.Add(120*time.Hour + time.Minute), 0, false},
		{"custom bound", built.Add(25 * time.Hour), 24 * time.Hour, false},
		{"custom bound, within", built.Add(23 * time.Hour), 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Load(context.Background(), Options{DBDir: root, MaxAge: tt.maxAge, Now: func() time.Time { return tt.now }})
			if tt.ok {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				defer db.Close()
				if !db.Info().Built.Equal(built) {
					t.Errorf("Built = %v, want %v", db.Info().Built, built)
				}
				return
			}
			if err == nil {
				db.Close()
				t.Fatal("Load accepted a DB older than the bound")
			}
			if errkind.ExitCode(err) != errkind.ExitInfra || !strings.Contains(err.Error(), "2026-01-01T00:00:00Z") {
				t.Errorf("Load = %v (exit %d), want an infrastructure error (exit 3) naming the build time", err, errkind.ExitCode(err))
			}
		})
	}
}

func TestLoadNothingGiven(t *testing.T) {
	_, err := Load(context.Background(), Options{})
	if errkind.Of(err) != errkind.KindInput {
		t.Fatalf("Load(no db-dir, no cache) = %v, want an input error", err)
	}
}

// TestLoadDownload exercises grype's distribution path against a loopback
// server serving a listing (latest.json) and archive.
func TestLoadDownload(t *testing.T) {
	ctx := context.Background()

	t.Run("download then cache", func(t *testing.T) {
		srv := testinfra.GrypeDBServer(t)
		cache := t.TempDir()
		db, err := Load(ctx, Options{CacheDir: cache, UpdateURL: srv.URL})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		info := db.Info()
		db.Close()
		if info.Source != SourceDownload || srv.ArchiveDownloads() != 1 {
			t.Fatalf("first Load: source %q after %d downloads, want a download", info.Source, srv.ArchiveDownloads())
		}
		if !strings.HasPrefix(info.URL, strings.TrimSuffix(srv.URL, "latest.json")) || strings.Contains(info.URL, "?") {
			t.Errorf("Info.URL = %q, want the archive URL next to %s without query", info.URL, srv.URL)
		}
		if _, err := os.Stat(filepath.Join(cache, "6", "vulnerability.db")); err != nil {
			t.Errorf("the cache holds no DB: %v", err)
		}
		// Within the update-check interval: no request at all.
		before := srv.Requests()
		db, err = Load(ctx, Options{CacheDir: cache, UpdateURL: srv.URL})
		if err != nil {
			t.Fatalf("second Load: %v", err)
		}
		info = db.Info()
		db.Close()
		if info.Source != SourceCache || srv.Requests() != before {
			t.Errorf("second Load: source %q, %d new requests; want the cache, no request", info.Source, srv.Requests()-before)
		}
		// Checking every time: the listing is read, nothing newer, no download.
		db, err = Load(ctx, Options{CacheDir: cache, UpdateURL: srv.URL, UpdateCheckInterval: -1})
		if err != nil {
			t.Fatalf("third Load: %v", err)
		}
		info = db.Info()
		db.Close()
		if info.Source != SourceCache || srv.Requests() == before || srv.ArchiveDownloads() != 1 || info.UpdateError != "" {
			t.Errorf("third Load: source %q, requests %d, downloads %d, update error %q; want the cache after reading the listing", info.Source, srv.Requests()-before, srv.ArchiveDownloads(), info.UpdateError)
		}
		// Listing unreachable, cached DB fresh: the cache is used and the failure said.
		os.Remove(filepath.Join(srv.Dir, "latest.json"))
		db, err = Load(ctx, Options{CacheDir: cache, UpdateURL: srv.URL, UpdateCheckInterval: -1})
		if err != nil {
			t.Fatalf("Load with the listing gone: %v", err)
		}
		info = db.Info()
		db.Close()
		if info.Source != SourceCache || info.UpdateError == "" {
			t.Errorf("listing gone: source %q, update error %q; want the cache and the failure recorded", info.Source, info.UpdateError)
		}
		// ...but not when the cached DB is too old.
		_, err = Load(ctx, Options{CacheDir: cache, UpdateURL: srv.URL, UpdateCheckInterval: -1, Now: func() time.Time { return time.Now().Add(200 * time.Hour) }})
		if errkind.Of(err) != errkind.KindInfra {
			t.Errorf("listing gone, cache too old: err %v, want an infrastructure error", err)
		}
	})

	t.Run("unreachable, empty cache", func(t *testing.T) {
		srv := testinfra.GrypeDBServer(t)
		url := srv.URL
		os.Remove(filepath.Join(srv.Dir, "latest.json"))
		_, err := Load(ctx, Options{CacheDir: t.TempDir(), UpdateURL: url})
		if errkind.Of(err) != errkind.KindInfra || !strings.Contains(err.Error(), "could not be obtained") {
			t.Fatalf("Load = %v, want an infrastructure error saying the DB could not be obtained", err)
		}
	})

	t.Run("archive fails its checksum", func(t *testing.T) {
		srv := testinfra.GrypeDBServer(t)
		archives, _ := filepath.Glob(filepath.Join(srv.Dir, "*.tar.gz"))
		if len(archives) != 1 {
			t.Fatalf("listing dir holds %v", archives)
		}
		b, err := os.ReadFile(archives[0])
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, 0) // a byte appended: same name, different sha256
		if err := os.WriteFile(archives[0], b, 0o644); err != nil {
			t.Fatal(err)
		}
		cache := t.TempDir()
		_, err = Load(ctx, Options{CacheDir: cache, UpdateURL: srv.URL})
		if errkind.Of(err) != errkind.KindInfra || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("Load = %v, want an infrastructure error about the checksum", err)
		}
		if _, err := os.Stat(filepath.Join(cache, "6", "vulnerability.db")); err == nil {
			t.Error("an archive that failed its checksum was installed into the cache")
		}
	})

	t.Run("served DB too old", func(t *testing.T) {
		srv := testinfra.GrypeDBServerBuiltAt(t, time.Now().Add(-10*24*time.Hour))
		_, err := Load(ctx, Options{CacheDir: t.TempDir(), UpdateURL: srv.URL})
		if errkind.ExitCode(err) != errkind.ExitInfra || !strings.Contains(err.Error(), "max age") {
			t.Fatalf("Load = %v, want an infrastructure error about the max age", err)
		}
	})
}

// TestLoadArchiveCached: with a cache folder, an archive is imported once and
// reused by the next run; a different archive replaces it.
func TestLoadArchiveCached(t *testing.T) {
	cache := t.TempDir()
	archive := testinfra.GrypeDBArchive(t)
	load := func(a string) Info {
		t.Helper()
		db, err := Load(context.Background(), Options{DBDir: a, CacheDir: cache})
		if err != nil {
			t.Fatalf("Load(%s): %v", a, err)
		}
		defer db.Close()
		return db.Info()
	}
	first := load(archive)
	st1, err := os.Stat(first.Path)
	if err != nil {
		t.Fatalf("the imported DB is not kept in the cache: %v", err)
	}
	if first.Source != SourceArchive || !strings.HasPrefix(first.Path, cache) {
		t.Fatalf("Info = %+v, want an archive imported under %s", first, cache)
	}
	second := load(archive)
	st2, err := os.Stat(second.Path)
	if err != nil || second.Path != first.Path || !st2.ModTime().Equal(st1.ModTime()) {
		t.Errorf("second run re-imported the same archive (%s → %s, err %v)", first.Path, second.Path, err)
	}
	// Another archive (another build): imported, and the old import dropped.
	other := filepath.Join(t.TempDir(), "other.tar.gz")
	root := testinfra.GrypeDBBuiltAt(t, time.Now().Add(-time.Hour))
	b, err := os.ReadFile(filepath.Join(root, "6", "vulnerability.db"))
	if err != nil {
		t.Fatal(err)
	}
	tarGzOf(t, other, map[string][]byte{"vulnerability.db": b})
	third := load(other)
	if third.Path == first.Path {
		t.Fatal("a different archive reused the first one's import")
	}
	if _, err := os.Stat(first.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the previous import is still in the cache (err %v)", err)
	}
	dirs, _ := filepath.Glob(filepath.Join(cache, "*"))
	if len(dirs) != 1 {
		t.Errorf("cache holds %v, want one import", dirs)
	}
}

func TestLoadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Load(ctx, Options{DBDir: testinfra.GrypeDB(t)})
	if errkind.Of(err) != errkind.KindInfra || !errors.Is(err, context.Canceled) {
		t.Fatalf("Load with a canceled context = %v, want an infrastructure error wrapping context.Canceled", err)
	}
}

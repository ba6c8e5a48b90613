package catalog_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// keyedStore is a scancache.Memory that remembers its keys, so a test can
// overwrite every entry.
type keyedStore struct {
	scancache.Memory
	mu   sync.Mutex
	keys map[string][]scancache.Key
}

func (s *keyedStore) Put(ns string, k scancache.Key, v []byte) {
	s.mu.Lock()
	if s.keys == nil {
		s.keys = map[string][]scancache.Key{}
	}
	s.keys[ns] = append(s.keys[ns], k)
	s.mu.Unlock()
	s.Memory.Put(ns, k, v)
}

// spoil overwrites every entry with what bad returns for it.
func (s *keyedStore) spoil(bad func(ns string, v []byte) []byte) {
	s.mu.Lock()
	keys := s.keys
	s.mu.Unlock()
	for ns, ks := range keys {
		for _, k := range ks {
			v, _ := s.Memory.Get(ns, k)
			s.Memory.Put(ns, k, bad(ns, v))
		}
	}
}

// cacheTree is a tree with packages of several ecosystems (the SBOM test
// rootfs: dpkg, npm, a jar, a Go binary) plus a Go module and an npm
// lockfile, source files, a symlink to the lockfile, a lockfile-named
// symlink to a file that is not named like one, and a dpkg status.d that is a
// symlink to a directory not named like one.
func cacheTree(t *testing.T) string {
	t.Helper()
	dir := copyTree(t, testinfra.SBOMRootfs(t))
	testinfra.WriteTree(t, dir, map[string]string{
		"go.mod":                "module example.com/svc\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.7\n",
		"main.go":               "package main\n\nfunc main() {}\n",
		"internal/util/util.go": "package util\n",
		"web/package.json":      `{"name":"web","version":"1.0.0","dependencies":{"lodash":"4.17.20"}}` + "\n",
		"web/package-lock.json": npmLock("4.17.20"),
		"data/blob":             "plain text\n",
		"docs/guide.md":         "# guide\n",
		"data/lock.txt":         strings.ReplaceAll(npmLock("4.17.15"), `"web"`, `"aliased"`),
	})
	if err := os.MkdirAll(filepath.Join(dir, "data/dpkg.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"lockref": "web/package-lock.json", "alias/package-lock.json": "../data/lock.txt",
		"usr/lib/dpkg/status.d": "../../../data/dpkg.d"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const dpkgStanza = "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n"

func npmLock(lodash string) string {
	return `{"name":"web","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{` +
		`"":{"name":"web","version":"1.0.0","dependencies":{"lodash":"` + lodash + `"}},` +
		`"node_modules/lodash":{"version":"` + lodash + `","resolved":"https://registry.npmjs.org/lodash/-/lodash-` + lodash + `.tgz","license":"MIT"}}}` + "\n"
}

func writeTree(t *testing.T, dir, p, content string, mode os.FileMode) {
	t.Helper()
	testinfra.WriteFile(t, filepath.Join(dir, filepath.FromSlash(p)), content, mode)
}

// TestDirectoryCache edits a catalogued tree and catalogues it again with the
// cache: an edit syft's catalogers cannot see reuses the catalog, any other
// re-catalogues; either way the SBOM is the one a cold run (an empty cache)
// makes of the edited tree, byte for byte. The edits include the attacks on
// the change detection: a lockfile-like name in a new directory, a symlink
// swapped to another target, a text file turned into an executable, a Go
// binary dropped into the tree.
func TestDirectoryCache(t *testing.T) {
	base := cacheTree(t)
	bin, err := os.ReadFile(filepath.Join(base, "app/bin/app"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		edit    func(t *testing.T, dir string)
		reuse   bool
		changes bool // the SBOM differs from the unedited tree's
	}{
		{"unchanged", func(*testing.T, string) {}, true, false},
		{"source edited", func(t *testing.T, d string) {
			writeTree(t, d, "main.go", "package main\n\nfunc main() { println() }\n", 0o644)
		}, true, false},
		{"source added in a new directory", func(t *testing.T, d string) { writeTree(t, d, "pkg/new/new.go", "package new\n", 0o644) }, true, false},
		{"source renamed", func(t *testing.T, d string) { rename(t, d, "internal/util/util.go", "internal/util/helpers.go") }, true, false},
		{"source deleted", func(t *testing.T, d string) { remove(t, d, "docs/guide.md") }, true, false},
		{"source made executable", func(t *testing.T, d string) { chmod(t, d, "main.go", 0o755) }, true, false},
		{"JSON and YAML config added", func(t *testing.T, d string) {
			writeTree(t, d, "config/settings.json", `{"debug":true}`+"\n", 0o644)
			writeTree(t, d, "deploy/app.yaml", "replicas: 2\n", 0o644)
		}, true, false},
		{"workflow added", func(t *testing.T, d string) {
			writeTree(t, d, ".github/workflows/ci.yml", "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n", 0o644)
		}, false, true},
		{"lockfile edited", func(t *testing.T, d string) { writeTree(t, d, "web/package-lock.json", npmLock("4.17.21"), 0o644) }, false, true},
		{"lockfile deleted", func(t *testing.T, d string) { remove(t, d, "web/package-lock.json") }, false, true},
		{"manifest added", func(t *testing.T, d string) {
			writeTree(t, d, "svc/go.mod", "module example.com/svc2\n\ngo 1.21\n\nrequire github.com/pkg/errors v0.9.1\n", 0o644)
		}, false, true},
		{"lockfile-like name in a new directory", func(t *testing.T, d string) {
			writeTree(t, d, "vendor/deep/package-lock.json", strings.ReplaceAll(npmLock("4.17.11"), `"web"`, `"deep"`), 0o644)
		}, false, true},
		{"manifest's mode changed", func(t *testing.T, d string) { chmod(t, d, "go.mod", 0o600) }, false, false},
		{"symlink swapped", func(t *testing.T, d string) {
			remove(t, d, "lockref")
			if err := os.Symlink("web/package.json", filepath.Join(d, "lockref")); err != nil {
				t.Fatal(err)
			}
		}, false, false},
		{"file behind a lockfile-named symlink edited", func(t *testing.T, d string) {
			writeTree(t, d, "data/lock.txt", strings.ReplaceAll(npmLock("4.17.21"), `"web"`, `"aliased"`), 0o644)
		}, false, true},
		{"distroless dpkg status file added", func(t *testing.T, d string) {
			writeTree(t, d, "var/lib/dpkg/status.d/zlib", dpkgStanza, 0o644)
		}, false, true},
		{"file added behind a symlinked status.d", func(t *testing.T, d string) { writeTree(t, d, "data/dpkg.d/zlib", dpkgStanza, 0o644) }, false, true},
		{"text file turned executable", func(t *testing.T, d string) { writeTree(t, d, "data/blob", string(bin), 0o755) }, false, true},
		{"Go binary dropped in", func(t *testing.T, d string) { writeTree(t, d, "tools/x", string(bin), 0o755) }, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTree(t, base)
			store := &scancache.Memory{}
			first, err := catalog.Directory(context.Background(), dir, catalog.Options{Cache: store})
			if err != nil {
				t.Fatal(err)
			}
			if first.Cached || first.Packages == 0 {
				t.Fatalf("first run: cached %v, %d packages; want a cold catalog with packages", first.Cached, first.Packages)
			}
			tc.edit(t, dir)
			warm, err := catalog.Directory(context.Background(), dir, catalog.Options{Cache: store})
			if err != nil {
				t.Fatal(err)
			}
			cold, err := catalog.Directory(context.Background(), dir, catalog.Options{Cache: &scancache.Memory{}})
			if err != nil {
				t.Fatal(err)
			}
			if warm.Cached != tc.reuse {
				t.Errorf("warm run reused the catalog: %v, want %v", warm.Cached, tc.reuse)
			}
			w, c := catalog.SyftJSON(t, warm.SBOM), catalog.SyftJSON(t, cold.SBOM)
			if !bytes.Equal(w, c) || warm.Packages != cold.Packages {
				t.Errorf("warm SBOM (%d packages) differs from the cold one (%d)", warm.Packages, cold.Packages)
			}
			if changed := !bytes.Equal(c, catalog.SyftJSON(t, first.SBOM)); changed != tc.changes {
				t.Errorf("the edit changed the SBOM: %v, want %v", changed, tc.changes)
			}
			// and again: the warm run left the cache pointing at the edited tree
			again, err := catalog.Directory(context.Background(), dir, catalog.Options{Cache: store})
			if err != nil || !again.Cached || !bytes.Equal(catalog.SyftJSON(t, again.SBOM), c) {
				t.Errorf("third run: cached %v (err %v), same SBOM %v", again != nil && again.Cached, err, again != nil && bytes.Equal(catalog.SyftJSON(t, again.SBOM), c))
			}
		})
	}
}

// TestDirectoryCacheUntrusted: entries that are garbage, of another format,
// or another tree's valid SBOM under this one's key are misses — the tree is
// catalogued again, never failed and never trusted.
func TestDirectoryCacheUntrusted(t *testing.T) {
	dir := cacheTree(t)
	other := filepath.Join(t.TempDir(), "other")
	writeTree(t, other, "package-lock.json", npmLock("4.17.11"), 0o644)
	otherRes, err := catalog.Directory(context.Background(), other, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	otherSBOM := catalog.SyftJSON(t, otherRes.SBOM)
	for name, bad := range map[string]func(ns string, v []byte) []byte{
		"random bytes": func(string, []byte) []byte { return []byte("\x00\xffnot json") },
		"empty":        func(string, []byte) []byte { return nil },
		"truncated":    func(_ string, v []byte) []byte { return v[:len(v)/2] },
		"another format": func(_ string, v []byte) []byte {
			return bytes.Replace(v, []byte("catalog-dir/v1"), []byte("catalog-dir/v0"), 1)
		},
		"another's SBOM": func(ns string, v []byte) []byte { return pick(ns == "catalog-sbom", otherSBOM, v) },
		"a forged SBOM":  func(ns string, v []byte) []byte { return pick(ns == "catalog-sbom", []byte(`{"artifacts":[]}`), v) },
	} {
		t.Run(name, func(t *testing.T) {
			store := &keyedStore{}
			cold, err := catalog.Directory(context.Background(), dir, catalog.Options{Cache: store})
			if err != nil {
				t.Fatal(err)
			}
			store.spoil(bad)
			warm, err := catalog.Directory(context.Background(), dir, catalog.Options{Cache: store})
			if err != nil {
				t.Fatalf("a spoiled cache failed the catalog: %v", err)
			}
			if warm.Cached || !bytes.Equal(catalog.SyftJSON(t, warm.SBOM), catalog.SyftJSON(t, cold.SBOM)) {
				t.Errorf("a spoiled entry was used: cached %v", warm.Cached)
			}
		})
	}
}

func pick(cond bool, a, b []byte) []byte {
	if cond {
		return a
	}
	return b
}

func rename(t *testing.T, dir, from, to string) {
	t.Helper()
	if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, dir, p string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, p)); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, dir, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(filepath.Join(dir, p), mode); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the tree at src (symlinks as symlinks, modes kept) into a
// new temporary directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "tree")
	testinfra.CopyTree(t, src, dst)
	return dst
}

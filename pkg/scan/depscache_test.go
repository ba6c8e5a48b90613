package scan

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// countingStore is a scancache.Memory that counts the entries put in each
// namespace (a catalog run puts its SBOM, a matching its report) and can
// spoil every entry it holds.
type countingStore struct {
	scancache.Memory
	mu   sync.Mutex
	puts map[string]int
	keys map[string][]scancache.Key
}

func (s *countingStore) Put(ns string, k scancache.Key, v []byte) {
	s.mu.Lock()
	if s.puts == nil {
		s.puts, s.keys = map[string]int{}, map[string][]scancache.Key{}
	}
	s.puts[ns]++
	s.keys[ns] = append(s.keys[ns], k)
	s.mu.Unlock()
	s.Memory.Put(ns, k, v)
}

func (s *countingStore) count(ns string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts[ns]
}

func (s *countingStore) spoil() {
	for ns, ks := range s.keys {
		for _, k := range ks {
			s.Memory.Put(ns, k, []byte("{garbage"))
		}
	}
}

// depsScan runs deps and license on root and returns what the gate writes:
// the SARIF file, the code-scan predicate and the vuln predicate.
func depsScan(t *testing.T, root string, o DepsOptions, cache scancache.Store, now func() time.Time) ([]byte, error) {
	t.Helper()
	out, _, err := depsScanLoads(t, Options{Root: root, Deps: o, Cache: cache, Now: now,
		License: license.Options{Deny: []string{"GPL-3.0-only"}, Unknown: license.UnknownWarn}})
	return out, err
}

// depsScanLoads is depsScan with o's root, cache, license options and
// exceptions; it also returns whether the catalog's SBOM was decoded (or
// catalogued): a cached catalog is decoded only when a scanner needs it.
func depsScanLoads(t *testing.T, o Options) ([]byte, bool, error) {
	t.Helper()
	o.Scanners = []string{Deps, License}
	res, err := Run(context.Background(), o)
	if err != nil {
		return nil, false, err
	}
	files, err := res.WriteFiles(t.TempDir(), WriteOptions{Category: "sg", Invocation: attestation.VulnInvocation{URI: "https://example.com/run/1", EventID: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, p := range []string{files.SARIF, files.CodeScan, files.Vuln} {
		if p == "" {
			out = append(out, "(none)\n"...)
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data...)
	}
	return out, res.sbomDecoded, nil
}

func edit(t *testing.T, dir, p, content string) {
	t.Helper()
	testinfra.WriteFile(t, filepath.Join(dir, filepath.FromSlash(p)), content, 0o644)
}

// TestDepsCacheWarmIsCold: after an edit of the scanned tree (or of the DB,
// the VEX documents, the cache itself), a scan with the cache of the scan
// before writes byte for byte what a scan without a cache writes, and
// catalogues and matches only when the edit calls for it.
func TestDepsCacheWarmIsCold(t *testing.T) {
	db := testinfra.GrypeDB(t)
	newDB := testinfra.GrypeDBBuiltAt(t, time.Now().Add(-time.Hour))
	const lodashVEX = "pkg:npm/lodash@4.17.20"
	for _, tc := range []struct {
		name             string
		edit             func(t *testing.T, dir string, o *DepsOptions, c *countingStore)
		catalog, match   bool // the warm scan catalogued, matched
		changesTheReport bool
	}{
		{"unchanged", func(*testing.T, string, *DepsOptions, *countingStore) {}, false, false, false},
		{"source edited", func(t *testing.T, d string, _ *DepsOptions, _ *countingStore) {
			edit(t, d, "main.go", "package main\n\nfunc main() { println() }\n")
		}, false, false, false},
		{"source added", func(t *testing.T, d string, _ *DepsOptions, _ *countingStore) {
			edit(t, d, "internal/x/x.go", "package x\n")
		}, false, false, false},
		{"source renamed", func(t *testing.T, d string, _ *DepsOptions, _ *countingStore) {
			if err := os.Rename(filepath.Join(d, "README.md"), filepath.Join(d, "README.txt")); err != nil {
				t.Fatal(err)
			}
		}, false, false, false},
		{"source deleted", func(t *testing.T, d string, _ *DepsOptions, _ *countingStore) {
			if err := os.Remove(filepath.Join(d, "Dockerfile")); err != nil {
				t.Fatal(err)
			}
		}, false, false, false},
		{"lockfile edited", func(t *testing.T, d string, _ *DepsOptions, _ *countingStore) {
			data, err := os.ReadFile(filepath.Join(d, "package-lock.json"))
			if err != nil {
				t.Fatal(err)
			}
			edit(t, d, "package-lock.json", strings.ReplaceAll(string(data), "4.17.20", "4.17.21"))
		}, true, true, true},
		{"manifest added", func(t *testing.T, d string, _ *DepsOptions, _ *countingStore) {
			edit(t, d, "tools/go.mod", "module example.com/tools\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.8\n")
		}, true, true, true},
		{"new DB build", func(_ *testing.T, _ string, o *DepsOptions, _ *countingStore) { o.DBDir = newDB }, false, true, true},
		{"VEX changed", func(t *testing.T, _ string, o *DepsOptions, _ *countingStore) {
			edit(t, filepath.Dir(o.VEX[0]), filepath.Base(o.VEX[0]), vexDoc("GHSA-35jh-r3h4-6jhm", lodashVEX, "affected"))
		}, false, true, true},
		{"cache entries garbage", func(_ *testing.T, _ string, _ *DepsOptions, c *countingStore) { c.spoil() }, true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := testinfra.NewScanFixture(t)
			vex := filepath.Join(t.TempDir(), "app.openvex.json")
			edit(t, filepath.Dir(vex), filepath.Base(vex), vexDoc("GHSA-35jh-r3h4-6jhm", lodashVEX, "not_affected"))
			o := DepsOptions{DBDir: db, VEX: []string{vex}}
			store := &countingStore{}
			first, err := depsScan(t, fx.Dir, o, store, clock)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(t, fx.Dir, &o, store)
			catalogs, matches := store.count("catalog-sbom"), store.count("match")
			warm, decoded, err := depsScanLoads(t, Options{Root: fx.Dir, Deps: o, Cache: store, Now: clock,
				License: license.Options{Deny: []string{"GPL-3.0-only"}, Unknown: license.UnknownWarn}})
			if err != nil {
				t.Fatal(err)
			}
			// the SBOM is needed only to catalogue or match again: the license
			// findings of a reused catalog are cached too
			if want := tc.catalog || tc.match; decoded != want {
				t.Errorf("the warm scan decoded the catalog's SBOM: %v, want %v", decoded, want)
			}
			cold, err := depsScan(t, fx.Dir, o, nil, clock)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(warm, cold) {
				t.Errorf("the warm scan wrote other outputs than a scan without the cache:\nwarm:\n%s\ncold:\n%s", warm, cold)
			}
			if got := store.count("catalog-sbom") > catalogs; got != tc.catalog {
				t.Errorf("the warm scan catalogued: %v, want %v", got, tc.catalog)
			}
			if got := store.count("match") > matches; got != tc.match {
				t.Errorf("the warm scan matched: %v, want %v", got, tc.match)
			}
			if got := !bytes.Equal(cold, first); got != tc.changesTheReport {
				t.Errorf("the edit changed the outputs: %v, want %v", got, tc.changesTheReport)
			}
		})
	}
}

// TestDepsCacheFreshnessStillChecked: a warm scan whose catalog and match
// are both in the cache still checks the DB as a cold one does: a DB that
// became older than max-db-age fails the scan (on-scanner-outage: fail) or is
// recorded as an outage (continue), and a missing one is bad input.
func TestDepsCacheFreshnessStillChecked(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	db := testinfra.GrypeDBBuiltAt(t, fixedNow.Add(-time.Hour))
	store := &countingStore{}
	o := DepsOptions{DBDir: db}
	if _, err := depsScan(t, fx.Dir, o, store, clock); err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return fixedNow.Add(200 * time.Hour) }
	if _, err := depsScan(t, fx.Dir, o, store, later); errkind.Of(err) != errkind.KindInfra || !strings.Contains(err.Error(), "max age") {
		t.Errorf("warm scan with a stale DB: %v, want the max-age infrastructure error", err)
	}
	o.OnOutage = attestation.OutageContinue
	warm, err := depsScan(t, fx.Dir, o, store, later)
	if err != nil {
		t.Fatal(err)
	}
	cold, err := depsScan(t, fx.Dir, o, nil, later)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(warm, cold) || !bytes.Contains(warm, []byte(`"outages"`)) || !bytes.HasSuffix(warm, []byte("(none)\n")) {
		t.Errorf("warm scan with a stale DB under continue: not the cold scan's outage record:\n%s", warm)
	}
	if err := os.RemoveAll(db); err != nil {
		t.Fatal(err)
	}
	if _, err := depsScan(t, fx.Dir, DepsOptions{DBDir: db}, store, clock); errkind.Of(err) != errkind.KindInput {
		t.Errorf("warm scan with the DB gone: %v, want an input error", err)
	}
}

func vexDoc(vulnID, product, status string) string {
	return `{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "Example",
  "timestamp": "2026-01-01T00:00:00Z", "version": 1,
  "statements": [{"vulnerability": {"name": "` + vulnID + `"}, "products": [{"@id": "` + product + `"}],
    "status": "` + status + `", "justification": "vulnerable_code_not_in_execute_path"}]}
`
}

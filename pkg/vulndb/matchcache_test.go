package vulndb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/syft/syft/sbom"
	"github.com/spf13/afero"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// outputs are what a gate writes of a report, as the scan gate makes them:
// the exceptions file applied to a copy of every finding and recorded, then
// the vuln predicate and the SARIF run.
func outputs(t *testing.T, r *Report) []byte {
	t.Helper()
	set, err := exceptions.Parse([]byte("exceptions:\n  - id: GHSA-35jh-r3h4-6jhm\n    scope: pkg:npm/lodash\n    reason: r\n    ticket: SEC-42\n    approver: alice\n    expires: 2026-12-31\n"), fixedBuilt)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]finding.Finding(nil), r.Findings...), r.Suppressed...)
	set.Apply(all)
	r.RecordWaivers(all)
	pred, err := r.PredicateJSON(attestation.VulnInvocation{URI: "https://example.com/run/1"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := json.Marshal(r.SARIFRun("deps"))
	if err != nil {
		t.Fatal(err)
	}
	return append(pred, run...)
}

// matchWith loads dbDir (at the fixed clock; deferred, so a cached match
// never opens it) and matches s with o.
func matchWith(t *testing.T, dbDir string, s *sbom.SBOM, o MatchOptions) (*Report, *DB) {
	t.Helper()
	db := loadDB(t, Options{DBDir: dbDir, DeferOpen: true, Now: func() time.Time { return fixedBuilt.Add(2 * time.Hour) }})
	r, err := db.Match(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	return r, db
}

// TestMatchCache: within one DB build, the same packages, VEX documents and
// options give the report from the cache, without opening the DB, and what
// the gate writes of it is byte for byte what a match without the cache
// gives. Another DB build or changed VEX documents match again.
func TestMatchCache(t *testing.T) {
	root, s := catalogFixture(t)
	dbDir := testinfra.GrypeDBBuiltAt(t, fixedBuilt)
	vex := writeFile(t, filepath.Join(t.TempDir(), "app.openvex.json"),
		vexDoc("GHSA-jfh8-c2jp-5v3q", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "not_affected"))
	store := &scancache.Memory{}
	o := MatchOptions{Root: root, VEX: []string{vex}, Cache: store}
	plain := o
	plain.Cache = nil

	ran := matchesRun.Load()
	cold, _ := matchWith(t, dbDir, s, o)
	warm, warmDB := matchWith(t, dbDir, s, o)
	ref, _ := matchWith(t, dbDir, s, plain)
	if got := matchesRun.Load() - ran; got != 2 {
		t.Fatalf("%d matchings ran, want 2 (the cold one and the one without a cache)", got)
	}
	if warmDB.vp != nil || warmDB.openFn == nil {
		t.Error("a match answered from the cache opened the DB")
	}
	want := outputs(t, ref)
	for name, r := range map[string]*Report{"cold": cold, "warm": warm} {
		if got := outputs(t, r); !bytes.Equal(got, want) {
			t.Errorf("%s outputs differ from a match without the cache:\n%s\n%s", name, got, want)
		}
	}
	if len(warm.Suppressed) != 1 || len(warm.Findings) != 3 {
		t.Errorf("warm report: %d findings, %d suppressed; want 3 and log4j's", len(warm.Findings), len(warm.Suppressed))
	}

	t.Run("VEX changed", func(t *testing.T) {
		writeFile(t, vex, vexDoc("GHSA-jfh8-c2jp-5v3q", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "affected"))
		ran := matchesRun.Load()
		got, _ := matchWith(t, dbDir, s, o)
		ref, _ := matchWith(t, dbDir, s, plain)
		if matchesRun.Load()-ran != 2 || len(got.Suppressed) != 0 || !bytes.Equal(outputs(t, got), outputs(t, ref)) {
			t.Errorf("after the VEX change: %d matchings, %d suppressed; want a new matching and none suppressed", matchesRun.Load()-ran, len(got.Suppressed))
		}
	})
	t.Run("another DB build", func(t *testing.T) {
		other := testinfra.GrypeDBBuiltAt(t, fixedBuilt.Add(time.Hour))
		ran := matchesRun.Load()
		got, _ := matchWith(t, other, s, o)
		if matchesRun.Load()-ran != 1 || got.DB.Built.Equal(cold.DB.Built) {
			t.Errorf("another DB build: %d matchings, built %s; want a new matching against it", matchesRun.Load()-ran, got.DB.Built)
		}
	})
}

// badStore answers every Get with v and keeps nothing.
type badStore struct{ v []byte }

func (b badStore) Get(string, scancache.Key) ([]byte, bool) { return b.v, true }
func (b badStore) Put(string, scancache.Key, []byte)        {}

// TestMatchCacheUntrusted: an entry that is not a report of the format, or
// whose parts disagree, is a miss: the packages are matched, nothing fails.
func TestMatchCacheUntrusted(t *testing.T) {
	root, s := catalogFixture(t)
	dbDir := testinfra.GrypeDBBuiltAt(t, fixedBuilt)
	store := &scancache.Memory{}
	good, _ := matchWith(t, dbDir, s, MatchOptions{Root: root, Cache: store})
	want := outputs(t, good)
	entry, err := json.Marshal(cachedReport{Format: matchFormat, Doc: good.docJSON, Findings: good.Findings, MatchFP: good.matchFP, Packages: good.Packages})
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := json.Marshal(cachedReport{Format: matchFormat, Doc: good.docJSON, MatchFP: good.matchFP, Packages: good.Packages})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string][]byte{
		"garbage":                []byte("\x00garbage"),
		"empty":                  nil,
		"truncated":              entry[:len(entry)/2],
		"another format":         bytes.Replace(entry, []byte(matchFormat), []byte("vulndb-match/v0"), 1),
		"findings dropped":       dropped,
		"a member unknown":       bytes.Replace(entry, []byte(`{"format"`), []byte(`{"extra":1,"format"`), 1),
		"document not an object": bytes.Replace(entry, []byte(`"doc":{`), []byte(`"doc":[{`), 1),
	} {
		t.Run(name, func(t *testing.T) {
			ran := matchesRun.Load()
			got, _ := matchWith(t, dbDir, s, MatchOptions{Root: root, Cache: badStore{v}})
			if matchesRun.Load()-ran != 1 || !bytes.Equal(outputs(t, got), want) {
				t.Errorf("a bad entry was used: %d matchings", matchesRun.Load()-ran)
			}
		})
	}
}

// TestMatchCacheDBSwappedSameMetadata: a DB replaced by another of the same
// schema and build time (here: the same DB with lodash's advisory deleted) is
// another DB build for the cache — its validated digest differs — so the
// packages are matched against it; and a DB file swapped under the old
// import.json fails its checksum, cache or not.
func TestMatchCacheDBSwappedSameMetadata(t *testing.T) {
	root, s := catalogFixture(t)
	src := filepath.Join(testinfra.GrypeDBBuiltAt(t, fixedBuilt), "6")
	dbDir := filepath.Join(t.TempDir(), "db")
	for _, f := range []string{"vulnerability.db", "import.json"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dbDir, "6", f), string(data))
	}
	store := &scancache.Memory{}
	o := MatchOptions{Root: root, Cache: store}
	before, _ := matchWith(t, dbDir, s, o)
	if !hasRule(before.Findings, "GHSA-35jh-r3h4-6jhm") {
		t.Fatal("lodash's advisory not found: the fixture no longer exercises the test")
	}
	dbFile := filepath.Join(dbDir, "6", "vulnerability.db")
	oldImport, err := os.ReadFile(filepath.Join(dbDir, "6", "import.json"))
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := sql.Open("sqlite", dbFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Exec(`DELETE FROM packages WHERE name = 'lodash'`); err != nil {
		t.Fatal(err)
	}
	sdb.Close()

	// the old import.json: the checksum fails, the cache is never asked
	if _, err := Load(context.Background(), Options{DBDir: dbDir, DeferOpen: true, Now: func() time.Time { return fixedBuilt }}); err == nil {
		t.Error("a DB file swapped under its import.json loaded")
	}
	// a consistent import.json: same schema and build time, another digest
	var im map[string]any
	if err := json.Unmarshal(oldImport, &im); err != nil {
		t.Fatal(err)
	}
	if im["digest"], err = v6.CalculateDBDigest(afero.NewOsFs(), dbFile); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(im)
	writeFile(t, filepath.Join(dbDir, "6", "import.json"), string(data))
	ran := matchesRun.Load()
	after, _ := matchWith(t, dbDir, s, o)
	if matchesRun.Load()-ran != 1 || hasRule(after.Findings, "GHSA-35jh-r3h4-6jhm") || !after.DB.Built.Equal(before.DB.Built) {
		t.Errorf("swapped DB: %d matchings, lodash still found %v; want the packages matched against the new DB", matchesRun.Load()-ran, hasRule(after.Findings, "GHSA-35jh-r3h4-6jhm"))
	}
}

func hasRule(fs []finding.Finding, id string) bool {
	for _, f := range fs {
		if f.RuleID == id {
			return true
		}
	}
	return false
}

// TestDeferredOpenOutage: a DB loaded with DeferOpen that cannot be opened
// when the match needs it is the outage a failed load is: recorded under
// continue, the infrastructure error under fail.
func TestDeferredOpenOutage(t *testing.T) {
	_, s := catalogFixture(t)
	for _, p := range []OutagePolicy{OutageContinue, OutageFail} {
		done := make(chan struct{})
		close(done)
		failing := &DB{now: time.Now, openFn: func() error { return errkind.Infra(errors.New("disk gone")) }}
		pd := &Pending{done: done, db: failing, p: p, o: Options{}.withDefaults()}
		rep, outage, err := pd.Match(context.Background(), s, MatchOptions{Cache: &scancache.Memory{}})
		switch {
		case rep != nil:
			t.Errorf("%s: a report from a DB that did not open", p)
		case p == OutageContinue && (err != nil || outage == nil || outage.Reason != "disk gone" || outage.Scanner != "deps"):
			t.Errorf("continue: outage %+v, err %v; want the outage recorded", outage, err)
		case p == OutageFail && (outage != nil || errkind.Of(err) != errkind.KindInfra):
			t.Errorf("fail: outage %+v, err %v; want the infrastructure error", outage, err)
		}
	}
}

// digestCatalog is a Catalog with a digest whose Load counts its calls (or
// fails with err).
type digestCatalog struct {
	s      *sbom.SBOM
	digest scancache.Key
	loads  *int
	err    error
}

func (c digestCatalog) Load() (*sbom.SBOM, error) {
	*c.loads++
	return c.s, c.err
}

func (c digestCatalog) Digest() (scancache.Key, bool) { return c.digest, true }

// TestMatchCatalogLazy: a catalog matched before under its digest takes the
// report from the cache without being loaded (decoded); another digest is
// loaded and matched; the reports are what Match gives the decoded SBOM, and
// a catalog that fails to load fails the match with its error.
func TestMatchCatalogLazy(t *testing.T) {
	root, s := catalogFixture(t)
	dbDir := testinfra.GrypeDBBuiltAt(t, fixedBuilt)
	store := &scancache.Memory{}
	o := MatchOptions{Root: root, Cache: store}
	ref, _ := matchWith(t, dbDir, s, MatchOptions{Root: root})
	want := outputs(t, ref)
	match := func(c Catalog) (*Report, error) {
		db, err := Load(context.Background(), Options{DBDir: dbDir, DeferOpen: true, Now: func() time.Time { return fixedBuilt.Add(2 * time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		return db.MatchCatalog(context.Background(), c, o)
	}
	loads := 0
	for i, tc := range []struct {
		digest byte
		loads  int // after the match
	}{{1, 1}, {1, 1}, {2, 2}, {2, 2}} {
		r, err := match(digestCatalog{s: s, digest: scancache.Key{tc.digest}, loads: &loads})
		if err != nil {
			t.Fatal(err)
		}
		if loads != tc.loads {
			t.Errorf("match %d (digest %d): %d loads, want %d", i, tc.digest, loads, tc.loads)
		}
		if got := outputs(t, r); !bytes.Equal(got, want) {
			t.Errorf("match %d: outputs differ from Match's:\n%s\n%s", i, got, want)
		}
	}
	boom := errkind.Infra(errors.New("the cached catalog does not decode"))
	if _, err := match(digestCatalog{digest: scancache.Key{3}, loads: &loads, err: boom}); !errors.Is(err, boom) || errkind.Of(err) != errkind.KindInfra {
		t.Errorf("a catalog that fails to load: %v, want its error", err)
	}
}

package vulndb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/vulnerability"
	syftpkg "github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// debianFiles is a Debian 12 root whose dpkg database holds three binary
// packages of one source package (openssl, CVE-2023-5678 in the test DB) among
// packages of other sources, next to Go and npm dependencies: the repeated
// source-package and operating-system lookups the query cache answers.
var debianFiles = map[string]string{
	"etc/os-release": fixtureFiles["etc/os-release"],
	"go.mod":         fixtureFiles["go.mod"],
	"var/lib/dpkg/status": dpkgEntry("libssl3", "openssl", "3.0.11-1~deb12u2") + dpkgEntry("openssl", "", "3.0.11-1~deb12u2") +
		dpkgEntry("libssl-dev", "openssl", "3.0.11-1~deb12u2") + dpkgEntry("libc6", "glibc", "2.36-9+deb12u3") +
		dpkgEntry("libc-bin", "glibc", "2.36-9+deb12u3") + dpkgEntry("bash", "", "5.2.15-2+b2") + dpkgEntry("zlib1g", "zlib", "1:1.2.13.dfsg-1"),
}

func dpkgEntry(name, source, version string) string {
	e := "Package: " + name + "\nStatus: install ok installed\nArchitecture: amd64\n"
	if source != "" {
		e += "Source: " + source + "\n"
	}
	return e + "Version: " + version + "\nDescription: " + name + "\n\n"
}

func catalogFiles(t *testing.T, files map[string]string) *sbom.SBOM {
	t.Helper()
	s, err := catalogDir(testinfra.WriteTree(t, t.TempDir(), files))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loadPlain loads the DB the way grype opens it, matched one package after the
// other.
func loadPlain(t *testing.T, dir string) *DB {
	t.Helper()
	plainGrype = true
	defer func() { plainGrype = false }()
	db, err := Load(context.Background(), Options{DBDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if db.cache != nil || db.workers != 1 {
		t.Fatal("plainGrype did not leave grype's reader alone")
	}
	return db
}

// The query cache, the connection pool of its own and prefetching matchers change
// how fast grype answers, never what it answers.
func TestTunedMatchIsGrypes(t *testing.T) {
	dir := testinfra.GrypeDB(t)
	_, fixture := catalogFixture(t)
	debian := catalogFiles(t, debianFiles)
	plain := loadPlain(t, dir)
	tuned, err := Load(context.Background(), Options{DBDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer tuned.Close()
	if tuned.cache == nil {
		t.Fatal("grype's reader was not tuned: its gorm handle is no longer reachable (a grype upgrade?); see tune in sqlcache.go")
	}
	tuned.workers = 4 // prefetch even on a one-CPU machine

	for _, tc := range []struct {
		name     string
		s        *sbom.SBOM
		minFinds int
	}{
		{"fixture (four ecosystems)", fixture, 4},
		{"one source package, three binaries", debian, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := plain.Match(context.Background(), tc.s, MatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			hits := tuned.cache.hits
			for round := range 2 { // the second round is answered from the cache
				got, err := tuned.Match(context.Background(), tc.s, MatchOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(want.Findings) < tc.minFinds {
					t.Fatalf("grype found %d, want at least %d: the fixture no longer exercises matching", len(want.Findings), tc.minFinds)
				}
				if g, w := summarize(got.Findings), summarize(want.Findings); !reflect.DeepEqual(g, w) {
					t.Errorf("round %d findings:\n got  %+v\n want %+v", round, g, w)
				}
				for _, part := range []struct {
					name      string
					got, want any
				}{
					{"matches", got.doc.Matches, want.doc.Matches},
					{"ignored matches", got.doc.IgnoredMatches, want.doc.IgnoredMatches},
				} {
					g, _ := json.Marshal(part.got)
					w, _ := json.Marshal(part.want)
					if string(g) != string(w) {
						t.Errorf("round %d %s differ:\n got  %s\n want %s", round, part.name, g, w)
					}
				}
			}
			if tuned.cache.hits == hits {
				t.Error("no query was answered from the cache")
			}
		})
	}
}

// sqliteFile creates an SQLite DB at p with one table of every value kind.
func sqliteFile(t *testing.T, p string) {
	t.Helper()
	db, err := sql.Open("sqlite", p) // grype's driver (github.com/glebarez/go-sqlite)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, note TEXT)`,
		`INSERT INTO t VALUES (1, 'a', 1.5, x'0102', NULL), (2, 'b', 2.5, x'0304', 'n'), (3, 'b', 3.5, x'05', NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

type row struct {
	ID    int64
	Name  string
	Score float64
	Data  []byte
	Note  sql.NullString
}

func queryRows(t *testing.T, db *sql.DB, q string, args ...any) []row {
	t.Helper()
	rs, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		var raw sql.RawBytes // the driver's buffer, the way gorm's scanner may see it
		if err := rs.Scan(&r.ID, &r.Name, &r.Score, &raw, &r.Note); err != nil {
			t.Fatal(err)
		}
		r.Data = append([]byte(nil), raw...)
		for i := range raw {
			raw[i] = 0xff // a caller scribbling on what it was handed
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestQueryCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd?dir#with%chars") // escaped into the URI path
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "vulnerability.db")
	plain := filepath.Join(t.TempDir(), "plain.db")
	sqliteFile(t, plain)
	if err := os.Rename(plain, p); err != nil {
		t.Fatal(err)
	}
	probe, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	drv := probe.Driver()
	probe.Close()

	c := newCachingConnector(drv, "file:"+uriPath(p)+"?mode=ro&immutable=1")
	db := sql.OpenDB(c)
	defer db.Close()
	bName := []row{{2, "b", 2.5, []byte{3, 4}, sql.NullString{String: "n", Valid: true}}, {3, "b", 3.5, []byte{5}, sql.NullString{}}}
	for _, tc := range []struct {
		name    string
		query   string
		args    []any
		want    []row
		wantHit bool
	}{
		{"first ask", "SELECT * FROM t WHERE name = ? ORDER BY id", []any{"b"}, bName, false},
		{"same statement, same argument", "SELECT * FROM t WHERE name = ? ORDER BY id", []any{"b"}, bName, true},
		{"same statement, another argument", "SELECT * FROM t WHERE name = ? ORDER BY id", []any{"a"}, []row{{1, "a", 1.5, []byte{1, 2}, sql.NullString{}}}, false},
		{"an argument of another type", "SELECT * FROM t WHERE id = ? ORDER BY id", []any{int64(2)}, bName[:1], false},
		{"its repeat", "SELECT * FROM t WHERE id = ? ORDER BY id", []any{int64(2)}, bName[:1], true},
		{"a blob argument", "SELECT * FROM t WHERE data = ?", []any{[]byte{5}}, bName[1:], false},
		{"its repeat, lower case and indented", "  select * from t where data = ?", []any{[]byte{5}}, bName[1:], false}, // another statement text
		{"no rows", "SELECT * FROM t WHERE name = ?", []any{"zz"}, nil, false},
		{"no rows again", "SELECT * FROM t WHERE name = ?", []any{"zz"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.cache.hits
			got := queryRows(t, db, tc.query, tc.args...)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rows:\n got  %+v\n want %+v", got, tc.want)
			}
			if hit := c.cache.hits > before; hit != tc.wantHit {
				t.Errorf("answered from the cache: %v, want %v", hit, tc.wantHit)
			}
		})
	}

	t.Run("statements other than SELECT pass through", func(t *testing.T) {
		before, entries := c.cache.hits, len(c.cache.results)
		for range 2 {
			var v int
			if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
				t.Fatal(err)
			}
		}
		if c.cache.hits != before || len(c.cache.results) != entries {
			t.Error("a PRAGMA was cached")
		}
	})
	t.Run("the DB is read-only", func(t *testing.T) {
		if _, err := db.Exec("DELETE FROM t"); err == nil {
			t.Error("a write succeeded on the immutable, read-only DB")
		}
	})
	t.Run("results past the limit are not kept", func(t *testing.T) {
		small := newCachingConnector(drv, "file:"+uriPath(p)+"?mode=ro&immutable=1")
		small.cache.limit = 200 // 3 rows x 5 values of 16 bytes and more do not fit
		sdb := sql.OpenDB(small)
		defer sdb.Close()
		for range 2 {
			if got := queryRows(t, sdb, "SELECT * FROM t ORDER BY id"); len(got) != 3 {
				t.Fatalf("got %d rows, want 3", len(got))
			}
		}
		if small.cache.hits != 0 || len(small.cache.results) != 0 {
			t.Errorf("cached past the limit: %d hits, %d entries", small.cache.hits, len(small.cache.results))
		}
	})
}

func TestCacheKey(t *testing.T) {
	nv := func(vs ...driver.Value) []driver.NamedValue {
		var out []driver.NamedValue
		for i, v := range vs {
			out = append(out, driver.NamedValue{Ordinal: i + 1, Value: v})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		a, b   string
		aa, ba []driver.NamedValue
		same   bool
	}{
		{"int and its decimal string", "SELECT ?", "SELECT ?", nv(int64(1)), nv("1"), false},
		{"string and blob of the same bytes", "SELECT ?", "SELECT ?", nv("ab"), nv([]byte("ab")), false},
		{"nil and empty string", "SELECT ?", "SELECT ?", nv(nil), nv(""), false},
		{"arguments that would run together", "SELECT ?, ?", "SELECT ?, ?", nv("a", "bc"), nv("ab", "c"), false},
		{"same statement and arguments", "SELECT ?", "SELECT ?", nv(2.5), nv(2.5), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := key(tc.a, tc.aa), key(tc.b, tc.ba)
			if ka == "" || kb == "" {
				t.Fatal("a SELECT was not keyed")
			}
			if (ka == kb) != tc.same {
				t.Errorf("key(%q, %v) == key(%q, %v) is %v, want %v", tc.a, tc.aa, tc.b, tc.ba, ka == kb, tc.same)
			}
		})
	}
	for _, q := range []string{"PRAGMA foreign_keys = ON", "INSERT INTO t VALUES (1)", "WITH x AS (SELECT 1) SELECT * FROM x", "sel"} {
		if k := key(q, nil); k != "" {
			t.Errorf("key(%q) = %q, want it not cached", q, k)
		}
	}
}

// countingMatcher records what it was asked, and panics on one package name.
type countingMatcher struct {
	typ     syftpkg.Type
	mtype   match.MatcherType
	panicOn string
	mu      sync.Mutex
	asked   map[string]int
}

func (m *countingMatcher) PackageTypes() []syftpkg.Type { return []syftpkg.Type{m.typ} }
func (m *countingMatcher) Type() match.MatcherType      { return m.mtype }
func (m *countingMatcher) Match(_ vulnerability.Provider, p pkg.Package) ([]match.Match, []match.IgnoreFilter, error) {
	m.mu.Lock()
	m.asked[p.Name]++
	m.mu.Unlock()
	if p.Name == m.panicOn {
		panic("matcher bug")
	}
	if strings.HasPrefix(p.Name, "err") {
		return nil, nil, errors.New("lookup failed")
	}
	return []match.Match{{Package: p}}, nil, nil
}

func TestPrefetch(t *testing.T) {
	npm := &countingMatcher{typ: syftpkg.NpmPkg, mtype: match.JavascriptMatcher, panicOn: "boom", asked: map[string]int{}}
	stock := &countingMatcher{typ: "", mtype: match.StockMatcher, asked: map[string]int{}}
	var pkgs []pkg.Package
	for i := range 50 {
		pkgs = append(pkgs, pkg.Package{ID: pkg.ID(fmt.Sprintf("n%d", i)), Name: fmt.Sprintf("n%d", i), Type: syftpkg.NpmPkg})
	}
	pkgs = append(pkgs,
		pkg.Package{ID: "boom", Name: "boom", Type: syftpkg.NpmPkg},
		pkg.Package{ID: "err1", Name: "err1", Type: syftpkg.NpmPkg},
		pkg.Package{ID: "bin", Name: "bin", Type: syftpkg.BinaryPkg}, // no matcher of its type: the stock one
	)
	ms := prefetch(context.Background(), nil, []match.Matcher{npm, stock}, pkgs, 3)
	if len(ms) != 2 || ms[0].Type() != match.JavascriptMatcher || ms[1].Type() != match.StockMatcher ||
		!reflect.DeepEqual(ms[0].PackageTypes(), npm.PackageTypes()) {
		t.Fatalf("prefetch changed the matchers' identity: %v", ms)
	}
	for _, p := range pkgs {
		m := ms[0]
		if p.Type == syftpkg.BinaryPkg {
			m = ms[1]
		}
		if p.Name == "boom" {
			func() {
				defer func() {
					if recover() == nil {
						t.Error("the panicking matcher did not panic when grype asked (grype reports it as a fatal error)")
					}
				}()
				m.Match(nil, p)
			}()
			continue
		}
		got, _, err := m.Match(nil, p)
		if p.Name == "err1" {
			if err == nil {
				t.Error("the matcher's error was lost")
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0].Package.ID != p.ID {
			t.Errorf("%s: got %v, %v; want its own answer", p.Name, got, err)
		}
	}
	for name, n := range npm.asked {
		want := 1
		if name == "boom" {
			want = 2 // once by prefetch, once by grype
		}
		if n != want {
			t.Errorf("the npm matcher was asked about %s %d times, want %d", name, n, want)
		}
	}
	if len(npm.asked) != 52 || stock.asked["bin"] != 1 || len(stock.asked) != 1 {
		t.Errorf("dispatch: npm asked about %d packages (want 52), stock about %v (want bin)", len(npm.asked), stock.asked)
	}

	t.Run("a cancelled prefetch leaves the answers to the matchers", func(t *testing.T) {
		m := &countingMatcher{typ: syftpkg.NpmPkg, mtype: match.JavascriptMatcher, asked: map[string]int{}}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ms := prefetch(ctx, nil, []match.Matcher{m}, pkgs[:10], 2)
		for _, p := range pkgs[:10] {
			if got, _, err := ms[0].Match(nil, p); err != nil || len(got) != 1 {
				t.Fatalf("%s: %v, %v", p.Name, got, err)
			}
		}
		for _, p := range pkgs[:10] {
			if m.asked[p.Name] < 1 || m.asked[p.Name] > 2 {
				t.Errorf("%s asked %d times", p.Name, m.asked[p.Name])
			}
		}
	})
	t.Run("one worker: grype's own matchers", func(t *testing.T) {
		ms := prefetch(context.Background(), nil, []match.Matcher{npm}, pkgs, 1)
		if ms[0] != match.Matcher(npm) {
			t.Error("matchers were wrapped with one worker")
		}
	})
}

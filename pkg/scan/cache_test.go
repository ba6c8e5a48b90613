package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// plantedKey is a value gitleaks' aws-access-token rule matches, built at
// test time from a seed (no credential-shaped string is committed).
func plantedKey(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "AK" + "IA" + base32.StdEncoding.EncodeToString(sum[:])[:16]
}

// editor applies random edits to a scan tree.
type editor struct {
	t    *testing.T
	dir  string
	rng  *rand.Rand
	step int
}

// files lists the tree's regular files (not .git), by slash path.
func (e *editor) files() []string {
	e.t.Helper()
	return testinfra.TreeFiles(e.t, e.dir)
}

func (e *editor) write(rel string, data []byte) {
	e.t.Helper()
	testinfra.WriteFile(e.t, filepath.Join(e.dir, filepath.FromSlash(rel)), data, 0o644)
}

// text is a few lines of source, sometimes holding a planted secret.
func (e *editor) text() []byte {
	var b bytes.Buffer
	for i := range 1 + e.rng.IntN(6) {
		switch e.rng.IntN(5) {
		case 0:
			fmt.Fprintf(&b, "aws_key = %q\n", plantedKey(fmt.Sprint(e.step, i)))
		case 1:
			fmt.Fprintf(&b, "token = own-%08d\n", e.rng.IntN(1e8))
		default:
			fmt.Fprintf(&b, "func f%d() int { return %d }\n", i, e.rng.IntN(1000))
		}
	}
	return b.Bytes()
}

// toggle swaps a and b in the file rel (a version in a manifest and its lockfile).
func (e *editor) toggle(rel, a, b string) {
	p := filepath.Join(e.dir, rel)
	data, err := os.ReadFile(p)
	if err != nil {
		return // renamed or deleted by an earlier step
	}
	s := string(data)
	if strings.Contains(s, a) {
		s = strings.ReplaceAll(s, a, b)
	} else {
		s = strings.ReplaceAll(s, b, a)
	}
	e.write(rel, []byte(s))
}

// edit applies one random edit and says what it did; it may change the
// secrets config and the DB through cfg and db.
func (e *editor) edit(cfg *int, db *int) string {
	e.step++
	files := e.files()
	pick := func() string { return files[e.rng.IntN(len(files))] }
	switch e.rng.IntN(12) {
	case 0, 9, 10:
		rel := fmt.Sprintf("src/d%d/f%d.go", e.rng.IntN(3), e.step)
		e.write(rel, e.text())
		return "add " + rel
	case 1, 11:
		rel := pick()
		data, _ := os.ReadFile(filepath.Join(e.dir, rel))
		e.write(rel, append(data, e.text()...))
		return "modify " + rel
	case 2:
		rel := pick()
		to := fmt.Sprintf("moved/%d-%s", e.step, filepath.Base(rel))
		if err := os.MkdirAll(filepath.Join(e.dir, "moved"), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(e.dir, rel), filepath.Join(e.dir, to)); err != nil {
			e.t.Fatal(err)
		}
		return "rename " + rel + " " + to
	case 3:
		rel := pick()
		if err := os.Remove(filepath.Join(e.dir, rel)); err != nil {
			e.t.Fatal(err)
		}
		return "delete " + rel
	case 4:
		e.toggle("package.json", `"lodash": "4.17.20"`, `"lodash": "4.17.21"`)
		e.toggle("package-lock.json", "lodash-4.17.20.tgz", "lodash-4.17.21.tgz")
		e.toggle("package-lock.json", `"version": "4.17.20"`, `"version": "4.17.21"`)
		e.toggle("package-lock.json", `"lodash": "4.17.20"`, `"lodash": "4.17.21"`)
		return "lockfile: lodash"
	case 5:
		e.toggle("go.mod", "golang.org/x/text v0.3.7", "golang.org/x/text v0.3.8")
		return "go.mod: x/text"
	case 6:
		*cfg = (*cfg + 1) % len(cacheConfigs)
		return fmt.Sprintf("rules config %d", *cfg)
	case 7:
		*db = 1 - *db
		return fmt.Sprintf("DB %d", *db)
	case 8:
		noise := make([]byte, 9000)
		for i := range noise {
			noise[i] = byte(e.rng.UintN(256))
		}
		rel := fmt.Sprintf("assets/b%d.bin", e.step)
		e.write(rel, noise)
		return "add binary " + rel
	}
	panic("unreachable")
}

// cacheConfigs are the secrets configs the property test switches between:
// the embedded default, the default plus a rule and a path allowlist, and a
// config of one rule.
var cacheConfigs = [][]byte{
	nil,
	[]byte("[extend]\nuseDefault = true\n[[rules]]\nid = \"own\"\nregex = 'own-[0-9]{8}'\nkeywords = [\"own-\"]\n" +
		"[[allowlists]]\ndescription = \"moved\"\npaths = ['''^moved/''']\n"),
	[]byte("[[rules]]\nid = \"own\"\nregex = 'own-[0-9]{8}'\nkeywords = [\"own-\"]\n"),
}

// scanOutputs runs a scan and returns its SARIF file and predicates.
func scanOutputs(t *testing.T, o Options) map[string][]byte {
	t.Helper()
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	files, err := res.WriteFiles(out, WriteOptions{Category: "sg", Source: &attestation.SourceRef{Repository: "acme/widgets", Commit: strings.Repeat("a", 40)},
		Invocation: attestation.VulnInvocation{URI: "https://github.com/acme/widgets/actions/runs/1", EventID: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for name, p := range map[string]string{"sarif": files.SARIF, "code-scan": files.CodeScan, "vuln": files.Vuln} {
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got[name] = data
	}
	return got
}

// TestCacheWarmEqualsCold is the property test of issue 20: over a seeded
// random sequence of edits — files added, modified, renamed, deleted (planted
// secrets and binaries among them), the lockfile and go.mod changed, the
// secrets config and the vulnerability DB switched — a scan with a disk cache
// kept across the steps writes the same SARIF file and predicates, byte for
// byte, as a scan without a cache.
func TestCacheWarmEqualsCold(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	dbs := []string{testinfra.GrypeDB(t), testinfra.GrypeDBBuiltAt(t, fixedNow.Add(-30*time.Hour))}
	cacheDir := filepath.Join(t.TempDir(), "cache")
	open := func() *scancache.Dir {
		c, err := scancache.Open(cacheDir, scancache.Options{Secret: []byte("property test cache secret")})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cache := open()
	defer func() { cache.Close() }()
	e := &editor{t: t, dir: fx.Dir, rng: rand.New(rand.NewPCG(20, 2026))}
	cfg, db := 0, 0
	var (
		hits    int64
		history []string
	)
	steps := 24
	if testing.Short() {
		steps = 6
	}
	for step := range steps {
		what := "initial tree"
		if step > 0 {
			what = e.edit(&cfg, &db)
		}
		history = append(history, what)
		o := Options{Root: fx.Dir, Scanners: []string{Secrets, Deps, License, IaC}, Now: clock, OnlyFixed: true,
			Deps:    DepsOptions{DBDir: dbs[db], MaxAge: 100000 * time.Hour},
			License: license.Options{Deny: []string{"GPL-3.0-only"}, Unknown: license.UnknownWarn},
		}
		o.Secrets.Config, o.Secrets.ConfigSource = cacheConfigs[cfg], "test config"
		cold := scanOutputs(t, o)
		o.Cache = cache
		warm := scanOutputs(t, o)
		for name, c := range cold {
			if !bytes.Equal(c, warm[name]) {
				t.Fatalf("step %d (%s; edits so far: %s): the warm %s differs from the cold one:\ncold %s\nwarm %s", step, what, strings.Join(history, "; "), name, c, warm[name])
			}
		}
		if len(warm) != len(cold) {
			t.Fatalf("step %d (%s): warm wrote %d files, cold %d", step, what, len(warm), len(cold))
		}
		if step%5 == 4 { // a later run: the cache closed, trimmed and opened again
			cache.Close()
			hits += cache.Stats().Hits
			cache = open()
		}
	}
	hits += cache.Stats().Hits
	t.Logf("edits: %s", strings.Join(history, "; "))
	if hits == 0 || cache.Stats().Rejected != 0 {
		t.Errorf("the warm scans hit the cache %d times, rejected %d entries", hits, cache.Stats().Rejected)
	}
}

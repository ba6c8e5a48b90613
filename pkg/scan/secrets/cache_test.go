package secrets

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// recorder is a Memory store that remembers the keys written, so a test can
// overwrite their entries.
type recorder struct {
	scancache.Memory
	mu   sync.Mutex
	keys []scancache.Key
	hits int
}

func (r *recorder) Put(ns string, k scancache.Key, v []byte) {
	r.mu.Lock()
	r.keys = append(r.keys, k)
	r.mu.Unlock()
	r.Memory.Put(ns, k, v)
}

func (r *recorder) Get(ns string, k scancache.Key) ([]byte, bool) {
	v, ok := r.Memory.Get(ns, k)
	if ok {
		r.mu.Lock()
		r.hits++
		r.mu.Unlock()
	}
	return v, ok
}

// assertCachedSame scans dir with an empty cache, then with the cache it
// filled: both results must be cold's, field for field.
func assertCachedSame(t *testing.T, dir string, opts Options, cold *Result) {
	t.Helper()
	store := &recorder{}
	opts.Cache = store
	for _, run := range []string{"filling the cache", "from the cache"} {
		res, err := Scan(context.Background(), dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(res, cold) {
			t.Fatalf("%s: the result differs from a scan without cache:\n got %+v\nwant %+v", run, res, cold)
		}
	}
	if store.Len() > 0 && store.hits == 0 {
		t.Errorf("the second scan hit no entry of %d", store.Len())
	}
}

func TestCacheWarmEqualsCold(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	cfg := []byte(readFile(t, filepath.Join(fx.Dir, ".gitleaks.toml")))
	for _, o := range []Options{{}, {Range: &Range{Base: fx.Base, Head: fx.Head}}, {Config: cfg, ConfigSource: "input"}} {
		cold, err := Scan(context.Background(), fx.Dir, o)
		if err != nil {
			t.Fatal(err)
		}
		assertCachedSame(t, fx.Dir, o, cold)
	}
	// Answers under one config are not taken for another's, nor for another
	// path holding the same bytes.
	store := &recorder{}
	if _, err := Scan(context.Background(), fx.Dir, Options{Cache: store}); err != nil {
		t.Fatal(err)
	}
	n := store.Len()
	extended := []byte("[extend]\nuseDefault = true\n[[rules]]\nid = \"own\"\nregex = 'own-[0-9]{8}'\n")
	res, err := Scan(context.Background(), fx.Dir, Options{Config: extended, Cache: store})
	if err != nil {
		t.Fatal(err)
	}
	if store.hits != 0 || store.Len() != 2*n || len(res.Findings) != 2 {
		t.Errorf("another config: %d hits, %d entries (want 0, %d), %d findings (want 2)", store.hits, store.Len(), 2*n, len(res.Findings))
	}
	secret := readFile(t, filepath.Join(fx.Dir, "config", "settings.env"))
	if err := os.WriteFile(filepath.Join(fx.Dir, "config", "copy.env"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = Scan(context.Background(), fx.Dir, Options{Cache: store})
	if err != nil {
		t.Fatal(err)
	}
	copies := 0
	for _, f := range res.Findings {
		if f.Path == "config/copy.env" {
			copies++
		}
	}
	if copies != 2 {
		t.Errorf("the copy of settings.env has %d findings, want 2: %v", copies, summarize(res.Findings))
	}
}

// TestCacheTampered is the tamper test of issue 20: a cache entry that was
// changed is ignored and the file scanned again, never trusted — with the
// disk store (the MAC) and with entries whose MAC is right but whose value is
// not an answer this package writes (decodeFile).
func TestCacheTampered(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string][]byte{
		"app/config.env": []byte("aws_key = " + awsKey("tamper") + "\n"),
		"app/main.go":    []byte("package main\n"),
		"img/x.bin":      append([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, make([]byte, 200)...),
	})
	cold, err := Scan(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cold.Findings) != 1 || cold.NotScannedCount != 1 {
		t.Fatalf("cold scan: %v, %d not scanned", summarize(cold.Findings), cold.NotScannedCount)
	}
	clean := `{"f":[]}`
	values := map[string]string{
		"no findings":           clean,
		"garbage":               "\x00\x01garbage",
		"unknown field":         `{"f":[],"x":1}`,
		"rule not enabled":      `{"f":[{"id":"no-such-rule","s":1,"e":1,"h":"` + strings.Repeat("a", 64) + `"}]}`,
		"line zero":             `{"f":[{"id":"aws-access-token","s":0,"e":1,"h":"` + strings.Repeat("a", 64) + `"}]}`,
		"end before start":      `{"f":[{"id":"aws-access-token","s":3,"e":2,"h":"` + strings.Repeat("a", 64) + `"}]}`,
		"malformed hash":        `{"f":[{"id":"aws-access-token","s":1,"e":1,"h":"xyz"}]}`,
		"reason and findings":   `{"f":[{"id":"aws-access-token","s":1,"e":1,"h":"` + strings.Repeat("a", 64) + `"}],"r":"binary file"}`,
		"a reason not written":  `{"f":[],"r":"path allowlisted by the secrets rules"}`,
		"control characters":    `{"f":[],"r":"binary file (a\nb)"}`,
		"two values":            clean + clean,
		"not an object":         `[]`,
		"findings not an array": `{"f":{}}`,
	}
	// With the MAC: entries rewritten by someone without the secret.
	for name, v := range values {
		t.Run("disk store: "+name, func(t *testing.T) {
			t.Parallel()
			cacheDir := t.TempDir()
			keyed := []byte("the CI's cache secret, 32 bytes.")
			store, err := scancache.Open(cacheDir, scancache.Options{Secret: keyed})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if _, err := Scan(context.Background(), dir, Options{Cache: store}); err != nil {
				t.Fatal(err)
			}
			// the attacker writes v for every entry, MACed with the public key
			forger, err := scancache.Open(cacheDir, scancache.Options{})
			if err != nil {
				t.Fatal(err)
			}
			forgeAll(t, cacheDir, forger, v)
			res, err := Scan(context.Background(), dir, Options{Cache: store})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res, cold) {
				t.Errorf("tampered cache: got %v (%d not scanned), want the cold scan's %v", summarize(res.Findings), res.NotScannedCount, summarize(cold.Findings))
			}
			if s := store.Stats(); s.Rejected < 3 {
				t.Errorf("rejected %d entries, want every tampered one (3)", s.Rejected)
			}
		})
	}
	// Without a MAC (Memory): values that are not answers are misses. ("no
	// findings" is a well-formed answer: only the MAC refuses it.)
	for name, v := range values {
		if name == "no findings" {
			continue
		}
		t.Run("memory store: "+name, func(t *testing.T) {
			t.Parallel()
			store := &recorder{}
			if _, err := Scan(context.Background(), dir, Options{Cache: store}); err != nil {
				t.Fatal(err)
			}
			for _, k := range store.keys {
				store.Memory.Put(CacheNamespace, k, []byte(v))
			}
			res, err := Scan(context.Background(), dir, Options{Cache: store})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res, cold) {
				t.Errorf("bad entry %q: got %v (%d not scanned), want the cold scan's %v", v, summarize(res.Findings), res.NotScannedCount, summarize(cold.Findings))
			}
		})
	}
}

// forgeAll overwrites every secrets entry of the cache with v, written (and
// MACed) by forger.
func forgeAll(t *testing.T, cacheDir string, forger *scancache.Dir, v string) {
	t.Helper()
	root := filepath.Join(cacheDir, scancache.Version, CacheNamespace)
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var k scancache.Key
		if _, err := hexDecode(k[:], d.Name()); err != nil {
			return err
		}
		forger.Put(CacheNamespace, k, []byte(v))
		n++
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("forging: %v, %d entries (want 3)", err, n)
	}
}

func hexDecode(dst []byte, s string) (int, error) { return hex.Decode(dst, []byte(s)) }

package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"path/filepath"
	"sync"
	"testing"

	"github.com/anchore/syft/syft/sbom"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// lazyTree is a directory with a Go module and an npm lockfile.
func lazyTree(t *testing.T) string {
	t.Helper()
	return testinfra.WriteTree(t, t.TempDir(), map[string]string{
		"go.mod":  "module example.com/svc\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.7\n",
		"main.go": "package main\n\nfunc main() {}\n",
		"web/package-lock.json": `{"name":"web","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{` +
			`"":{"name":"web","version":"1.0.0","dependencies":{"lodash":"4.17.20"}},` +
			`"node_modules/lodash":{"version":"4.17.20","license":"MIT"}}}` + "\n",
	})
}

// lazyRun is lazyTree catalogued cold with LazySBOM into an empty cache.
type lazyRun struct {
	dir   string
	store *scancache.Memory
	opts  Options // LazySBOM, caching in store
	cold  *Result
}

func newLazyRun(t *testing.T) lazyRun {
	t.Helper()
	r := lazyRun{dir: lazyTree(t), store: &scancache.Memory{}}
	r.opts = Options{Cache: r.store, LazySBOM: true}
	var err error
	if r.cold, err = Directory(context.Background(), r.dir, r.opts); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLazySBOM: with LazySBOM, a directory whose catalog comes from the cache
// is not decoded by Directory; its digest and package count are the cold
// run's, and Load (once, concurrently) decodes the cold run's SBOM. Without
// LazySBOM the cached catalog is decoded as before.
func TestLazySBOM(t *testing.T) {
	t.Parallel()
	r := newLazyRun(t)
	dir, store, o, cold := r.dir, r.store, r.opts, r.cold
	warm, err := Directory(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if !warm.Cached || warm.SBOM != nil || warm.lazy == nil || warm.lazy.s != nil {
		t.Fatalf("warm lazy catalog: cached %v, SBOM %v, lazy %v: want an undecoded cached catalog", warm.Cached, warm.SBOM != nil, warm.lazy)
	}
	cd, cok := cold.Digest()
	wd, wok := warm.Digest()
	if !cok || !wok || cd != wd || warm.Packages != cold.Packages || cold.Packages == 0 {
		t.Errorf("warm digest %v/%v packages %d, cold %v/%v packages %d", wd, wok, warm.Packages, cd, cok, cold.Packages)
	}
	var wg sync.WaitGroup
	got, errs := make([]*sbom.SBOM, 4), make([]error, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = warm.Load()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range got[1:] {
		if s != got[0] {
			t.Fatal("Load decoded the catalog more than once")
		}
	}
	if want := SyftJSON(t, cold.SBOM); !bytes.Equal(SyftJSON(t, got[0]), want) || sha256.Sum256(want) != [32]byte(cd) {
		t.Error("the lazily decoded catalog is not the cold run's")
	}
	eager, err := Directory(context.Background(), dir, Options{Cache: store})
	if err != nil {
		t.Fatal(err)
	}
	if !eager.Cached || eager.SBOM == nil || eager.lazy != nil {
		t.Errorf("warm catalog without LazySBOM: cached %v, decoded %v", eager.Cached, eager.SBOM != nil)
	}
	if s, err := eager.Load(); err != nil || s != eager.SBOM {
		t.Errorf("Load of a decoded catalog: %v", err)
	}
}

// TestLazySBOMUndecodable: a cache entry that passes its digest but does not
// decode (not what this program wrote) fails Load as an infrastructure error
// naming the cache, and is never taken for an empty catalog.
func TestLazySBOMUndecodable(t *testing.T) {
	t.Parallel()
	r := newLazyRun(t)
	dir, store, o, cold := r.dir, r.store, r.opts, r.cold
	k, _ := cold.Digest()
	bad := []byte(`{"artifacts": "not a list"}`)
	bk := scancache.Key(sha256.Sum256(bad))
	store.Put(nsSBOM, bk, bad)
	info, _ := store.Get(nsInfo, k)
	store.Put(nsInfo, bk, info)
	abs, _ := filepath.EvalSymlinks(dir)
	prefix, _ := prefixOf(abs, filepath.Base(abs))
	tr := newTree()
	if err := newBudget(DefaultMaxBytes, DefaultMaxFiles).walkDir(context.Background(), abs, tr); err != nil {
		t.Fatal(err)
	}
	if err := tr.hash(context.Background(), abs); err != nil {
		t.Fatal(err)
	}
	c := &dirCache{prefix: prefix, t: tr}
	store.Put(nsTree, c.treeKey(), mustJSON(treeEntry{Format: catalogFormat, SBOM: bk.String()}))
	warm, err := Directory(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := warm.Load(); err == nil || s != nil || errkind.Of(err) != errkind.KindInfra {
		t.Errorf("Load of an undecodable cached catalog: %v, %v; want an infrastructure error", s != nil, err)
	}
}

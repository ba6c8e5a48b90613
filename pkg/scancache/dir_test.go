package scancache_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/scancache"
)

var secret = []byte("0123456789abcdef-test-secret")

func open(t *testing.T, dir string, o scancache.Options) *scancache.Dir {
	t.Helper()
	d, err := scancache.Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func entryFile(dir, ns string, k scancache.Key) string {
	h := k.String()
	return filepath.Join(dir, scancache.Version, ns, h[:2], h)
}

func TestDirRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := open(t, dir, scancache.Options{Secret: secret})
	k := scancache.KeyOf([]byte("a"))
	if _, ok := d.Get("secrets", k); ok {
		t.Fatal("hit in an empty cache")
	}
	d.Put("secrets", k, []byte("value"))
	v, ok := d.Get("secrets", k)
	if !ok || string(v) != "value" {
		t.Fatalf("Get = %q, %v; want value", v, ok)
	}
	if _, ok := d.Get("catalog", k); ok {
		t.Fatal("a namespace reads another's entry")
	}
	d.Put("secrets", k, nil) // an empty value is a value
	if v, ok := d.Get("secrets", k); !ok || len(v) != 0 {
		t.Fatalf("empty value: Get = %q, %v", v, ok)
	}
	// another process (another Dir) with the same secret reads it; with
	// another secret, or none, it does not.
	if _, ok := open(t, dir, scancache.Options{Secret: secret}).Get("secrets", k); !ok {
		t.Error("the same secret does not read the entry")
	}
	if _, ok := open(t, dir, scancache.Options{Secret: []byte("another secret of 16+ bytes")}).Get("secrets", k); ok {
		t.Error("another secret reads the entry")
	}
	if _, ok := open(t, dir, scancache.Options{}).Get("secrets", k); ok {
		t.Error("the public key reads an entry MACed with a secret")
	}
	for _, ns := range []string{"", "Secrets", "../x", "a/b", "1abc"} {
		d.Put(ns, k, []byte("x"))
		if _, ok := d.Get(ns, k); ok {
			t.Errorf("namespace %q stored", ns)
		}
	}
}

// TestDirTampered: an entry changed in any way is a miss (and counted as
// rejected), never an error and never trusted.
func TestDirTampered(t *testing.T) {
	t.Parallel()
	k := scancache.KeyOf([]byte("file"), []byte("content"))
	other := scancache.KeyOf([]byte("other"))
	for _, tt := range tamperCases(k, other) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			d := open(t, dir, scancache.Options{Secret: secret, MaxEntryBytes: maxEntry})
			d.Put("secrets", k, []byte("findings of the file"))
			if _, ok := d.Get("secrets", k); !ok {
				t.Fatal("no hit before tampering")
			}
			tt.tamper(t, dir, entryFile(dir, "secrets", k))
			if v, ok := d.Get("secrets", k); ok {
				t.Fatalf("tampered entry returned %q", v)
			}
			if s := d.Stats(); s.Rejected != 1 {
				t.Errorf("rejected = %d, want 1", s.Rejected)
			}
			// the scan re-derives the answer and stores it again
			d.Put("secrets", k, []byte("findings of the file"))
			if tt.name == "directory" {
				return // the rename cannot replace a directory: it stays a miss
			}
			if v, ok := d.Get("secrets", k); !ok || string(v) != "findings of the file" {
				t.Errorf("after Put again: Get = %q, %v", v, ok)
			}
		})
	}
}

const maxEntry = 1 << 10

type tamperCase struct {
	name   string
	tamper func(t *testing.T, dir, file string)
}

// tamperCases are the ways an entry of k is changed on disk.
func tamperCases(k, other scancache.Key) []tamperCase {
	return []tamperCase{
		{"value changed", func(t *testing.T, _, file string) {
			b, _ := os.ReadFile(file)
			b[len(b)-1] ^= 1
			write(t, file, b)
		}},
		{"MAC recomputed with another key", func(t *testing.T, dir, file string) {
			forged := filepath.Join(t.TempDir(), "forge")
			f := open(t, forged, scancache.Options{Secret: []byte("the attacker's own key 123")})
			f.Put("secrets", k, []byte("forged value"))
			b, _ := os.ReadFile(entryFile(forged, "secrets", k))
			write(t, file, b)
		}},
		{"MAC recomputed with the public key", func(t *testing.T, dir, file string) {
			forged := filepath.Join(t.TempDir(), "forge")
			f := open(t, forged, scancache.Options{})
			f.Put("secrets", k, []byte("forged value"))
			b, _ := os.ReadFile(entryFile(forged, "secrets", k))
			write(t, file, b)
		}},
		{"another key's entry copied in", func(t *testing.T, dir, file string) {
			d := open(t, dir, scancache.Options{Secret: secret})
			d.Put("secrets", other, []byte("other value"))
			b, _ := os.ReadFile(entryFile(dir, "secrets", other))
			write(t, file, b)
		}},
		{"another namespace's entry copied in", func(t *testing.T, dir, file string) {
			d := open(t, dir, scancache.Options{Secret: secret})
			d.Put("catalog", k, []byte("catalog value"))
			b, _ := os.ReadFile(entryFile(dir, "catalog", k))
			write(t, file, b)
		}},
		{"truncated", func(t *testing.T, _, file string) {
			b, _ := os.ReadFile(file)
			write(t, file, b[:len(b)-3])
		}},
		{"truncated into the header", func(t *testing.T, _, file string) {
			b, _ := os.ReadFile(file)
			write(t, file, b[:10])
		}},
		{"empty", func(t *testing.T, _, file string) { write(t, file, nil) }},
		{"garbage", func(t *testing.T, _, file string) {
			write(t, file, []byte("not an entry at all, but long enough to hold a header"))
		}},
		{"oversize", func(t *testing.T, _, file string) {
			b, _ := os.ReadFile(file)
			write(t, file, append(b, bytes.Repeat([]byte("x"), 2*maxEntry)...))
		}},
		{"symlink to a valid entry", func(t *testing.T, dir, file string) {
			// a valid copy of the entry elsewhere inside the cache
			b, _ := os.ReadFile(file)
			write(t, filepath.Join(dir, "copy"), b)
			replace(t, file, func() error { return os.Symlink(filepath.Join(dir, "copy"), file) })
		}},
		{"symlink out of the cache", func(t *testing.T, _, file string) {
			b, _ := os.ReadFile(file)
			out := filepath.Join(t.TempDir(), "entry")
			write(t, out, b)
			replace(t, file, func() error { return os.Symlink(out, file) })
		}},
		{"FIFO", func(t *testing.T, _, file string) {
			replace(t, file, func() error { return syscall.Mkfifo(file, 0o600) })
		}},
		{"directory", func(t *testing.T, _, file string) {
			replace(t, file, func() error { return os.Mkdir(file, 0o700) })
		}},
	}
}

func write(t *testing.T, file string, b []byte) {
	t.Helper()
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func replace(t *testing.T, file string, mk func() error) {
	t.Helper()
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := mk(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	file := filepath.Join(base, "file")
	write(t, file, []byte("x"))
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	v1link := filepath.Join(base, "v1link")
	if err := os.MkdirAll(v1link, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(v1link, scancache.Version)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		o    scancache.Options
	}{
		{"empty path", "", scancache.Options{}},
		{"a file", file, scancache.Options{}},
		{"a symlink to a directory", link, scancache.Options{}},
		{"its layout folder a symlink", v1link, scancache.Options{}},
		{"a short secret", filepath.Join(base, "new"), scancache.Options{Secret: []byte("short")}},
		{"a negative bound", filepath.Join(base, "new2"), scancache.Options{MaxBytes: -1}},
	}
	for _, tt := range tests {
		if d, err := scancache.Open(tt.dir, tt.o); err == nil {
			d.Close()
			t.Errorf("%s: Open(%q) succeeded", tt.name, tt.dir)
		}
	}
	if d, err := scancache.Open(filepath.Join(base, "a", "b"), scancache.Options{}); err != nil {
		t.Errorf("a missing directory is not created: %v", err)
	} else {
		d.Close()
	}
}

// TestDirEvictsLeastRecentlyUsed: beyond MaxBytes the entries used longest
// ago go first; a hit counts as a use.
func TestDirEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	val := bytes.Repeat([]byte("v"), 1000)
	// 10 entries (a 4 KiB block each) fit in 41,060 bytes; the 11th overflows it.
	const max = 10*4096 + 100
	d := open(t, dir, scancache.Options{MaxBytes: max, Now: now})
	keys := make([]scancache.Key, 11)
	for i := range keys {
		keys[i] = scancache.KeyOf(fmt.Appendf(nil, "%d", i))
	}
	for i := range 10 {
		d.Put("secrets", keys[i], val)
		if err := os.Chtimes(entryFile(dir, "secrets", keys[i]), clock, clock); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Minute)
	}
	if _, ok := d.Get("secrets", keys[0]); !ok { // 0 is now the most recently used
		t.Fatal("miss")
	}
	clock = clock.Add(time.Minute)
	d.Put("secrets", keys[10], val)
	if err := os.Chtimes(entryFile(dir, "secrets", keys[10]), clock, clock); err != nil {
		t.Fatal(err)
	}
	s := d.Stats()
	if s.Bytes > max*9/10 || s.Evicted != 2 {
		t.Errorf("after the overflow: %+v; want 2 evicted, at most %d bytes", s, max*9/10)
	}
	for i, k := range keys {
		_, ok := d.Get("secrets", k)
		if want := i != 1 && i != 2; ok != want {
			t.Errorf("entry %d present = %v, want %v", i, ok, want)
		}
	}
	// Close trims too, and Open counts what is there.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2 := open(t, dir, scancache.Options{MaxBytes: max, Now: now})
	if s := d2.Stats(); s.Entries != 9 {
		t.Errorf("reopened: %d entries, want 9", s.Entries)
	}
}

// TestDirLeavesForeignFiles: trimming removes only entries and stale
// temporary files, never a file it did not write.
func TestDirLeavesForeignFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := open(t, dir, scancache.Options{MaxBytes: 100})
	k := scancache.KeyOf([]byte("k"))
	d.Put("secrets", k, []byte("small"))
	foreign := filepath.Join(filepath.Dir(entryFile(dir, "secrets", k)), "README")
	write(t, foreign, bytes.Repeat([]byte("x"), 1000))
	d.Put("secrets", scancache.KeyOf([]byte("big")), bytes.Repeat([]byte("y"), 90))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("a foreign file was removed: %v", err)
	}
}

// TestDirConcurrent: writers and readers in goroutines and in separate Dirs
// (as separate processes would) on one directory never read a partial entry.
func TestDirConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ds := []*scancache.Dir{open(t, dir, scancache.Options{Secret: secret}), open(t, dir, scancache.Options{Secret: secret})}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for w := range 8 {
		wg.Go(func() {
			d := ds[w%2]
			for i := range 50 {
				k := scancache.KeyOf(fmt.Appendf(nil, "%d", i%10))
				want := bytes.Repeat(fmt.Appendf(nil, "%d", i%10), 5000)
				d.Put("secrets", k, want)
				if v, ok := d.Get("secrets", k); ok && !bytes.Equal(v, want) {
					errs <- fmt.Sprintf("key %d: read a value that was never written", i%10)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, d := range ds {
		if s := d.Stats(); s.Rejected != 0 {
			t.Errorf("rejected %d entries under concurrent writes", s.Rejected)
		}
	}
}

func ExampleDir() {
	dir, _ := os.MkdirTemp("", "scancache")
	defer os.RemoveAll(dir)
	cache, err := scancache.Open(dir, scancache.Options{Secret: []byte("from a secret the CI holds")})
	if err != nil {
		fmt.Println(err)
		return
	}
	k := scancache.KeyOf([]byte("rules v1"), []byte("path/to/file.go"), []byte("sha256 of the content"))
	if _, ok := cache.Get("secrets", k); !ok {
		cache.Put("secrets", k, []byte(`{"findings":[]}`)) // the answer, derived
	}
	v, ok := cache.Get("secrets", k)
	fmt.Println(string(v), ok)
	_ = cache.Close()
	s := cache.Stats()
	fmt.Println(s.Entries, s.Hits, s.Misses, s.Keyed)
	// Output:
	// {"findings":[]} true
	// 1 1 1 true
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"1": 1, "512MiB": 512 << 20, "2 GiB": 2 << 30, "10K": 10 << 10, "3MB": 3 << 20, "100B": 100} {
		if got, err := scancache.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "1.5GiB", "12TB", "MiB", "99999999999999999999", "9000000000GiB"} {
		if _, err := scancache.ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

// TestDirDigest: the digest names the entries held, so a run that added
// nothing leaves it as it was, and one that added an entry changes it.
func TestDirDigest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := open(t, dir, scancache.Options{})
	d.Put("secrets", scancache.KeyOf([]byte("a")), []byte("1"))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	first := d.Stats().Digest
	d = open(t, dir, scancache.Options{})
	d.Get("secrets", scancache.KeyOf([]byte("a")))
	d.Put("secrets", scancache.KeyOf([]byte("a")), []byte("1")) // the same entry again
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d.Stats().Digest != first {
		t.Error("using and rewriting an entry changed the digest")
	}
	d = open(t, dir, scancache.Options{})
	d.Put("secrets", scancache.KeyOf([]byte("b")), []byte("2"))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d.Stats().Digest == first || len(first) != 64 {
		t.Errorf("a new entry left the digest %q", first)
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	// a test binary names no release and no commit: its executable's digest
	// is part of the build id, which is stable within the process.
	if b := scancache.Build(); len(b) != 32 || b != scancache.Build() {
		t.Errorf("Build() = %q", b)
	}
}

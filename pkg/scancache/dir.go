package scancache

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults of Options.
const (
	// DefaultMaxBytes bounds the entries of a Dir, in bytes.
	DefaultMaxBytes = 512 << 20
	// DefaultMaxEntryBytes bounds one entry's value.
	DefaultMaxEntryBytes = 64 << 20
	// MinSecretBytes is the shortest Options.Secret accepted.
	MinSecretBytes = 16
)

// Version is the layout's folder under the cache directory: entries live in
// <dir>/<Version>/<ns>/<first two hex digits of the key>/<key in hex>.
const Version = "v1"

// PublicKey keys the entries' MAC when Options.Secret is empty. It is public:
// such a MAC detects corruption and entries written by another program, not an
// attacker, who can compute it. Who may write the cache is then decided where
// the cache is saved (the templates save it only from pushes to the default
// branch).
var PublicKey = []byte("secure-gates scan cache v1: public MAC key, integrity only")

var (
	magic     = [4]byte{'S', 'G', 'C', '1'}
	headerLen = len(magic) + sha256.Size
)

// tempAge is how old a temporary file (a Put interrupted by a crash) must be
// before Close removes it.
const tempAge = time.Hour

// Options configures Open.
type Options struct {
	// Secret keys the MAC every entry carries (at least MinSecretBytes);
	// empty means PublicKey (integrity only).
	Secret []byte
	// MaxBytes bounds the disk space the entries take (in whole 4 KiB
	// blocks): beyond it the least recently used are removed. Zero means
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxEntryBytes bounds one value: larger values are not stored, larger
	// files are not read. Zero means DefaultMaxEntryBytes (at most MaxBytes).
	MaxEntryBytes int64
	// Now is the clock of last use (entries' mtime); nil means time.Now.
	Now func() time.Time
}

// Dir is a Store in a directory, shared safely by concurrent goroutines and
// processes. Every entry carries an HMAC-SHA256 over its namespace, key and
// value: Get returns only entries whose MAC verifies under the Dir's key and
// whose size is within bounds, read from regular files (never through a
// symlink, never a FIFO or device); anything else is a miss, never an error.
// Put writes a temporary file and renames it into place, so a reader sees a
// whole entry or none. A hit sets the entry's modification time (its last
// use); when the entries exceed MaxBytes the least recently used are removed
// (on Put, and at Close).
type Dir struct {
	root     *os.Root
	path     string
	key      []byte
	keyed    bool
	maxBytes int64
	maxEntry int64
	now      func() time.Time

	trimMu  sync.Mutex
	bytes   atomic.Int64 // entries' size, approximate between trims
	entries atomic.Int64
	digest  atomic.Value // string: of the entries' names at the last trim
	stats   struct{ hits, misses, rejected, writes, evicted atomic.Int64 }
}

// Open opens (creating it when missing) the cache directory dir. dir must be
// a directory, not a symlink to one: a cache restored from elsewhere cannot
// redirect the writes and removals of the cache to another folder.
func Open(dir string, o Options) (*Dir, error) {
	if dir == "" {
		return nil, errors.New("opening the scan cache: no directory")
	}
	if len(o.Secret) > 0 && len(o.Secret) < MinSecretBytes {
		return nil, fmt.Errorf("opening the scan cache %s: the secret is %d bytes, expected at least %d", dir, len(o.Secret), MinSecretBytes)
	}
	if o.MaxBytes < 0 || o.MaxEntryBytes < 0 {
		return nil, fmt.Errorf("opening the scan cache %s: negative size bound", dir)
	}
	st, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("opening the scan cache: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("opening the scan cache: %w", err)
	case st.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("opening the scan cache %s: a symlink, expected a directory", dir)
	case !st.IsDir():
		return nil, fmt.Errorf("opening the scan cache %s: not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the scan cache: %w", err)
	}
	d := &Dir{root: root, path: dir, key: PublicKey, maxBytes: cmp.Or(o.MaxBytes, DefaultMaxBytes), now: o.Now}
	if d.now == nil {
		d.now = time.Now
	}
	d.maxEntry = min(cmp.Or(o.MaxEntryBytes, DefaultMaxEntryBytes), d.maxBytes)
	if len(o.Secret) > 0 {
		d.key, d.keyed = slices.Clone(o.Secret), true
	}
	if err := root.Mkdir(Version, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		root.Close()
		return nil, fmt.Errorf("opening the scan cache %s: %w", dir, err)
	}
	if st, err := root.Lstat(Version); err != nil || !st.IsDir() {
		root.Close()
		return nil, fmt.Errorf("opening the scan cache %s: %s is not a directory", dir, Version)
	}
	d.trim(false)
	return d, nil
}

// Path is the cache directory.
func (d *Dir) Path() string { return d.path }

// validNS reports whether ns is a namespace: a short lowercase name.
func validNS(ns string) bool {
	if ns == "" || len(ns) > 32 || ns[0] < 'a' || ns[0] > 'z' {
		return false
	}
	return !slices.ContainsFunc([]byte(ns), func(c byte) bool { return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') })
}

// entryPath is where (ns, k) lives, relative to the cache directory.
func entryPath(ns string, k Key) string {
	h := k.String()
	return path.Join(Version, ns, h[:2], h)
}

// mac is the entry's HMAC-SHA256 over the namespace, the key and the value.
func (d *Dir) mac(ns string, k Key, v []byte) []byte {
	m := hmac.New(sha256.New, d.key)
	var n [8]byte
	for _, p := range [][]byte{[]byte("secure-gates scancache " + Version), []byte(ns), k[:], v} {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

// Get implements Store: the value of a whole, authentic entry, or false.
func (d *Dir) Get(ns string, k Key) ([]byte, bool) {
	v, ok := d.read(ns, k)
	if ok {
		d.stats.hits.Add(1)
		t := d.now()
		_ = d.root.Chtimes(entryPath(ns, k), t, t) // last use, for eviction
	} else {
		d.stats.misses.Add(1)
	}
	return v, ok
}

// read reads and checks one entry; a file that fails a check counts as
// rejected.
func (d *Dir) read(ns string, k Key) ([]byte, bool) {
	if !validNS(ns) {
		return nil, false
	}
	p := entryPath(ns, k)
	limit := int64(headerLen) + d.maxEntry
	st, err := d.root.Lstat(p)
	if err != nil {
		return nil, false // absent: a plain miss
	}
	if !st.Mode().IsRegular() || st.Size() < int64(headerLen) || st.Size() > limit {
		d.stats.rejected.Add(1)
		return nil, false
	}
	// O_NONBLOCK: a FIFO swapped in after the Lstat does not block the scan.
	f, err := d.root.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		d.stats.rejected.Add(1)
		return nil, false
	}
	defer f.Close()
	fst, err := f.Stat()
	if err != nil || !fst.Mode().IsRegular() || fst.Size() > limit {
		d.stats.rejected.Add(1)
		return nil, false
	}
	if !os.SameFile(st, fst) {
		return nil, false // replaced since the Lstat (a concurrent Put): a plain miss
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil || int64(len(data)) > limit || len(data) < headerLen || [4]byte(data[:4]) != magic {
		d.stats.rejected.Add(1)
		return nil, false
	}
	v := data[headerLen:]
	if !hmac.Equal(data[len(magic):headerLen], d.mac(ns, k, v)) {
		d.stats.rejected.Add(1)
		return nil, false
	}
	return v, true
}

// Put implements Store: the entry is written to a temporary file and renamed
// into place. A value over MaxEntryBytes, or one that cannot be written, is
// dropped.
func (d *Dir) Put(ns string, k Key, v []byte) {
	if !validNS(ns) || int64(len(v)) > d.maxEntry {
		return
	}
	p := entryPath(ns, k)
	if err := d.root.MkdirAll(path.Dir(p), 0o700); err != nil {
		return
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(p), ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return
	}
	buf := make([]byte, 0, headerLen+len(v))
	buf = append(append(append(buf, magic[:]...), d.mac(ns, k, v)...), v...)
	_, werr := f.Write(buf)
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = d.root.Remove(tmp)
		return
	}
	if err := d.root.Rename(tmp, p); err != nil {
		_ = d.root.Remove(tmp)
		return
	}
	d.stats.writes.Add(1)
	d.entries.Add(1)
	if d.bytes.Add(roundBlock(int64(len(buf)))) > d.maxBytes {
		d.trim(true)
	}
}

// Close removes the least recently used entries beyond MaxBytes and
// temporary files left by crashed writers, and closes the directory.
func (d *Dir) Close() error {
	d.trim(false)
	return d.root.Close()
}

// blockSize is the unit a file takes on disk: the size bound counts what the
// entries take there (most are far smaller than a block).
const blockSize = 4096

func roundBlock(n int64) int64 { return (n + blockSize - 1) / blockSize * blockSize }

// diskSize is what a file takes on disk: its allocated blocks, and at least
// its size rounded up to a block (a sparse file counts its size).
func diskSize(info fs.FileInfo) int64 {
	n := roundBlock(info.Size())
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		n = max(n, st.Blocks*512)
	}
	return n
}

type entryInfo struct {
	path  string
	size  int64
	mtime time.Time
}

// trim recounts the entries and removes the least recently used ones while
// they exceed MaxBytes (down to 9/10 of it, so that Puts do not trim one by
// one). Only files this package writes are touched: entries (regular files
// named by a key) and temporary files older than tempAge, inside the layout's
// folders; anything else in the directory is left alone and not counted.
func (d *Dir) trim(onPut bool) {
	d.trimMu.Lock()
	defer d.trimMu.Unlock()
	if onPut && d.bytes.Load() <= d.maxBytes {
		return // another Put trimmed meanwhile
	}
	var (
		entries []entryInfo
		total   int64
		now     = d.now()
	)
	_ = fs.WalkDir(d.root.FS(), Version, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return nil // a folder removed meanwhile, or unreadable: skip it
		}
		depth := len(splitPath(p))
		if de.IsDir() {
			if p == Version || depth == 2 && validNS(de.Name()) || depth == 3 && isHex(de.Name(), 2) {
				return nil
			}
			return fs.SkipDir
		}
		if depth != 4 || !de.Type().IsRegular() {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return nil
		}
		switch {
		case isHex(de.Name(), 2*len(Key{})):
			n := diskSize(info)
			entries = append(entries, entryInfo{p, n, info.ModTime()})
			total += n
		case len(de.Name()) == len(".tmp-")+16 && de.Name()[:5] == ".tmp-" && now.Sub(info.ModTime()) > tempAge:
			_ = d.root.Remove(p)
		}
		return nil
	})
	if total > d.maxBytes {
		slices.SortFunc(entries, func(a, b entryInfo) int { return a.mtime.Compare(b.mtime) })
		target := d.maxBytes / 10 * 9
		for len(entries) > 0 && total > target {
			e := entries[0]
			entries = entries[1:]
			if err := d.root.Remove(e.path); err == nil || errors.Is(err, fs.ErrNotExist) {
				total -= e.size
				d.stats.evicted.Add(1)
			}
		}
	}
	d.bytes.Store(total)
	d.entries.Store(int64(len(entries)))
	d.digest.Store(namesDigest(entries))
}

// namesDigest hashes the entries' names (namespace and key): two caches
// holding the same answers have the same digest.
func namesDigest(entries []entryInfo) string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.path
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		h.Write([]byte(n + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func splitPath(p string) []string {
	var out []string
	for p != "." && p != "/" && p != "" {
		out = append(out, path.Base(p))
		p = path.Dir(p)
	}
	return out
}

// isHex reports whether s is n lowercase hex digits.
func isHex(s string, n int) bool {
	return len(s) == n && !slices.ContainsFunc([]byte(s), func(c byte) bool { return !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') })
}

// Stats are a Dir's counts: its entries, and what this process did with it.
type Stats struct {
	// Path is the cache directory.
	Path string
	// Entries and Bytes are the entries held and the disk space they take
	// (whole 4 KiB blocks; counted at Open and Close, and when trimming;
	// approximate in between).
	Entries int64
	Bytes   int64
	// MaxBytes is the size bound.
	MaxBytes int64
	// Hits and Misses count Gets; Rejected counts the misses on an entry
	// that failed a check (MAC, size, file type): tampered or corrupt.
	Hits, Misses, Rejected int64
	// Writes and Evicted count entries stored and removed.
	Writes, Evicted int64
	// Keyed says whether the MAC is keyed by Options.Secret (false: PublicKey).
	Keyed bool
	// Digest is the SHA-256 of the entries' names at the last count (hex):
	// it changes when an entry is added or removed, not when one is used.
	Digest string
}

// Stats returns the Dir's counts.
func (d *Dir) Stats() Stats {
	s := Stats{
		Path: d.path, Entries: d.entries.Load(), Bytes: d.bytes.Load(), MaxBytes: d.maxBytes,
		Hits: d.stats.hits.Load(), Misses: d.stats.misses.Load(), Rejected: d.stats.rejected.Load(),
		Writes: d.stats.writes.Load(), Evicted: d.stats.evicted.Load(), Keyed: d.keyed,
	}
	s.Digest, _ = d.digest.Load().(string)
	return s
}

// String is the one-line summary the scan logs.
func (s Stats) String() string {
	mac := "entries MACed with the cache secret"
	if !s.Keyed {
		mac = "no cache secret: the MAC key is public (integrity only), the cache is as trustworthy as the runs that save it"
	}
	return fmt.Sprintf("scan cache %s: %d entries, %s of %s; %d hits, %d misses (%d rejected), %d written, %d evicted; %s",
		s.Path, s.Entries, humanBytes(s.Bytes), humanBytes(s.MaxBytes), s.Hits, s.Misses, s.Rejected, s.Writes, s.Evicted, mac)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// ParseSize reads a size bound: a whole number of bytes, optionally followed
// by KiB, MiB or GiB (also K, M, G, KB, MB, GB: powers of 1024).
func ParseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	shift, ok := map[string]uint{"": 0, "B": 0, "K": 10, "KB": 10, "KiB": 10, "M": 20, "MB": 20, "MiB": 20, "G": 30, "GB": 30, "GiB": 30}[unit]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n <= 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("size %q: expected a positive whole number of bytes, KiB, MiB or GiB (e.g. 512MiB)", v)
	}
	return n << shift, nil
}

package vulndb

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/anchore/clio"
	v6 "github.com/anchore/grype/grype/db/v6"
	v6dist "github.com/anchore/grype/grype/db/v6/distribution"
	v6inst "github.com/anchore/grype/grype/db/v6/installation"
	"github.com/anchore/grype/grype/vulnerability"
	"github.com/spf13/afero"

	"github.com/secure-gates/secure-gates/pkg/bounds"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
)

// DefaultMaxAge is the default bound on the DB's age: grype's own default (5 days).
const DefaultMaxAge = 120 * time.Hour

// DefaultUpdateURL is grype's default DB listing location.
const DefaultUpdateURL = "https://grype.anchore.io/databases"

// DefaultUpdateCheckInterval is how long a cached DB is used without asking the
// listing for a newer one: grype's own default.
const DefaultUpdateCheckInterval = 2 * time.Hour

// Sources of a loaded DB (Info.Source).
const (
	SourceDBDir    = "db-dir"   // a DB root (or its 6/ folder) given as Options.DBDir
	SourceArchive  = "archive"  // a DB archive given as Options.DBDir, imported for this run
	SourceDownload = "download" // downloaded into Options.CacheDir by this Load
	SourceCache    = "cache"    // already in Options.CacheDir and current
)

// Options says where the vulnerability DB comes from and how fresh it must be.
type Options struct {
	// DBDir is a grype DB root — a folder holding 6/vulnerability.db, as
	// GRYPE_DB_CACHE_DIR does (the 6/ folder itself is accepted too) — or a DB
	// archive (.tar.gz, .tar.zst, .tar.xz) for air-gapped runners. When set, nothing
	// is downloaded.
	DBDir string
	// CacheDir is where grype's distribution is downloaded (and kept, as a grype DB
	// root) when DBDir is empty: a folder a workflow can cache with actions/cache.
	// With a DBDir archive it keeps the imported archive (archive-<sha256>/) so
	// the next run with the same archive does not import it again.
	CacheDir string
	// UpdateURL overrides the DB listing URL (a latest.json, or the folder above
	// v6/latest.json); empty means grype's default, DefaultUpdateURL.
	UpdateURL string
	// MaxAge bounds the DB's age (build time to Now); 0 means DefaultMaxAge.
	MaxAge time.Duration
	// UpdateCheckInterval is how long a current cached DB is used without checking
	// the listing again; 0 means DefaultUpdateCheckInterval, negative means always
	// check.
	UpdateCheckInterval time.Duration
	// Scanner names the scanner in an Outage recorded by LoadWithPolicy; empty
	// means "deps".
	Scanner string
	// Now is the clock for the age check and outage times; nil means time.Now.
	Now func() time.Time
	// Timeout bounds the DB's network calls (the listing check and the
	// download) besides ctx; 0 means only ctx and grype's own timeouts.
	Timeout time.Duration
	// DeferOpen makes Load obtain and validate the DB (download, checksum,
	// age) as always but open it only when first needed: a Match whose answer
	// MatchOptions.Cache holds never opens it. A DB that then cannot be opened
	// fails that Match with an errkind.Infra error (Pending.Match applies the
	// outage policy to it, as Load's own failures).
	DeferOpen bool
}

func (o Options) withDefaults() Options {
	o.MaxAge = bounds.Or(o.MaxAge, DefaultMaxAge)
	if o.UpdateCheckInterval == 0 {
		o.UpdateCheckInterval = DefaultUpdateCheckInterval
	}
	if o.UpdateCheckInterval < 0 {
		o.UpdateCheckInterval = 0 // grype: 0 means check every time
	}
	o.UpdateURL = cmp.Or(o.UpdateURL, DefaultUpdateURL)
	o.Scanner = cmp.Or(o.Scanner, "deps")
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Info describes the loaded DB.
type Info struct {
	// SchemaVersion is the DB schema, e.g. "v6.1.3".
	SchemaVersion string
	// Built is when the DB was built (UTC).
	Built time.Time
	// Location is where the DB came from as the caller named it: the db-dir
	// folder or archive, the download URL (without query), or the cache folder.
	Location string
	// Source is one of SourceDBDir, SourceArchive, SourceDownload, SourceCache.
	Source string
	// Path is the vulnerability.db file actually read.
	Path string
	// URL is the archive URL the DB was downloaded from, when known (a download,
	// or a cached DB that an earlier download installed).
	URL string
	// UpdateError is set when the cached DB was used because checking for a newer
	// one failed (the cached DB is still within MaxAge). Callers should say so.
	UpdateError string
}

// DB is a loaded, validated grype vulnerability DB. Close it when done.
type DB struct {
	// openFn opens the validated DB (Options.DeferOpen); nil once open.
	openFn  func() error
	id      string // the DB file's validated digest (import.json), "" when unknown
	vp      vulnerability.Provider
	rdr     v6.Reader // the records behind vp (Published)
	info    Info
	now     func() time.Time
	cleanup func()
	cache   *queryCache // nil when grype's reader could not be tuned
	workers int         // matcher goroutines (prefetch)
}

// Info describes the DB.
func (db *DB) Info() Info { return db.info }

// Close releases the DB and removes any temporary copy Load made.
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	var err error
	db.openFn = nil
	if db.vp != nil {
		err = db.vp.Close()
		db.vp, db.rdr = nil, nil
	}
	if db.cleanup != nil {
		db.cleanup()
		db.cleanup = nil
	}
	return err
}

// Load obtains and validates the vulnerability DB: from Options.DBDir when set
// (a DB root or an archive; never a download), otherwise grype's distribution
// in Options.CacheDir (downloaded when missing, stale or superseded).
//
// Errors: a DBDir that does not exist or is not a grype v6 DB root or archive
// is an errkind.Input error; a DB that cannot be downloaded, fails its checksum,
// cannot be read, or is older than MaxAge is an errkind.Infra error whose message
// says which and what to do.
//
// When the listing cannot be reached but CacheDir already holds a DB within
// MaxAge, that DB is used and Info.UpdateError says why it was not updated: the
// freshness bound, not the network, decides.
func Load(ctx context.Context, o Options) (*DB, error) {
	o = o.withDefaults()
	if err := ctx.Err(); err != nil {
		return nil, errkind.Infra(fmt.Errorf("loading the vulnerability DB: %w", err))
	}
	switch {
	case o.DBDir != "":
		return loadDBDir(o)
	case o.CacheDir != "":
		return loadCache(ctx, o)
	}
	return nil, errkind.Input(errors.New("vulnerability DB: neither a DB folder or archive (db-dir) nor a cache folder (db-cache) was given"))
}

var archiveSuffixes = []string{".tar.gz", ".tgz", ".tar.zst", ".tar.xz"}

func isArchive(p string) bool {
	lp := strings.ToLower(p)
	for _, s := range archiveSuffixes {
		if strings.HasSuffix(lp, s) {
			return true
		}
	}
	return false
}

const wantDBDir = "want a grype DB root (a folder holding 6/vulnerability.db, like GRYPE_DB_CACHE_DIR) or a DB archive (.tar.gz, .tar.zst)"

func loadDBDir(o Options) (*DB, error) {
	st, err := os.Stat(o.DBDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errkind.Input(fmt.Errorf("vulnerability DB %q does not exist: %s", o.DBDir, wantDBDir))
	}
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("vulnerability DB %q: %w", o.DBDir, err))
	}
	if !st.IsDir() {
		if !st.Mode().IsRegular() || !isArchive(o.DBDir) {
			return nil, errkind.Input(fmt.Errorf("vulnerability DB %q is a file but not a DB archive: %s", o.DBDir, wantDBDir))
		}
		return loadArchive(o)
	}
	root, cleanup, err := rootOf(o.DBDir)
	if err != nil {
		return nil, err
	}
	return openOwning(root, cleanup, o, Info{Location: o.DBDir, Source: SourceDBDir})
}

// openOwning opens the DB at root, which cleanup removes: on Close, or now when
// it cannot be opened.
func openOwning(root string, cleanup func(), o Options, info Info) (*DB, error) {
	db, err := open(root, o, info, true)
	if err != nil {
		cleanup()
		return nil, err
	}
	db.cleanup = cleanup
	return db, nil
}

// tempRoot makes a private folder for a DB root and returns the function that
// removes it.
func tempRoot() (string, func(), error) {
	tmp, err := os.MkdirTemp("", "secure-gates-vulndb-")
	if err != nil {
		return "", func() {}, errkind.Infra(fmt.Errorf("vulnerability DB: making a temporary folder: %w", err))
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// rootOf finds the grype DB root of dir: dir itself when it holds
// 6/vulnerability.db, or a private root linking to dir when dir is the 6/ folder.
func rootOf(dir string) (string, func(), error) {
	noop := func() {}
	schemaDir := strconv.Itoa(v6.ModelVersion)
	if fileExists(filepath.Join(dir, schemaDir, v6.VulnerabilityDBFileName)) {
		return dir, noop, nil
	}
	if fileExists(filepath.Join(dir, v6.VulnerabilityDBFileName)) {
		if filepath.Base(filepath.Clean(dir)) == schemaDir {
			return filepath.Dir(filepath.Clean(dir)), noop, nil
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", noop, errkind.Input(fmt.Errorf("vulnerability DB %q: %w", dir, err))
		}
		tmp, cleanup, err := tempRoot()
		if err != nil {
			return "", noop, err
		}
		if err := os.Symlink(abs, filepath.Join(tmp, schemaDir)); err != nil {
			cleanup()
			return "", noop, errkind.Infra(fmt.Errorf("vulnerability DB: linking %q: %w", dir, err))
		}
		return tmp, cleanup, nil
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() && fileExists(filepath.Join(dir, e.Name(), v6.VulnerabilityDBFileName)) {
			return "", noop, errkind.Input(fmt.Errorf("vulnerability DB %q holds a schema v%d DB; grype %s reads schema v%d: %s", dir, n, grypeVersion(), v6.ModelVersion, wantDBDir))
		}
	}
	return "", noop, errkind.Input(fmt.Errorf("vulnerability DB %q is not a grype DB: no %s/%s in it; %s", dir, schemaDir, v6.VulnerabilityDBFileName, wantDBDir))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// loadArchive imports an archive into a private DB root removed on Close, or,
// when CacheDir is set, into CacheDir/archive-<sha256 of the archive> where the
// next run with the same archive finds it already imported (importing re-creates
// the DB's indexes, which takes a while for a full-size DB).
func loadArchive(o Options) (*DB, error) {
	if o.CacheDir != "" {
		return loadArchiveCached(o)
	}
	tmp, cleanup, err := tempRoot()
	if err != nil {
		return nil, err
	}
	if err := importArchive(tmp, o); err != nil {
		cleanup()
		return nil, err
	}
	return openOwning(tmp, cleanup, o, Info{Location: o.DBDir, Source: SourceArchive})
}

const archiveCachePrefix = "archive-"

func loadArchiveCached(o Options) (*DB, error) {
	sum, err := fileSHA256(o.DBDir)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("vulnerability DB archive %q: %w", o.DBDir, err))
	}
	final := filepath.Join(o.CacheDir, archiveCachePrefix+sum[:32])
	info := Info{Location: o.DBDir, Source: SourceArchive}
	if fileExists(filepath.Join(final, strconv.Itoa(v6.ModelVersion), v6.VulnerabilityDBFileName)) {
		if db, err := open(final, o, info, true); err == nil {
			return db, nil
		} else if errkind.Of(err) == errkind.KindInfra && strings.Contains(err.Error(), "max age") {
			return nil, err // the archive itself is too old: importing again changes nothing
		}
		os.RemoveAll(final) // damaged: import again
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, errkind.Infra(fmt.Errorf("vulnerability DB cache %q: %w", o.CacheDir, err))
	}
	tmp, err := os.MkdirTemp(o.CacheDir, "tmp-import-")
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("vulnerability DB cache %q: %w", o.CacheDir, err))
	}
	defer os.RemoveAll(tmp)
	if err := importArchive(tmp, o); err != nil {
		return nil, err
	}
	// Keep one imported archive: drop the others, then move this one in place.
	entries, _ := os.ReadDir(o.CacheDir)
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), archiveCachePrefix) {
			os.RemoveAll(filepath.Join(o.CacheDir, e.Name()))
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, errkind.Infra(fmt.Errorf("vulnerability DB cache %q: %w", o.CacheDir, err))
	}
	return open(final, o, info, true)
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// importArchive imports the archive o.DBDir into the DB root dir with grype's
// own import (unarchive, re-create indexes, write import.json).
func importArchive(tmp string, o Options) error {
	cur, err := curator(tmp, o, false)
	if err != nil {
		return err
	}
	if err := cur.Import(o.DBDir); err != nil {
		return errkind.Input(fmt.Errorf("vulnerability DB archive %q could not be imported (want a .tar.gz/.tar.zst holding vulnerability.db at its top level): %w", o.DBDir, err))
	}
	if !fileExists(filepath.Join(tmp, strconv.Itoa(v6.ModelVersion), v6.VulnerabilityDBFileName)) {
		return errkind.Input(fmt.Errorf("vulnerability DB archive %q holds no %s", o.DBDir, v6.VulnerabilityDBFileName))
	}
	return nil
}

func loadCache(ctx context.Context, o Options) (*DB, error) {
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, errkind.Infra(fmt.Errorf("vulnerability DB cache %q: %w", o.CacheDir, err))
	}
	// grype's client takes no context: the check and download run aside, and
	// the load stops waiting at ctx's deadline or o.Timeout. A check cut by
	// o.Timeout is a failed update check (the cache may still serve); one cut
	// by ctx ends the load.
	uctx, cancel := netretry.WithTimeout(ctx, o.Timeout)
	defer cancel()
	cur, err := curatorWithClient(uctx, o.CacheDir, o)
	if err != nil {
		return nil, err
	}
	type update struct {
		updated bool
		err     error
	}
	done := make(chan update, 1)
	go func() {
		u, err := cur.Update()
		done <- update{u, err}
	}()
	var (
		updated bool
		uerr    error
	)
	select {
	case u := <-done:
		updated, uerr = u.updated, u.err
	case <-uctx.Done():
		uerr = &netretry.Error{Host: hostOf(o.UpdateURL), What: "no answer " + netretry.Within(uctx), Err: uctx.Err()}
	}
	if err := ctx.Err(); err != nil {
		if e := netretry.Explain("loading the vulnerability DB: checking "+o.UpdateURL, uerr); e != nil {
			return nil, errkind.Infra(e)
		}
		return nil, errkind.Infra(fmt.Errorf("loading the vulnerability DB: %w", err))
	}
	info := Info{Location: o.CacheDir, Source: SourceCache}
	if updated {
		info.Source = SourceDownload
	}
	if uerr != nil {
		info.UpdateError = fmt.Sprintf("checking %s for a newer vulnerability DB failed: %v", o.UpdateURL, uerr)
		db, err := open(o.CacheDir, o, info, false)
		if err != nil {
			return nil, errkind.Infra(fmt.Errorf("vulnerability DB could not be obtained: downloading from %s failed (%v), and the cache %q holds no usable DB: %w", o.UpdateURL, uerr, o.CacheDir, err))
		}
		return db, nil
	}
	return open(o.CacheDir, o, info, false)
}

// hostOf is the host[:port] of a URL, for messages; the URL itself if unparsable.
func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}

// grypeID identifies grype to its distribution server (user agent).
func grypeID() clio.Identification {
	return clio.Identification{Name: "grype", Version: grypeVersion()}
}

func curator(root string, o Options, validateAge bool) (interface {
	Import(string) error
}, error) {
	return newCurator(root, o, validateAge, v6dist.Config{ID: grypeID(), LatestURL: o.UpdateURL})
}

// newCurator is grype's curator of the DB under root, over a distribution
// client configured by dcfg.
func newCurator(root string, o Options, validateAge bool, dcfg v6dist.Config) (v6.Curator, error) {
	client, err := v6dist.NewClient(dcfg)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("vulnerability DB: %w", err))
	}
	c, err := v6inst.NewCurator(curatorConfig(root, o, validateAge), client)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("vulnerability DB: %w", err))
	}
	return c, nil
}

func curatorConfig(root string, o Options, validateAge bool) v6inst.Config {
	return v6inst.Config{
		DBRootDir:               root,
		ValidateChecksum:        true,
		ValidateAge:             validateAge,
		MaxAllowedBuiltAge:      o.MaxAge,
		UpdateCheckMaxFrequency: o.UpdateCheckInterval,
	}
}

func curatorWithClient(ctx context.Context, root string, o Options) (interface {
	Update() (bool, error)
}, error) {
	dcfg := v6dist.DefaultConfig()
	dcfg.ID = grypeID()
	dcfg.LatestURL = o.UpdateURL
	dcfg.RequireUpdateCheck = true // a failed check is an error we decide about, never a log line
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return nil, errkind.Infra(fmt.Errorf("loading the vulnerability DB: %w", context.DeadlineExceeded))
		}
		dcfg.CheckTimeout = min(dcfg.CheckTimeout, left)
		dcfg.UpdateTimeout = min(dcfg.UpdateTimeout, left)
	}
	// Age validation on: a cached DB older than MaxAge counts as missing, so Update
	// replaces it instead of keeping it.
	return newCurator(root, o, true, dcfg)
}

// open validates the DB under root (checksum, schema, age against o.Now) and
// opens it. dbDirMissingIsInput classifies a missing DB as bad input (a db-dir)
// rather than an infrastructure failure (an empty cache).
func open(root string, o Options, info Info, dbDirMissingIsInput bool) (*DB, error) {
	client, err := v6dist.NewClient(v6dist.Config{ID: grypeID(), LatestURL: o.UpdateURL})
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("vulnerability DB: %w", err))
	}
	cur, err := v6inst.NewCurator(curatorConfig(root, o, false), client)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("vulnerability DB: %w", err))
	}
	status := cur.Status()
	if status.Error != nil {
		if errors.Is(status.Error, v6.ErrDBDoesNotExist) {
			err := fmt.Errorf("vulnerability DB: no DB at %s: %w", status.Path, status.Error)
			if dbDirMissingIsInput {
				return nil, errkind.Input(err)
			}
			return nil, errkind.Infra(err)
		}
		return nil, errkind.Infra(fmt.Errorf("vulnerability DB at %s failed validation (rebuild or re-download it): %w", status.Path, status.Error))
	}
	info.SchemaVersion = status.SchemaVersion
	info.Built = status.Built.UTC()
	info.Path = status.Path
	if u := sourceURL(status.From); u != "" {
		info.URL = u
		if info.Source == SourceDownload {
			info.Location = u
		}
	}
	now := o.Now()
	if age := now.Sub(info.Built); age > o.MaxAge {
		return nil, errkind.Infra(fmt.Errorf("vulnerability DB from %s was built %s, %s ago: older than the max age %s; update it (a fresh db-dir, or db-cache with network access) or raise max-db-age",
			info.Location, info.Built.Format(time.RFC3339), age.Round(time.Minute), o.MaxAge))
	}
	db := &DB{info: info, now: o.Now, workers: 1, id: importDigest(status.Path)}
	db.openFn = func() error { return db.openReader(cur, status.Path) }
	if !o.DeferOpen {
		if err := db.openFn(); err != nil {
			return nil, err
		}
		db.openFn = nil
	}
	return db, nil
}

// ensureOpen opens a DB validated by Load (Options.DeferOpen) the first time
// it is needed.
func (db *DB) ensureOpen() error {
	if db.openFn == nil {
		return nil
	}
	err := db.openFn()
	db.openFn = nil
	if err != nil {
		return &openError{err}
	}
	return nil
}

// openError is a validated DB that could not be opened: an infrastructure
// failure the outage policy applies to, as to Load's own.
type openError struct{ err error }

func (e *openError) Error() string { return e.err.Error() }
func (e *openError) Unwrap() error { return e.err }

// openReader opens the DB at path through cur and tunes its reader.
func (db *DB) openReader(cur interface{ Reader() (v6.Reader, error) }, path string) error {
	rdr, err := cur.Reader()
	if err != nil {
		return errkind.Infra(fmt.Errorf("vulnerability DB at %s could not be opened: %w", path, err))
	}
	db.vp, db.rdr = v6.NewVulnerabilityProvider(rdr), rdr
	if !plainGrype {
		if db.cache, err = tune(rdr, path); err != nil {
			rdr.Close()
			db.vp, db.rdr = nil, nil
			return errkind.Infra(fmt.Errorf("vulnerability DB at %s could not be opened: %w", path, err))
		}
		db.workers = runtime.GOMAXPROCS(0)
	}
	return nil
}

// importDigest is the digest import.json records for the DB file at path,
// which the curator's Status has just checked against the file's content (a
// validated DB's identity, without reading it again); "" when unreadable.
func importDigest(path string) string {
	im, err := v6.ReadImportMetadata(afero.NewOsFs(), filepath.Dir(path))
	if err != nil || im == nil {
		return ""
	}
	return im.Digest
}

// plainGrype makes open leave grype's reader as grype opens it and Match run
// grype's matchers one package after the other (tests compare the two).
var plainGrype bool

// sourceURL returns the http(s) URL an import came from, without its query (the
// checksum parameter grype adds), or "".
func sourceURL(from string) string {
	u, err := url.Parse(from)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	u.RawQuery = ""
	u.Fragment = ""
	u.User = nil
	return u.String()
}

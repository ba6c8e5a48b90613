package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/anchore/syft/syft/format/syftjson"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// The catalog cache's namespaces in a scancache.Store, and the version of its
// entries and keys (a change of either, or of what a catalog run reads,
// changes catalogFormat).
//
//   - catalog-sbom: an SBOM's syft JSON, keyed by its SHA-256 (checked on Get);
//   - catalog-tree: the SBOM of one exact tree (its digest: every entry's
//     kind, mode, owner and content) under one configuration;
//   - catalog-base: the last tree catalogued under one configuration and
//     root, with its entries and what syft's catalogers read (reads), from
//     which a changed tree whose changes they could not see reuses the SBOM;
//   - catalog-info: what Directory reports of an SBOM besides the SBOM (its
//     package count), keyed by the SBOM's key, so that Options.LazySBOM need
//     not decode it.
const (
	nsSBOM        = "catalog-sbom"
	nsTree        = "catalog-tree"
	nsBase        = "catalog-base"
	nsInfo        = "catalog-info"
	catalogFormat = "catalog-dir/v1"
)

// infoEntry is a catalog-info entry.
type infoEntry struct {
	Format   string `json:"format"`
	Packages int    `json:"packages"`
}

// treeEntry is a catalog-tree entry.
type treeEntry struct {
	Format string `json:"format"`
	SBOM   string `json:"sbom"` // the SBOM's key (catalog-sbom)
}

// baseEntry is a catalog-base entry.
type baseEntry struct {
	Format  string            `json:"format"`
	SBOM    string            `json:"sbom"`
	Entries map[string]string `json:"entries"`
	Reads   reads             `json:"reads"`
}

// dirCache is the catalog cache of one Directory call.
type dirCache struct {
	store  scancache.Store
	prefix []byte // the configuration's identity, see prefixOf
	abs    string
	t      *tree
}

// prefixOf identifies everything a directory's catalog depends on besides the
// tree's content: syft and stereoscope (their versions), syft's configuration,
// the directory's path and the SBOM's name. false when the configuration
// cannot be encoded (nothing is cached then).
func prefixOf(abs, name string) ([]byte, bool) {
	cfg, err := json.Marshal(createConfig())
	if err != nil {
		return nil, false
	}
	// scancache.Build: a new build of secure-gates never reuses an older
	// build's catalog (a change of what a catalog run does that forgot to
	// bump catalogFormat is still a miss).
	k := scancache.KeyOf([]byte(catalogFormat), []byte(moduleVersions()), []byte(scancache.Build()), cfg, []byte(abs), []byte(name))
	return k[:], true
}

// moduleVersions names the linked syft and stereoscope versions.
func moduleVersions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	s := ""
	for _, d := range bi.Deps {
		if d.Path == "github.com/anchore/syft" || d.Path == "github.com/anchore/stereoscope" {
			v := d.Version
			if d.Replace != nil {
				v = d.Replace.Path + "@" + d.Replace.Version
			}
			s += d.Path + "@" + v + ";"
		}
	}
	return s
}

func (c *dirCache) treeKey() scancache.Key { return scancache.KeyOf(c.prefix, c.t.digest()) }
func (c *dirCache) baseKey() scancache.Key { return scancache.KeyOf(c.prefix) }

// lookup returns the cached SBOM of the tree (its syft JSON, checked against
// its key, and the key): the one of this exact tree, or that of the last tree
// catalogued when none of the changes since could be seen by its catalogers
// (tree.relevant). Any entry that does not decode is a miss.
func (c *dirCache) lookup() ([]byte, scancache.Key, bool) {
	if v, ok := c.store.Get(nsTree, c.treeKey()); ok {
		var e treeEntry
		if json.Unmarshal(v, &e) == nil && e.Format == catalogFormat {
			if doc, k, ok := c.sbom(e.SBOM); ok {
				return doc, k, true
			}
		}
	}
	v, ok := c.store.Get(nsBase, c.baseKey())
	if !ok {
		return nil, scancache.Key{}, false
	}
	var b baseEntry
	if json.Unmarshal(v, &b) != nil || b.Format != catalogFormat || b.Entries == nil {
		return nil, scancache.Key{}, false
	}
	if c.t.relevant(c.abs, b.Entries, c.t.changed(b.Entries), b.Reads) {
		return nil, scancache.Key{}, false
	}
	doc, k, ok := c.sbom(b.SBOM)
	if !ok {
		return nil, scancache.Key{}, false
	}
	// this tree's own entries, and the base moves on to it: its catalogers
	// would have read exactly what they read before
	c.store.Put(nsTree, c.treeKey(), mustJSON(treeEntry{Format: catalogFormat, SBOM: b.SBOM}))
	b.Entries = c.t.entries
	c.store.Put(nsBase, c.baseKey(), mustJSON(b))
	return doc, k, true
}

// sbom reads the SBOM stored under key (hex SHA-256 of its syft JSON).
func (c *dirCache) sbom(key string) ([]byte, scancache.Key, bool) {
	var k scancache.Key
	raw, err := hex.DecodeString(key)
	if err != nil || len(raw) != len(k) {
		return nil, k, false
	}
	copy(k[:], raw)
	v, ok := c.store.Get(nsSBOM, k)
	if !ok || sha256.Sum256(v) != k {
		return nil, k, false
	}
	return v, k, true
}

// packages is the package count recorded for the SBOM k; false when none
// decodes.
func (c *dirCache) packages(k scancache.Key) (int, bool) {
	v, ok := c.store.Get(nsInfo, k)
	if !ok {
		return 0, false
	}
	var e infoEntry
	if json.Unmarshal(v, &e) != nil || e.Format != catalogFormat || e.Packages < 0 {
		return 0, false
	}
	return e.Packages, true
}

// put records the SBOM (syft JSON doc) of the tree with the reads of its
// catalogers.
func (c *dirCache) put(doc []byte, packages int, r reads) scancache.Key {
	k := scancache.Key(sha256.Sum256(doc))
	c.store.Put(nsSBOM, k, doc)
	c.store.Put(nsInfo, k, mustJSON(infoEntry{Format: catalogFormat, Packages: packages}))
	c.store.Put(nsTree, c.treeKey(), mustJSON(treeEntry{Format: catalogFormat, SBOM: k.String()}))
	c.store.Put(nsBase, c.baseKey(), mustJSON(baseEntry{Format: catalogFormat, SBOM: k.String(), Entries: c.t.entries, Reads: r}))
	return k
}

// decode reads an SBOM's syft JSON back, as catalogued from c.abs: the
// directory's path must be the one catalogued, and the base symlinks resolve
// against (which syft JSON does not carry) is set again.
func (c *dirCache) decode(doc []byte) (*sbom.SBOM, error) {
	s, _, _, err := syftjson.NewFormatDecoder().Decode(bytes.NewReader(doc))
	if err != nil {
		return nil, err
	}
	m, ok := s.Source.Metadata.(source.DirectoryMetadata)
	if !ok || m.Path != c.abs || s.Artifacts.Packages == nil {
		return nil, errors.New("the cached SBOM is not of this directory")
	}
	m.Base = c.abs
	s.Source.Metadata = m
	return s, nil
}

// catalog catalogues the directory through src, recording what the
// catalogers read, and stores the result. The SBOM returned is the one a
// later run reads back from the cache (syft JSON, decoded), so a warm run and
// a cold one hand the scanners the same catalog.
func (c *dirCache) catalog(ctx context.Context, src source.Source, b *budget, o Options) (*Result, error) {
	rec := newRecorder()
	s, err := create(ctx, recordingSource{Source: src, rec: rec}, b, o)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := syftjson.NewFormatEncoder().Encode(&buf, *s); err != nil {
		return nil, errkind.Infra(fmt.Errorf("encoding the catalog: %w", err))
	}
	out, err := c.decode(buf.Bytes())
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("reading the catalog back: %w", err))
	}
	n := out.Artifacts.Packages.PackageCount()
	k := c.put(buf.Bytes(), n, rec.reads())
	return &Result{SBOM: out, Packages: n, digest: k, hasDigest: true}, nil
}

// cachedDirectory is Directory with o.Cache: the tree t (walked) is hashed,
// then catalogued only when the cache holds no catalog it can reuse. A
// catalog taken from the cache is decoded now, or with o.LazySBOM (and its
// package count cached) when Result.Load first needs it.
func cachedDirectory(ctx context.Context, abs, name string, t *tree, b *budget, o Options) (*Result, error) {
	src, err := directorysource.New(directorysource.Config{Path: abs, Base: abs, Alias: source.Alias{Name: name}})
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("path %q: %w", abs, err))
	}
	prefix, ok := prefixOf(abs, name)
	if !ok || t.hash(ctx, abs) != nil {
		if ctx.Err() != nil {
			return nil, timeoutError(o)
		}
		s, err := create(ctx, src, b, o) // cannot tell what changed: no cache
		if err != nil {
			return nil, err
		}
		return &Result{SBOM: s, Packages: s.Artifacts.Packages.PackageCount()}, nil
	}
	c := &dirCache{store: o.Cache, prefix: prefix, abs: abs, t: t}
	if doc, k, ok := c.lookup(); ok {
		if n, ok := c.packages(k); ok && o.LazySBOM {
			return &Result{Packages: n, Cached: true, digest: k, hasDigest: true, lazy: &lazySBOM{decode: func() (*sbom.SBOM, error) {
				return c.decode(doc)
			}}}, nil
		}
		if s, err := c.decode(doc); err == nil {
			return &Result{SBOM: s, Packages: s.Artifacts.Packages.PackageCount(), Cached: true, digest: k, hasDigest: true}, nil
		}
	}
	return c.catalog(ctx, src, b, o)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

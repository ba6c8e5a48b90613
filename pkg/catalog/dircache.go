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
//     which a changed tree whose changes they could not see reuses the SBOM.
const (
	nsSBOM        = "catalog-sbom"
	nsTree        = "catalog-tree"
	nsBase        = "catalog-base"
	catalogFormat = "catalog-dir/v1"
)

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
	k := scancache.KeyOf([]byte(catalogFormat), []byte(moduleVersions()), cfg, []byte(abs), []byte(name))
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

// lookup returns the cached SBOM of the tree: the one of this exact tree, or
// that of the last tree catalogued when none of the changes since could be
// seen by its catalogers (tree.relevant). Any entry that does not decode is a
// miss.
func (c *dirCache) lookup() (*sbom.SBOM, bool) {
	if v, ok := c.store.Get(nsTree, c.treeKey()); ok {
		var e treeEntry
		if json.Unmarshal(v, &e) == nil && e.Format == catalogFormat {
			if s, ok := c.sbom(e.SBOM); ok {
				return s, true
			}
		}
	}
	v, ok := c.store.Get(nsBase, c.baseKey())
	if !ok {
		return nil, false
	}
	var b baseEntry
	if json.Unmarshal(v, &b) != nil || b.Format != catalogFormat || b.Entries == nil {
		return nil, false
	}
	if c.t.relevant(c.abs, b.Entries, c.t.changed(b.Entries), b.Reads) {
		return nil, false
	}
	s, ok := c.sbom(b.SBOM)
	if !ok {
		return nil, false
	}
	// this tree's own entries, and the base moves on to it: its catalogers
	// would have read exactly what they read before
	c.store.Put(nsTree, c.treeKey(), mustJSON(treeEntry{Format: catalogFormat, SBOM: b.SBOM}))
	b.Entries = c.t.entries
	c.store.Put(nsBase, c.baseKey(), mustJSON(b))
	return s, true
}

// sbom reads the SBOM stored under key (hex SHA-256 of its syft JSON).
func (c *dirCache) sbom(key string) (*sbom.SBOM, bool) {
	var k scancache.Key
	raw, err := hex.DecodeString(key)
	if err != nil || len(raw) != len(k) {
		return nil, false
	}
	copy(k[:], raw)
	v, ok := c.store.Get(nsSBOM, k)
	if !ok || sha256.Sum256(v) != k {
		return nil, false
	}
	s, err := c.decode(v)
	return s, err == nil
}

// put records the SBOM (syft JSON doc) of the tree with the reads of its
// catalogers.
func (c *dirCache) put(doc []byte, r reads) {
	k := scancache.Key(sha256.Sum256(doc))
	c.store.Put(nsSBOM, k, doc)
	c.store.Put(nsTree, c.treeKey(), mustJSON(treeEntry{Format: catalogFormat, SBOM: k.String()}))
	c.store.Put(nsBase, c.baseKey(), mustJSON(baseEntry{Format: catalogFormat, SBOM: k.String(), Entries: c.t.entries, Reads: r}))
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
func (c *dirCache) catalog(ctx context.Context, src source.Source, b *budget, o Options) (*sbom.SBOM, error) {
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
	c.put(buf.Bytes(), rec.reads())
	return out, nil
}

// cachedDirectory is Directory with o.Cache: the tree t (walked) is hashed,
// then catalogued only when the cache holds no catalog it can reuse.
// cached says the SBOM came from the cache.
func cachedDirectory(ctx context.Context, abs, name string, t *tree, b *budget, o Options) (s *sbom.SBOM, cached bool, err error) {
	src, err := directorysource.New(directorysource.Config{Path: abs, Base: abs, Alias: source.Alias{Name: name}})
	if err != nil {
		return nil, false, errkind.Input(fmt.Errorf("path %q: %w", abs, err))
	}
	prefix, ok := prefixOf(abs, name)
	if !ok || t.hash(ctx, abs) != nil {
		if ctx.Err() != nil {
			return nil, false, timeoutError(o)
		}
		s, err := create(ctx, src, b, o) // cannot tell what changed: no cache
		return s, false, err
	}
	c := &dirCache{store: o.Cache, prefix: prefix, abs: abs, t: t}
	if s, ok := c.lookup(); ok {
		return s, true, nil
	}
	s, err = c.catalog(ctx, src, b, o)
	return s, false, err
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

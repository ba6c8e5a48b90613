package scan

import (
	"bytes"
	"encoding/json"

	"github.com/anchore/syft/syft/sbom"

	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
	"github.com/secure-gates/secure-gates/pkg/scancache"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

// licenseNS is the license cache's namespace in a scancache.Store, and
// licenseFormat the version of its entries and key: a change of either, or
// of what license.Check makes of the same SBOM and options, changes
// licenseFormat.
const (
	licenseNS     = "license"
	licenseFormat = "scan-license/v1"
)

// licenseEntry is a license cache entry: the findings license.Check made.
type licenseEntry struct {
	Format   string            `json:"format"`
	Findings []finding.Finding `json:"findings"`
}

// licenseKey is the cache key of the license check of the catalog c with o:
// the catalog's digest (its syft JSON: the packages, their licenses and
// locations, the directory), the check's options, and the build of
// secure-gates (scancache.Build: the code that decodes the catalog and
// checks it, syft and go-spdx included). Exceptions are applied to the
// findings afterwards and are not part of it. Not cacheable without a
// catalog digest.
func licenseKey(c *catalog.Result, o license.Options) (scancache.Key, bool) {
	d, ok := c.Digest()
	if !ok {
		return scancache.Key{}, false
	}
	opts, err := json.Marshal(o)
	if err != nil {
		return scancache.Key{}, false
	}
	return scancache.KeyOf([]byte(licenseFormat), []byte(LicenseVersion), []byte(scancache.Build()), d[:], opts), true
}

// checkLicenses is license.Check on the catalog, its findings taken from the
// cache when the same catalog was checked with the same options before (the
// catalog is then not decoded), and stored there otherwise. An entry that
// does not decode, or holds findings of another scanner, is a miss.
func (t *target) checkLicenses() ([]finding.Finding, error) {
	k, cacheable := licenseKey(t.cat, t.o.License)
	cacheable = cacheable && t.o.Cache != nil
	if cacheable {
		if v, ok := t.o.Cache.Get(licenseNS, k); ok {
			if fs, ok := decodeLicenseEntry(v); ok {
				return fs, nil
			}
		}
	}
	s, err := t.sbom().Load()
	if err != nil {
		return nil, err
	}
	fs, err := license.Check(s, t.o.License)
	if err != nil {
		return nil, err
	}
	if cacheable {
		if v, err := json.Marshal(licenseEntry{Format: licenseFormat, Findings: fs}); err == nil {
			t.o.Cache.Put(licenseNS, k, v)
		}
	}
	return fs, nil
}

func decodeLicenseEntry(v []byte) ([]finding.Finding, bool) {
	var e licenseEntry
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if dec.Decode(&e) != nil || e.Format != licenseFormat {
		return nil, false
	}
	for _, f := range e.Findings {
		if f.Scanner != license.Scanner || f.Waived != nil {
			return nil, false
		}
	}
	return e.Findings, true
}

// countedCatalog is the tree's catalog, counting the scanners' loads of its
// SBOM (tests tell a warm run that decoded nothing by it).
type countedCatalog struct{ t *target }

// Load returns the catalog's SBOM (catalog.Result.Load).
func (c countedCatalog) Load() (*sbom.SBOM, error) {
	c.t.sbomLoads.Add(1)
	return c.t.cat.Load()
}

// Digest is the catalog's digest (catalog.Result.Digest).
func (c countedCatalog) Digest() (scancache.Key, bool) { return c.t.cat.Digest() }

var _ vulndb.Catalog = countedCatalog{}

// sbom is the tree's catalog as the scanners read it.
func (t *target) sbom() countedCatalog { return countedCatalog{t} }

package catalog

import (
	"errors"
	"fmt"
	"sync"

	"github.com/anchore/syft/syft/sbom"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// lazySBOM is a cached catalog not decoded yet (Options.LazySBOM).
type lazySBOM struct {
	once   sync.Once
	decode func() (*sbom.SBOM, error)
	s      *sbom.SBOM
	err    error
}

// Load returns the catalog: Result.SBOM, or the cached catalog that
// Options.LazySBOM left undecoded, decoded on the first call. It is safe for
// concurrent use. A cached catalog that does not decode (it decoded when it
// was stored, and its content is checked against its digest) is an
// errkind.Infra error: the cache is not what this program wrote.
func (r *Result) Load() (*sbom.SBOM, error) {
	if r.lazy == nil {
		if r.SBOM == nil {
			return nil, errkind.Input(errors.New("no SBOM (catalog the source first)"))
		}
		return r.SBOM, nil
	}
	r.lazy.once.Do(func() {
		r.lazy.s, r.lazy.err = r.lazy.decode()
		if r.lazy.err != nil {
			r.lazy.err = errkind.Infra(fmt.Errorf("decoding the cached catalog %s (delete the scan cache): %w", r.digest, r.lazy.err))
		}
	})
	return r.lazy.s, r.lazy.err
}

// Digest identifies the catalog of a directory catalogued with
// Options.Cache without decoding it: the SHA-256 of the syft JSON it is
// stored as, which Load decodes. Equal digests are equal catalogs (of the
// same directory path: the document records it). false when the catalog was
// not made or taken through the cache.
func (r *Result) Digest() (scancache.Key, bool) {
	return r.digest, r.hasDigest
}

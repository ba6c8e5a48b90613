package catalog

import (
	"bytes"
	"testing"

	"github.com/anchore/syft/syft/format/syftjson"
	"github.com/anchore/syft/syft/sbom"
)

// SyftJSON encodes s as syft JSON, the form the cache stores a catalog in, for
// the tests inside and outside the package to compare catalogs byte for byte.
func SyftJSON(t testing.TB, s *sbom.SBOM) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := syftjson.NewFormatEncoder().Encode(&buf, *s); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

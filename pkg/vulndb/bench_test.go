package vulndb

import (
	"context"
	"fmt"
	"testing"

	"github.com/anchore/syft/syft/file"
	syftpkg "github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// BenchmarkLoad measures opening and validating the DB (checksum included).
func BenchmarkLoad(b *testing.B) {
	root := testinfra.GrypeDB(b)
	for b.Loop() {
		db, err := Load(context.Background(), Options{DBDir: root})
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}

// BenchmarkMatch measures matching a synthetic SBOM of 3,000 npm packages (the
// size of a large service) — including the in-memory hand-over of the SBOM to
// grype's reader (packagesOf), reported separately by BenchmarkPackagesOf.
func BenchmarkMatch(b *testing.B) {
	s := syntheticSBOM(3000)
	db, err := Load(context.Background(), Options{DBDir: testinfra.GrypeDB(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for b.Loop() {
		if _, err := db.Match(context.Background(), s, MatchOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPackagesOf measures the SBOM hand-over alone.
func BenchmarkPackagesOf(b *testing.B) {
	s := syntheticSBOM(3000)
	for b.Loop() {
		doc, err := encodeSBOM(s)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := packagesOf(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func syntheticSBOM(n int) *sbom.SBOM {
	c := syftpkg.NewCollection()
	for i := range n {
		p := syftpkg.Package{
			Name: fmt.Sprintf("pkg-%d", i), Version: "1.0.0", Type: syftpkg.NpmPkg, Language: syftpkg.JavaScript,
			PURL:      fmt.Sprintf("pkg:npm/pkg-%d@1.0.0", i),
			Locations: file.NewLocationSet(file.NewLocation("/package-lock.json")),
		}
		p.SetID()
		c.Add(p)
	}
	return &sbom.SBOM{Artifacts: sbom.Artifacts{Packages: c}}
}

package license_test

import (
	"testing"

	"github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
)

// FuzzCheck: license strings come from package metadata (untrusted). Any
// string yields at most a denied/not-allowed finding plus an unknown one,
// never a panic, and a package with a license string always gets a verdict.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"MIT", "MIT OR GPL-3.0-only", "(MIT AND BSD-3-Clause) OR Apache-2.0", "GPL-2.0+", "LicenseRef-x",
		"SEE LICENSE IN x", "((((", "MIT WITH Classpath-exception-2.0", "mit or apache-2.0", "DocumentRef-a:LicenseRef-b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s := &sbom.SBOM{Artifacts: sbom.Artifacts{Packages: pkg.NewCollection(pkg.Package{
			Name: "p", Version: "1", PURL: "pkg:npm/p@1", Type: pkg.NpmPkg,
			Licenses:  pkg.NewLicenseSet(pkg.License{Value: expr, SPDXExpression: expr}),
			Locations: file.NewLocationSet(file.NewLocation("/package-lock.json")),
		})}}
		fs, err := license.Check(s, license.Options{Allow: []string{"MIT"}, Deny: []string{"GPL-3.0-only"}, Unknown: "fail"})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) > 2 {
			t.Fatalf("%d findings for one package", len(fs))
		}
		for _, f := range fs {
			if f.Severity != finding.High || len(f.Message) > 1000 {
				t.Fatalf("finding %+v", f)
			}
		}
	})
}

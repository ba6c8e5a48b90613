package license_test

import (
	"fmt"

	"github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"

	"github.com/secure-gates/secure-gates/pkg/scan/license"
)

func ExampleCheck() {
	lock := file.NewLocationSet(file.NewLocation("/package-lock.json"))
	s := &sbom.SBOM{Artifacts: sbom.Artifacts{Packages: pkg.NewCollection(
		pkg.Package{Name: "left-pad", Version: "1.3.0", PURL: "pkg:npm/left-pad@1.3.0", Type: pkg.NpmPkg,
			Licenses: pkg.NewLicenseSet(pkg.NewLicense("WTFPL")), Locations: lock},
		pkg.Package{Name: "dual", Version: "2.0.0", PURL: "pkg:npm/dual@2.0.0", Type: pkg.NpmPkg,
			Licenses: pkg.NewLicenseSet(pkg.NewLicense("MIT OR GPL-3.0-only")), Locations: lock},
		pkg.Package{Name: "copyleft", Version: "1.0.0", PURL: "pkg:npm/copyleft@1.0.0", Type: pkg.NpmPkg,
			Licenses: pkg.NewLicenseSet(pkg.NewLicense("GPL-3.0-only")), Locations: lock},
		pkg.Package{Name: "mystery", Version: "0.1.0", PURL: "pkg:npm/mystery@0.1.0", Type: pkg.NpmPkg, Locations: lock},
	)}}
	findings, err := license.Check(s, license.Options{
		Allow: []string{"MIT", "Apache-2.0"},
		Deny:  []string{"GPL-3.0-only"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range findings {
		fmt.Println(f.Severity, f.RuleID, f.PURL, f.Aliases)
	}
	// Output:
	// high license-denied pkg:npm/copyleft@1.0.0 [GPL-3.0-only]
	// high license-not-allowed pkg:npm/left-pad@1.3.0 [WTFPL]
	// low license-unknown pkg:npm/mystery@0.1.0 []
}

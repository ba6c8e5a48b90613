package finding_test

import (
	"testing"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/finding/findingtest"
)

// TestPURLMatches is the one table of the purl scope rule both gates apply
// (findingtest holds it; pkg/exceptions and pkg/verify run it through their own entry points).
// Changed when the table became shared: a scope written "PKG:…" covered here
// while neither gate read such a scope as a package URL (the exceptions file
// took it for a path glob, the deploy gate refused it), and a VEX product
// "PKG:…" counted as a package; now no "PKG:" scope covers anything, so all
// agree and none waives more than before.
func TestPURLMatches(t *testing.T) {
	t.Parallel()
	for _, tt := range findingtest.PURLScopeCases(t) {
		if got := finding.PURLMatches(tt.Scope, tt.PURL); got != tt.Covers {
			t.Errorf("%s: PURLMatches(%q, %q) = %v, want %v", tt.Name, tt.Scope, tt.PURL, got, tt.Covers)
		}
		// A scope the gates do not read as a package URL covers nothing.
		if tt.Covers && !finding.IsPURLScope(tt.Scope) {
			t.Errorf("%s: %q covers but is not a purl scope", tt.Name, tt.Scope)
		}
	}
}

func FuzzPURLMatches(f *testing.F) {
	f.Add("pkg:deb/debian/openssl@3.0.11", "pkg:deb/debian/openssl@3.0.11?arch=amd64")
	f.Add("pkg:npm/%40angular/core", "pkg:npm/%40angular/core@17.0.0#sub")
	f.Add("pkg:", "")
	f.Fuzz(func(t *testing.T, scope, purl string) {
		got := finding.PURLMatches(scope, purl)
		if got && !finding.PURLMatches(scope, purl) {
			t.Fatal("not deterministic")
		}
		// A valid purl always covers itself.
		if _, err := finding.ParsePURLScope(purl); err == nil && !finding.PURLMatches(purl, purl) {
			t.Fatalf("%q does not cover itself", purl)
		}
	})
}

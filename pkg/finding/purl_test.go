package finding_test

import (
	"testing"

	"github.com/secure-gates/secure-gates/pkg/finding"
)

// TestPURLMatches is the one table of the purl scope rule both gates apply.
func TestPURLMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, scope, purl string
		want              bool
	}{
		{"no version covers every version", "pkg:npm/lodash", "pkg:npm/lodash@4.17.20", true},
		{"same version", "pkg:npm/lodash@4.17.20", "pkg:npm/lodash@4.17.20", true},
		{"other version", "pkg:npm/lodash@4.17.21", "pkg:npm/lodash@4.17.20", false},
		{"version is not a prefix", "pkg:npm/lodash@4.17", "pkg:npm/lodash@4.17.20", false},
		{"name is not a prefix", "pkg:npm/lodash", "pkg:npm/lodash-es@4.17.20", false},
		{"issue 13: finding qualifiers beyond the scope's", "pkg:deb/debian/openssl@3.0.11", "pkg:deb/debian/openssl@3.0.11?arch=amd64", true},
		{"no version, finding with qualifiers", "pkg:deb/debian/openssl", "pkg:deb/debian/openssl@3.0.11?arch=amd64&distro=debian-12", true},
		{"scope qualifier present in the finding", "pkg:deb/debian/openssl?arch=amd64", "pkg:deb/debian/openssl@3.0.11?distro=debian-12&arch=amd64", true},
		{"scope qualifier with another value", "pkg:deb/debian/openssl?arch=arm64", "pkg:deb/debian/openssl@3.0.11?arch=amd64", false},
		{"scope qualifier missing from the finding", "pkg:deb/debian/openssl@3.0.11?arch=amd64", "pkg:deb/debian/openssl@3.0.11", false},
		{"qualifier keys are case-insensitive", "pkg:deb/debian/openssl?ARCH=amd64", "pkg:deb/debian/openssl@3.0.11?arch=amd64", true},
		{"qualifier values are not", "pkg:deb/debian/openssl?arch=AMD64", "pkg:deb/debian/openssl@3.0.11?arch=amd64", false},
		{"other namespace", "pkg:deb/ubuntu/openssl", "pkg:deb/debian/openssl@3.0.11", false},
		{"missing namespace is not a wildcard", "pkg:maven/log4j-core", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", false},
		{"other type", "pkg:rpm/debian/openssl", "pkg:deb/debian/openssl@3.0.11", false},
		{"type is case-insensitive", "pkg:DEB/debian/openssl", "pkg:deb/debian/openssl@3.0.11", true},
		{"deb names are case-insensitive", "pkg:deb/Debian/OpenSSL", "pkg:deb/debian/openssl@3.0.11", true},
		{"maven names are case-sensitive", "pkg:maven/org.apache.logging.log4j/Log4j-Core", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", false},
		{"pypi normalizes _ and case", "pkg:pypi/Django_Rest", "pkg:pypi/django-rest@1.0", true},
		{"percent-encoded scope", "pkg:npm/%40angular/core", "pkg:npm/%40angular/core@17.0.0", true},
		{"percent-encoded finding", "pkg:golang/golang.org/x/text", "pkg:golang/golang.org%2Fx/text@v0.3.7", true},
		{"encoded version", "pkg:deb/debian/openssl@1%3A3.0.11", "pkg:deb/debian/openssl@1:3.0.11", true},
		{"encoded slash does not split a name", "pkg:npm/a%2Fb", "pkg:npm/a/b@1", false},
		{"subpath in the scope must match", "pkg:golang/example.com/m#sub", "pkg:golang/example.com/m@v1#other", false},
		{"subpath equal", "pkg:golang/example.com/m#sub", "pkg:golang/example.com/m@v1#sub", true},
		{"empty finding purl", "pkg:npm/lodash", "", false},
		{"unparsable finding purl", "pkg:npm/lodash", "pkg:", false},
		{"unparsable scope", "pkg:", "pkg:npm/lodash@1", false},
		{"not a purl", "lodash", "pkg:npm/lodash@1", false},
		{"scheme is case-insensitive", "PKG:npm/lodash", "pkg:npm/lodash@1", true},
	}
	for _, tt := range tests {
		if got := finding.PURLMatches(tt.scope, tt.purl); got != tt.want {
			t.Errorf("%s: PURLMatches(%q, %q) = %v, want %v", tt.name, tt.scope, tt.purl, got, tt.want)
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

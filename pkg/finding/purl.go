package finding

import (
	"fmt"
	"strings"

	packageurl "github.com/package-url/packageurl-go"
)

// IsPURLScope reports whether a waiver's scope is meant as a package URL
// (rather than an image repository or a path glob): it starts with "pkg:",
// the scheme in lower case as the purl specification writes it. Every gate
// decides the kind of a scope with it.
func IsPURLScope(scope string) bool { return strings.HasPrefix(scope, "pkg:") }

// ParsePURLScope checks that scope is a package URL an exception may be
// scoped to (IsPURLScope, parses, names a package), and returns it parsed
// and normalized (see PURLMatches).
func ParsePURLScope(scope string) (packageurl.PackageURL, error) {
	if !IsPURLScope(scope) {
		return packageurl.PackageURL{}, fmt.Errorf("scope %q is not a valid package URL: it must start with pkg: (in lower case)", scope)
	}
	p, err := packageurl.FromString(scope)
	if err != nil {
		return packageurl.PackageURL{}, fmt.Errorf("scope %q is not a valid package URL: %w", scope, err)
	}
	if p.Name == "" {
		return packageurl.PackageURL{}, fmt.Errorf("scope %q is not a valid package URL: it names no package", scope)
	}
	return p, nil
}

// PURLMatches is the one rule by which a waiver's package-URL scope covers a
// finding's package URL; the scan gate (pkg/exceptions) and the deploy gate
// (pkg/verify) both use it, so the same exception means the same at both.
//
// Both are parsed and normalized with github.com/package-url/packageurl-go
// (percent-decoding; the type lower-cased; namespace and name lower-cased
// where the purl specification says the type is case-insensitive: deb, rpm,
// apk, golang, github, pypi, ...). Then the scope covers the finding when:
//
//   - type, namespace and name are equal;
//   - the scope has no version, or the versions are equal (exactly: no ranges,
//     no prefixes);
//   - every qualifier of the scope is a qualifier of the finding with the same
//     value: the scope's qualifiers are a subset (pkg:deb/debian/openssl@3.0.11
//     covers pkg:deb/debian/openssl@3.0.11?arch=amd64; …?arch=arm64 does not
//     cover …?arch=amd64);
//   - the scope has no subpath, or the subpaths are equal.
//
// A scope that is not a valid scope (ParsePURLScope: "PKG:…" included) or a
// finding purl that does not parse covers nothing: the finding stays
// present. findingtest/purl-scopes.json is the table of this rule that
// pkg/exceptions and pkg/verify run through their own entry points too.
func PURLMatches(scope, purl string) bool {
	if scope == "" || purl == "" {
		return false
	}
	s, err := ParsePURLScope(scope)
	if err != nil {
		return false
	}
	f, err := packageurl.FromString(purl)
	if err != nil {
		return false
	}
	if s.Type != f.Type || s.Namespace != f.Namespace || s.Name != f.Name {
		return false
	}
	if s.Version != "" && s.Version != f.Version {
		return false
	}
	if s.Subpath != "" && s.Subpath != f.Subpath {
		return false
	}
	have := f.Qualifiers.Map()
	for _, q := range s.Qualifiers {
		if v, ok := have[q.Key]; !ok || v != q.Value {
			return false
		}
	}
	return true
}

// Package findingtest holds the test tables of pkg/finding's rules that other
// packages' tests run through their own entry points, so every owner of a
// waiver checks the one rule with the same cases.
package findingtest

import (
	_ "embed"
	"encoding/json"
	"testing"
)

//go:embed purl-scopes.json
var purlScopes []byte

// PURLScopeCase is one row of the package-URL scope table: does a waiver
// scoped to Scope cover a finding whose package URL is PURL?
type PURLScopeCase struct {
	Name   string `json:"name"`
	Scope  string `json:"scope"`
	PURL   string `json:"purl"`
	Covers bool   `json:"covers"`
}

// PURLScopeCases returns the table of finding.PURLMatches
// (purl-scopes.json): qualifiers, versions, namespaces, subpaths, case,
// encodings, globs.
func PURLScopeCases(t testing.TB) []PURLScopeCase {
	t.Helper()
	var table struct{ Cases []PURLScopeCase }
	if err := json.Unmarshal(purlScopes, &table); err != nil || len(table.Cases) < 40 {
		t.Fatalf("reading purl-scopes.json: %v (%d cases)", err, len(table.Cases))
	}
	return table.Cases
}

package scan

import (
	"bytes"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
)

// TestLicenseCacheKeyedByPolicy: a warm scan of an unchanged tree whose
// license policy changed checks the licenses again (it loads the catalog's
// SBOM and stores new findings) and writes what a cold scan with that policy
// writes; a changed exceptions file reuses the cached findings (exceptions
// are applied to them on every run) and writes what a cold scan writes too.
func TestLicenseCacheKeyedByPolicy(t *testing.T) {
	db := testinfra.GrypeDB(t)
	base := license.Options{Deny: []string{"GPL-3.0-only"}, Unknown: license.UnknownWarn}
	waiveGPL, err := exceptions.Parse([]byte(`exceptions:
  - id: GPL-3.0-only
    scope: "pkg:npm/gpl-widget"
    reason: legal approved the widget
    ticket: LEGAL-1
    expires: 2027-01-01
`), fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		license license.Options
		ex      *exceptions.Set
		checked bool // the warm scan checked the licenses again
	}{
		{"unchanged", base, nil, false},
		{"deny list changed", license.Options{Deny: []string{"MIT"}, Unknown: license.UnknownWarn}, nil, true},
		{"allow list set", license.Options{Allow: []string{"MIT"}, Unknown: license.UnknownWarn}, nil, true},
		{"unknown policy changed", license.Options{Deny: []string{"GPL-3.0-only"}, Unknown: license.UnknownFail}, nil, true},
		{"exception added", base, waiveGPL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := testinfra.NewScanFixture(t)
			store := &countingStore{}
			o := Options{Root: fx.Dir, Deps: DepsOptions{DBDir: db}, Cache: store, Now: clock, License: base}
			first, _, err := depsScanLoads(t, o)
			if err != nil {
				t.Fatal(err)
			}
			checks := store.count(licenseNS)
			o.License, o.Exceptions = tc.license, tc.ex
			warm, decoded, err := depsScanLoads(t, o)
			if err != nil {
				t.Fatal(err)
			}
			o.Cache = nil
			cold, _, err := depsScanLoads(t, o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(warm, cold) {
				t.Errorf("the warm scan wrote other outputs than a scan without the cache:\nwarm:\n%s\ncold:\n%s", warm, cold)
			}
			if got := store.count(licenseNS) > checks; got != tc.checked {
				t.Errorf("the warm scan checked the licenses again: %v, want %v", got, tc.checked)
			}
			if decoded != tc.checked {
				t.Errorf("the warm scan decoded the catalog's SBOM: %v, want %v", decoded, tc.checked)
			}
			if changed := !bytes.Equal(cold, first); changed != (tc.name != "unchanged") {
				t.Errorf("the change changed the outputs: %v", changed)
			}
		})
	}
}

package scan

import (
	"bytes"
	"strings"
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

// TestLicenseCacheUntrusted: a license cache entry that does not decode, is
// of another format, carries unknown fields, findings of another scanner or
// findings already waived is a miss: the licenses are checked again and the
// scan writes what a cold scan writes.
func TestLicenseCacheUntrusted(t *testing.T) {
	db := testinfra.GrypeDB(t)
	fx := testinfra.NewScanFixture(t)
	o := Options{Root: fx.Dir, Deps: DepsOptions{DBDir: db}, Now: clock,
		License: license.Options{Deny: []string{"GPL-3.0-only"}, Unknown: license.UnknownWarn}}
	cold, _, err := depsScanLoads(t, o)
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{}
	o.Cache = store
	if _, _, err := depsScanLoads(t, o); err != nil {
		t.Fatal(err)
	}
	good, ok := store.Get(licenseNS, store.keys[licenseNS][0])
	if !ok {
		t.Fatal("no license entry stored")
	}
	for name, bad := range map[string]string{
		"garbage":        `{garbage`,
		"other format":   strings.Replace(string(good), licenseFormat, "scan-license/v0", 1),
		"unknown field":  strings.Replace(string(good), `{"format"`, `{"extra":1,"format"`, 1),
		"other scanner":  strings.ReplaceAll(string(good), `"scanner":"license"`, `"scanner":"deps"`),
		"already waived": strings.Replace(string(good), `"scanner":"license",`, `"scanner":"license","waived":{"kind":"exceptions-file","id":"x","reason":"r"},`, 1),
	} {
		if bad == string(good) {
			t.Fatalf("%s: the entry was not changed", name)
		}
		store.Memory.Put(licenseNS, store.keys[licenseNS][0], []byte(bad))
		checks := store.count(licenseNS)
		warm, decoded, err := depsScanLoads(t, o)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(warm, cold) || !decoded || store.count(licenseNS) == checks {
			t.Errorf("%s: the entry was trusted (decoded %v, checked again %v)", name, decoded, store.count(licenseNS) > checks)
		}
	}
}

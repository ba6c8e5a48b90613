package license_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source/directorysource"
	_ "modernc.org/sqlite" // syft's RPM cataloger needs a registered sqlite driver

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
)

// packageLock holds one MIT, one GPL-3.0, one dual-licensed, one package with
// a license that is not SPDX, and one without a license.
const packageLock = `{
  "name": "fixture",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "fixture", "version": "1.0.0", "license": "MIT",
         "dependencies": {"lodash": "4.17.20", "gpl-thing": "1.0.0", "dual-thing": "2.0.0", "odd-thing": "0.1.0", "bare-thing": "0.0.1"}},
    "node_modules/lodash": {"version": "4.17.20", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz", "integrity": "sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA==", "license": "MIT"},
    "node_modules/gpl-thing": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/gpl-thing/-/gpl-thing-1.0.0.tgz", "integrity": "sha512-AAAA", "license": "GPL-3.0"},
    "node_modules/dual-thing": {"version": "2.0.0", "resolved": "https://registry.npmjs.org/dual-thing/-/dual-thing-2.0.0.tgz", "integrity": "sha512-BBBB", "license": "MIT OR GPL-3.0-only"},
    "node_modules/odd-thing": {"version": "0.1.0", "resolved": "https://registry.npmjs.org/odd-thing/-/odd-thing-0.1.0.tgz", "integrity": "sha512-CCCC", "license": "SEE LICENSE IN LICENSE.txt"},
    "node_modules/bare-thing": {"version": "0.0.1", "resolved": "https://registry.npmjs.org/bare-thing/-/bare-thing-0.0.1.tgz", "integrity": "sha512-DDDD"}
  }
}
`

const goMod = `module example.com/fixture

go 1.22

require golang.org/x/text v0.3.7
`

// fixtureCatalog catalogs a small directory with syft, once per test binary.
var fixtureCatalog = sync.OnceValues(func() (*sbom.SBOM, error) {
	dir, err := os.MkdirTemp("", "license-fixture")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, body := range map[string]string{"package-lock.json": packageLock, "go.mod": goMod} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	src, err := directorysource.NewFromPath(dir)
	if err != nil {
		return nil, err
	}
	return syft.CreateSBOM(context.Background(), src, syft.DefaultCreateSBOMConfig().WithoutFiles())
})

// fixtureSBOM is fixtureCatalog's SBOM; an error fails t.
func fixtureSBOM(t *testing.T) *sbom.SBOM {
	t.Helper()
	s, err := fixtureCatalog()
	if err != nil {
		t.Fatalf("building the fixture SBOM with syft: %v", err)
	}
	return s
}

// brief is the part of a finding the tests compare.
type brief struct {
	Rule, Package string
	Severity      finding.Severity
	Aliases       string
	Path          string
}

func briefs(fs []finding.Finding) []brief {
	var out []brief
	for _, f := range fs {
		out = append(out, brief{f.RuleID, f.Package, f.Severity, strings.Join(f.Aliases, ","), f.Path})
	}
	slices.SortFunc(out, func(a, b brief) int { return strings.Compare(a.Package+a.Rule, b.Package+b.Rule) })
	return out
}

func TestCheck(t *testing.T) {
	t.Parallel()
	s := fixtureSBOM(t)
	unknownBare := brief{license.RuleUnknown, "bare-thing", finding.Low, "", "package-lock.json"}
	unknownOdd := brief{license.RuleUnknown, "odd-thing", finding.Low, "", "package-lock.json"}
	unknownText := brief{license.RuleUnknown, "golang.org/x/text", finding.Low, "", "go.mod"}
	tests := []struct {
		name string
		opts license.Options
		want []brief
	}{
		{"no lists: only unknowns", license.Options{}, []brief{unknownBare, unknownText, unknownOdd}},
		{"deny GPL-3.0-only: GPL denied, dual passes by choosing MIT",
			license.Options{Deny: []string{"GPL-3.0-only"}},
			[]brief{unknownBare, unknownText, {license.RuleDenied, "gpl-thing", finding.High, "GPL-3.0-only", "package-lock.json"}, unknownOdd}},
		{"deny GPL-3.0-or-later covers GPL-3.0 (syft normalises it to GPL-3.0-only)",
			license.Options{Deny: []string{"GPL-3.0-or-later"}},
			[]brief{unknownBare, unknownText, {license.RuleDenied, "gpl-thing", finding.High, "GPL-3.0-only", "package-lock.json"}, unknownOdd}},
		{"allow MIT only: GPL not allowed",
			license.Options{Allow: []string{"MIT"}, Unknown: "ignore"},
			[]brief{{license.RuleNotAllowed, "gpl-thing", finding.High, "GPL-3.0-only", "package-lock.json"}}},
		{"allow Apache only: every licensed package fails",
			license.Options{Allow: []string{"Apache-2.0"}, Unknown: "ignore"},
			[]brief{
				{license.RuleNotAllowed, "dual-thing", finding.High, "GPL-3.0-only,MIT", "package-lock.json"},
				{license.RuleNotAllowed, "fixture", finding.High, "MIT", "package-lock.json"},
				{license.RuleNotAllowed, "gpl-thing", finding.High, "GPL-3.0-only", "package-lock.json"},
				{license.RuleNotAllowed, "lodash", finding.High, "MIT", "package-lock.json"},
			}},
		{"deny wins over allow",
			license.Options{Allow: []string{"MIT", "GPL-3.0-only"}, Deny: []string{"MIT"}, Unknown: "ignore"},
			[]brief{{license.RuleDenied, "fixture", finding.High, "MIT", "package-lock.json"}, {license.RuleDenied, "lodash", finding.High, "MIT", "package-lock.json"}}},
		{"allow both: clean", license.Options{Allow: []string{"mit", "GPL-3.0-only"}, Unknown: "ignore"}, nil},
		{"unknown fail is high",
			license.Options{Unknown: "fail"},
			[]brief{
				{license.RuleUnknown, "bare-thing", finding.High, "", "package-lock.json"},
				{license.RuleUnknown, "golang.org/x/text", finding.High, "", "go.mod"},
				{license.RuleUnknown, "odd-thing", finding.High, "", "package-lock.json"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := license.Check(s, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := briefs(fs)
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n got  %+v\n want %+v", got, tt.want)
			}
			for _, f := range fs {
				if f.Scanner != license.Scanner || f.PURL == "" || f.Fingerprint == "" || f.Message == "" || f.Title == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}
		})
	}
}

func TestCheckFingerprintsStable(t *testing.T) {
	t.Parallel()
	s := fixtureSBOM(t)
	o := license.Options{Deny: []string{"GPL-3.0-only"}}
	a, err := license.Check(s, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := license.Check(s, o)
	seen := map[string]bool{}
	for i := range a {
		if a[i].Fingerprint != b[i].Fingerprint {
			t.Errorf("fingerprint of %s changed between runs", a[i].Package)
		}
		if seen[a[i].Fingerprint] {
			t.Errorf("duplicate fingerprint %s", a[i].Fingerprint)
		}
		seen[a[i].Fingerprint] = true
	}
}

func TestCheckGolden(t *testing.T) {
	t.Parallel()
	fs, err := license.Check(fixtureSBOM(t), license.Options{Deny: []string{"GPL-3.0-only"}, Allow: []string{"MIT", "GPL-3.0-only"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(fs, "", "  ")
	got = append(got, '\n')
	golden.Check(t, filepath.Join("testdata", "deny-gpl.golden.json"), got)
}

func TestCheckBadOptions(t *testing.T) {
	t.Parallel()
	s := fixtureSBOM(t)
	for _, o := range []license.Options{
		{Allow: []string{"Not-A-License"}},
		{Deny: []string{"MIT OR Apache-2.0"}},
		{Unknown: "maybe"},
	} {
		_, err := license.Check(s, o)
		if err == nil || errkind.Of(err) != errkind.KindInput {
			t.Errorf("Check(%+v) = %v, want an input error", o, err)
		}
	}
	if _, err := license.Check(nil, license.Options{}); err == nil || errkind.Of(err) != errkind.KindInput {
		t.Errorf("Check(nil) = %v, want an input error", err)
	}
}

package testinfra

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// SPDXSummary is what tests compare of an SPDX 2.3 JSON document.
type SPDXSummary struct {
	Version  string   // spdxVersion
	Packages []string // "name version" of every package but the document's root, sorted
	RootPURL string   // the package URL of the document's root (SPDXRef-DocumentRoot-…)
}

// ReadSPDX summarises the SPDX JSON document doc. A document that does not
// parse fails t.
func ReadSPDX(t testing.TB, doc []byte) SPDXSummary {
	t.Helper()
	var d struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			SPDXID       string `json:"SPDXID"`
			Name         string `json:"name"`
			Version      string `json:"versionInfo"`
			ExternalRefs []struct {
				Type    string `json:"referenceType"`
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("reading an SPDX document: %v", err)
	}
	s := SPDXSummary{Version: d.SPDXVersion}
	for _, p := range d.Packages {
		if !strings.HasPrefix(p.SPDXID, "SPDXRef-DocumentRoot-") {
			s.Packages = append(s.Packages, p.Name+" "+p.Version)
			continue
		}
		for _, r := range p.ExternalRefs {
			if r.Type == "purl" {
				s.RootPURL = r.Locator
			}
		}
	}
	slices.Sort(s.Packages)
	return s
}

package attestation

import (
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// The registry is a public contract (DESIGN.md, "Attestations"): these pairs
// must not change.
var contract = []struct{ name, uri string }{
	{"cyclonedx", "https://cyclonedx.org/bom"},
	{"spdx", "https://spdx.dev/Document"},
	{"vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"},
	{"slsaprovenance", "https://slsa.dev/provenance/v1"},
	{"vsa", "https://slsa.dev/verification_summary/v1"},
	{"code-scan", "https://secure-gates.dev/attestation/code-scan/v1"},
	{"threat-model", "https://secure-gates.dev/attestation/threat-model/v1"},
	{"exception", "https://secure-gates.dev/attestation/exception/v1"},
	{"assessment", "https://secure-gates.dev/attestation/assessment/v1"},
	{"vex", "https://openvex.dev/ns/v0.2.0"},
}

func TestRegistryContract(t *testing.T) {
	types := PredicateTypes()
	if len(types) != len(contract) {
		t.Fatalf("registry has %d types, contract %d", len(types), len(contract))
	}
	for i, c := range contract {
		if types[i].Name != c.name || types[i].URI != c.uri {
			t.Errorf("entry %d = %s %s, want %s %s", i, types[i].Name, types[i].URI, c.name, c.uri)
		}
		own := strings.HasPrefix(c.uri, "https://secure-gates.dev/")
		if types[i].Own != own {
			t.Errorf("%s: Own = %v, want %v", c.name, types[i].Own, own)
		}
	}
	types[0].URI = "changed"
	if PredicateTypes()[0].URI != contract[0].uri {
		t.Error("PredicateTypes returned the registry itself, not a copy")
	}
}

func TestResolveType(t *testing.T) {
	for _, c := range contract {
		for _, in := range []string{c.name, c.uri} {
			got, err := ResolveType(in)
			if err != nil || got != c.uri {
				t.Errorf("ResolveType(%q) = %q, %v; want %q", in, got, err, c.uri)
			}
		}
	}
	for _, in := range []string{"", "VULN", " vuln", "slsaprovenance1", "https://slsa.dev/provenance/v0.2", "https://cyclonedx.org/bom/", "custom"} {
		_, err := ResolveType(in)
		if err == nil {
			t.Errorf("ResolveType(%q) succeeded", in)
			continue
		}
		for _, c := range contract {
			if !strings.Contains(err.Error(), c.name) {
				t.Errorf("error %q does not list %q", err, c.name)
			}
		}
		if errkind.Of(err) != errkind.KindInput {
			t.Errorf("ResolveType(%q): kind %v, want input", in, errkind.Of(err))
		}
	}
}

package verify

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/attestation"
)

func TestVSA(t *testing.T) {
	at := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	d := "sha256:" + "1111111111111111111111111111111111111111111111111111111111111111"
	rep := &Report{
		Image: "ghcr.io/acme/widgets@" + d, Digest: d, Mode: "enforce", Verified: true, BreakGlass: true, VerifiedAt: at,
		Policy: PolicyRef{URI: ".secure-gates/policy.yaml", Digest: "sha256:" + "2222222222222222222222222222222222222222222222222222222222222222"},
		Inputs: []Input{
			{Kind: KindSignature, Format: FormatLegacy, Digest: "sha256:" + "3333333333333333333333333333333333333333333333333333333333333333", Location: "ghcr.io/acme/widgets:sha256-1111.sig layer sha256:aa"},
			{Kind: KindAttestation, Format: FormatBundle, PredicateType: attestation.PredicateVuln, Digest: "sha256:" + "4444444444444444444444444444444444444444444444444444444444444444", Location: "ghcr.io/acme/widgets@sha256:bb"},
		},
		ExceptionsUsed: []attestation.AppliedException{{ID: "sha256:" + "5555555555555555555555555555555555555555555555555555555555555555", Reason: "r", Ticket: "SEC-1", FindingsWaived: 1}},
	}
	st, err := rep.VSAStatement(nil, VSAOptions{Version: "v1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "vsa.golden.json"), append(got, '\n'))
	if err := attestation.ValidatePredicate(attestation.PredicateVSA, st.Predicate, attestation.Options{}); err != nil {
		t.Error(err)
	}
	rep.Verified = false
	if v := rep.VSA(nil, VSAOptions{}); v.VerificationResult != attestation.VerificationFailed {
		t.Errorf("a failed report gives %s", v.VerificationResult)
	}
}

func FuzzParseVulnResult(f *testing.F) {
	f.Add([]byte(`{"matches":[{"vulnerability":{"id":"CVE-1","severity":"Critical","fix":{"state":"fixed","versions":["1"]}},"relatedVulnerabilities":[{"id":"GHSA-x"}]}]}`))
	f.Add([]byte(`{"findings":[{"scanner":"deps","ruleId":"CVE-2","severity":"high","fixedIn":["2"]}]}`))
	f.Add([]byte(`[{"ruleId":"CVE-3","severity":"low"}]`))
	f.Add([]byte(`{"vulns":[]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := ParseVulnResult(data)
		if err != nil {
			return
		}
		for _, v := range fs {
			if v.ID == "" {
				t.Fatalf("accepted a finding without an id: %+v", v)
			}
		}
	})
}

package verify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// outagePolicy accepts a signed outage exception for vuln and code-scan.
const outagePolicy = `apiVersion: secure-gates/v1
kind: Policy
identities:
  - key: release.pub
require:
  - type: vuln
    max-age: 24h
    deny: {severity: critical}
    on-scanner-outage: exception
  - type: code-scan
    on-scanner-outage: exception
exceptions:
  signers: [{key: security.pub}]
`

func codeScanWithOutage(finished time.Time) any {
	p := codeScan("pass", finished).(map[string]any)
	p["outages"] = []any{map[string]any{"scanner": "deps", "reason": "vulnerability DB unreachable: dial tcp: connection refused",
		"at": finished.Format(time.RFC3339), "policy": "continue"}}
	return p
}

// TestScannerOutage: a scanner that did not run is never a pass; it passes only
// where the policy accepts outage exceptions and the security team signed one
// for that type, and then the report, the requirement and the VSA say so.
func TestScannerOutage(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name      string
		policy    string
		exception func(w *world) fixtureSigner // nil: none attached
		ids       []string
		expires   time.Time
		wantPass  []string
		wantFail  map[string]string
	}{
		{name: "policy default fails the outage", policy: strings.ReplaceAll(outagePolicy, "    on-scanner-outage: exception\n", ""),
			exception: func(w *world) fixtureSigner { return w.key("security", false) }, ids: []string{"outage:vuln", "outage:code-scan"}, expires: now.Add(24 * time.Hour),
			wantFail: map[string]string{"vuln": "missing: no attestation of type " + attestation.PredicateVuln,
				"code-scan": "does not accept outage exceptions for code-scan"}},
		{name: "no exception", policy: outagePolicy,
			wantFail: map[string]string{"vuln": "no accepted exception lists outage:vuln", "code-scan": "scanner outage recorded: deps did not run"}},
		{name: "signed outage exception", policy: outagePolicy,
			exception: func(w *world) fixtureSigner { return w.key("security", false) }, ids: []string{"outage:vuln", "outage:code-scan"}, expires: now.Add(24 * time.Hour),
			wantPass: []string{"vuln", "code-scan"}},
		{name: "URI form of the id", policy: outagePolicy,
			exception: func(w *world) fixtureSigner { return w.key("security", false) }, ids: []string{"outage:" + attestation.PredicateVuln}, expires: now.Add(24 * time.Hour),
			wantPass: []string{"vuln"}, wantFail: map[string]string{"code-scan": "no accepted exception lists outage:code-scan"}},
		{name: "expired exception", policy: outagePolicy,
			exception: func(w *world) fixtureSigner { return w.key("security", false) }, ids: []string{"outage:vuln", "outage:code-scan"}, expires: now.Add(-time.Minute),
			wantFail: map[string]string{"vuln": "no accepted exception lists outage:vuln"}},
		{name: "exception by the release key", policy: outagePolicy,
			exception: func(w *world) fixtureSigner { return w.key("release", false) }, ids: []string{"outage:vuln", "outage:code-scan"}, expires: now.Add(24 * time.Hour),
			wantFail: map[string]string{"vuln": "no accepted exception lists outage:vuln"}},
		{name: "a CVE waiver is not an outage waiver", policy: outagePolicy,
			exception: func(w *world) fixtureSigner { return w.key("security", false) }, ids: []string{"CVE-2021-44228"}, expires: now.Add(24 * time.Hour),
			wantFail: map[string]string{"vuln": "no accepted exception lists outage:vuln"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			ref := w.image("acme/widgets")
			w.sign(ref, w.key("release", false))
			w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateCodeScan, codeScanWithOutage(now.Add(-time.Minute)))
			if tc.exception != nil {
				w.attest(ref, tc.exception(w), ref.Digest, attestation.PredicateException, exceptionPred(tc.expires, "", tc.ids...))
			}
			rep := w.verify(ref, w.policy(tc.policy), now)
			wantPass(t, rep, tc.wantPass...)
			for name, frag := range tc.wantFail {
				wantFail(t, rep, name, frag)
			}
			if rep.Verified != (len(tc.wantFail) == 0) {
				t.Errorf("Verified = %v with failures %v", rep.Verified, tc.wantFail)
			}
			for _, n := range tc.wantPass {
				if r := requirement(t, rep, n); !strings.Contains(r.Waived, "SCANNER OUTAGE waived by exception") || !strings.Contains(r.Waived, "SEC-42") {
					t.Errorf("%s: Waived = %q, want the outage exception named with its ticket", n, r.Waived)
				}
			}
			if !slices.Equal(rep.OutagesWaived, tc.wantPass) && !(len(rep.OutagesWaived) == 0 && len(tc.wantPass) == 0) {
				t.Errorf("OutagesWaived = %v, want %v", rep.OutagesWaived, tc.wantPass)
			}
			levels := rep.VSA(w.policy(tc.policy), VSAOptions{}).VerifiedLevels
			if got := slices.Contains(levels, LevelScannerOutage); got != (len(tc.wantPass) > 0) {
				t.Errorf("VSA levels %v: scanner-outage level present = %v", levels, got)
			}
		})
	}
}

// TestOutageExceptionDoesNotHideOtherFailures: a code scan that failed AND had
// an outage is not rescued by the outage exception.
func TestOutageExceptionDoesNotHideOtherFailures(t *testing.T) {
	now := time.Now()
	w := newWorld(t)
	ref := w.image("acme/widgets")
	w.sign(ref, w.key("release", false))
	p := codeScanWithOutage(now.Add(-time.Minute)).(map[string]any)
	p["decision"] = "fail"
	w.attest(ref, w.key("release", false), ref.Digest, attestation.PredicateCodeScan, p)
	w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(time.Hour), "", "outage:vuln", "outage:code-scan"))
	rep := w.verify(ref, w.policy(outagePolicy), now)
	wantFail(t, rep, "code-scan", `decision is "fail"`, "scanner outage recorded")
	wantPass(t, rep, "vuln")
}

package verify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/finding/findingtest"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// noMaxAgePolicy is keyPolicy without the vuln max-age, so that a predicate
// made at a fixed time by pkg/vulndb's golden test can be verified now.
var noMaxAgePolicy = strings.Replace(keyPolicy, "    max-age: 24h\n", "", 1)

// waivedVulnPredicate is the vuln predicate pkg/vulndb writes for its fixture
// when a VEX document in the tree says log4j-core is not affected by log4shell
// (GHSA-jfh8-c2jp-5v3q, critical, fixed) and the exceptions file waives
// lodash's GHSA-35jh-r3h4-6jhm (TestVulnPredicateRecordsWaivers).
func waivedVulnPredicate(t *testing.T) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "vulndb", "testdata", "vuln-predicate-waived.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func openVEX(timestamp time.Time, vuln, product string, subcomponents ...string) any {
	p := map[string]any{"@id": product}
	if len(subcomponents) > 0 {
		var sc []any
		for _, s := range subcomponents {
			sc = append(sc, map[string]any{"@id": s})
		}
		p["subcomponents"] = sc
	}
	return map[string]any{
		"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://acme.example/vex/widgets-1", "author": "security@acme.example",
		"timestamp": timestamp.UTC().Format(time.RFC3339), "version": 1,
		"statements": []any{map[string]any{"vulnerability": map[string]any{"name": vuln}, "products": []any{p},
			"status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}},
	}
}

// TestScanTimeWaiversDoNotWaiveAtDeploy is issue 13's observation 6: a VEX
// document in the pull request's tree took log4shell out of the vuln
// predicate's matches and verify-and-deploy admitted the image. Now the
// predicate records it and only a signed exception or signed VEX attestation
// by an exception signer waives it.
func TestScanTimeWaiversDoNotWaiveAtDeploy(t *testing.T) {
	now := time.Now()
	log4j := "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
	tests := []struct {
		name     string
		waiver   func(w *world, ref oci.Ref)
		pass     bool
		fragment string // of the vuln requirement's reasons, or of a refused exception
	}{
		{"the repository's VEX and exceptions file alone", func(*world, oci.Ref) {}, false,
			"GHSA-jfh8-c2jp-5v3q (critical in log4j-core) — waived at scan time only by a VEX document in the repository"},
		{"signed exception by the security team", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(30*24*time.Hour), "", "CVE-2021-44228"))
		}, true, ""},
		{"signed VEX attestation by the security team, naming the package", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateOpenVEX, openVEX(now, "GHSA-jfh8-c2jp-5v3q", log4j))
		}, true, ""},
		{"signed VEX attestation naming the image by digest", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateOpenVEX,
				openVEX(now, "CVE-2021-44228", "pkg:oci/widgets@"+strings.Replace(ref.Digest, ":", "%3A", 1), log4j))
		}, true, ""},
		{"VEX naming another image", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateOpenVEX,
				openVEX(now, "CVE-2021-44228", "pkg:oci/widgets@sha256%3A"+strings.Repeat("0", 64)))
		}, false, "no not_affected or fixed statement about this image"},
		{"VEX naming another version of the package", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateOpenVEX,
				openVEX(now, "GHSA-jfh8-c2jp-5v3q", "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1"))
		}, false, "GHSA-jfh8-c2jp-5v3q (critical in log4j-core)"},
		{"VEX signed by the release identity, not an exception signer", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("release", true), ref.Digest, attestation.PredicateOpenVEX, openVEX(now, "GHSA-jfh8-c2jp-5v3q", log4j))
		}, false, "signed by no allowed exception signer"},
		{"VEX signed by an unknown key", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("other", true), ref.Digest, attestation.PredicateOpenVEX, openVEX(now, "GHSA-jfh8-c2jp-5v3q", log4j))
		}, false, "signed by no allowed exception signer"},
		{"VEX older than max-lifetime (no trusted time, its own timestamp)", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateOpenVEX, openVEX(now.Add(-91*24*time.Hour), "GHSA-jfh8-c2jp-5v3q", log4j))
		}, false, "older than exceptions.max-lifetime 90 days"},
		{"VEX dated in the future", func(w *world, ref oci.Ref) {
			w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateOpenVEX, openVEX(now.Add(24*time.Hour), "GHSA-jfh8-c2jp-5v3q", log4j))
		}, false, "is in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ref, k := w.signedImage()
			w.attestRequired(ref, k, now, map[string]any{attestation.PredicateVuln: waivedVulnPredicate(t)})
			tt.waiver(w, ref)
			rep := w.verify(ref, w.policy(noMaxAgePolicy), now)
			if rep.Verified != tt.pass {
				t.Fatalf("verified = %v, want %v: %v; refused %+v", rep.Verified, tt.pass, rep.Failures(), rep.ExceptionsRefused)
			}
			if tt.pass {
				if len(rep.ExceptionsUsed) != 1 || rep.ExceptionsUsed[0].FindingsWaived != 1 {
					t.Errorf("exceptions used = %+v, want one waiving log4shell", rep.ExceptionsUsed)
				}
				return
			}
			found := strings.Contains(strings.Join(requirement(t, rep, "vuln").Reasons, "\n"), tt.fragment)
			for _, r := range rep.ExceptionsRefused {
				found = found || strings.Contains(r.Reason, tt.fragment)
			}
			if !found {
				t.Errorf("neither the vuln reasons %q nor the refused exceptions %+v say %q", requirement(t, rep, "vuln").Reasons, rep.ExceptionsRefused, tt.fragment)
			}
		})
	}
}

// TestExceptionLifetime is issue 13's observation 7: exceptions expiring in 10
// or 100 years were honoured. They are measured from the trusted signing time
// (else the verification time) against exceptions.max-lifetime.
func TestExceptionLifetime(t *testing.T) {
	now := time.Now()
	year := 365 * 24 * time.Hour
	tests := []struct {
		name     string
		policy   string
		tsa      bool
		expires  time.Duration
		ids      []string
		pass     bool
		fragment string
	}{
		{"30 days with a timestamp", keyPolicy, true, 30 * 24 * time.Hour, []string{"CVE-2021-44228"}, true, ""},
		{"89 days without a trusted time", keyPolicy, false, 89 * 24 * time.Hour, []string{"CVE-2021-44228"}, true, ""},
		{"10 years", keyPolicy, true, 10 * year, []string{"CVE-2021-44228"}, false, "longer than the exceptions.max-lifetime 90 days allows"},
		{"100 years without a trusted time", keyPolicy, false, 100 * year, []string{"CVE-2021-44228"}, false, "after its verification time"},
		{"91 days", keyPolicy, true, 91 * 24 * time.Hour, []string{"CVE-2021-44228"}, false, "exceptions.max-lifetime"},
		{"a year under a policy allowing a year", strings.Replace(keyPolicy, "signers: [{key: security.pub}]", "signers: [{key: security.pub}]\n  max-lifetime: 365d", 1),
			true, 300 * 24 * time.Hour, []string{"CVE-2021-44228"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ref, k := w.signedImage()
			w.attestRequired(ref, k, now, map[string]any{attestation.PredicateVuln: vulnScan(now, match("CVE-2021-44228", "Critical", true))})
			w.attest(ref, w.key("security", tt.tsa), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(tt.expires), "", tt.ids...))
			rep := w.verify(ref, w.policy(tt.policy), now)
			if rep.Verified != tt.pass {
				t.Fatalf("verified = %v, want %v: %v; refused %+v", rep.Verified, tt.pass, rep.Failures(), rep.ExceptionsRefused)
			}
			if tt.pass {
				return
			}
			if len(rep.ExceptionsRefused) != 1 || !strings.Contains(rep.ExceptionsRefused[0].Reason, tt.fragment) {
				t.Errorf("refused = %+v, want one saying %q", rep.ExceptionsRefused, tt.fragment)
			}
			wantFail(t, rep, "vuln", "not waived: exception")
		})
	}
}

// TestOutageExceptionLifetime: a scanner-outage exception is bounded by
// exceptions.max-outage-lifetime (72 hours by default).
func TestOutageExceptionLifetime(t *testing.T) {
	now := time.Now()
	pol := strings.Replace(keyPolicy, "    deny: {severity: critical, fixed-only: true}\n", "    deny: {severity: critical, fixed-only: true}\n    on-scanner-outage: exception\n", 1)
	for _, tt := range []struct {
		expires time.Duration
		id      string
		pass    bool
	}{{48 * time.Hour, "outage:vuln", true}, {5 * 24 * time.Hour, "outage:vuln", false},
		// The id compares case-insensitively when waiving, so the bound must too.
		{30 * 24 * time.Hour, "OUTAGE:vuln", false}, {30 * 24 * time.Hour, " Outage:Vuln", false}} {
		w := newWorld(t)
		ref, k := w.signedImage()
		w.attestRequired(ref, k, now, map[string]any{attestation.PredicateVuln: nil})
		w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(tt.expires), "", tt.id))
		rep := w.verify(ref, w.policy(pol), now)
		if rep.Verified != tt.pass {
			t.Errorf("outage exception %s for %s: verified = %v, want %v: %v %+v", tt.id, tt.expires, rep.Verified, tt.pass, rep.Failures(), rep.ExceptionsRefused)
		}
		if !tt.pass && (len(rep.ExceptionsRefused) != 1 || !strings.Contains(rep.ExceptionsRefused[0].Reason, "exceptions.max-outage-lifetime 3 days")) {
			t.Errorf("refused = %+v", rep.ExceptionsRefused)
		}
	}
}

// TestVEXNeverWaivesAnOutage: a signed VEX statement naming outage:… (as its
// name or an alias) is refused with a reason and never passes a missing scan;
// its other statements still waive.
func TestVEXNeverWaivesAnOutage(t *testing.T) {
	now := time.Now()
	pol := strings.Replace(keyPolicy, "    deny: {severity: critical, fixed-only: true}\n", "    deny: {severity: critical, fixed-only: true}\n    on-scanner-outage: exception\n", 1)
	for _, tt := range []struct {
		name string
		vex  func(image string) any
	}{
		{"outage as the name", func(image string) any { return openVEX(now, "outage:vuln", image) }},
		{"upper-case outage", func(image string) any { return openVEX(now, "OUTAGE:vuln", image) }},
		{"outage as an alias", func(image string) any {
			d := openVEX(now, "CVE-2099-0001", image).(map[string]any)
			d["statements"].([]any)[0].(map[string]any)["vulnerability"].(map[string]any)["aliases"] = []any{"outage:" + attestation.PredicateVuln}
			return d
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ref, k := w.signedImage()
			w.attestRequired(ref, k, now, map[string]any{attestation.PredicateVuln: nil})
			image := "pkg:oci/widgets@" + strings.Replace(ref.Digest, ":", "%3A", 1)
			w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateOpenVEX, tt.vex(image))
			rep := w.verify(ref, w.policy(pol), now)
			wantFail(t, rep, "vuln", "missing")
			if len(rep.OutagesWaived) != 0 {
				t.Errorf("OutagesWaived = %v", rep.OutagesWaived)
			}
			if len(rep.ExceptionsRefused) != 1 || !strings.Contains(rep.ExceptionsRefused[0].Reason, "a VEX statement never waives a scanner outage") {
				t.Errorf("refused = %+v, want the VEX refused for naming an outage", rep.ExceptionsRefused)
			}
		})
	}
}

func codeScanWaived(finished time.Time, cutoff string, waived ...map[string]any) map[string]any {
	p := codeScan("pass", finished).(map[string]any)
	if waived != nil {
		p["waived"] = map[string]any{"severityCutoff": cutoff,
			"counts":   map[string]any{"critical": 0, "high": len(waived), "medium": 0, "low": 0, "info": 0, "unknown": 0},
			"findings": waived}
	}
	return p
}

// TestCodeScanRepositoryWaivers: a code scan that passed only because the
// repository's exceptions file waived a finding at or above its cutoff fails
// the code-scan requirement unless a signed exception waives the finding.
func TestCodeScanRepositoryWaivers(t *testing.T) {
	now := time.Now()
	secret := map[string]any{"scanner": "secrets", "ruleId": "aws-access-token", "severity": "high", "fingerprint": "secrets:aws-access-token:cfg:1",
		"path": "config/prod.env", "startLine": 3,
		"waiver": map[string]any{"kind": "exceptions-file", "id": "aws-access-token", "source": ".secure-gates/exceptions.yaml", "expires": now.Add(time.Hour).UTC().Format(time.RFC3339)}}
	oldStyle := codeScan("pass", now).(map[string]any)
	oldStyle["exceptionsApplied"] = []any{map[string]any{"id": "aws-access-token", "reason": "test key", "ticket": "SEC-1",
		"expires": now.Add(time.Hour).UTC().Format(time.RFC3339), "findingsWaived": 1}}
	tests := []struct {
		name      string
		pred      any
		exception []string // finding ids a signed exception lists
		pass      bool
		fragment  string
	}{
		{"waived by the repository only", codeScanWaived(now, "high", secret), nil, false,
			"1 finding(s) at or above the scan's severity-cutoff high passed the scan only through the repository's own waivers"},
		{"signed exception for the fingerprint", codeScanWaived(now, "high", secret), []string{"secrets:aws-access-token:cfg:1"}, true, ""},
		{"signed exception for the rule", codeScanWaived(now, "high", secret), []string{"aws-access-token"}, true, ""},
		{"below the scan's cutoff", codeScanWaived(now, "critical", secret), nil, true, ""},
		{"cutoff none", codeScanWaived(now, "none", secret), nil, true, ""},
		{"exceptions applied, findings not recorded", oldStyle, nil, false, "does not list the findings they waived"},
		{"more waived than listed", func() any {
			p := codeScanWaived(now, "high", secret)
			p["waived"].(map[string]any)["counts"].(map[string]any)["critical"] = 2
			return p
		}(), []string{"aws-access-token"}, false, "2 finding(s) at or above high waived by the repository are not listed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ref, k := w.signedImage()
			w.attestRequired(ref, k, now, map[string]any{attestation.PredicateCodeScan: tt.pred})
			if tt.exception != nil {
				w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(24*time.Hour), "", tt.exception...))
			}
			rep := w.verify(ref, w.policy(keyPolicy), now)
			if rep.Verified != tt.pass {
				t.Fatalf("verified = %v, want %v: %v", rep.Verified, tt.pass, rep.Failures())
			}
			if !tt.pass {
				wantFail(t, rep, "code-scan", tt.fragment)
			}
		})
	}
}

// TestVulnResultShapes: the compact result pkg/vulndb writes for a large scan
// is read (it was refused as "vulnerability.id is missing"), and a finding it
// marks waived still counts.
func TestVulnResultShapes(t *testing.T) {
	compact := `{"format":"https://secure-gates.dev/vulndb/compact/v1","packages":3,"matches":[
	 {"scanner":"deps","ruleId":"GHSA-jfh8-c2jp-5v3q","aliases":["CVE-2021-44228"],"severity":"critical","purl":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1","package":"log4j-core","fixedIn":["2.15.0"],"fingerprint":"f","title":"t","message":"m",
	  "waived":{"kind":"vex","id":"GHSA-jfh8-c2jp-5v3q","reason":"VEX: not_affected","source":"VEX .vex/x.json"}}]}`
	fs, err := ParseVulnResult(json.RawMessage(compact))
	if err != nil || len(fs) != 1 || fs[0].ID != "GHSA-jfh8-c2jp-5v3q" || !strings.Contains(fs[0].ScanWaiver, "VEX") {
		t.Fatalf("compact result: %+v, %v", fs, err)
	}
	for name, raw := range map[string]string{
		"unknown format":           `{"format":"x","matches":[]}`,
		"compact with grype shape": `{"format":"https://secure-gates.dev/vulndb/compact/v1","matches":{}}`,
	} {
		if _, err := ParseVulnResult(json.RawMessage(raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// grype's own kernel-header rules are not waivers; any other ignore rule is.
	doc := `{"matches":[],"ignoredMatches":[
	 {"vulnerability":{"id":"CVE-1","severity":"High"},"artifact":{"name":"linux-libc-dev"},"appliedIgnoreRules":[{"namespace":"","package":{"name":"linux-libc-dev","language":"","type":"deb","upstream-name":"linux"},"match-type":"exact-indirect-match"}]},
	 {"vulnerability":{"id":"CVE-2","severity":"High"},"artifact":{"name":"x"},"appliedIgnoreRules":[{"namespace":"","vulnerability":"CVE-2","reason":"from .grype.yaml"}]}]}`
	fs, err = ParseVulnResult(json.RawMessage(doc))
	if err != nil || len(fs) != 1 || fs[0].ID != "CVE-2" || fs[0].ScanWaiver == "" {
		t.Fatalf("ignoredMatches: %+v, %v", fs, err)
	}
}

// TestPurlScopeWithQualifiers: issue 13's "one purl matcher" — a scope
// without qualifiers covers a finding whose purl has them, at deploy as at
// scan time.
func TestPurlScopeWithQualifiers(t *testing.T) {
	e := &exception{pred: attestation.Exception{Scope: "pkg:deb/debian/openssl@3.0.11"}, findings: map[string]bool{"cve-2023-5678": true}}
	if !e.waives(vulnFinding{ID: "CVE-2023-5678", PURL: "pkg:deb/debian/openssl@3.0.11?arch=amd64"}) {
		t.Error("scope pkg:deb/debian/openssl@3.0.11 does not cover …@3.0.11?arch=amd64")
	}
	if e.waives(vulnFinding{ID: "CVE-2023-5678", PURL: "pkg:deb/debian/openssl@3.0.12?arch=amd64"}) {
		t.Error("scope covers another version")
	}
}

// TestExceptionIDsIgnoreCase: an exception attestation names ids the way the
// exceptions file does, case-insensitively (ghsa-… waives GHSA-…).
func TestExceptionIDsIgnoreCase(t *testing.T) {
	now := time.Now()
	w := newWorld(t)
	ref, k := w.signedImage()
	w.attestRequired(ref, k, now, map[string]any{attestation.PredicateVuln: vulnScan(now, match("GHSA-jfh8-c2jp-5v3q", "Critical", true))})
	w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(24*time.Hour), "", "ghsa-JFH8-c2jp-5v3q"))
	p := strings.Replace(keyPolicy, "    max-age: 24h\n", "", 1)
	rep := w.verify(ref, w.policy(p), now)
	if !rep.Verified || len(rep.ExceptionsUsed) != 1 {
		t.Fatalf("verified %v, used %+v: %v", rep.Verified, rep.ExceptionsUsed, rep.Failures())
	}
}

// vexStatement is one OpenVEX statement about products; at, when set, is the
// statement's own timestamp.
func vexStatement(vuln, status string, at *time.Time, products []string, aliases ...string) map[string]any {
	var ps []any
	for _, p := range products {
		ps = append(ps, map[string]any{"@id": p})
	}
	vv := map[string]any{"name": vuln}
	if len(aliases) > 0 {
		vv["aliases"] = aliases
	}
	s := map[string]any{"vulnerability": vv, "products": ps, "status": status}
	if status == "not_affected" {
		s["justification"] = "vulnerable_code_not_in_execute_path"
	}
	if at != nil {
		s["timestamp"] = at.UTC().Format(time.RFC3339)
	}
	return s
}

func vexDoc(timestamp time.Time, statements ...map[string]any) any {
	var sts []any
	for _, s := range statements {
		sts = append(sts, s)
	}
	return map[string]any{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://acme.example/vex/widgets-" + timestamp.Format("150405"),
		"author": "security@acme.example", "timestamp": timestamp.UTC().Format(time.RFC3339), "version": 1, "statements": sts}
}

// TestVEXLatestStatementWins: per OpenVEX, the latest statement for a
// vulnerability and product wins — by the statement's timestamp, else its
// document's — in one document or across VEX attestations. A not_affected
// statement followed by one saying affected or under_investigation waives
// nothing (it used to waive regardless).
func TestVEXLatestStatementWins(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	log4j := "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
	other := "pkg:maven/com.example/other@1.0.0"
	earlier, later := now.Add(-2*time.Hour), now.Add(-time.Hour)
	na := func(at *time.Time, products ...string) map[string]any {
		return vexStatement("CVE-2021-44228", "not_affected", at, products)
	}
	aff := func(status string, at *time.Time, products ...string) map[string]any {
		return vexStatement("CVE-2021-44228", status, at, products)
	}
	tests := []struct {
		name string
		docs []any // VEX attestations, attached in order
		pass bool
	}{
		{"not_affected alone", []any{vexDoc(later, na(nil, log4j))}, true},
		{"one document: not_affected, then affected", []any{vexDoc(later, na(nil, log4j), aff("affected", nil, log4j))}, false},
		{"one document: affected, then not_affected", []any{vexDoc(later, aff("affected", nil, log4j), na(nil, log4j))}, true},
		{"newer document says affected", []any{vexDoc(earlier, na(nil, log4j)), vexDoc(later, aff("affected", nil, log4j))}, false},
		{"newer document says under_investigation, attached first", []any{vexDoc(later, aff("under_investigation", nil, log4j)), vexDoc(earlier, na(nil, log4j))}, false},
		{"newer document says not_affected", []any{vexDoc(earlier, aff("affected", nil, log4j)), vexDoc(later, na(nil, log4j))}, true},
		{"statement timestamps decide within a document", []any{vexDoc(later, na(&later, log4j), aff("affected", &earlier, log4j))}, true},
		{"statement timestamp later than a newer document's", []any{vexDoc(earlier, aff("affected", &later, log4j)), vexDoc(later.Add(-30*time.Minute), na(nil, log4j))}, false},
		{"later affected under an alias", []any{vexDoc(earlier, na(nil, log4j)),
			vexDoc(later, vexStatement("GHSA-jfh8-c2jp-5v3q", "affected", nil, []string{log4j}, "CVE-2021-44228"))}, false},
		{"later affected for the package narrows a whole-image not_affected", []any{vexDoc(earlier, na(nil, "IMAGE")), vexDoc(later, aff("affected", nil, log4j))}, false},
		{"later affected for the whole image", []any{vexDoc(earlier, na(nil, log4j)), vexDoc(later, aff("affected", nil, "IMAGE"))}, false},
		{"later affected for another package", []any{vexDoc(earlier, na(nil, log4j)), vexDoc(later, aff("affected", nil, other))}, true},
		{"later affected for another vulnerability", []any{vexDoc(earlier, na(nil, log4j)),
			vexDoc(later, vexStatement("CVE-2099-0001", "affected", nil, []string{log4j}))}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ref, k := w.signedImage()
			w.attestRequired(ref, k, now.Add(-time.Hour), map[string]any{attestation.PredicateVuln: nil})
			w.attest(ref, k, ref.Digest, attestation.PredicateVuln, vulnScan(now.Add(-time.Minute), match("CVE-2021-44228", "Critical", true)))
			image := "pkg:oci/widgets@" + strings.Replace(ref.Digest, ":", "%3A", 1)
			for _, d := range tt.docs {
				b, err := json.Marshal(d)
				if err != nil {
					t.Fatal(err)
				}
				w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateOpenVEX,
					json.RawMessage(strings.ReplaceAll(string(b), `"IMAGE"`, `"`+image+`"`)))
			}
			rep := w.verify(ref, w.policy(keyPolicy), now)
			if rep.Verified != tt.pass {
				t.Fatalf("verified = %v, want %v: %v; refused %+v", rep.Verified, tt.pass, rep.Failures(), rep.ExceptionsRefused)
			}
			if tt.pass {
				return
			}
			wantFail(t, rep, "vuln", "CVE-2021-44228")
			// A statement wholly superseded is reported, naming what superseded it.
			if strings.Contains(tt.name, "narrows") {
				return
			}
			found := false
			for _, r := range rep.ExceptionsRefused {
				found = found || strings.Contains(r.Reason, "superseded by a later")
			}
			if !found {
				t.Errorf("refused = %+v, want the superseded statement reported", rep.ExceptionsRefused)
			}
		})
	}
}

// TestFindingsWaivedCountsStatementsOnce: the same vuln scan and the same
// exception attached in both formats are one statement each: the exception is
// reported once, waiving one finding (the copies used to count twice).
func TestFindingsWaivedCountsStatementsOnce(t *testing.T) {
	t.Parallel()
	now := time.Now()
	w := newWorld(t)
	ref, k := w.signedImage()
	w.attestRequired(ref, k, now.Add(-time.Hour), map[string]any{attestation.PredicateVuln: nil})
	scan := vulnScan(now.Add(-time.Minute), match("CVE-2021-44228", "Critical", true))
	w.attest(ref, k, ref.Digest, attestation.PredicateVuln, scan)
	w.bundle(ref, k, attestation.PredicateVuln, scan)
	exc := exceptionPred(now.Add(24*time.Hour), "", "CVE-2021-44228")
	w.attest(ref, w.key("security", false), ref.Digest, attestation.PredicateException, exc)
	w.bundle(ref, w.key("security", false), attestation.PredicateException, exc)
	rep := w.verify(ref, w.policy(keyPolicy), now)
	if !rep.Verified {
		t.Fatalf("not verified: %v; refused %+v", rep.Failures(), rep.ExceptionsRefused)
	}
	total := 0
	for _, e := range rep.ExceptionsUsed {
		total += e.FindingsWaived
	}
	if len(rep.ExceptionsUsed) != 1 || total != 1 {
		t.Errorf("exceptions used = %+v, want one waiving one finding", rep.ExceptionsUsed)
	}
}

// TestPURLScopeTable runs pkg/finding's shared table of the package-URL scope
// rule through the deploy gate's two waivers: a signed exception whose scope
// is the table's scope (accepted only when scopeApplies and, for a purl, it
// is valid, as acceptException decides) and a VEX statement whose product is
// the table's scope. Each covers a finding with the table's purl exactly
// when the table says so. An empty scope is no scope (the exception covers
// by id alone), so those rows are left out.
func TestPURLScopeTable(t *testing.T) {
	t.Parallel()
	v := &verifier{ref: oci.Ref{Repository: "registry.example/acme/widgets", Digest: "sha256:" + strings.Repeat("a", 64)}}
	for _, tt := range findingtest.PURLScopeCases(t) {
		if tt.Scope == "" {
			continue
		}
		f := vulnFinding{ID: "CVE-2099-0001", PURL: tt.PURL}
		accepted := scopeApplies(tt.Scope, v.ref.Repository) && (!finding.IsPURLScope(tt.Scope) || validPURLScope(tt.Scope))
		e := &exception{pred: attestation.Exception{Scope: tt.Scope}, findings: map[string]bool{"cve-2099-0001": true}}
		if got := accepted && e.waives(f); got != tt.Covers {
			t.Errorf("%s: exception scoped %q covers %q = %v, want %v", tt.Name, tt.Scope, tt.PURL, got, tt.Covers)
		}
		purls, ok := v.vexScope([]attestation.VEXProduct{{ID: tt.Scope}})
		vex := &exception{vex: true, purls: purls, findings: map[string]bool{"cve-2099-0001": true}}
		if got := ok && vex.waives(f); got != tt.Covers {
			t.Errorf("%s: VEX statement about %q covers %q = %v, want %v", tt.Name, tt.Scope, tt.PURL, got, tt.Covers)
		}
	}
}

package verify

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// dastAlert is one alert of a dast predicate fixture.
func dastAlert(id, risk, disposition string, count int) map[string]any {
	return map[string]any{"id": id, "name": "alert " + id, "risk": risk, "confidence": "medium", "count": count,
		"urls": []any{"https://staging.widgets.example.com/search?q=x"}, "disposition": disposition}
}

// dastPred is the documented example predicate (a valid dast predicate) for
// env, with decision, finish time and alerts replaced; counts follow the
// alerts as the schema's checks require.
func dastPred(t *testing.T, env, decision string, finished time.Time, alerts ...map[string]any) map[string]any {
	t.Helper()
	data, err := os.ReadFile("../attestation/testdata/predicates/dast.json")
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	p["environment"], p["decision"] = env, decision
	p["scanStartedOn"] = finished.Add(-5 * time.Minute).UTC().Format(time.RFC3339)
	p["scanFinishedOn"] = finished.UTC().Format(time.RFC3339)
	p["evaluatedOn"] = finished.Add(time.Second).UTC().Format(time.RFC3339)
	counts := map[string]any{"critical": 0, "high": 0, "medium": 0, "low": 0, "informational": 0}
	list := []any{}
	for _, a := range alerts {
		list = append(list, a)
		switch a["disposition"] {
		case "counted", "warn", "fail":
			counts[a["risk"].(string)] = counts[a["risk"].(string)].(int) + a["count"].(int)
		}
	}
	p["alerts"], p["counts"] = list, counts
	delete(p, "exceptionsApplied")
	return p
}

const dastPolicy = `apiVersion: secure-gates/v1
kind: Policy
identities:
  - key: release.pub
require:
  - type: dast
    environment: staging
    max-age: 72h
    deny: {risk: high}
exceptions:
  signers: [{key: security.pub}]
`

// The promotion rule: a deploy to production needs a passing, fresh DAST of
// this digest in staging; signed exceptions waive alerts at or above the deny
// risk, repository claims do not; the newest DAST of staging decides.
func TestDASTPromotion(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	fresh := now.Add(-time.Hour)
	type att struct {
		pred    map[string]any
		signer  string // release (default), other, security
		subject string // "" = the image's digest; "other" = another digest
	}
	// passedInStaging: one fresh DAST of staging that decided pass, with alerts.
	passedInStaging := func(alerts ...map[string]any) func(t *testing.T) []att {
		return func(t *testing.T) []att { return []att{{pred: dastPred(t, "staging", "pass", fresh, alerts...)}} }
	}
	tests := []struct {
		name      string
		policy    string
		env       string // the deploy's environment
		atts      func(t *testing.T) []att
		exception []string // ids a signed exception (security key) lists
		vex       string   // an alert id a signed OpenVEX statement about the image says not_affected
		pass      bool
		fragments []string
	}{
		{name: "passing fresh DAST of staging", env: "production",
			atts: passedInStaging(dastAlert("10021", "low", "counted", 1)), pass: true},
		{name: "environment compared as elsewhere", env: "Production",
			atts: func(t *testing.T) []att { return []att{{pred: dastPred(t, "Staging", "pass", fresh)}} }, pass: true},
		{name: "no DAST at all", env: "production", atts: func(t *testing.T) []att { return nil },
			fragments: []string{"missing: no attestation of type https://secure-gates.dev/attestation/dast/v1 is attached"}},
		{name: "failed DAST", env: "production",
			atts: func(t *testing.T) []att {
				return []att{{pred: dastPred(t, "staging", "fail", fresh, dastAlert("40012", "high", "counted", 1))}}
			}, fragments: []string{`DAST decision is "fail", not "pass" (high 1, medium 0)`, "40012 alert 40012 (high, 1 instance(s)"}},
		{name: "failed DAST with every alert waived by signed exceptions", env: "production",
			atts: func(t *testing.T) []att {
				return []att{{pred: dastPred(t, "staging", "fail", fresh, dastAlert("40012", "high", "counted", 1))}}
			}, exception: []string{"40012"}, fragments: []string{`DAST decision is "fail"`, "signed exceptions at deploy do not turn it into a pass"}},
		{name: "stale DAST", env: "production",
			atts:      func(t *testing.T) []att { return []att{{pred: dastPred(t, "staging", "pass", now.Add(-80*time.Hour))}} },
			fragments: []string{"DAST scan is 80h0m0s old (from its scanFinishedOn", "older than max-age 72h0m0s"}},
		{name: "DAST from the future", env: "production",
			atts:      func(t *testing.T) []att { return []att{{pred: dastPred(t, "staging", "pass", now.Add(time.Hour))}} },
			fragments: []string{"scanFinishedOn " + now.Add(time.Hour).Format(time.RFC3339) + " is in the future"}},
		{name: "DAST of another environment only", env: "production",
			atts:      func(t *testing.T) []att { return []att{{pred: dastPred(t, "dev", "pass", fresh)}} },
			fragments: []string{`no DAST of staging: the verified DAST attestation(s) of this digest are of environment "dev"`}},
		{name: "look-alike environment", env: "production",
			atts:      func(t *testing.T) []att { return []att{{pred: dastPred(t, "st\u0430ging", "pass", fresh)}} },
			fragments: []string{"no DAST of staging", `environment "st\u0430ging"`}},
		{name: "a newer DAST of another environment does not hide staging's", env: "production",
			atts: func(t *testing.T) []att {
				return []att{{pred: dastPred(t, "staging", "pass", fresh)}, {pred: dastPred(t, "dev", "fail", now.Add(-time.Minute), dastAlert("40012", "high", "counted", 1))}}
			}, pass: true},
		{name: "newest DAST of staging decides: failing after passing", env: "production",
			atts: func(t *testing.T) []att {
				return []att{{pred: dastPred(t, "staging", "pass", now.Add(-2*time.Hour))}, {pred: dastPred(t, "staging", "fail", fresh, dastAlert("40012", "high", "counted", 1))}}
			}, fragments: []string{`DAST decision is "fail"`, "1 older attestation(s) of this type superseded"}},
		{name: "newest DAST of staging decides: passing after failing", env: "production",
			atts: func(t *testing.T) []att {
				return []att{{pred: dastPred(t, "staging", "fail", now.Add(-2*time.Hour), dastAlert("40012", "high", "counted", 1))}, {pred: dastPred(t, "staging", "pass", fresh)}}
			}, pass: true},
		{name: "unsigned by an allowed identity", env: "production",
			atts:      func(t *testing.T) []att { return []att{{pred: dastPred(t, "staging", "pass", fresh), signer: "other"}} },
			fragments: []string{"no attestation of type https://secure-gates.dev/attestation/dast/v1 verified with an allowed identity", "does not verify with an allowed identity"}},
		{name: "signed by the exception signer", env: "production",
			atts: func(t *testing.T) []att {
				return []att{{pred: dastPred(t, "staging", "pass", fresh), signer: "security"}}
			},
			fragments: []string{"verified with an allowed identity"}},
		{name: "DAST of another digest", env: "production",
			atts: func(t *testing.T) []att {
				return []att{{pred: dastPred(t, "staging", "pass", fresh), subject: "other"}}
			},
			fragments: []string{"statement subject is another digest"}},
		{name: "high alert IGNOREd by the rules file", env: "production",
			atts: passedInStaging(dastAlert("40012", "high", "ignored", 2)), fragments: []string{"1 DAST alert(s) at or above deny risk high not waived by a signed exception", "IGNOREd only by the repository's rules file"}},
		{name: "high alert waived by the repository's exceptions file", env: "production",
			atts: passedInStaging(dastAlert("40012", "high", "waived", 1)), fragments: []string{"waived only by the repository's exceptions file in the dast gate"}},
		{name: "high alert waived by the repository, and by a signed exception", env: "production",
			atts: passedInStaging(dastAlert("40012", "high", "waived", 1)), exception: []string{"40012"}, pass: true},
		{name: "high alert waived by the repository, and by a signed VEX statement about the image", env: "production",
			atts: passedInStaging(dastAlert("40012", "high", "waived", 1)), vex: "40012", pass: true},
		{name: "WARN high alert under deny high", env: "production",
			atts: passedInStaging(dastAlert("40012", "high", "warn", 1)), fragments: []string{"WARN in the repository's rules file"}},
		{name: "medium alerts pass deny high", env: "production",
			atts: passedInStaging(dastAlert("10038", "medium", "warn", 3), dastAlert("10202", "medium", "ignored", 1)), pass: true},
		{name: "deny medium is stricter than the gate's fail-on", env: "production",
			policy: strings.Replace(dastPolicy, "risk: high", "risk: medium", 1),
			atts:   passedInStaging(dastAlert("10038", "medium", "counted", 3)), fragments: []string{"at or above deny risk medium", "10038 alert 10038 (medium, 3 instance(s)"}},
		{name: "without deny the gate's verdict stands, but its repository waivers need a signed exception", env: "production",
			policy: strings.Replace(dastPolicy, "    deny: {risk: high}\n", "", 1),
			atts:   passedInStaging(dastAlert("40012", "high", "waived", 1), dastAlert("10096", "high", "ignored", 1)), fragments: []string{"1 DAST alert(s) at or above the gate's fail-on high", "40012"}},
		{name: "scanner outage under continue", env: "production",
			atts: func(t *testing.T) []att {
				p := dastPred(t, "staging", "pass", fresh)
				p["outages"] = []any{map[string]any{"scanner": "ZAP", "reason": "report has no sites", "at": fresh.Format(time.RFC3339), "policy": "continue"}}
				return []att{{pred: p}}
			}, fragments: []string{"DAST scanner outage recorded: ZAP (report has no sites", "an outage is not a pass"}},
		{name: "alerts omitted from the predicate", env: "production",
			atts: func(t *testing.T) []att {
				p := dastPred(t, "staging", "pass", fresh)
				p["alertsOmitted"] = 3
				return []att{{pred: p}}
			}, fragments: []string{"left out 3 alert(s)"}},
		{name: "deploy to staging itself does not need its DAST", env: "staging",
			atts: func(t *testing.T) []att { return nil }, pass: true},
		{name: "an unnamed environment needs it", env: "",
			atts: func(t *testing.T) []att { return nil }, fragments: []string{"missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ref, k := w.signedImage()
			for _, a := range tt.atts(t) {
				s := k
				if a.signer != "" {
					s = w.key(a.signer, false)
				}
				subject := ref.Digest
				if a.subject == "other" {
					subject = "sha256:" + strings.Repeat("e", 64)
				}
				w.attest(ref, s, subject, attestation.PredicateDAST, a.pred)
			}
			if tt.exception != nil {
				w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateException, exceptionPred(now.Add(24*time.Hour), "", tt.exception...))
			}
			if tt.vex != "" {
				w.attest(ref, w.key("security", true), ref.Digest, attestation.PredicateOpenVEX,
					openVEX(now, tt.vex, "pkg:oci/widgets@"+strings.Replace(ref.Digest, ":", "%3A", 1)))
			}
			pol := tt.policy
			if pol == "" {
				pol = dastPolicy
			}
			rep := w.verifyWith(ref, Options{Policy: w.policy(pol), TrustedMaterial: w.trust, Environment: tt.env,
				Now: func() time.Time { return now }})
			if rep.Verified != tt.pass {
				t.Fatalf("verified = %v, want %v: %v", rep.Verified, tt.pass, rep.Failures())
			}
			if tt.pass {
				wantPass(t, rep, "dast")
				return
			}
			wantFail(t, rep, "dast", tt.fragments...)
		})
	}
}

// A deploy to the DAST's own environment reports the requirement as not
// required, with why.
func TestDASTNotRequiredInItsEnvironment(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ref, _ := w.signedImage()
	rep := w.verifyWith(ref, Options{Policy: w.policy(dastPolicy), TrustedMaterial: w.trust, Environment: "STAGING"})
	r := requirement(t, rep, "dast")
	if !r.Passed || !strings.Contains(r.Detail, "not required for a deploy to staging") {
		t.Errorf("dast = %+v", r)
	}
}

// The newest-evidence time of a DAST predicate is its scanFinishedOn.
func TestDASTPredicateTime(t *testing.T) {
	t.Parallel()
	pass, err := os.ReadFile("../attestation/testdata/predicates/dast.json")
	if err != nil {
		t.Fatal(err)
	}
	at, field := predicateTime(attestation.PredicateDAST, pass)
	if want := time.Date(2026, 11, 20, 10, 14, 40, 0, time.UTC); !at.Equal(want) || field != "scanFinishedOn" {
		t.Errorf("predicateTime = %v %q, want %v scanFinishedOn", at, field, want)
	}
}

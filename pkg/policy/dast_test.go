package policy

import (
	"strings"
	"testing"
	"time"
)

// The dast requirement's fields: environment (required), max-age and deny by
// risk. Every error names the field, its line, the value and the fix.
func TestDASTRequirementFields(t *testing.T) {
	t.Parallel()
	dir := keyDir(t)
	head := "apiVersion: secure-gates/v1\nkind: Policy\nidentities: [{key: release.pub}]\nrequire:\n"
	cases := []struct {
		name string
		// req is the require entry (line 5 of the file).
		req string
		// wantErr is "" for a policy that loads; else each part must be in
		// the error, and the error's FieldError must be on wantLine.
		wantErr  []string
		wantLine int
	}{
		{name: "full", req: "  - {type: dast, environment: staging, max-age: 72h, deny: {risk: high}}"},
		{name: "environment only", req: "  - {type: dast, environment: staging}"},
		{name: "risk in any case", req: "  - {type: dast, environment: staging, deny: {risk: Medium}}"},
		{name: "by URI", req: "  - {type: 'https://secure-gates.dev/attestation/dast/v1', environment: staging}"},
		{name: "no environment", req: "  - {type: dast, max-age: 24h}",
			wantErr: []string{"require[0].environment: is required for dast", "environment: staging"}, wantLine: 5},
		{name: "blank environment", req: "  - {type: dast, environment: ' '}",
			wantErr: []string{"require[0].environment: is required for dast"}, wantLine: 5},
		{name: "look-alike environment", req: "  - {type: dast, environment: \"\u0455taging\"}",
			wantErr: []string{`require[0].environment: is "\u0455taging"`, "printable ASCII"}, wantLine: 5},
		{name: "environment on vuln", req: "  - {type: vuln, environment: staging}",
			wantErr: []string{"require[0].environment: applies to dast only, not vuln"}, wantLine: 5},
		{name: "unknown risk", req: "  - {type: dast, environment: staging, deny: {risk: severe}}",
			wantErr: []string{`require[0].deny.risk: is "severe", want one of critical, high, medium, low, informational`}, wantLine: 5},
		{name: "empty deny", req: "  - {type: dast, environment: staging, deny: {}}",
			wantErr: []string{`require[0].deny.risk: is ""`}, wantLine: 5},
		{name: "severity on dast", req: "  - {type: dast, environment: staging, deny: {severity: high}}",
			wantErr: []string{`require[0].deny: is {severity: "high", fixed-only: false}: a dast requirement denies by risk`, "write deny: {risk: high}"}, wantLine: 5},
		{name: "fixed-only on dast", req: "  - {type: dast, environment: staging, deny: {risk: high, fixed-only: true}}",
			wantErr: []string{`require[0].deny: is {severity: "", fixed-only: true}: a dast requirement denies by risk`, "write deny: {risk: high}"}, wantLine: 5},
		{name: "risk on vuln", req: "  - {type: vuln, deny: {severity: high, risk: high}}",
			wantErr: []string{`require[0].deny.risk: is "high", but risk applies to dast only`}, wantLine: 5},
		{name: "unknown field", req: "  - {type: dast, environment: staging, stage: production}",
			wantErr: []string{"field stage is unknown in a require entry", "environment"}, wantLine: 5},
		{name: "unknown deny field", req: "  - {type: dast, environment: staging, deny: {level: high}}",
			wantErr: []string{"field level is unknown in deny", "risk for dast"}, wantLine: 5},
		{name: "bad max-age", req: "  - {type: dast, environment: staging, max-age: forever}",
			wantErr: []string{`"forever" is not a positive duration`}, wantLine: 5},
		{name: "max-age on cyclonedx", req: "  - {type: cyclonedx, max-age: 24h}",
			wantErr: []string{"require[0].max-age: applies to vuln, code-scan and dast only, not cyclonedx"}, wantLine: 5},
		{name: "outage exception on dast", req: "  - {type: dast, environment: staging, on-scanner-outage: exception}\nexceptions: {signers: [{key: security.pub}]}"},
		{name: "outage exception on cyclonedx", req: "  - {type: cyclonedx, on-scanner-outage: exception}\nexceptions: {signers: [{key: security.pub}]}",
			wantErr: []string{"require[0].on-scanner-outage: applies to vuln, code-scan and dast only, not cyclonedx"}, wantLine: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(head+tc.req+"\n"), Options{BaseDir: dir})
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded %+v; want an error", p.Require)
			}
			wantRefusal(t, err, tc.wantErr...)
			probs := Problems(err)
			if len(probs) != 1 || probs[0].Line != tc.wantLine {
				for _, pr := range probs {
					t.Logf("problem: line %d: %s", pr.Line, pr)
				}
				t.Errorf("want one problem on line %d", tc.wantLine)
			}
		})
	}
}

func TestDASTRequirementParsed(t *testing.T) {
	t.Parallel()
	dir := keyDir(t)
	p, err := Parse([]byte("apiVersion: secure-gates/v1\nkind: Policy\nidentities: [{key: release.pub}]\nrequire:\n"+
		"  - type: dast\n    environment: Staging\n    max-age: 3d\n    deny: {risk: HIGH}\n"), Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Require[0]
	if r.Environment != "Staging" || r.MaxAge.Duration != 72*time.Hour || r.Deny == nil || r.Deny.Risk != "high" {
		t.Errorf("requirement = %+v deny %+v", r, r.Deny)
	}
	if ws := Lint(p); len(ws) != 0 {
		t.Errorf("lint: %v", ws)
	}
	p, err = Parse([]byte("apiVersion: secure-gates/v1\nkind: Policy\nidentities: [{key: release.pub}]\nrequire:\n  - {type: dast, environment: staging}\n"), Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if ws := Lint(p); len(ws) != 1 || ws[0].Field != "require[0]" || ws[0].Line != 5 || !strings.Contains(ws[0].Msg, "max-age: 72h") {
		t.Errorf("lint = %v, want the missing max-age on require[0] line 5", ws)
	}
}

// A dast requirement applies to every deploy except one into its own
// environment, named plainly (any letter case); a look-alike, a name with a
// character comparison would drop, or an unnamed environment needs it.
func TestDASTAppliesTo(t *testing.T) {
	t.Parallel()
	dast := Requirement{Type: "dast", PredicateType: "https://secure-gates.dev/attestation/dast/v1", Environment: "staging"}
	vuln := Requirement{Type: "vuln", PredicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"}
	for _, tc := range []struct {
		r    Requirement
		env  string
		want bool
	}{
		{dast, "production", true},
		{dast, "", true},
		{dast, "staging", false},
		{dast, "STAGING", false},
		{dast, "sta\u200bging", true}, // the relaxation needs the plain name: no character dropped
		{dast, " staging", true},
		{dast, "\u0455taging", true}, // Cyrillic dze: never the same
		{dast, "staging-eu", true},
		{vuln, "staging", true},
	} {
		got, why := tc.r.AppliesTo(tc.env)
		if got != tc.want {
			t.Errorf("%s AppliesTo(%q) = %v, want %v", tc.r.Type, tc.env, got, tc.want)
		}
		if !got && !strings.Contains(why, "not required for a deploy to staging") {
			t.Errorf("why = %q", why)
		}
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"staging", "Staging", true},
		{"staging", " staging ", true},
		{"", "", false},
		{"staging", "production", false},
		{"st\u0430ging", "st\u0430ging", false}, // Cyrillic a on both sides: outside printable ASCII
	} {
		if got := SameEnvironment(tc.a, tc.b); got != tc.want {
			t.Errorf("SameEnvironment(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

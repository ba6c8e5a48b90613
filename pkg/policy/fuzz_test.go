package policy

import (
	"regexp"
	"testing"
)

// wholeMatchOnly checks the property an anchored subject-regexp must have: any
// match of any subject is the whole subject, so no subject matches by containing
// an allowed one (a prefix or suffix added, a line added before or after).
func wholeMatchOnly(t *testing.T, expr string, subjects ...string) {
	t.Helper()
	re, err := regexp.Compile(expr)
	if err != nil {
		t.Fatalf("accepted %q, which does not compile: %v", expr, err)
	}
	for _, s := range subjects {
		for _, c := range []string{s, s + "x", "x" + s, s + "\n", "\n" + s, "evil\n" + s, s + "\nevil", s + "-evil", "evil-" + s} {
			if loc := re.FindStringIndex(c); loc != nil && (loc[0] != 0 || loc[1] != len(c)) {
				t.Fatalf("accepted %q, which matches %q at [%d,%d] of %d bytes: not anchored as a whole", expr, c, loc[0], loc[1], len(c))
			}
		}
	}
}

// FuzzAnchored: whatever checkAnchored accepts matches only whole subjects.
func FuzzAnchored(f *testing.F) {
	for _, s := range [][2]string{
		{`^https://github\.com/acme/a/\.github/workflows/release\.yml@refs/heads/main|x$`, "https://github.com/acme/a/.github/workflows/release.yml@refs/heads/main"},
		{`^https://github\.com/acme/(a|b)/x$`, "https://github.com/acme/a/x"},
		{`^a$|^b$`, "a"},
		{`(?m)^a$`, "a"},
		{`\Aa\z`, "a"},
		{`(^a$)`, "a"},
		{`(^a$)*`, ""},
		{`^(a|b$|c)$`, "b"},
		{`^a[|]b$`, "a|b"},
		{`^[\]|]$`, "|"},
		{`(?i)^A$`, "a"},
		{`^$`, ""},
		{`^a\$`, "a$"},
		{`^(?:a|)$`, ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, expr, subject string) {
		if checkAnchored(expr) != nil {
			return
		}
		wholeMatchOnly(t, expr, subject)
		if s, ok := sampleMatch(expr); ok {
			wholeMatchOnly(t, expr, s)
		}
	})
}

// FuzzLoad: Load (Parse) never panics, and every policy it accepts has an identity, a
// mode, and subject-regexps that match only whole subjects.
func FuzzLoad(f *testing.F) {
	f.Add(mustRead(f, "testdata/policy.yaml"), "")
	f.Add([]byte("apiVersion: secure-gates/v1\nkind: Policy\nidentities: [{key: release.pub}]\nrequire: [{type: vuln}]\n"), "")
	f.Add([]byte("apiVersion: secure-gates/v1\nkind: Policy\nmode: audit\nidentities:\n  - issuer: https://token.actions.githubusercontent.com\n    subject-regexp: ^https://a$|x$\n"), "https://a")
	f.Add([]byte("apiVersion: secure-gates/v1\nkind: Policy\n<<: {mode: audit}\nidentities: [{key: release.pub}]\n"), "")
	f.Add([]byte("apiVersion: secure-gates/v1\nkind: Policy\nmode: !!binary YXVkaXQ=\nidentities: [{key: release.pub}]\n"), "")
	f.Add([]byte("{{{"), "")
	f.Add([]byte("apiVersion: secure-gates/v1\nkind: Policy\nidentities: [{key: release.pub}]\nrequire: [{type: dast, environment: staging, max-age: 72h, deny: {risk: high}}]\n"), "")
	dir := keyDir(f)
	f.Fuzz(func(t *testing.T, data []byte, subject string) {
		// Parse is Load after the bounded file read.
		p, err := Parse(data, Options{BaseDir: dir})
		if err != nil {
			_ = Problems(err)
			return
		}
		if len(p.Identities) == 0 || (p.Mode != ModeEnforce && p.Mode != ModeAudit) {
			t.Fatalf("accepted a policy without identities or a mode: %+v", p)
		}
		if p.Mode == ModeEnforce && len(p.Require) == 0 {
			t.Fatal("accepted an enforce policy that requires nothing")
		}
		var ids []Identity
		ids = append(ids, p.Identities...)
		if p.Exceptions != nil {
			ids = append(ids, p.Exceptions.Signers...)
		}
		if p.BreakGlass != nil {
			ids = append(ids, p.BreakGlass.Signers...)
		}
		for _, id := range ids {
			if id.SubjectRegexp != "" {
				wholeMatchOnly(t, id.SubjectRegexp, subject)
			}
			if !id.IsKey() && checkIssuer(id.Issuer) != nil {
				t.Fatalf("accepted issuer %q", id.Issuer)
			}
		}
		for _, r := range p.Require {
			if r.PredicateType == "https://secure-gates.dev/attestation/dast/v1" {
				// A dast requirement names a comparable environment and, with
				// deny, a known risk.
				if c, ok := canonicalEnvironment(r.Environment); !ok || c == "" {
					t.Fatalf("accepted dast environment %q", r.Environment)
				}
				if r.Deny != nil && DASTRiskRank(r.Deny.Risk) == 0 {
					t.Fatalf("accepted dast deny %+v", r.Deny)
				}
			}
		}
		_ = Lint(p)
	})
}

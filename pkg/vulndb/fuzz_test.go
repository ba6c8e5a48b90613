package vulndb

import (
	"strings"
	"testing"
)

// FuzzParseOutagePolicy: the policy input is user text; only the two values pass.
func FuzzParseOutagePolicy(f *testing.F) {
	for _, s := range []string{"", "fail", "continue", "CONTINUE", "fail\n", "continue; rm -rf /"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseOutagePolicy(s)
		if err != nil {
			return
		}
		norm := strings.ToLower(strings.TrimSpace(s))
		if (p != OutageFail && p != OutageContinue) || (norm != "" && norm != string(p)) {
			t.Fatalf("ParseOutagePolicy(%q) = %q", s, p)
		}
	})
}

// FuzzApplicableFixes: fixed-version lists come from the DB; any text is handled.
func FuzzApplicableFixes(f *testing.F) {
	f.Add("java-archive", "2.14.1", "2.15.0,2.12.2,2.3.1")
	f.Add("deb", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1")
	f.Add("npm", "not a version", "x,,y")
	f.Fuzz(func(t *testing.T, typ, installed, fixes string) {
		in := strings.Split(fixes, ",")
		out := applicableFixes(syftType(typ), installed, in)
		if len(out) > len(in) {
			t.Fatalf("more fixes out than in: %v -> %v", in, out)
		}
	})
}

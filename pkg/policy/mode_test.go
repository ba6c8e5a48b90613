package policy

import "testing"

// Observation 2 of issue 13: environments are compared as GitHub compares them
// (case-insensitively), and with enforce-environments set, audit applies only to
// a named environment outside the list.
func TestEffectiveMode(t *testing.T) {
	t.Parallel()
	listed := &Policy{Mode: ModeAudit, EnforceEnvironments: []string{"production"}}
	open := &Policy{Mode: ModeAudit}
	enforce := &Policy{Mode: ModeEnforce, EnforceEnvironments: []string{"production"}}
	tests := []struct {
		name string
		p    *Policy
		env  string
		want Mode
	}{
		{"listed environment", listed, "production", ModeEnforce},
		{"listed environment, other case", listed, "Production", ModeEnforce},
		{"listed environment, upper case", listed, "PRODUCTION", ModeEnforce},
		{"listed environment, padded", listed, " production ", ModeEnforce},
		{"no environment", listed, "", ModeEnforce},
		{"blank environment", listed, "  ", ModeEnforce},
		{"named environment outside the list", listed, "staging", ModeAudit},
		{"prefix of a listed name is another environment", listed, "prod", ModeAudit},
		{"audit without a list: any environment", open, "production", ModeAudit},
		{"audit without a list: no environment", open, "", ModeAudit},
		{"enforce stays enforce", enforce, "staging", ModeEnforce},
		// A name that looks like a listed one is the listed one, or enforced:
		// format characters and whitespace are dropped, compatibility forms
		// folded (NFKC), and a name left with characters outside
		// printable ASCII is enforced (fail closed), never audited.
		{"listed environment with a zero-width space", listed, "produc\u200btion", ModeEnforce},
		{"listed environment with a trailing zero-width space", listed, "production\u200b", ModeEnforce},
		{"listed environment with a BOM and a soft hyphen", listed, "\ufeffprod\u00aduction", ModeEnforce},
		{"listed environment with inner whitespace", listed, "produc\ttion", ModeEnforce},
		{"listed environment in fullwidth letters", listed, "ｐｒｏｄｕｃｔｉｏｎ", ModeEnforce},
		{"Cyrillic look-alike letter", listed, "produc\u0442ion", ModeEnforce},
		{"Cyrillic look-alike o", listed, "pr\u043eduction", ModeEnforce},
		{"dotted capital I", listed, "PRODUCT\u0130ON", ModeEnforce},
		{"Kelvin sign and long s fold to ASCII", listed, "\u017ftaging", ModeAudit},
		{"an unlisted name with a non-ASCII letter", listed, "stagé", ModeEnforce},
		{"an unlisted ASCII name with a zero-width space", listed, "stag\u200bing", ModeAudit},
		{"an unlisted name with a control character", listed, "stag\x00ing", ModeEnforce},
		{"an unlisted ASCII name with punctuation", listed, "review/pr-12_eu.1", ModeAudit},
		{"a listed name written with a format character in the policy", &Policy{Mode: ModeAudit, EnforceEnvironments: []string{"prod\u200buction"}}, "production", ModeEnforce},
	}
	for _, tt := range tests {
		if got := tt.p.EffectiveMode(tt.env); got != tt.want {
			t.Errorf("%s: EffectiveMode(%q) = %s, want %s", tt.name, tt.env, got, tt.want)
		}
		if got := tt.p.AllowsAudit(tt.env); tt.p.Mode == ModeAudit && got != (tt.want == ModeAudit) {
			t.Errorf("%s: AllowsAudit(%q) = %v", tt.name, tt.env, got)
		}
	}
}

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

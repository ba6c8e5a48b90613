package dast

import (
	"testing"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// TestCheckTarget checks that the predicate's target must be the http(s)
// URL scanned: anything else is an input error.
func TestCheckTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		{"https://staging.example.com/", true},
		{"http://127.0.0.1:8080", true},
		{"", false},
		{"staging.example.com", false},
		{"ftp://staging.example.com/", false},
		{"https://", false},
		{"https://%zz", false},
	} {
		err := checkTarget(tc.target)
		if (err == nil) != tc.ok || (err != nil && errkind.Of(err) != errkind.KindInput) {
			t.Errorf("checkTarget(%q) = %v, want ok %v (or an input error)", tc.target, err, tc.ok)
		}
	}
}

// TestRuleDisposition checks the rules file's actions: IGNORE ignores,
// WARN and INFO warn, FAIL fails, an alert it does not name is counted.
func TestRuleDisposition(t *testing.T) {
	t.Parallel()
	for action, want := range map[string]string{
		ActionIgnore: attestation.DispositionIgnored,
		ActionWarn:   attestation.DispositionWarn,
		ActionInfo:   attestation.DispositionWarn,
		ActionFail:   attestation.DispositionFail,
		"":           attestation.DispositionCounted,
	} {
		if got := ruleDisposition(action); got != want {
			t.Errorf("ruleDisposition(%q) = %q, want %q", action, got, want)
		}
	}
}

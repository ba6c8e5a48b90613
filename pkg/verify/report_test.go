package verify

import "testing"

// TestRequirementMark: the verdict a person reads — a waived pass is not shown
// as a plain pass, and a failure shows every reason, not the detail.
func TestRequirementMark(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		r         RequirementResult
		mark, why string
	}{
		{"passed", RequirementResult{Passed: true, Detail: "signed by ci"}, "✓", "signed by ci"},
		{"failed", RequirementResult{Detail: "ignored", Reasons: []string{"no signature", "stale"}}, "✗", "no signature; stale"},
		{"waived", RequirementResult{Passed: true, Detail: "outage exception", Waived: "scanner down"}, "⚠", "outage exception"},
		{"failed though waived", RequirementResult{Waived: "scanner down", Reasons: []string{"expired"}}, "✗", "expired"},
	} {
		if mark, why := tc.r.Mark(); mark != tc.mark || why != tc.why {
			t.Errorf("%s: Mark() = %q, %q; want %q, %q", tc.name, mark, why, tc.mark, tc.why)
		}
	}
}

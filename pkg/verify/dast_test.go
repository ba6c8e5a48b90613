package verify

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// A dast requirement is met only by a DAST predicate whose own decision is
// pass: a scan that failed, or recorded an outage under fail, never satisfies
// it, and the newest-evidence rule orders DAST scans by their finish time.
func TestDASTRequirementNeedsAPassingScan(t *testing.T) {
	t.Parallel()
	pass, err := os.ReadFile("../attestation/testdata/predicates/dast.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		pred    string
		reasons int
	}{
		{"pass", string(pass), 0},
		{"fail", strings.Replace(string(pass), `"decision": "pass"`, `"decision": "fail"`, 1), 1},
		{"no decision", strings.Replace(string(pass), `"decision": "pass"`, `"decision": ""`, 1), 1},
		{"not a DAST predicate", `[]`, 1},
	} {
		if tt.name != "pass" && tt.pred == string(pass) {
			t.Fatalf("%s: edit did not apply", tt.name)
		}
		_, reasons := checkDAST([]byte(tt.pred))
		if len(reasons) != tt.reasons {
			t.Errorf("%s: reasons %q, want %d", tt.name, reasons, tt.reasons)
		}
	}
	at, field := predicateTime(attestation.PredicateDAST, pass)
	if want := time.Date(2026, 11, 20, 10, 14, 40, 0, time.UTC); !at.Equal(want) || field != "scanFinishedOn" {
		t.Errorf("predicateTime = %v %q, want %v scanFinishedOn", at, field, want)
	}
}

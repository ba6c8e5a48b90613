package verify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/policy"
)

// A code scan that did not read some files passed verify-and-deploy with no
// trace of them in its report: the requirement's detail now counts them.
func TestCodeScanDetailCountsNotScanned(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name       string
		notScanned any
		want       string
	}{
		{"none recorded", nil, ""},
		{"zero", map[string]any{"count": 0, "files": []any{}}, ""},
		{"one", map[string]any{"count": 1, "files": []any{map[string]any{"path": "a.bin", "scanner": "secrets", "reason": "binary file"}}}, "; 1 file not scanned (the predicate's notScanned names them)"},
		{"more than listed", map[string]any{"count": 1234, "files": []any{map[string]any{"path": "a.bin", "scanner": "secrets", "reason": "binary file"}}}, "; 1234 files not scanned (the predicate's notScanned names them)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := codeScan("pass", now.Add(-time.Hour)).(map[string]any)
			if tt.notScanned != nil {
				p["notScanned"] = tt.notScanned
			}
			raw, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			v := &verifier{now: now}
			detail, reasons, outages := v.checkCodeScan(policy.Requirement{}, raw, nil)
			if len(reasons) != 0 || len(outages) != 0 {
				t.Fatalf("reasons %q outages %q: want a pass", reasons, outages)
			}
			base := "decision pass (critical 0, high 0, medium 0, low 0)"
			if detail != base+tt.want {
				t.Errorf("detail %q, want %q", detail, base+tt.want)
			}
			if tt.want == "" && strings.Contains(detail, "not scanned") {
				t.Errorf("detail %q names files not scanned", detail)
			}
		})
	}
}

package finding_test

import (
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/finding"
)

// The severity-cutoff input scan and sbom embed: empty is high, none records
// and fails nothing, anything else is refused naming the input; a refused
// value never reads as a laxer cutoff.
func TestCutoffInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    finding.Severity
		wantErr string
	}{
		{"", finding.High, ""},
		{"Critical", finding.Critical, ""},
		{" low ", finding.Low, ""},
		{"none", finding.NoCutoff, ""},
		{"urgent", finding.Low, `severity-cutoff "urgent": expected critical, high, medium, low or none`},
	}
	for _, tt := range tests {
		in := finding.CutoffInputs{SeverityCutoff: tt.in}
		err := in.Validate()
		if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%q: Validate() = %v, want %q", tt.in, err, tt.wantErr)
		}
		if got := in.Cutoff(); got != tt.want {
			t.Errorf("%q: Cutoff() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

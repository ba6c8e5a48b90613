package sarif

import (
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// The upload-sarif/token pair scan, sbom and dast embed: an upload without a
// token is an input error (exit 2), found before any work; no upload needs none.
func TestUploadInputsCheckToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		token   string
		uploads bool
		wantErr bool
	}{
		{"", false, false},
		{"ghs_x", true, false},
		{"", true, true},
	}
	for _, tt := range tests {
		err := UploadInputs{UploadSARIF: tt.uploads, Token: tt.token}.CheckToken(tt.uploads)
		if (err != nil) != tt.wantErr || err != nil && (errkind.Of(err) != errkind.KindInput || err.Error() != "upload-sarif needs the token input (security-events: write)") {
			t.Errorf("token %q, uploads %v: %v", tt.token, tt.uploads, err)
		}
	}
}

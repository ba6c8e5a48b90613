package sarif

import (
	"errors"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// UploadInputs are the upload-sarif and token inputs of the gates that send
// their SARIF to GitHub code scanning (scan, sbom, dast); a gate embeds them in
// its Inputs (gha.Decode tags). The token is masked before anything runs.
type UploadInputs struct {
	UploadSARIF bool   `input:"upload-sarif"`
	Token       string `input:"token,secret"`
}

// CheckToken refuses an upload without a token (an input error), before any
// work: uploads is whether this run uploads (upload-sarif, and whatever else the
// gate requires of the run).
func (in UploadInputs) CheckToken(uploads bool) error {
	if uploads && in.Token == "" {
		return errkind.Input(errors.New("upload-sarif needs the token input (security-events: write)"))
	}
	return nil
}

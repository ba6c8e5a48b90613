package finding

// CutoffInputs are the severity-cutoff and only-fixed inputs of the gates that
// fail on vulnerability findings (scan, sbom); a gate embeds them in its Inputs
// (gha.Decode tags).
type CutoffInputs struct {
	SeverityCutoff string `input:"severity-cutoff"`
	OnlyFixed      bool   `input:"only-fixed"`
}

// Validate checks severity-cutoff (ParseCutoff).
func (in CutoffInputs) Validate() error {
	_, err := ParseCutoff(in.SeverityCutoff)
	return err
}

// Cutoff is the parsed severity-cutoff (Low, the strictest, for a value
// Validate refuses).
func (in CutoffInputs) Cutoff() Severity {
	s, err := ParseCutoff(in.SeverityCutoff)
	if err != nil {
		return Low
	}
	return s
}

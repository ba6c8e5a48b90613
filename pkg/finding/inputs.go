package finding

// CutoffInputs are the severity-cutoff and only-fixed inputs of the gates that
// fail on vulnerability findings (scan, sbom); a gate embeds them in its Inputs
// (gha.Decode tags).
type CutoffInputs struct {
	SeverityCutoff string `input:"severity-cutoff"`
	OnlyFixed      bool   `input:"only-fixed"`
}

// Cutoff parses severity-cutoff (ParseCutoff).
func (in CutoffInputs) Cutoff() (Severity, error) { return ParseCutoff(in.SeverityCutoff) }

package sarif

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Severity is a finding's severity as GitHub code scanning buckets it.
type Severity string

// The severities, from GitHub's security-severity buckets.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	// SeverityNone is a finding without a security severity.
	SeverityNone Severity = "none"
)

// The score thresholds GitHub uses to bucket properties."security-severity"
// ("SARIF support for code scanning", reportingDescriptor object): over 9.0 is
// critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low; 0.0 or a value
// outside (0, 10] has no security severity.
const (
	criticalThreshold = 9.0
	highThreshold     = 7.0
	mediumThreshold   = 4.0
	maxScore          = 10.0
)

// ParseSeverity reads a severity name, case-insensitively: critical, high,
// medium (or moderate, GitHub advisories' name for it), low, and none (or info,
// informational).
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical":
		return SeverityCritical, nil
	case "high":
		return SeverityHigh, nil
	case "medium", "moderate":
		return SeverityMedium, nil
	case "low":
		return SeverityLow, nil
	case "none", "info", "informational":
		return SeverityNone, nil
	}
	return "", fmt.Errorf("parsing severity %q: expected critical, high, medium (moderate), low or none", s)
}

// Score is the security-severity score used for a finding that has a severity
// but no score of its own (for example no CVSS vector): the middle of GitHub's
// bucket. SeverityNone and unknown severities score 0 (no security severity).
func (s Severity) Score() float64 {
	switch s {
	case SeverityCritical:
		return 9.5
	case SeverityHigh:
		return 8.0
	case SeverityMedium:
		return 5.5
	case SeverityLow:
		return 2.0
	}
	return 0
}

// Level is the SARIF level for the severity: critical and high are errors,
// medium a warning, low and none a note.
func (s Severity) Level() Level {
	switch s {
	case SeverityCritical, SeverityHigh:
		return LevelError
	case SeverityMedium:
		return LevelWarning
	}
	return LevelNote
}

// SeverityFromScore buckets a security-severity score the way GitHub does:
// >= 9.0 critical, >= 7.0 high, >= 4.0 medium, > 0 low, anything else
// (0, negative, NaN, over 10) none.
func SeverityFromScore(score float64) Severity {
	switch {
	case math.IsNaN(score) || score <= 0 || score > maxScore:
		return SeverityNone
	case score >= criticalThreshold:
		return SeverityCritical
	case score >= highThreshold:
		return SeverityHigh
	case score >= mediumThreshold:
		return SeverityMedium
	}
	return SeverityLow
}

// LevelForScore is SeverityFromScore(score).Level().
func LevelForScore(score float64) Level { return SeverityFromScore(score).Level() }

// formatScore renders a score in (0, 10] as GitHub expects it ("9.8"). It
// rounds down to one decimal, which keeps the score in its bucket (the
// thresholds have one decimal); a positive score below 0.1 becomes "0.1" so it
// stays low instead of becoming no severity.
func formatScore(score float64) (string, error) {
	if math.IsNaN(score) || score <= 0 || score > maxScore {
		return "", fmt.Errorf("security severity %v: expected a score in (0, 10]", score)
	}
	v := math.Floor(score*10+1e-9) / 10
	if v < 0.1 {
		v = 0.1
	}
	return strconv.FormatFloat(v, 'f', 1, 64), nil
}

package sarif

import (
	"fmt"
	"math"
	"strconv"

	"github.com/secure-gates/secure-gates/pkg/finding"
)

// formatScore renders a security-severity score in (0, 10] as GitHub expects
// it ("9.8"). It rounds down to one decimal, which keeps the score in its
// bucket (finding.FromScore's thresholds have one decimal); a positive score
// below 0.1 becomes "0.1" so it stays low instead of becoming no severity.
// Severities, their buckets and their SARIF levels are pkg/finding's.
func formatScore(score float64) (string, error) {
	if math.IsNaN(score) || score <= 0 || score > finding.MaxScore {
		return "", fmt.Errorf("security severity %v: expected a score in (0, 10]", score)
	}
	v := math.Floor(score*10+1e-9) / 10
	if v < 0.1 {
		v = 0.1
	}
	return strconv.FormatFloat(v, 'f', 1, 64), nil
}

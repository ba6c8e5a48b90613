package sbom

import (
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
)

// The timeout input had no upper bound (999999h was accepted): over GitHub's 6h
// job limit it is refused with exit 2, naming the input and the bound.
func TestTimeoutBound(t *testing.T) {
	t.Parallel()
	res := gatetest.Run(t, Gate, nil, "--path", t.TempDir(), "--timeout", "999999h", "--output-dir", t.TempDir(), "--upload-sarif", "false")
	if res.Code != 2 || !strings.Contains(res.Stderr, "timeout is 999999h0m0s, over the 6h0m0s bound") {
		t.Errorf("exit %d, want 2 naming the timeout and its bound:\n%s", res.Code, res.Stderr)
	}
}

package sbom

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// The timeout input had no upper bound (999999h was accepted): over GitHub's 6h
// job limit it is refused with exit 2, naming the input and the bound.
func TestTimeoutBound(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	rt := gha.New(gha.Options{Stdout: &stdout, Getenv: func(string) string { return "" }})
	app := &gate.App{Gates: []gate.Gate{Gate}, Stderr: &stdout}
	code := app.Main(context.Background(), rt, []string{"sbom", "--path", t.TempDir(), "--timeout", "999999h",
		"--output-dir", t.TempDir(), "--upload-sarif", "false"})
	if code != 2 || !strings.Contains(stdout.String(), "timeout is 999999h0m0s, over the 6h0m0s bound") {
		t.Errorf("exit %d, want 2 naming the timeout and its bound:\n%s", code, stdout.String())
	}
}

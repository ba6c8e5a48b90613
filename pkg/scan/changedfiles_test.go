package scan

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

func TestChangedFiles(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	files, err := ChangedFiles(context.Background(), fx.Dir, fx.Base, fx.Head)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(files, "config/settings.env") || !slices.Contains(files, ".gitleaksignore") || slices.Contains(files, "deploy/old-token.txt") {
		t.Errorf("changed files = %q", files)
	}
	if _, err := ChangedFiles(context.Background(), fx.Dir, "--output=x", fx.Head); errkind.Of(err) != errkind.KindInput {
		t.Errorf("option as revision: %v", err)
	}
	// A base that is not in the clone (a shallow checkout) says what to do.
	if _, err := ChangedFiles(context.Background(), fx.Dir, strings.Repeat("a", 40), fx.Head); errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "fetch-depth") {
		t.Errorf("base not in clone: %v", err)
	}
}

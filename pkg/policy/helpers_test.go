package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// keyDir writes the public keys the example policy names into a temp folder.
func keyDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range []string{"release.pub", "security.pub", "breakglass.pub"} {
		_, pub := testinfra.ECDSAKey(t)
		if err := os.WriteFile(filepath.Join(dir, n), []byte(pub), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func example(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// wantRefusal fails t unless err refuses a policy as bad input (exit 2) with a
// message that says each of fragments.
func wantRefusal(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("loaded; want an error saying %q", fragments)
	}
	if errkind.ExitCode(err) != errkind.ExitInput {
		t.Errorf("exit code %d, want %d", errkind.ExitCode(err), errkind.ExitInput)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not say %q", err, f)
		}
	}
}

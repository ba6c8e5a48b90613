package golden_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
)

// recorder is a testing.TB that records failures instead of stopping the test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()                   {}
func (r *recorder) Errorf(string, ...any)     { r.failed = true }
func (r *recorder) Fatalf(f string, a ...any) { r.failed = true; panic(r) }
func (r *recorder) Fatal(...any)              { r.failed = true; panic(r) }

func check(t *testing.T, path string, got []byte) (failed bool) {
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		failed = r.failed
	}()
	golden.Check(r, path, got)
	return r.failed
}

func TestCheck(t *testing.T) {
	t.Parallel()
	if golden.Updating() {
		t.Skip("this test checks comparison, not -update")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "out.golden")
	if err := os.WriteFile(p, []byte("same\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if check(t, p, []byte("same\n")) {
		t.Error("equal output reported as different")
	}
	if !check(t, p, []byte("same")) {
		t.Error("output differing by a newline passed")
	}
	if !check(t, filepath.Join(dir, "missing.golden"), []byte("x")) {
		t.Error("a missing golden file passed")
	}
}

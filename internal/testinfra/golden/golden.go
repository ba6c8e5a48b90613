// Package golden compares a test's output with a golden file under testdata/
// and, with `go test -update`, rewrites the file from the output instead.
//
// It registers the -update flag, so a test package that uses it must not
// declare its own. It imports only the standard library: any package's tests
// may use it without linking anything heavy.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the tests' output")

// Updating reports whether the test binary runs with -update.
func Updating() bool { return *update }

// Check fails t unless got equals the content of the golden file at path.
// With -update it first writes got to path (creating its directory), so the
// comparison passes and the diff is left for review in git.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (check it, then run go test -update to accept it):\n%s", path, got)
	}
}

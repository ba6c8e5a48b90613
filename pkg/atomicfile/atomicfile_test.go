package atomicfile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/atomicfile"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "report.json")
	if err := atomicfile.Write(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(got) != "two" || st.Mode().Perm() != 0o600 {
		t.Errorf("content %q mode %v, want two and 0600 kept", got, st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
	// A path that cannot be written leaves the old file alone and says which path.
	if err := atomicfile.Write(filepath.Join(p, "x"), []byte("y")); err == nil {
		t.Error("writing below a file succeeded")
	}
}

func ExampleWrite() {
	dir, _ := os.MkdirTemp("", "atomicfile-example")
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "verdict.txt")
	fmt.Println(atomicfile.Write(p, []byte("pass\n")))
	// Output: <nil>
}

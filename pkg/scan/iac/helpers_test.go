package iac_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
)

// scan runs Scan and fails the test on error.
func scan(t *testing.T, dir string, o iac.Options) []finding.Finding {
	t.Helper()
	fs, err := iac.Scan(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Scan(%s): %v", dir, err)
	}
	return fs
}

// short renders findings as "rule path:line" for comparison.
func short(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s:%d", f.RuleID, f.Path, f.StartLine))
	}
	return out
}

func itoa(i int) string { return fmt.Sprint(i) }

// extract writes the files of a txtar archive into a new temporary directory
// and returns the directory. A rule's fixtures are one archive,
// testdata/rules/<rule>.txtar: a comment saying what the rule catches and how
// the cases differ, then the cases side by side (-- bad/main.tf --,
// -- good/main.tf --, …).
func extract(t testing.TB, archive string) string {
	t.Helper()
	dir := t.TempDir()
	extractInto(t, archive, dir)
	return dir
}

func extractInto(t testing.TB, archive, dir string) {
	t.Helper()
	a, err := txtar.ParseFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	files, err := txtar.FS(a)
	if err != nil {
		t.Fatalf("%s: %v", archive, err)
	}
	if err := os.CopyFS(dir, files); err != nil {
		t.Fatalf("extracting %s: %v", archive, err)
	}
}

// fixtureTree copies testdata into a new temporary directory with every
// archive extracted where it stands (testdata/rules/<rule>.txtar becomes the
// folder testdata/rules/<rule>), for the tests that scan every fixture at once.
func fixtureTree(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata")); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".txtar") {
			return err
		}
		extractInto(t, p, strings.TrimSuffix(p, ".txtar"))
		return os.Remove(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

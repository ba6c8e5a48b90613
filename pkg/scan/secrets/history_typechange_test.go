package secrets

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/finding"
)

// TestHistoryTypeChange: a commit that turns a symlink into a regular file
// (git's type change, T) adds every line of the file; a secret there and gone
// from the tree by the head commit is still found in the history.
func TestHistoryTypeChange(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	git := func(args ...string) string {
		t.Helper()
		return fx.Git(t, args...)
	}
	link := filepath.Join(fx.Dir, "conf.txt")
	if err := os.Symlink("elsewhere", link); err != nil {
		t.Fatal(err)
	}
	git("add", "-A")
	git("commit", "-q", "-m", "link")
	base := git("rev-parse", "HEAD")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(link, []byte("aws = "+fx.AWSKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "-A")
	git("commit", "-q", "-m", "type change")
	git("rm", "-q", "conf.txt")
	git("commit", "-q", "-m", "remove")
	head := git("rev-parse", "HEAD")

	res, err := Scan(context.Background(), fx.Dir, Options{Range: &Range{Base: base, Head: head}})
	if err != nil {
		t.Fatal(err)
	}
	var in []finding.Finding
	for _, f := range res.Findings {
		if f.Path == "conf.txt" {
			in = append(in, f)
		}
	}
	if got, want := summarize(in), []string{"aws-access-token conf.txt:1 critical"}; !slices.Equal(got, want) {
		t.Errorf("findings in conf.txt = %q, want %q", got, want)
	}
}

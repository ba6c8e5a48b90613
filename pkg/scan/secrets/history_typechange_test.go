package secrets

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
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

	_, got := scanHistory(t, fx.Dir, base, head, "conf.txt")
	if want := []string{"aws-access-token conf.txt:1 critical"}; !slices.Equal(got, want) {
		t.Errorf("findings in conf.txt = %q, want %q", got, want)
	}
}

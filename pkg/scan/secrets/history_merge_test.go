package secrets

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// TestHistoryEvilMerge: a merge commit can add lines neither parent has (an
// "evil merge", or a conflict resolved with new text); git log -p shows no
// diff for merges unless asked. A secret added so and removed before the head
// commit is still found; what the merge only brings in from main is not
// reported again.
func TestHistoryEvilMerge(t *testing.T) {
	t.Parallel()
	for _, conflict := range []bool{false, true} {
		fx := testinfra.NewScanFixture(t)
		git := func(args ...string) string {
			out, _ := fx.GitCommand(args...).CombinedOutput() // a conflicting merge exits 1
			return strings.TrimSpace(string(out))
		}
		write := func(name, content string) {
			t.Helper()
			if err := os.WriteFile(filepath.Join(fx.Dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("notes.txt", "one\n")
		git("add", "-A")
		git("commit", "-q", "-m", "notes")
		base := git("rev-parse", "HEAD")
		main := git("rev-parse", "--abbrev-ref", "HEAD")
		git("checkout", "-q", "-b", "feature")
		write("notes.txt", "feature\n")
		git("commit", "-q", "-am", "feature")
		git("checkout", "-q", main)
		write("notes.txt", "main\n")
		write("main.txt", "from main\n")
		git("add", "-A")
		git("commit", "-q", "-m", "main")
		git("checkout", "-q", "feature")
		git("merge", "-q", "--no-commit", main)
		if conflict {
			write("notes.txt", "resolved\naws = "+fx.AWSKey+"\n")
		} else {
			write("evil.txt", "aws = "+fx.AWSKey+"\n")
		}
		git("add", "-A")
		git("commit", "-q", "--no-edit", "-m", "merge")
		git("rm", "-q", "-r", "--ignore-unmatch", "evil.txt")
		write("notes.txt", "resolved\n")
		git("add", "-A")
		git("commit", "-q", "-m", "clean up")
		head := git("rev-parse", "HEAD")

		_, got := scanHistory(t, fx.Dir, base, head, "evil.txt", "notes.txt", "main.txt")
		want := []string{"aws-access-token evil.txt:1 critical"}
		if conflict {
			want = []string{"aws-access-token notes.txt:2 critical"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("conflict %v: findings = %q, want %q", conflict, got, want)
		}
	}
}

package secrets

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// A pull request's commits cannot hide a secret from the history scan by
// making git call the change binary: a .gitattributes they add (`binary`,
// `-diff`) or a NUL byte in the file. The added lines are judged by content, as
// files of the tree are; a real binary change is still not scanned, and named.
func TestHistoryBinaryTricks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, attributes, file, content string
		want                            []string
		notScanned                      string
	}{
		{"binary attribute", "*.txt binary\n", "leak.txt", "aws = %s\n", []string{"aws-access-token leak.txt:1 critical"}, ""},
		{"-diff attribute", "*.cfg -diff\n", "app.cfg", "aws = %s\n", []string{"aws-access-token app.cfg:1 critical"}, ""},
		{"NUL byte", "", "nul.txt", "\x00\x00header\naws = %s\n", []string{"aws-access-token nul.txt:2 critical"}, ""},
		{"real binary", "", "blob.bin", strings.Repeat("\x00\x01\x02\x03\xff\xfe", 2000) + "%s", nil, "blob.bin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := testinfra.NewScanFixture(t)
			git := func(args ...string) string {
				t.Helper()
				return fx.Git(t, args...)
			}
			if tt.attributes != "" {
				if err := os.WriteFile(filepath.Join(fx.Dir, ".gitattributes"), []byte(tt.attributes), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			content := strings.Replace(tt.content, "%s", fx.AWSKey, 1)
			if err := os.WriteFile(filepath.Join(fx.Dir, tt.file), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			git("add", "-A")
			git("commit", "-q", "-m", "add "+tt.file)
			git("rm", "-q", tt.file) // gone from the tree: only the history has it
			git("commit", "-q", "-m", "remove "+tt.file)
			head := git("rev-parse", "HEAD")

			res, got := scanHistory(t, fx.Dir, fx.Head, head, tt.file)
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings in %s = %q, want %q", tt.file, got, tt.want)
			}
			named := false
			for _, n := range res.NotScanned {
				named = named || strings.HasPrefix(n.Path, tt.notScanned+" ")
			}
			if tt.notScanned != "" && !named {
				t.Errorf("%s not named as not scanned: %+v", tt.notScanned, res.NotScanned)
			}
		})
	}
}

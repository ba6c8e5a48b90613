package scan

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gitcmd"
)

// maxChangedFiles bounds the files a pull request may touch for a changed-only
// IaC scan; more is an input error (check the whole tree instead).
const maxChangedFiles = 100000

// ChangedFiles returns the paths, relative to root, of the files added,
// modified or deleted between base and head (from their merge base, as
// GitHub's pull request diff; a rename counts as both paths). It is what
// iac.Options.Changed takes.
func ChangedFiles(ctx context.Context, root, base, head string) ([]string, error) {
	for _, r := range []string{base, head} {
		if !shaRE.MatchString(r) {
			return nil, errkind.Input(fmt.Errorf("revision %q: expected a commit SHA", r))
		}
	}
	out, err := gitcmd.Git{Dir: root, MaxOutput: 64 << 20}.Output(ctx, "diff", "--name-only", "--no-renames", "-z", "--no-ext-diff", "--relative", base+"..."+head, "--")
	if errors.Is(err, gitcmd.ErrOutputTooLarge) {
		return nil, errkind.Input(fmt.Errorf("the pull request touches more than %d files: set iac-changed-only to false", maxChangedFiles))
	}
	if err != nil {
		if msg := err.Error(); strings.Contains(msg, "bad revision") || strings.Contains(msg, "unknown revision") || strings.Contains(msg, "no merge base") || strings.Contains(msg, "Invalid symmetric difference") {
			return nil, errkind.Input(fmt.Errorf("listing the changed files %s...%s: the commits are not in the clone (%.200s): check out with fetch-depth: 0, or set iac-changed-only to false", base, head, strings.TrimSpace(msg)))
		}
		return nil, errkind.Infra(fmt.Errorf("listing the changed files %s...%s: %w", base, head, err))
	}
	files := []string{}
	for _, p := range strings.Split(string(out), "\x00") {
		if p == "" {
			continue
		}
		if len(files) >= maxChangedFiles {
			return nil, errkind.Input(fmt.Errorf("the pull request touches more than %d files: set iac-changed-only to false", maxChangedFiles))
		}
		files = append(files, path.Clean(p))
	}
	return files, nil
}

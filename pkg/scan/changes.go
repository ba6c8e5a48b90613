package scan

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path"

	"github.com/gitleaks/go-gitdiff/gitdiff"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gitcmd"
)

// Changes are the lines a pull request added or changed, by path relative to
// the scan root.
type Changes map[string][][2]int

// ChangedLines returns the lines changed between base and head (the merge base
// of the two, as GitHub's pull request diff does), under root.
func ChangedLines(ctx context.Context, root, base, head string) (Changes, error) {
	for _, r := range []string{base, head} {
		if !shaRE.MatchString(r) {
			return nil, errkind.Input(fmt.Errorf("revision %q: expected a commit SHA", r))
		}
	}
	out, err := gitcmd.Git{Dir: root, MaxOutput: 256 << 20}.Output(ctx, "diff", "-U0", "--no-color", "--no-ext-diff", "--relative", base+"..."+head, "--")
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("listing the changed lines %s...%s: %w", base, head, err))
	}
	files, err := gitdiff.Parse(bufio.NewReader(bytes.NewReader(out)))
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("parsing the diff %s...%s: %w", base, head, err))
	}
	ch := Changes{}
	for f := range files {
		if f.IsDelete {
			continue
		}
		for _, tf := range f.TextFragments {
			if tf.NewLines > 0 {
				ch[path.Clean(f.NewName)] = append(ch[path.Clean(f.NewName)], [2]int{int(tf.NewPosition), int(tf.NewPosition + tf.NewLines - 1)})
			}
		}
	}
	return ch, nil
}

// Touches reports whether f lies on a changed line (or, for a finding without a
// line, in a changed file).
func (c Changes) Touches(f finding.Finding) bool {
	ranges, ok := c[f.Path]
	if !ok {
		return false
	}
	if f.StartLine == 0 {
		return true
	}
	end := max(f.EndLine, f.StartLine)
	for _, r := range ranges {
		if f.StartLine <= r[1] && end >= r[0] {
			return true
		}
	}
	return false
}

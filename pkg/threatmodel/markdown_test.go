package threatmodel_test

import (
	"testing"

	"github.com/secure-gates/secure-gates/pkg/threatmodel"
)

// TestMarkdownAsGitHubRendersIt holds bodies whose markdown the hand-written
// line scanner read differently from GitHub (CommonMark): a label GitHub does
// not show as one, an answer GitHub hides, or a label and answer GitHub shows
// that were missed.
func TestMarkdownAsGitHubRendersIt(t *testing.T) {
	t.Parallel()
	const a = "Attackers upload oversized archives that exhaust the disk of the worker nodes.\n"
	for _, tc := range []struct {
		name, body string
		want       threatmodel.Status
	}{
		// A fence indented four spaces does not close a code block: the
		// heading after it is code.
		{"heading after an indented fence lookalike", "```\n    ```\n## What can go wrong?\n" + a + "```\n", miss},
		// A fenced code block inside a list item.
		{"heading in a list item's code block", "- ```\n  ## What can go wrong?\n  " + a + "  ```\n", miss},
		// Lines right after <details> are raw HTML: "## …" is shown as text.
		{"heading in an HTML block", "<details>\n## What can go wrong?\n" + a + "</details>\n", miss},
		// <pre> runs to </pre>, blank lines included.
		{"heading in <pre>", "<pre>\n\n## What can go wrong?\n\n" + a + "</pre>\n", miss},
		// A comment opening a list item hides everything to "-->", blank lines
		// included: the heading and its answer are not shown.
		{"answer in a list item's comment", "- <!--\n\n  ## What can go wrong?\n  " + a + "  -->\n", miss},
		// "**" that never closes is not bold: the line shows the asterisks.
		{"unclosed bold", "**What can go wrong? " + a, miss},
		// A setext heading's text may span lines.
		{"setext heading over two lines", "What can go\nwrong?\n---\n" + a, ans},
		// An indented code block shows "<!-- … -->" as text.
		{"comment syntax in an indented code block", "## What can go wrong?\n\n    <!-- " + a + "    -->\n", ans},
		// An escaped "<" is text, not a comment.
		{"escaped comment", "## What can go wrong?\n\\<!-- " + a + "-->\n", ans},
		// Link reference definitions are not shown.
		{"answer made of link definitions", "## What can go wrong?\n[attackers upload oversized archives]: /a\n[that exhaust the worker disks]: /b\n", emp},
		// A table row is shown as a row, not as a bold label.
		{"bold label in a table", "**What can go wrong?** | " + a[:len(a)-1] + "\n--- | ---\n", miss},
		// Still as before: an answer inside a comment is no answer, a heading
		// in a fenced block no heading.
		{"answer in a comment", "## What can go wrong?\n<!--\n" + a + "-->\n", ph},
		{"heading in a fenced block", "```\n## What can go wrong?\n" + a + "```\n", miss},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := threatmodel.Check(tc.body, threatmodel.Options{Questions: []string{"What can go wrong?"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Questions[0].Status; got != tc.want {
				t.Errorf("body\n%s\nstatus %s (%s), want %s", tc.body, got, r.Questions[0].Reason, tc.want)
			}
		})
	}
}

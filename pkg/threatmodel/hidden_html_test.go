package threatmodel_test

import (
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/threatmodel"
)

// TestHiddenMarkupIsNoAnswer: answers GitHub does not show (raw HTML the
// sanitizer drops, tag attributes, the lines of a link reference definition)
// answer nothing; the same answers as visible text pass.
func TestHiddenMarkupIsNoAnswer(t *testing.T) {
	t.Parallel()
	answers := []string{
		"A password reset endpoint that emails a one-time signed link to users.",
		"Attackers could enumerate accounts or replay stolen reset tokens from email logs.",
		"Tokens expire after fifteen minutes, are single use, and responses never reveal accounts.",
		"Security review covered token storage; integration tests exercise expiry and reuse paths.",
	}
	body := func(wrap string) string {
		wrapped := make([]string, len(answers))
		for i, a := range answers {
			wrapped[i] = strings.ReplaceAll(wrap, "ANSWER", a)
		}
		return headed(wrapped...)
	}
	for _, tc := range []struct {
		name, wrap string
		pass       bool
	}{
		{"plain text", "ANSWER", true},
		{"pre block", "<pre>\nANSWER\n</pre>", true},
		{"div block", "<div>\nANSWER\n</div>", true},
		{"table", "| ANSWER |\n|---|", true},
		{"processing instruction block", "<?x ANSWER ?>", false},
		{"declaration block", "<!X ANSWER >", false},
		{"CDATA block", "<![CDATA[ANSWER]]>", false},
		{"script block", "<script>\nANSWER\n</script>", false},
		{"style block", "<style>\nANSWER\n</style>", false},
		{"script inside div", "<div><script>\nANSWER\n</script></div>", false},
		{"inline processing instruction", "x <?x ANSWER ?>", false},
		{"inline declaration", "x <!X ANSWER>", false},
		{"inline CDATA", "x <![CDATA[ANSWER]]>", false},
		{"inline script", "x <script>ANSWER</script>", false},
		{"attribute of a tag over two lines", "x <a\ntitle=\"ANSWER\"> y", false},
		{"link definition title on its own line", "[x]:\n/u\n'ANSWER'", false},
		{"link definition label over two lines", "[x\ny]: /u 'ANSWER'", false},
	} {
		res, err := threatmodel.Check(body(tc.wrap), threatmodel.Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.Pass != tc.pass {
			t.Errorf("%s: pass = %v, want %v (missing %q)", tc.name, res.Pass, tc.pass, res.Missing())
		}
	}
}

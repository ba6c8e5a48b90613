package threatmodel_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/secure-gates/secure-gates/pkg/threatmodel"
)

// FuzzCheck feeds arbitrary bodies to Check: it must not panic, must stay
// consistent, and its reasons must never carry workflow-command syntax.
func FuzzCheck(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.md"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed bodies under testdata: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		"",
		"\r\n\r",
		"<!--",
		"<!-->",
		"-->",
		"```",
		"`<!--` ``` `` `",
		"## What can go wrong?\n::error::x\n%0A::add-mask::y",
		"**What can go wrong?** ?",
		"- **Q2: What can go wrong?**\n<!-- a\n\n-->",
		"What can go wrong?\n---\n",
		"##\n#\n######## x\n",
		"1234567890) What can go wrong?",
		"\xff\xfe## What\xc3 can go wrong?\n\xed\xa0\x80",
		strings.Repeat("**?", 400),
		strings.Repeat("- ", 300) + "What can go wrong?",
	} {
		f.Add(s)
	}
	valid := map[threatmodel.Status]bool{
		threatmodel.StatusAnswered: true, threatmodel.StatusMissing: true, threatmodel.StatusEmpty: true,
		threatmodel.StatusPlaceholder: true, threatmodel.StatusNonAnswer: true, threatmodel.StatusTooShort: true,
	}
	f.Fuzz(func(t *testing.T, body string) {
		res, err := threatmodel.Check(body, threatmodel.Options{})
		if err != nil {
			t.Fatalf("Check: %v", err) // every fuzz input is under the default cap
		}
		if len(res.Questions) != 4 {
			t.Fatalf("%d question results, want 4", len(res.Questions))
		}
		lines := strings.Count(strings.ReplaceAll(body, "\r\n", "\n"), "\n") + strings.Count(body, "\r") + 1
		allAnswered := true
		for i, q := range res.Questions {
			if !valid[q.Status] {
				t.Errorf("Questions[%d]: unknown status %q", i, q.Status)
			}
			if strings.Contains(q.Reason, "::") || strings.ContainsAny(q.Reason, "\r\n%") {
				t.Errorf("Questions[%d]: reason %q carries command syntax", i, q.Reason)
			}
			if q.Line < 0 || q.Line > lines || (q.Line == 0) != (q.Status == threatmodel.StatusMissing) {
				t.Errorf("Questions[%d]: line %d with status %s (%d lines)", i, q.Line, q.Status, lines)
			}
			if q.Words < 0 {
				t.Errorf("Questions[%d]: %d words", i, q.Words)
			}
			allAnswered = allAnswered && q.Status == threatmodel.StatusAnswered
		}
		if res.Pass != allAnswered || res.Pass != (len(res.Missing()) == 0) {
			t.Errorf("Pass = %v, but statuses %v", res.Pass, res.Questions)
		}
		if !strings.HasPrefix(res.AnswersDigest, "sha256:") || len(res.AnswersDigest) != 71 {
			t.Errorf("AnswersDigest = %q", res.AnswersDigest)
		}
		b, err := json.Marshal(res)
		if err != nil || !utf8.Valid(b) {
			t.Errorf("Result does not marshal to valid JSON: %v", err)
		}
		// CRLF line endings read exactly like LF ones.
		if !strings.Contains(body, "\r") {
			crlf, err := threatmodel.Check(strings.ReplaceAll(body, "\n", "\r\n"), threatmodel.Options{MaxBodyBytes: 2*len(body) + 1})
			if err != nil {
				t.Fatal(err)
			}
			if !equalResults(crlf, res) {
				t.Errorf("CRLF body: %+v\nLF body: %+v", crlf, res)
			}
		}
	})
}

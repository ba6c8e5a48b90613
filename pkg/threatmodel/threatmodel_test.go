package threatmodel_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/threatmodel"
)

const (
	ans  = threatmodel.StatusAnswered
	miss = threatmodel.StatusMissing
	emp  = threatmodel.StatusEmpty
	ph   = threatmodel.StatusPlaceholder
	non  = threatmodel.StatusNonAnswer
	shrt = threatmodel.StatusTooShort
)

func readBody(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lineOf returns the 1-based line of the first line of body that contains sub.
func lineOf(t *testing.T, body, sub string) int {
	t.Helper()
	for i, l := range strings.Split(body, "\n") {
		if strings.Contains(l, sub) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", sub)
	return 0
}

func statuses(r threatmodel.Result) []threatmodel.Status {
	var out []threatmodel.Status
	for _, q := range r.Questions {
		out = append(out, q.Status)
	}
	return out
}

// TestCheckBodies checks real-looking PR bodies and keeps the JSON of each
// Result as a golden file: the JSON is what the action logs and attests.
func TestCheckBodies(t *testing.T) {
	custom := []string{"Assets touched", "Abuse cases", "Mitigations"}
	tests := []struct {
		name string
		file string
		opts threatmodel.Options
		want []threatmodel.Status
		// labels maps a question index to a text found on its label's line.
		labels map[int]string
	}{
		{
			name:   "headings",
			file:   "good_headings.md",
			want:   []threatmodel.Status{ans, ans, ans, ans},
			labels: map[int]string{0: "### What are we working on?", 3: "### Did we do a good job?"},
		},
		{
			name:   "bold labels with same-line answers",
			file:   "good_bold.md",
			want:   []threatmodel.Status{ans, ans, ans, ans},
			labels: map[int]string{1: "**What can go wrong?**:", 2: "__What are we going to do about it?__"},
		},
		{
			name:   "numbered and bulleted labels",
			file:   "numbered.md",
			want:   []threatmodel.Status{ans, ans, ans, ans},
			labels: map[int]string{0: "1. What are we working on?", 1: "2) What can go wrong?", 3: "Q4 — Did we"},
		},
		{
			name: "naive Q1 Q2 Q3 Q4 mention fails all four",
			file: "naive.md",
			want: []threatmodel.Status{miss, miss, miss, miss},
		},
		{
			name:   "unfilled template is placeholder",
			file:   "template_unfilled.md",
			want:   []threatmodel.Status{ph, ph, ph, ph},
			labels: map[int]string{3: "### Did we do a good job?"},
		},
		{
			name: "N/A, TBD, see above and a dash are non-answers",
			file: "non_answers.md",
			want: []threatmodel.Status{non, non, non, non},
		},
		{
			name: "short answers fail the default minimum",
			file: "short.md",
			want: []threatmodel.Status{shrt, shrt, shrt, shrt},
		},
		{
			name: "short answers pass a custom minimum of 3",
			file: "short.md",
			opts: threatmodel.Options{MinWords: 3},
			want: []threatmodel.Status{ans, ans, ans, ans},
		},
		{
			name:   "questions in code blocks, comments and sentences do not count",
			file:   "code_block.md",
			want:   []threatmodel.Status{ans, miss, miss, miss},
			labels: map[int]string{0: "## What are we working on?"},
		},
		{
			name:   "custom questions",
			file:   "custom_questions.md",
			opts:   threatmodel.Options{Questions: custom},
			want:   []threatmodel.Status{ans, ans, ans},
			labels: map[int]string{2: "## Mitigations"},
		},
		{
			name: "default questions are missing from a custom-question body",
			file: "custom_questions.md",
			want: []threatmodel.Status{miss, miss, miss, miss},
		},
		{
			name: "italic instructions, bracketed text and configured placeholders",
			file: "placeholders.md",
			want: []threatmodel.Status{ph, ph, ph, non},
		},
		{
			name: "a same-level heading ends the answer",
			file: "sections.md",
			want: []threatmodel.Status{ans, ans, ans, emp},
		},
		{
			name:   "setext headings",
			file:   "setext.md",
			want:   []threatmodel.Status{ans, ans, ans, ans},
			labels: map[int]string{0: "What are we working on?", 3: "Did we do a good job?"},
		},
		{
			name:   "a list of the questions before the answered headings",
			file:   "repeated_labels.md",
			want:   []threatmodel.Status{ans, ans, ans, ans},
			labels: map[int]string{0: "## What are we working on?", 3: "## Did we do a good job?"},
		},
		{
			name: "workflow commands in the body",
			file: "injection.md",
			want: []threatmodel.Status{ans, shrt, miss, shrt},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := readBody(t, tt.file)
			res, err := threatmodel.Check(body, tt.opts)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := statuses(res); !slices.Equal(got, tt.want) {
				t.Fatalf("statuses = %v, want %v\n%+v", got, tt.want, res.Questions)
			}
			wantPass := !slices.ContainsFunc(tt.want, func(s threatmodel.Status) bool { return s != ans })
			if res.Pass != wantPass {
				t.Errorf("Pass = %v, want %v", res.Pass, wantPass)
			}
			wantQ := tt.opts.Questions
			if wantQ == nil {
				wantQ = threatmodel.DefaultQuestions()
			}
			for i, q := range res.Questions {
				if q.Question != wantQ[i] {
					t.Errorf("Questions[%d].Question = %q, want %q", i, q.Question, wantQ[i])
				}
				if (q.Status == miss) != (q.Line == 0) {
					t.Errorf("Questions[%d]: status %s with line %d", i, q.Status, q.Line)
				}
				if (q.Status == ans) != (q.Reason == "") {
					t.Errorf("Questions[%d]: status %s with reason %q", i, q.Status, q.Reason)
				}
			}
			for i, sub := range tt.labels {
				if want := lineOf(t, body, sub); res.Questions[i].Line != want {
					t.Errorf("Questions[%d].Line = %d, want %d (the line with %q)", i, res.Questions[i].Line, want, sub)
				}
			}
			checkGolden(t, tt.file, tt.opts, res)
		})
	}
}

func checkGolden(t *testing.T, file string, opts threatmodel.Options, res threatmodel.Result) {
	t.Helper()
	name := strings.TrimSuffix(file, ".md")
	if opts.Questions != nil {
		name += "-custom"
	}
	if opts.MinWords != 0 {
		name += "-minwords"
	}
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden.Check(t, filepath.Join("testdata", "golden", name+".json"), got)
}

// TestRules checks one rule at a time on a single question.
func TestRules(t *testing.T) {
	one := threatmodel.Options{Questions: []string{"What can go wrong?"}}
	const good = "An attacker could replay the signed webhook payload."
	tests := []struct {
		name string
		body string
		want threatmodel.Status
	}{
		{"heading", "## What can go wrong?\n" + good, ans},
		{"heading with emoji, prefix, case and spacing", "## 🔥 Q2:  What   can go WRONG ?!\n" + good, ans},
		{"heading with closing hashes", "## What can go wrong? ##\n" + good, ans},
		{"bold inside heading", "### **What can go wrong?**\n" + good, ans},
		{"question number prefix", "#### Question 2 - What can go wrong:\n" + good, ans},
		{"bold label with prefix outside the bold", "**Q2:** What can go wrong? " + good, ans},
		{"bullet with same-line answer", "* What can go wrong? " + good, ans},
		{"plus bullet", "+ What can go wrong?\n" + good, ans},
		{"indented four spaces is code, not a label", "    ## What can go wrong?\n" + good, miss},
		{"plain line is not a label", "What can go wrong?\n" + good, miss},
		{"inside a sentence", "We asked what can go wrong? and " + good, miss},
		{"bullet with the question inside a sentence", "- We asked what can go wrong? " + good, miss},
		{"block quote", "> ## What can go wrong?\n> " + good, miss},
		{"bold not at the start of the line", "Note: **What can go wrong?** " + good, miss},
		{"other words before the question", "## Things that can go wrong: what can go wrong?\n" + good, miss},
		{"words after the question in a heading", "## What can go wrong? (required)\n" + good, miss},
		{"question inside a backtick fence", "```\n## What can go wrong?\n```\n" + good, miss},
		{"question inside a tilde fence", "~~~md\n## What can go wrong?\n~~~\n" + good, miss},
		{"unclosed fence hides the rest", "```\n\n## What can go wrong?\n" + good, miss},
		{"question inside a comment", "<!-- ## What can go wrong? -->\n" + good, miss},
		{"question inside a multi-line comment", "<!--\n## What can go wrong?\n" + good + "\n-->", miss},
		{"unclosed block comment hides the rest", "<!--\n## What can go wrong?\n" + good, miss},
		{"line ending a comment is not a label", "<!-- x\n--> ## What can go wrong?\n" + good, miss},
		{"Q2: done", "Q2: done\n- Q2: done", miss},
		{"empty", "## What can go wrong?\n\n   \n", emp},
		{"empty at end of body", "## What can go wrong?", emp},
		{"comment placeholder", "## What can go wrong?\n<!-- answer here -->\n", ph},
		{"comment placeholder on the label line", "**What can go wrong?** <!-- answer here -->\n", ph},
		{"empty comment is empty", "## What can go wrong?\n<!---->\n", emp},
		{"comment around a real answer", "## What can go wrong?\n<!-- answer here -->\n" + good + "\n<!-- end -->", ans},
		{"inline comment removed from the count", "## What can go wrong?\nTokens <!-- list all of them please --> leak.", shrt},
		{"unclosed inline comment is text", "## What can go wrong?\nLogs print a <!-- marker and tokens leak", ans},
		{"code span with a comment opener is text", "## What can go wrong?\nThe `<!--` in user names hides later text in emails", ans},
		{"italic e.g. line", "## What can go wrong?\n_e.g. tampering with the audit log_", ph},
		{"italic Describe line", "## What can go wrong?\n*Describe the threats you considered.*", ph},
		{"italic real answer", "## What can go wrong?\n_Replay of old webhook payloads by an attacker._", ans},
		{"bracketed placeholder", "## What can go wrong?\n[List the threats here]", ph},
		{"link is not a placeholder", "## What can go wrong?\n[Threat model doc for the upload service](https://example.com/tm)", ans},
		{"configured placeholder", "## What can go wrong?\nYour answer here.", ph},
		{"placeholder lines do not count as words", "## What can go wrong?\n_e.g. spoofing, tampering, repudiation_\nReplay attacks.", shrt},
		{"N/A", "## What can go wrong?\nn/a", non},
		{"NA", "## What can go wrong?\n**NA**", non},
		{"TODO", "## What can go wrong?\n- [ ] TODO", non},
		{"none", "## What can go wrong?\nNone.", non},
		{"same as above", "## What can go wrong?\nSame as above", non},
		{"nothing", "## What can go wrong?\nNothing!", non},
		{"no", "## What can go wrong?\nNo", non},
		{"ellipsis", "## What can go wrong?\n...", non},
		{"question mark", "**What can go wrong?** ?", non},
		{"repeats the question", "## What can go wrong?\nWhat can go wrong?", non},
		{"repeats the question with a prefix", "## What can go wrong?\nQ2. What can go wrong?\n", non},
		{"a second bold label ends the first answer", "## What can go wrong?\n**Q2. What can go wrong?**\n", emp},
		{"N/A with a short reason is too short", "## What can go wrong?\nN/A - docs only", shrt},
		{"code block content is part of the answer", "## What can go wrong?\n```\nspoofing: stolen OIDC token replayed against the deploy API\n```", ans},
		{"CJK answer counts characters", "## What can go wrong?\n攻击者可以重放签名的请求", ans},
		{"NUL bytes and control characters", "## What can go wrong?\x00\n\x01\x02 An attacker could replay the signed webhook.", ans},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := threatmodel.Check(tt.body, one)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := res.Questions[0]; got.Status != tt.want {
				t.Errorf("status = %s (%s), want %s", got.Status, got.Reason, tt.want)
			}
		})
	}
}

func TestTooShortReasonAndWords(t *testing.T) {
	res, err := threatmodel.Check(readBody(t, "short.md"), threatmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := res.Questions[1] // "Secrets could be logged."
	if q.Words != 4 || q.Reason != "answer has 4 distinct meaningful words, need 5" {
		t.Errorf("got words %d, reason %q; want 4 and %q", q.Words, q.Reason, "answer has 4 distinct meaningful words, need 5")
	}
	res, err = threatmodel.Check(readBody(t, "short.md"), threatmodel.Options{MinWords: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Questions[1].Reason; got != "answer has 4 distinct meaningful words, need 10" {
		t.Errorf("reason = %q, want the configured minimum", got)
	}
}

func TestMissing(t *testing.T) {
	res, err := threatmodel.Check(readBody(t, "sections.md"), threatmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Missing(), []string{"Did we do a good job?"}; !slices.Equal(got, want) {
		t.Errorf("Missing() = %q, want %q", got, want)
	}
	res, err = threatmodel.Check(readBody(t, "good_headings.md"), threatmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Missing(); len(got) != 0 {
		t.Errorf("Missing() = %q for a passing body", got)
	}
}

func TestLineEndings(t *testing.T) {
	for _, file := range []string{"good_headings.md", "good_bold.md", "numbered.md", "setext.md", "template_unfilled.md"} {
		t.Run(file, func(t *testing.T) {
			lf := readBody(t, file)
			want, err := threatmodel.Check(lf, threatmodel.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for name, body := range map[string]string{
				"CRLF": strings.ReplaceAll(lf, "\n", "\r\n"),
				"CR":   strings.ReplaceAll(lf, "\n", "\r"),
			} {
				got, err := threatmodel.Check(body, threatmodel.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if !equalResults(got, want) {
					t.Errorf("%s body: %+v\nLF body: %+v", name, got, want)
				}
			}
		})
	}
}

func equalResults(a, b threatmodel.Result) bool {
	return a.Pass == b.Pass && a.AnswersDigest == b.AnswersDigest && slices.Equal(a.Questions, b.Questions)
}

func TestAnswersDigest(t *testing.T) {
	base := readBody(t, "good_headings.md")
	check := func(body string) threatmodel.Result {
		t.Helper()
		r, err := threatmodel.Check(body, threatmodel.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.AnswersDigest, "sha256:") || len(r.AnswersDigest) != len("sha256:")+64 {
			t.Fatalf("AnswersDigest = %q, want sha256:<64 hex>", r.AnswersDigest)
		}
		return r
	}
	d := check(base).AnswersDigest
	same := map[string]string{
		"reflowed answer": strings.Replace(base, "A new authenticated upload endpoint in `case-service`. Files go to the\n`case-evidence`",
			"A new authenticated   upload endpoint in `case-service`.\tFiles go to the `case-evidence`", 1),
		"trailing spaces and blank lines": strings.ReplaceAll(base, "\n", "  \n\n"),
		"comment added":                   strings.Replace(base, "### What can go wrong?\n", "### What can go wrong?\n<!-- list threats -->\n", 1),
		"text outside the answers":        strings.Replace(base, "Adds a `/v1/uploads` endpoint", "Adds an endpoint", 1),
	}
	for name, body := range same {
		if body == base {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if got := check(body).AnswersDigest; got != d {
			t.Errorf("%s: digest changed", name)
		}
	}
	differ := map[string]string{
		"word changed": strings.Replace(base, "25 MB", "250 MB", 1),
		"answer moved": strings.Replace(strings.Replace(base, "### What can go wrong?", "### TMP", 1),
			"### Did we do a good job?", "### What can go wrong?", 1),
	}
	for name, body := range differ {
		if body == base {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if got := check(body).AnswersDigest; got == d {
			t.Errorf("%s: digest did not change", name)
		}
	}
	custom := threatmodel.Options{Questions: append(threatmodel.DefaultQuestions()[:3:3], "Did we do a great job?")}
	r, err := threatmodel.Check(strings.ReplaceAll(base, "good job", "great job"), custom)
	if err != nil {
		t.Fatal(err)
	}
	if r.AnswersDigest == d {
		t.Error("digest does not cover the questions")
	}
}

func TestInvalidUTF8(t *testing.T) {
	base := readBody(t, "good_headings.md")
	body := strings.Replace(base, "S3 bucket", "S3 \xff\xfe bucket", 1)
	body = strings.Replace(body, "### What can go wrong?", "### What can go wrong? \xc3", 1)
	body += "\n\xed\xa0\x80 trailing surrogate half"
	res, err := threatmodel.Check(body, threatmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pass {
		t.Errorf("invalid bytes next to a label or in an answer should not fail the check: %+v", res.Questions)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(b) {
		t.Error("Result JSON is not valid UTF-8")
	}
}

func TestBodySize(t *testing.T) {
	good := readBody(t, "good_headings.md")
	pad := func(n int) string { return good + strings.Repeat(" ", n-len(good)) }
	tests := []struct {
		name    string
		size    int
		max     int
		wantErr bool
	}{
		{"default limit exactly", threatmodel.DefaultMaxBodyBytes, 0, false},
		{"one byte over the default limit", threatmodel.DefaultMaxBodyBytes + 1, 0, true},
		{"custom limit exactly", 2000, 2000, false},
		{"over a custom limit", 2001, 2000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := threatmodel.Check(pad(tt.size), threatmodel.Options{MaxBodyBytes: tt.max})
			if !tt.wantErr {
				if err != nil || !res.Pass {
					t.Fatalf("Check = %v, %v; want a pass", res.Pass, err)
				}
				return
			}
			if err == nil {
				t.Fatal("oversized body: want an error, got none")
			}
			if k := errkind.Of(err); k != errkind.KindInput {
				t.Errorf("error kind = %v, want input", k)
			}
			limit := tt.max
			if limit == 0 {
				limit = threatmodel.DefaultMaxBodyBytes
			}
			for _, n := range []int{tt.size, limit} {
				if !strings.Contains(err.Error(), itoa(n)) {
					t.Errorf("error %q does not name %d", err, n)
				}
			}
		})
	}
	// GitHub's limit is 65,536 characters: such a body in a 3-byte script fits.
	cjk := "## What can go wrong?\n" + strings.Repeat("攻", 65536-22)
	if _, err := threatmodel.Check(cjk, threatmodel.Options{}); err != nil {
		t.Errorf("a 65,536-character body GitHub accepts was refused: %v", err)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestOptionsErrors(t *testing.T) {
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = "Question number " + itoa(i)
	}
	tests := []struct {
		name string
		opts threatmodel.Options
		want string
	}{
		{"too many questions", threatmodel.Options{Questions: eleven}, "at most 10"},
		{"blank question", threatmodel.Options{Questions: []string{"What can go wrong?", "  "}}, "Options.Questions[1]"},
		{"punctuation-only question", threatmodel.Options{Questions: []string{"?!"}}, "Options.Questions[0]"},
		{"duplicate questions", threatmodel.Options{Questions: []string{"What can go wrong?", "what CAN go wrong"}}, "same question"},
		{"multi-line question", threatmodel.Options{Questions: []string{"What can\ngo wrong?"}}, "one line"},
		{"long question", threatmodel.Options{Questions: []string{strings.Repeat("a", threatmodel.MaxQuestionBytes+1)}}, "Options.Questions[0]"},
		{"invalid UTF-8 question", threatmodel.Options{Questions: []string{"What \xff"}}, "UTF-8"},
		{"negative MinWords", threatmodel.Options{MinWords: -1}, "Options.MinWords"},
		{"negative MaxBodyBytes", threatmodel.Options{MaxBodyBytes: -1}, "Options.MaxBodyBytes"},
		{"too many placeholders", threatmodel.Options{Placeholders: make([]string, threatmodel.MaxPlaceholders+1)}, "Options.Placeholders"},
		{"symbol-only placeholder", threatmodel.Options{Placeholders: []string{"<!-- ... -->"}}, "Options.Placeholders[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := threatmodel.Check(readBody(t, "good_headings.md"), tt.opts)
			if err == nil {
				t.Fatal("want an error, got none")
			}
			if errkind.Of(err) != errkind.KindInput {
				t.Errorf("kind = %v, want input", errkind.Of(err))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	ten := eleven[:10]
	if _, err := threatmodel.Check("", threatmodel.Options{Questions: ten}); err != nil {
		t.Errorf("10 questions are allowed: %v", err)
	}
}

func TestPlaceholdersOption(t *testing.T) {
	body := "## What can go wrong?\nPlease fill in this section before review.\n"
	one := []string{"What can go wrong?"}
	res, err := threatmodel.Check(body, threatmodel.Options{Questions: one})
	if err != nil {
		t.Fatal(err)
	}
	if res.Questions[0].Status != ans {
		t.Fatalf("without a matching placeholder the line is an answer, got %s", res.Questions[0].Status)
	}
	opts := threatmodel.Options{Questions: one, Placeholders: append(threatmodel.DefaultPlaceholders(), "<!-- Please fill in this section before review. -->")}
	res, err = threatmodel.Check(body, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Questions[0].Status != ph {
		t.Errorf("configured placeholder: status %s, want placeholder", res.Questions[0].Status)
	}
}

// TestNothingFromTheBody checks that a Result never carries body text: it goes
// into logs, annotations and workflow commands.
func TestNothingFromTheBody(t *testing.T) {
	res, err := threatmodel.Check(readBody(t, "injection.md"), threatmodel.Options{MinWords: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"::", "set-output", "add-mask", "%0A", "%25", "pwned", "secret-value", "stop-commands", "\n", "\r"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("Result JSON contains %q: %s", bad, b)
		}
	}
	for _, m := range res.Missing() {
		if strings.Contains(m, "::") {
			t.Errorf("Missing() returned body text %q", m)
		}
	}
}

package assess

import (
	"strings"
	"testing"
	"time"
)

const answersOK = `apiVersion: secure-gates/v1
kind: Assessment
answers:
  - question: 13
    score: 2
    owner: "@acme/platform-security"
    date: 2026-11-02
    evidence: https://wiki.acme.example/runtime/falco
    note: Falco DaemonSet in both production clusters
  - question: 17
    score: 1
    owner: jane.doe@acme.example
    date: 2026-06-01
    evidence: https://wiki.acme.example/game-days/2026-q2
`

// A fresh answer scores its question, and the table says it came from
// assessment.yaml; an answer older than the re-assessment period scores as
// unanswered, with a note to re-assess.
func TestAnswersScore(t *testing.T) {
	t.Parallel()
	r := evalMap(t, map[string]string{answersFile: answersOK}, Options{})
	if r.AnswersError != "" {
		t.Fatal(r.AnswersError)
	}
	q13 := scoreOf(r, 13)
	if q13.Score != 2 || q13.Source != "assessment.yaml" || !strings.Contains(q13.Evidence[0], ".secure-gates/assessment.yaml:4: answered 2 by @acme/platform-security on 2026-11-02: https://wiki.acme.example/runtime/falco") {
		t.Errorf("question 13: %+v", q13)
	}
	if md := r.Markdown(); !strings.Contains(md, "answered in assessment.yaml: .secure-gates/assessment.yaml:4") {
		t.Errorf("the table does not say question 13 was answered in assessment.yaml:\n%s", md)
	}
	q17 := scoreOf(r, 17) // 2026-06-01 is 183 days before testNow
	if q17.Score != 0 || q17.Source != "repository" || !strings.Contains(strings.Join(q17.Evidence, "\n"), "older than 90 days: re-assess") {
		t.Errorf("question 17 (stale answer): %+v", q17)
	}
	// A longer period keeps it.
	r = evalMap(t, map[string]string{answersFile: answersOK}, Options{Reassessment: 200 * 24 * time.Hour})
	if q := scoreOf(r, 17); q.Score != 1 || q.Source != "assessment.yaml" {
		t.Errorf("question 17 with a 200-day period: %+v", q)
	}
	// An answer never lowers what the evidence shows.
	r = evalMap(t, map[string]string{
		answersFile:         strings.Replace(answersOK, "score: 2", "score: 0", 1),
		"deploy/falco.yaml": "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: falco}\nspec:\n  template:\n    spec:\n      containers:\n        - {name: falco, image: falcosecurity/falco:0.39.0}\n",
	}, Options{})
	if q := scoreOf(r, 13); q.Score != 2 || q.Source != "repository" {
		t.Errorf("question 13 with Falco deployed and an answer of 0: %+v", q)
	}
}

// The schema is strict and bounded; every error names the answer and what to fix.
func TestParseAnswersRejects(t *testing.T) {
	t.Parallel()
	head := "apiVersion: secure-gates/v1\nkind: Assessment\nanswers:\n"
	ans := func(fields string) string { return head + "  - " + fields + "\n" }
	ok := "question: 13\n    score: 2\n    owner: me\n    date: 2026-11-02\n    evidence: https://x.example/e"
	cases := []struct{ name, data, want string }{
		{"empty", "", "empty"},
		{"two documents", head + "---\n" + head, "more than one YAML document"},
		{"wrong kind", "apiVersion: secure-gates/v1\nkind: Policy\n", "want secure-gates/v1 and Assessment"},
		{"unknown top-level field", head + "extra: 1\n", "at the top level"},
		{"unknown answer field", ans(ok + "\n    signed: true"), "in an answer"},
		{"not attestable", ans(strings.Replace(ok, "question: 13", "question: 1", 1)), "question 1 is scored from the repository's evidence only"},
		{"out of range", ans(strings.Replace(ok, "question: 13", "question: 21", 1)), "question 21: want 1–20"},
		{"duplicate", ans(ok) + "  - " + ok + "\n", "answered twice"},
		{"score 3", ans(strings.Replace(ok, "score: 2", "score: 3", 1)), "score 3"},
		{"no owner", ans(strings.Replace(ok, "owner: me", "owner: \"  \"", 1)), "owner: required"},
		{"control character owner", ans(strings.Replace(ok, "owner: me", "owner: \"me\\e[31m\"", 1)), "control"},
		{"bad date", ans(strings.Replace(ok, "2026-11-02", "last week", 1)), "want YYYY-MM-DD"},
		{"future date", ans(strings.Replace(ok, "2026-11-02", "2027-01-01", 1)), "in the future"},
		{"http evidence", ans(strings.Replace(ok, "https://x.example/e", "http://x.example/e", 1)), "not an https URL"},
		{"javascript evidence", ans(strings.Replace(ok, "https://x.example/e", "\"javascript:alert(1)\"", 1)), "not an https URL"},
		{"no evidence", ans(strings.Replace(ok, "evidence: https://x.example/e", "note: n", 1)), "evidence: required"},
		{"too large", head + strings.Repeat("# pad\n", MaxAnswersBytes/6+1), "larger than"},
		{"too many", head + strings.Repeat("  - "+ok+"\n", 21), "at most one per question"},
		{"alias bomb", "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseAnswers([]byte(c.data), testNow)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := ParseAnswers([]byte(ans(ok)), testNow); err != nil {
		t.Errorf("valid file: %v", err)
	}
}

// An invalid file is reported and its answers are ignored; the rest of the
// assessment stands.
func TestInvalidAnswersIgnored(t *testing.T) {
	t.Parallel()
	r := evalMap(t, map[string]string{answersFile: strings.Replace(answersOK, "score: 2", "score: 9", 1)}, Options{})
	if !strings.Contains(r.AnswersError, "answers[0] (line 4): score 9") {
		t.Errorf("AnswersError = %q", r.AnswersError)
	}
	if r.Total != 0 {
		t.Errorf("total %d with an invalid file, want 0", r.Total)
	}
}

// Trends compare each question with the previous report.
func TestTrend(t *testing.T) {
	t.Parallel()
	r := evalDir(t, "../../examples", Options{Repository: "acme/widgets"})
	prev := &Report{Total: 20, Questions: []Question{{ID: 1, Score: 1}, {ID: 2, Score: 1}, {ID: 3, Score: 0}}}
	r.SetTrend(prev)
	if got := []string{r.Questions[0].Trend, r.Questions[1].Trend, r.Questions[2].Trend, r.Questions[3].Trend}; strings.Join(got, "|") != "▼ -1|=|▲ +2|new" {
		t.Errorf("trends %q", got)
	}
	if r.TotalTrend != "▲ +4" {
		t.Errorf("total trend %q", r.TotalTrend)
	}
	md := r.Markdown()
	if !strings.Contains(md, "| Trend |") || !strings.Contains(md, "Since the previous assessment: ▲ +4.") {
		t.Errorf("markdown without trend:\n%s", md)
	}
	if _, _, err := ParsePrevious([]byte(`{"total": 3}`)); err == nil {
		t.Error("a JSON without questions was accepted as a previous report")
	}
}

package threatmodel_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/threatmodel"
)

// Observation 9 of issue 13: filler passed the four-question check. The attack
// corpus: each answer is put under every question of a body whose other
// answers are real; a filler must fail its question, a real short answer must
// pass.
func TestFillerAnswers(t *testing.T) {
	t.Parallel()
	real := []string{
		"A webhook signer that accepts two active secrets during rotation.",
		"An old leaked secret stays valid for the overlap window.",
		"Cap the overlap at 24h and alert on signatures made with the old key.",
		"The rotation runbook was dry-run in staging twice.",
	}
	// check puts answer under question q, the real answers under the others.
	check := func(q int, answer string) threatmodel.Result {
		t.Helper()
		answers := slices.Clone(real)
		answers[q] = answer
		res, err := threatmodel.Check(headed(answers...), threatmodel.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	fails := []string{
		"TBD TBD TBD TBD TBD",
		"TBD TODO TBC TBA N/A",
		"1 2 3 4 5",
		"1. 2. 3. 4. 5. 6. 7.",
		"- - - - - - -",
		"? ? ? ? ? ?",
		"xxx xxx xxxx xxxxx zzz",
		"Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
		"none none none none none none",
		"n/a N/A n.a. NA na",
		"TODO: TODO TODO TODO todo",
		"T\u200bB\u200bD T\u200bB\u200bD TBD TBD TBD",     // zero-width spaces inside
		"ТВD ТBD TВD tbd ＴＢＤ",                             // Cyrillic and fullwidth look-alikes
		"T̶B̶D̶ T̶B̶D̶ T̶B̶D̶ T̶B̶D̶ T̶B̶D̶",              // combining strike-through
		"<!-- --> TBD <b>TBD</b> <i>TBD</i> TBD <br> TBD", // HTML around filler
		"2024 2025 2026 2027 2028 v1 v2",                  // numbers and letter+digit noise
		"a b c d e f g h i j",                             // single letters
		"foo bar baz qux quux",                            // metasyntactic filler
		"Question question QUESTION question? question!",  // one word repeated
		"What are we working on? What can go wrong? What are we going to do about it? Did we do a good job?",
		"what can go wrong what can go wrong what can go wrong",
		"did we do a good job? did we do a good job? yes we did",
	}
	for _, answer := range fails {
		for q := range real {
			res := check(q, answer)
			if got := res.Questions[q]; got.Status == threatmodel.StatusAnswered {
				t.Errorf("question %d accepted the filler %q (words %d)", q+1, answer, got.Words)
			}
			for i, other := range res.Questions {
				if i != q && other.Status != threatmodel.StatusAnswered {
					t.Errorf("the real answer to question %d failed next to %q: %s", i+1, answer, other.Reason)
				}
			}
		}
	}
	passes := []string{
		"Logging change only: no new endpoints.",
		"Secrets could be logged by the new handler.",
		"Redact tokens before the logger sees them.",
		"Unit tests cover redaction of all five token types.",
		"会话令牌可能被泄露到日志中", // Han: each character is a word
		"Upgrade log4j from 2.14 to 2.17.1 to fix CVE-2021-44228.",
		"ТLS certificates rotate monthly via cert-manager automation.",
	}
	for _, answer := range passes {
		for q := range real {
			if got := check(q, answer).Questions[q]; got.Status != threatmodel.StatusAnswered {
				t.Errorf("question %d refused the real answer %q: %s", q+1, answer, got.Reason)
			}
		}
	}
}

// The same filler words under every question passed: an answer equal (after
// normalization, in any word order) to an earlier question's answer is not an
// answer to a second question.
func TestSameAnswerUnderSeveralQuestions(t *testing.T) {
	t.Parallel()
	const filler = "alpha bravo charlie delta echo"
	tests := []struct {
		name     string
		answers  [4]string
		answered [4]bool
	}{
		{"the same words four times", [4]string{filler, filler, filler, filler}, [4]bool{true, false, false, false}},
		{"case, punctuation, markup and a zero-width space", [4]string{filler, "Alpha, BRAVO! charlie—delta echo.", "**alpha** bravo _charlie_ delta\u200becho", "alpha bravo charlie delta echo"},
			[4]bool{true, false, false, false}},
		{"the same words in another order", [4]string{filler, "echo delta charlie bravo alpha", "Real answer: tokens are rotated daily by the job.", "Tests of rotation ran in staging twice."},
			[4]bool{true, false, true, true}},
		{"two questions share an answer, two differ", [4]string{"A webhook signer for the payments service.", "Secrets leak through verbose request logs.", "Secrets leak through verbose request logs.", "Unit tests cover log redaction."},
			[4]bool{true, true, false, true}},
		{"distinct answers sharing words pass", [4]string{"A webhook signer for the payments service.", "The webhook signer leaks its secret in logs.", "Redact the webhook secret before logging it.", "Unit tests check the webhook secret is redacted."},
			[4]bool{true, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := threatmodel.Check(headed(tt.answers[:]...), threatmodel.Options{})
			if err != nil {
				t.Fatal(err)
			}
			pass := true
			for i, q := range res.Questions {
				if got := q.Status == threatmodel.StatusAnswered; got != tt.answered[i] {
					t.Errorf("question %d: status %s (%s), want answered %v", i+1, q.Status, q.Reason, tt.answered[i])
				}
				if !tt.answered[i] && q.Status == threatmodel.StatusNonAnswer && !strings.Contains(q.Reason, "same as the answer to question") {
					t.Errorf("question %d: reason %q, want it to name the question answered the same", i+1, q.Reason)
				}
				pass = pass && tt.answered[i]
			}
			if res.Pass != pass {
				t.Errorf("Pass = %v, want %v", res.Pass, pass)
			}
		})
	}
}

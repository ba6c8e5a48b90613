package threatmodel

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// Defaults and limits of [Options].
const (
	// DefaultMinWords is the fewest words an answer needs when Options.MinWords is 0.
	DefaultMinWords = 5
	// DefaultMaxBodyBytes is the body size cap when Options.MaxBodyBytes is 0.
	// GitHub limits a PR body to 65,536 characters; a character takes at most
	// 4 bytes in UTF-8, so no body GitHub accepts is over this cap.
	DefaultMaxBodyBytes = 4 * 65536
	// MaxQuestions is the most questions Options.Questions may hold.
	MaxQuestions = 10
	// MaxQuestionBytes is the longest question Options.Questions may hold.
	MaxQuestionBytes = 200
	// MaxPlaceholders is the most entries Options.Placeholders may hold.
	MaxPlaceholders = 100
	// MaxPlaceholderBytes is the longest entry Options.Placeholders may hold.
	MaxPlaceholderBytes = 1000
)

// Options configure [Check]. The zero value checks the four default questions
// with the default limits.
type Options struct {
	// Questions are the labels to look for, in the order they are reported.
	// Empty means [DefaultQuestions]. At most [MaxQuestions]; each must hold a
	// letter or digit, fit on one line, be at most [MaxQuestionBytes] long and
	// differ from the others once case and punctuation are ignored.
	Questions []string
	// MinWords is the fewest words an answer needs. 0 means [DefaultMinWords];
	// 1 accepts any answer that is not empty, a placeholder or a non-answer.
	// Negative is an error.
	MinWords int
	// MaxBodyBytes caps the body's size in bytes. 0 means [DefaultMaxBodyBytes].
	// A larger body is an input error. Negative is an error.
	MaxBodyBytes int
	// Placeholders are template texts that do not count as an answer: a line of
	// an answer (or a whole answer) equal to one of them, ignoring case,
	// punctuation and markup, is dropped before counting words. HTML comment
	// markers around an entry are ignored, so "<!-- answer here -->" and
	// "answer here" are the same entry. Empty means [DefaultPlaceholders]; a
	// non-empty list replaces the defaults (append to DefaultPlaceholders() to
	// extend them). At most [MaxPlaceholders] entries of [MaxPlaceholderBytes].
	Placeholders []string
}

// DefaultQuestions returns the four questions of Shostack's framework, in order.
func DefaultQuestions() []string {
	return []string{
		"What are we working on?",
		"What can go wrong?",
		"What are we going to do about it?",
		"Did we do a good job?",
	}
}

// DefaultPlaceholders returns the placeholder texts used when
// Options.Placeholders is empty, including the "<!-- answer here -->" of the
// project's own PR template.
func DefaultPlaceholders() []string {
	return []string{
		"<!-- answer here -->",
		"your answer here",
		"write your answer here",
		"add your answer here",
		"answer",
		"placeholder",
		"fill in",
		"fill me in",
		"to be filled",
		"to be completed",
		"describe here",
		"details here",
		"text here",
		"lorem ipsum",
		"lorem ipsum dolor sit amet",
	}
}

// Status is the verdict on one question.
type Status string

// The statuses a question can have. Only StatusAnswered passes.
const (
	// StatusAnswered means the question has a label and a real answer.
	StatusAnswered Status = "answered"
	// StatusMissing means no label for the question was found.
	StatusMissing Status = "missing"
	// StatusEmpty means the label has nothing under it.
	StatusEmpty Status = "empty"
	// StatusPlaceholder means the answer is only the template's placeholder.
	StatusPlaceholder Status = "placeholder"
	// StatusNonAnswer means the answer is "N/A", "TBD", "see above" and the like,
	// or only repeats a question.
	StatusNonAnswer Status = "non-answer"
	// StatusTooShort means the answer has fewer than Options.MinWords words.
	StatusTooShort Status = "too-short"
)

// QuestionResult is the verdict on one question. No field holds text from the
// body.
type QuestionResult struct {
	// Question is the question as configured (not as written in the body).
	Question string `json:"question"`
	// Status is the verdict.
	Status Status `json:"status"`
	// Reason explains a verdict other than answered, for people; it is a fixed
	// text with numbers and never holds text from the body. Empty when answered.
	Reason string `json:"reason,omitempty"`
	// Words is the number of words in the answer, placeholders excluded.
	Words int `json:"words"`
	// Line is the 1-based line of the label in the body, 0 if missing.
	Line int `json:"line"`
}

// Result is the outcome of [Check].
type Result struct {
	// Pass is true when every question is answered.
	Pass bool `json:"pass"`
	// Questions holds one verdict per question, in the order of Options.Questions.
	Questions []QuestionResult `json:"questions"`
	// AnswersDigest is "sha256:<hex>" of the questions and their answers, with
	// HTML comments removed and every run of whitespace reduced to one space, so
	// it changes when an answer's words change and not when its line endings or
	// spacing do. A missing question contributes an empty answer.
	AnswersDigest string `json:"answersDigest"`
}

// Missing returns the questions whose status is not answered, in order.
func (r Result) Missing() []string {
	var out []string
	for _, q := range r.Questions {
		if q.Status != StatusAnswered {
			out = append(out, q.Question)
		}
	}
	return out
}

// Check checks body, the markdown of a pull request description, for a real
// answer to each question. A body that fails the check is not an error: the
// error is for invalid options and for a body over Options.MaxBodyBytes, and is
// marked with [errkind.Input].
func Check(body string, opts Options) (Result, error) {
	cfg, err := opts.resolve()
	if err != nil {
		return Result{}, errkind.Input(fmt.Errorf("checking threat model: invalid options: %w", err))
	}
	if len(body) > cfg.maxBody {
		return Result{}, errkind.Input(fmt.Errorf("checking threat model: PR body is %d bytes, over the limit of %d bytes", len(body), cfg.maxBody))
	}
	body = strings.ToValidUTF8(body, "\uFFFD")
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")

	m := &matcher{questions: cfg.norms}
	lines := scanLines(body)
	labels := findLabels(lines, m)

	res := Result{Pass: true, Questions: make([]QuestionResult, len(cfg.questions))}
	answers := make([]string, len(cfg.questions))
	found := make([]bool, len(cfg.questions))
	same := make([]string, len(cfg.questions)) // the words of each accepted answer
	for i, q := range cfg.questions {
		res.Questions[i] = QuestionResult{Question: q, Status: StatusMissing, Reason: reasonMissing}
	}
	for _, l := range labels {
		qr := &res.Questions[l.q]
		if found[l.q] && qr.Status == StatusAnswered {
			continue // a later repetition of an answered label changes nothing
		}
		v := evaluate(l.answer, cfg, m, l.q)
		if v.status == StatusAnswered {
			for j, w := range same {
				if j != l.q && w != "" && w == v.same {
					v.status, v.reason = StatusNonAnswer, fmt.Sprintf("the answer is the same as the answer to question %d: each question needs its own answer", j+1)
					break
				}
			}
		}
		if v.status == StatusAnswered {
			same[l.q] = v.same
		}
		if !found[l.q] || v.status == StatusAnswered {
			found[l.q] = true
			qr.Status, qr.Reason, qr.Words, qr.Line = v.status, v.reason, v.words, l.line+1
			answers[l.q] = v.digestText
		}
	}
	for _, q := range res.Questions {
		if q.Status != StatusAnswered {
			res.Pass = false
		}
	}
	res.AnswersDigest = digest(cfg.questions, answers)
	return res, nil
}

const reasonMissing = "no label for this question: use a heading, a bold label or a numbered item with the question"

// digest hashes the questions with their answers in a canonical JSON encoding.
func digest(questions, answers []string) string {
	type qa struct {
		Question string `json:"question"`
		Answer   string `json:"answer"`
	}
	list := make([]qa, len(questions))
	for i := range questions {
		list[i] = qa{Question: questions[i], Answer: answers[i]}
	}
	b, err := json.Marshal(list)
	if err != nil { // strings always marshal; keep the digest distinct if not
		return ""
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// config is Options with defaults applied and inputs validated.
type config struct {
	questions    []string
	norms        []string
	minWords     int
	maxBody      int
	placeholders map[string]bool
}

func (o Options) resolve() (config, error) {
	c := config{minWords: o.MinWords, maxBody: o.MaxBodyBytes, placeholders: map[string]bool{}}
	switch {
	case o.MinWords < 0:
		return c, fmt.Errorf("Options.MinWords is %d, want 0 (default %d) or more", o.MinWords, DefaultMinWords)
	case o.MinWords == 0:
		c.minWords = DefaultMinWords
	}
	switch {
	case o.MaxBodyBytes < 0:
		return c, fmt.Errorf("Options.MaxBodyBytes is %d, want 0 (default %d) or more", o.MaxBodyBytes, DefaultMaxBodyBytes)
	case o.MaxBodyBytes == 0:
		c.maxBody = DefaultMaxBodyBytes
	}

	qs := o.Questions
	if len(qs) == 0 {
		qs = DefaultQuestions()
	}
	if len(qs) > MaxQuestions {
		return c, fmt.Errorf("Options.Questions has %d entries, want at most %d", len(qs), MaxQuestions)
	}
	seen := map[string]int{}
	for i, q := range qs {
		switch {
		case !utf8.ValidString(q):
			return c, fmt.Errorf("Options.Questions[%d] is not valid UTF-8", i)
		case len(q) > MaxQuestionBytes:
			return c, fmt.Errorf("Options.Questions[%d] is %d bytes, want at most %d", i, len(q), MaxQuestionBytes)
		case strings.ContainsAny(q, "\r\n"):
			return c, fmt.Errorf("Options.Questions[%d] spans several lines, want one line", i)
		}
		n := normalize(q)
		if n == "" {
			return c, fmt.Errorf("Options.Questions[%d] has no letter or digit, want a question such as %q", i, DefaultQuestions()[0])
		}
		if j, dup := seen[n]; dup {
			return c, fmt.Errorf("Options.Questions[%d] and Options.Questions[%d] are the same question", j, i)
		}
		seen[n] = i
		c.questions = append(c.questions, strings.TrimSpace(q))
		c.norms = append(c.norms, n)
	}

	ps := o.Placeholders
	if len(ps) == 0 {
		ps = DefaultPlaceholders()
	}
	if len(ps) > MaxPlaceholders {
		return c, fmt.Errorf("Options.Placeholders has %d entries, want at most %d", len(ps), MaxPlaceholders)
	}
	for i, p := range ps {
		if len(p) > MaxPlaceholderBytes {
			return c, fmt.Errorf("Options.Placeholders[%d] is %d bytes, want at most %d", i, len(p), MaxPlaceholderBytes)
		}
		p = strings.TrimSpace(strings.ToValidUTF8(p, "\uFFFD"))
		p = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(p, "<!--"), "-->"))
		n := normalize(p)
		if n == "" {
			return c, fmt.Errorf("Options.Placeholders[%d] has no letter or digit, want a text such as %q", i, "answer here")
		}
		c.placeholders[n] = true
	}
	return c, nil
}

package threatmodel

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// nonAnswers are whole answers (normalized) that answer nothing.
var nonAnswers = map[string]bool{}

func init() {
	for _, s := range []string{
		"N/A", "n/a", "NA", "not applicable", "not relevant", "irrelevant",
		"TBD", "TBA", "TODO", "to do", "later", "pending", "WIP",
		"none", "nothing", "no", "nope", "nil", "null",
		"same as above", "see above", "as above", "ditto", "same",
		"idk", "unknown", "dunno", "skip", "skipped",
		"yes", "ok", "okay", "done", "fine", "lgtm",
	} {
		nonAnswers[normalize(s)] = true
	}
}

// instructionStarts begin an italic template instruction such as
// "_e.g. the new upload endpoint_" or "*Describe the change*" (normalized).
var instructionStarts = []string{
	"e g", "eg", "i e", "ie", "for example", "example", "describe", "explain",
	"list", "summarize", "summarise", "briefly", "replace", "delete", "remove",
	"provide", "include", "link", "mention", "write", "fill", "add", "enter",
	"insert", "optional", "hint", "tip", "placeholder",
}

// verdict is the evaluation of one answer.
type verdict struct {
	status     Status
	reason     string
	words      int
	digestText string
	// same is the answer's distinct normalized words, sorted: two answers with
	// the same words answer one question, not two.
	same string
}

// evaluate judges the answer to question q. Reasons are fixed texts with
// numbers only.
func evaluate(answer []ansLine, cfg config, m *matcher, q int) verdict {
	var all []string
	hidden, visible := false, false
	var kept []string
	for _, a := range answer {
		all = append(all, a.text)
		hidden = hidden || a.hidden
		if isBlank(a.text) {
			continue
		}
		visible = true
		if a.code {
			kept = append(kept, a.text)
			continue
		}
		t := stripLineMarkup(a.text)
		if isPlaceholderLine(t, cfg.placeholders) {
			continue
		}
		kept = append(kept, t)
	}
	v := verdict{digestText: strings.Join(strings.Fields(strings.Join(all, "\n")), " ")}
	if !visible {
		if hidden {
			v.status, v.reason = StatusPlaceholder, "the answer is only the template's hidden placeholder (an HTML comment)"
		} else {
			v.status, v.reason = StatusEmpty, "nothing is written under the label"
		}
		return v
	}
	if len(kept) == 0 {
		v.status, v.reason = StatusPlaceholder, "the answer is only template placeholder text"
		return v
	}
	text := strings.Join(kept, "\n")
	var beyond bool
	v.words, beyond = meaningfulWords(text, cfg.questions[q], cfg.questions)
	n := normalize(text)
	words := strings.Fields(n)
	slices.Sort(words)
	v.same = strings.Join(slices.Compact(words), " ")
	switch {
	case cfg.placeholders[n]:
		v.status, v.reason = StatusPlaceholder, "the answer is only template placeholder text"
	case n == "":
		v.status, v.reason = StatusNonAnswer, "the answer has only punctuation or symbols"
	case nonAnswers[n]:
		v.status, v.reason = StatusNonAnswer, "the answer is a non-answer such as N/A, TBD, none or see above"
	case m.whole(n) >= 0, !beyond && countWords(text) > 0 && v.words > 0:
		v.status, v.reason = StatusNonAnswer, "the answer only repeats a question"
	case v.words == 0:
		v.status, v.reason = StatusNonAnswer, "the answer has no meaningful word: only placeholders (TBD, TODO, N/A, xxx, lorem ipsum), numbers, symbols or the question's own words"
	case v.words < cfg.minWords:
		v.status, v.reason = StatusTooShort, fmt.Sprintf("answer has %d distinct meaningful words, need %d", v.words, cfg.minWords)
	default:
		v.status = StatusAnswered
	}
	return v
}

// stripLineMarkup removes the block markup at the start of a line (indentation,
// block quote markers, list markers, task boxes, heading markers) and inline HTML
// tags, and trims the result.
func stripLineMarkup(s string) string {
	t := strings.TrimSpace(s)
	for t != "" {
		switch {
		case t[0] == '>':
			t = t[1:]
		case atxLevel(t) > 0:
			t = t[atxLevel(t):]
		case strings.HasPrefix(t, "[ ] "), strings.HasPrefix(t, "[x] "), strings.HasPrefix(t, "[X] "):
			t = t[4:]
		default:
			item, ok := listItem(t)
			if !ok {
				return stripTags(t)
			}
			t = item
		}
		t = strings.TrimLeft(t, " \t")
	}
	return t
}

// stripTags replaces HTML tags ("<br>", "<details>", "</sub>") with spaces.
func stripTags(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	for {
		k := strings.IndexByte(s, '<')
		if k < 0 || k+1 >= len(s) {
			b.WriteString(s)
			break
		}
		c := s[k+1]
		isTag := c == '/' || (c|0x20 >= 'a' && c|0x20 <= 'z')
		e := strings.IndexByte(s[k:], '>')
		if !isTag || e < 0 {
			b.WriteString(s[:k+1])
			s = s[k+1:]
			continue
		}
		b.WriteString(s[:k])
		b.WriteByte(' ')
		s = s[k+e+1:]
	}
	return strings.TrimSpace(b.String())
}

// isPlaceholderLine reports whether t (markup stripped, trimmed) is template
// placeholder text: a bracketed "[…]" line, an italic instruction line, or a
// configured placeholder.
func isPlaceholderLine(t string, placeholders map[string]bool) bool {
	if t == "" {
		return false
	}
	if len(t) >= 2 && t[0] == '[' && t[len(t)-1] == ']' && !strings.Contains(t, "](") && !strings.Contains(t, "][") {
		return true
	}
	if len(t) >= 3 && (t[0] == '_' || t[0] == '*') && t[len(t)-1] == t[0] && t[1] != t[0] && t[len(t)-2] != t[0] {
		inner := t[1 : len(t)-1]
		if !strings.Contains(inner, t[:1]) {
			n := normalize(inner)
			for _, p := range instructionStarts {
				if n == p || strings.HasPrefix(n, p+" ") {
					return true
				}
			}
		}
	}
	return placeholders[normalize(t)]
}

// countWords counts whitespace-separated tokens that hold a letter or digit;
// every Han, Hiragana or Katakana character counts as a word of its own.
func countWords(s string) int {
	n := 0
	tokCounted := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			tokCounted = false
			continue
		}
		switch {
		case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			n++
		case !tokCounted && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			n++
			tokCounted = true
		}
	}
	return n
}

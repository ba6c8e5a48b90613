package threatmodel

import (
	"strings"
	"unicode"
)

// fillerWords are words that carry no answer: placeholders, lorem ipsum and
// keyboard mashing. They do not count towards Options.MinWords.
var fillerWords = map[string]bool{}

func init() {
	for _, w := range []string{
		"tbd", "tba", "tbc", "tbs", "todo", "todos", "fixme", "xxx", "wip", "na", "none", "nothing", "nil", "null",
		"placeholder", "lorem", "ipsum", "dolor", "amet", "consectetur", "adipiscing", "elit",
		"asdf", "asdfgh", "qwerty", "foo", "bar", "baz", "qux", "quux", "blah", "etc", "idk", "dunno", "tk",
		"yes", "yep", "yeah", "no", "nope", "ok", "okay", "sure", "lgtm", "done",
	} {
		fillerWords[w] = true
	}
}

// confusables folds letters that look like Latin ones (Cyrillic, Greek,
// fullwidth forms) to those, so "ТВD" is the filler "tbd" and not a new word.
var confusables = map[rune]rune{
	'а': 'a', 'в': 'b', 'с': 'c', 'ԁ': 'd', 'е': 'e', 'һ': 'h', 'і': 'i', 'ј': 'j', 'к': 'k', 'м': 'm', 'н': 'h',
	'о': 'o', 'р': 'p', 'ѕ': 's', 'т': 't', 'у': 'y', 'х': 'x', 'ԛ': 'q', 'ԝ': 'w', 'ь': 'b', 'ӏ': 'l',
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u',
	'χ': 'x', 'ω': 'w', 'ζ': 'z', 'μ': 'u',
}

func fold(r rune) rune {
	r = unicode.ToLower(r)
	if r >= 0xff01 && r <= 0xff5e { // fullwidth ASCII
		r = unicode.ToLower(r - 0xfee0)
	}
	if c, ok := confusables[r]; ok {
		return c
	}
	return r
}

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
}

// tokens splits text at white space into tokens, each Han, Hiragana or
// Katakana character a token of its own (those scripts do not separate words
// with spaces), and returns each token as its folded words: runs of letters and
// digits. Other characters — punctuation, symbols, zero-width and formatting
// characters, combining marks (so "T̶B̶D̶" is "tbd") — separate the words of a
// token but not tokens.
func tokens(text string) [][]string {
	var out [][]string
	var tok []string
	var cur strings.Builder
	endWord := func() {
		if cur.Len() > 0 {
			tok = append(tok, cur.String())
			cur.Reset()
		}
	}
	endToken := func() {
		endWord()
		if len(tok) > 0 {
			out = append(out, tok)
			tok = nil
		}
	}
	for _, r := range text {
		switch {
		case unicode.IsSpace(r):
			endToken()
		case isCJK(r):
			endToken()
			out = append(out, []string{string(r)})
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(fold(r))
		case unicode.IsMark(r) && cur.Len() > 0:
		default:
			endWord()
		}
	}
	endToken()
	return out
}

// meaningless reports a word that answers nothing: a filler, only digits, one
// non-CJK character, or one letter repeated ("xxxx", "zzz").
func meaningless(w string) bool {
	if fillerWords[w] {
		return true
	}
	rs := []rune(w)
	if len(rs) == 1 {
		return !isCJK(rs[0])
	}
	digits, same := true, true
	for _, r := range rs {
		digits = digits && unicode.IsDigit(r)
		same = same && r == rs[0]
	}
	return digits || same
}

// meaningfulWords counts the distinct meaningful tokens of text: a token is
// meaningful when one of its words is not meaningless and not a word of the
// question being answered (own); tokens with the same such words count once.
// It also says whether a meaningful word is left once the words of every
// question are removed too (an answer made of the questions' words only
// repeats them).
func meaningfulWords(text string, own string, all []string) (n int, beyondQuestions bool) {
	ownWords := map[string]bool{}
	for _, t := range tokens(own) {
		for _, w := range t {
			ownWords[w] = true
		}
	}
	anyQ := map[string]bool{}
	for _, q := range all {
		for _, t := range tokens(q) {
			for _, w := range t {
				anyQ[w] = true
			}
		}
	}
	seen := map[string]bool{}
	for _, t := range tokens(text) {
		var kept []string
		for _, w := range t {
			if !meaningless(w) && !ownWords[w] {
				kept = append(kept, w)
				beyondQuestions = beyondQuestions || !anyQ[w]
			}
		}
		if len(kept) == 0 {
			continue
		}
		k := strings.Join(kept, " ")
		if !seen[k] {
			seen[k] = true
			n++
		}
	}
	return n, beyondQuestions
}

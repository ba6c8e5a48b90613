package threatmodel

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLabelWindow bounds how much of a line is examined as a label: a question is
// at most MaxQuestionBytes, and the window leaves room for a prefix, markup and
// emoji. It keeps label matching linear in the body's size.
const maxLabelWindow = 4*MaxQuestionBytes + 128

// normalize lowercases s and reduces it to its words: every run of characters
// that are not letters, digits or combining marks (after a letter) becomes one
// space, with no space at either end. Markdown markup, punctuation and emoji
// disappear, so "**Q2 – What can go wrong?** 🔥" becomes "q2 what can go wrong".
func normalize(s string) string {
	out, _ := normalizeMap(s, false)
	return out
}

// normalizeMap is normalize that, when withMap is set, also returns pos, where
// pos[i] is the length of the normalized form of s[:i] for every rune boundary i.
func normalizeMap(s string, withMap bool) (string, []int) {
	var b strings.Builder
	b.Grow(len(s))
	var pos []int
	if withMap {
		pos = make([]int, len(s)+1)
	}
	inWord, pending := false, false
	for i, r := range s {
		if withMap {
			pos[i] = b.Len()
		}
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || (inWord && unicode.IsMark(r))
		if !word {
			inWord = false
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		inWord = true
		b.WriteRune(unicode.ToLower(r))
	}
	if withMap {
		pos[len(s)] = b.Len()
	}
	return b.String(), pos
}

// matcher recognises question labels.
type matcher struct {
	questions []string // normalized, in Options order
}

// whole returns the question n (a normalized text) names, or -1. n names a
// question when it is the question, optionally after a short prefix such as
// "q2", "2", "question 2" or "step 2".
func (m *matcher) whole(n string) int {
	best := -1
	for i, q := range m.questions {
		if len(n) < len(q) || (best >= 0 && len(q) <= len(m.questions[best])) {
			continue
		}
		if n == q || (strings.HasSuffix(n, q) && n[len(n)-len(q)-1] == ' ' && isNumberingPrefix(n[:len(n)-len(q)-1])) {
			best = i
		}
	}
	return best
}

// isNumberingPrefix reports whether p (normalized) is at most three tokens each
// like "q", "q2", "2", "question", "question2", "step", "part".
func isNumberingPrefix(p string) bool {
	toks := strings.Fields(p)
	if len(toks) > 3 {
		return false
	}
	for _, t := range toks {
		for _, w := range []string{"question", "step", "part", "q"} {
			if strings.HasPrefix(t, w) {
				t = t[len(w):]
				break
			}
		}
		if len(t) > 3 {
			return false
		}
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return false
			}
		}
	}
	return true
}

// prefix finds a label at the start of s that ends at a terminator ("?", ":",
// the end of a "**"/"__" run, or the end of s) and returns its question and the
// rest of s (the same-line answer), or -1. A later terminator wins when it
// names a longer question or directly follows the current one ("?**:"), so the
// label's closing markup is not taken for an answer, but "?" after a space is.
func (m *matcher) prefix(s string) (int, string) {
	window := len(s)
	if window > maxLabelWindow {
		window = maxLabelWindow
		for window > 0 && !utf8.RuneStart(s[window]) {
			window--
		}
	}
	norm, pos := normalizeMap(s[:window], true)
	bestQ, bestP, bestLen := -1, 0, 0
	try := func(p int) {
		q := m.whole(norm[:pos[p]])
		if q < 0 {
			return
		}
		if bestQ >= 0 && pos[p] == bestLen && strings.ContainsAny(s[bestP:p], " \t") {
			return
		}
		bestQ, bestP, bestLen = q, p, pos[p]
	}
	for i, r := range s[:window] {
		end := i + utf8.RuneLen(r)
		if r == utf8.RuneError {
			end = i + 1
		}
		switch r {
		case '?', ':', '？', '：':
			try(end)
		case '*', '_':
			if end < window && s[end] == byte(r) {
				continue // not the end of the run yet
			}
			if i > 0 && s[i-1] == byte(r) {
				try(end)
			}
		}
	}
	if window == len(s) {
		try(len(s))
	}
	if bestQ < 0 {
		return -1, ""
	}
	return bestQ, s[bestP:]
}

// classify examines one prose line (see lineInfo.prose). It returns the
// question a list or bold label at its start names (-1 if none) and the rest of
// the line after the label. A bold label counts only where the markdown parser
// saw a strong emphasis start the line (strong).
func (m *matcher) classify(line string, strong bool) (q int, rest string) {
	indent, t := leadingIndent(line)
	if indent > 3 || t == "" {
		return -1, ""
	}
	if item, ok := listItem(t); ok {
		return m.prefix(item)
	}
	if strong && (strings.HasPrefix(t, "**") || strings.HasPrefix(t, "__")) {
		return m.prefix(t)
	}
	return -1, ""
}

// atxLevel returns the level of the ATX heading t (indentation removed), or 0.
func atxLevel(t string) int {
	n := 0
	for n < len(t) && t[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(t) && t[n] != ' ' && t[n] != '\t') {
		return 0
	}
	return n
}

// listItem returns the content of the list item t (indentation removed): after
// "-", "*" or "+", or after 1–9 digits and "." or ")", and a space or tab.
func listItem(t string) (string, bool) {
	n := 0
	if t[0] == '-' || t[0] == '*' || t[0] == '+' {
		n = 1
	} else {
		for n < len(t) && n < 10 && t[n] >= '0' && t[n] <= '9' {
			n++
		}
		if n == 0 || n > 9 || n >= len(t) || (t[n] != '.' && t[n] != ')') {
			return "", false
		}
		n++
	}
	if n >= len(t) || (t[n] != ' ' && t[n] != '\t') {
		return "", false
	}
	return strings.TrimLeft(t[n:], " \t"), true
}

// label is one question label found in the body.
type label struct {
	q      int
	line   int       // 0-based line of the label
	answer []ansLine // the answer under it
}

// ansLine is one line of an answer.
type ansLine struct {
	text   string
	code   bool // inside a fenced code block
	hidden bool // an HTML comment with text was removed from it
}

// mark is a heading or a label, in body order.
type mark struct {
	line      int
	level     int    // heading level, 0 for a bold or list label
	q         int    // question, -1 for a heading that is not a label
	rest      string // same-line answer of a bold or list label
	bodyStart int    // first line of the answer
	bound     int    // a heading of this level or higher ends the answer; 0: none does
}

// findLabels returns the body's question labels with their answers, in body
// order. Headings (ATX and setext) are the markdown parser's; list and bold
// labels are found on prose lines.
func findLabels(lines []lineInfo, m *matcher) []label {
	var marks []mark
	lastLevel := 0
	for i := 0; i < len(lines); i++ {
		li := lines[i]
		if li.heading > 0 {
			// The heading's text: its one ATX line, or a setext heading's lines
			// without the underline (headEnd).
			var b strings.Builder
			for _, h := range lines[i:max(i+1, li.headEnd)] {
				b.WriteString(h.text)
				b.WriteByte(' ')
			}
			q := -1
			if b.Len() <= maxLabelWindow {
				q = m.whole(normalize(b.String()))
			}
			marks = append(marks, mark{line: i, level: li.heading, q: q, bodyStart: li.headEnd + 1, bound: li.heading})
			lastLevel = li.heading
			i = li.headEnd
			continue
		}
		if !li.prose || li.continued {
			continue
		}
		if q, rest := m.classify(li.text, li.strong); q >= 0 {
			marks = append(marks, mark{line: i, q: q, rest: rest, bodyStart: i + 1, bound: lastLevel})
		}
	}

	var out []label
	for k, mk := range marks {
		if mk.q < 0 {
			continue
		}
		end := len(lines)
		for _, next := range marks[k+1:] {
			if next.q >= 0 || (mk.bound > 0 && next.level > 0 && next.level <= mk.bound) {
				end = next.line
				break
			}
		}
		l := label{q: mk.q, line: mk.line}
		l.answer = append(l.answer, ansLine{text: mk.rest, hidden: lines[mk.line].hidden})
		for _, li := range lines[min(mk.bodyStart, end):end] {
			if li.fence {
				continue
			}
			l.answer = append(l.answer, ansLine{text: li.text, code: li.code, hidden: li.hidden})
		}
		out = append(out, l)
	}
	return out
}

package threatmodel

import (
	"sort"
	"strings"
)

// lineInfo is one line of the body as markdown renders it, for this package's
// purposes: HTML comments removed and fenced code blocks marked.
type lineInfo struct {
	text      string // visible text: HTML comments removed (raw inside a code block)
	hidden    bool   // an HTML comment with text in it starts on this line
	code      bool   // a content line of a fenced code block
	fence     bool   // the opening or closing line of a fenced code block
	continued bool   // the line began inside an HTML comment; never a label
}

// scanLines splits body (LF line endings) into lines, removing HTML comments
// outside fenced code blocks and marking the blocks. Linear in len(body).
func scanLines(body string) []lineInfo {
	raw, starts := splitLines(body)
	closes := commentCloses(body)
	// nextBlank[i] is the first blank line after line i, or len(raw): an inline
	// comment must close before it (a blank line ends the paragraph).
	nextBlank := make([]int, len(raw)+1)
	nextBlank[len(raw)] = len(raw)
	for i := len(raw) - 1; i >= 0; i-- {
		if i+1 < len(raw) && isBlank(raw[i+1]) {
			nextBlank[i] = i + 1
		} else {
			nextBlank[i] = nextBlank[i+1]
		}
	}
	// closeAt returns the offset just after the first "-->" starting at or after
	// p, or -1.
	closeAt := func(p int) int {
		k := sort.SearchInts(closes, p)
		if k == len(closes) {
			return -1
		}
		return closes[k] + 3
	}

	out := make([]lineInfo, len(raw))
	var (
		inFence    bool
		fenceCh    byte
		fenceLen   int
		inComment  bool
		commentEnd int // offset just after the open comment's "-->"
	)
	for i, r := range raw {
		li := &out[i]
		s := starts[i]
		if inFence {
			if closesFence(r, fenceCh, fenceLen) {
				li.fence = true
				inFence = false
			} else {
				li.code = true
				li.text = r
			}
			continue
		}
		li.continued = inComment
		var b strings.Builder
		var spans *codeSpans
		col := 0
		for col < len(r) {
			if inComment {
				if commentEnd <= s+len(r) {
					col = commentEnd - s
					inComment = false
					continue
				}
				break
			}
			k := strings.IndexAny(r[col:], "<`")
			if k < 0 {
				b.WriteString(r[col:])
				break
			}
			k += col
			b.WriteString(r[col:k])
			if r[k] == '`' {
				if spans == nil {
					spans = newCodeSpans(r)
				}
				end := spans.end(k)
				b.WriteString(r[k:end])
				col = end
				continue
			}
			if !strings.HasPrefix(r[k:], "<!--") {
				b.WriteByte('<')
				col = k + 1
				continue
			}
			abs := s + k
			block := k <= 3 && isBlank(r[:k]) // an HTML block: runs to "-->" or the end
			limit := len(body)
			if !block && nextBlank[i] < len(raw) {
				limit = starts[nextBlank[i]]
			}
			end := closeAt(abs + 2)
			contentEnd := end - 3
			if end < 0 || end > limit {
				if !block { // an unclosed inline "<!--" is literal text
					b.WriteByte('<')
					col = k + 1
					continue
				}
				end, contentEnd = len(body), len(body)
			}
			if content := body[abs+4 : max(abs+4, contentEnd)]; strings.TrimSpace(content) != "" {
				li.hidden = true
			}
			inComment, commentEnd, col = true, end, k
		}
		li.text = b.String()
		if li.continued {
			continue
		}
		if ch, n, ok := opensFence(li.text); ok {
			li.fence, li.text = true, ""
			inFence, fenceCh, fenceLen = true, ch, n
		}
	}
	return out
}

// splitLines splits s at "\n" and returns the lines and their start offsets.
func splitLines(s string) (lines []string, starts []int) {
	n := strings.Count(s, "\n") + 1
	lines, starts = make([]string, 0, n), make([]int, 0, n)
	off := 0
	for {
		k := strings.IndexByte(s[off:], '\n')
		if k < 0 {
			lines, starts = append(lines, s[off:]), append(starts, off)
			return lines, starts
		}
		lines, starts = append(lines, s[off:off+k]), append(starts, off)
		off += k + 1
	}
}

// commentCloses returns the offsets of every "-->" in s, ascending.
func commentCloses(s string) []int {
	var out []int
	for off := 0; ; {
		k := strings.Index(s[off:], "-->")
		if k < 0 {
			return out
		}
		out = append(out, off+k)
		off += k + 1
	}
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// leadingIndent returns the width of s's leading spaces and tabs (a tab moves to
// the next multiple of 4) and the rest of s.
func leadingIndent(s string) (int, string) {
	w := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			w++
		case '\t':
			w += 4 - w%4
		default:
			return w, s[i:]
		}
	}
	return w, ""
}

// opensFence reports whether line opens a fenced code block, with its fence
// character and length. Any indentation is accepted: an indented line is code
// either way, and treating it as a fence can only hide labels, never add them.
func opensFence(line string) (byte, int, bool) {
	_, t := leadingIndent(line)
	if len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return 0, 0, false
	}
	ch := t[0]
	n := 0
	for n < len(t) && t[n] == ch {
		n++
	}
	if n < 3 || (ch == '`' && strings.IndexByte(t[n:], '`') >= 0) {
		return 0, 0, false
	}
	return ch, n, true
}

// closesFence reports whether line closes a fence of n characters ch.
func closesFence(line string, ch byte, n int) bool {
	_, t := leadingIndent(line)
	k := 0
	for k < len(t) && t[k] == ch {
		k++
	}
	return k >= n && isBlank(t[k:])
}

// codeSpans finds inline code spans on one line: a run of n backticks up to the
// next run of exactly n backticks.
type codeSpans struct {
	runEnd   map[int]int // start of a run -> end of the run
	nextSame map[int]int // start of a run -> start of the next run of equal length, or -1
}

func newCodeSpans(line string) *codeSpans {
	type run struct{ start, n int }
	var runs []run
	for i := 0; i < len(line); {
		if line[i] != '`' {
			i++
			continue
		}
		j := i
		for j < len(line) && line[j] == '`' {
			j++
		}
		runs = append(runs, run{i, j - i})
		i = j
	}
	cs := &codeSpans{runEnd: make(map[int]int, len(runs)), nextSame: make(map[int]int, len(runs))}
	last := map[int]int{}
	for k := len(runs) - 1; k >= 0; k-- {
		r := runs[k]
		cs.runEnd[r.start] = r.start + r.n
		if next, ok := last[r.n]; ok {
			cs.nextSame[r.start] = next
		} else {
			cs.nextSame[r.start] = -1
		}
		last[r.n] = r.start
	}
	return cs
}

// end returns the offset after the code span starting at the run at start, or
// after the run itself when no run of its length follows.
func (cs *codeSpans) end(start int) int {
	runEnd, ok := cs.runEnd[start]
	if !ok { // inside a run: not a run start
		return start + 1
	}
	if next := cs.nextSame[start]; next >= 0 {
		return cs.runEnd[next]
	}
	return runEnd
}

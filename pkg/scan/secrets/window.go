package secrets

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/zricethezav/gitleaks/v8/config"
)

// Windows: where a rule's regexp can match.
//
// From a regexp's syntax tree, analyze derives a set of literals one of which
// every match contains (ASCII, compared without case), and how far a match can
// reach on either side of that literal: a number of bytes where the parts of
// the regexp on that side are bounded, else to the end of the line (a part of
// unbounded length that cannot match a newline, as `[a-z0-9+/]{11,}`), or k
// lines further (one that can match at most k newlines). Each occurrence of a
// literal in the text then gives a zone [A, B] holding every match that holds
// the occurrence. The text is cut into windows: the zones, widened by `margin`
// bytes on each side and to the nearest ASCII byte (where Go's matcher decodes
// runes as it does in the whole text), merged where they touch. In a window,
// every position a match can start at has the same text before and after it,
// as far as the matcher looks (the rune before, the match, the rune after), as
// in the whole text; and every match found in a window holds an occurrence
// whose zone is in that window. So the matches at each position are the same
// in the window as in the whole text, no match of the whole text crosses a
// window's edge, and FindAllStringIndex over each window, shifted, is
// FindAllStringIndex over the whole text. A regexp with no such literal or no
// bound runs on the whole text, and so does every regexp on a text holding the
// Kelvin sign or the long s, which Go's case folding matches as k and s (the
// literals are searched as ASCII).
type ruleWindows struct {
	re            *regexp.Regexp
	lits          []string // lower-case ASCII; nil: run on the whole text
	before, after []step   // how far a match reaches before and after a literal, nearest part first
}

// step is one part of a regexp next to its literal: at most bytes long, or, when
// bytes < 0, ending at most lines newlines further than the end of the line it
// starts in.
type step struct{ bytes, lines int }

// margin covers the rune the matcher reads before a match and after it.
const margin = 2 * utf8.UTFMax

// maxExact bounds the sets of strings the analysis enumerates.
const maxExact = 64

func analyze(re *regexp.Regexp) *ruleWindows {
	rw := &ruleWindows{re: re}
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return rw
	}
	for tree.Op == syntax.OpCapture {
		tree = tree.Sub[0]
	}
	subs := []*syntax.Regexp{tree}
	if tree.Op == syntax.OpConcat {
		subs = tree.Sub
	}
	nodes := make([]node, len(subs))
	for i, sub := range subs {
		nodes[i] = analyzeNode(sub)
	}
	// Candidates: one part's requirement (the literal anywhere inside it), or
	// the strings of a run of parts whose strings are all known.
	type cand struct {
		lits   []string
		i, j   int  // the parts [i, j] hold the literal
		inside bool // the literal is somewhere inside part i
	}
	var cands []cand
	for i, n := range nodes {
		if len(n.req) > 0 {
			cands = append(cands, cand{n.req, i, i, !n.known || !slices.Equal(n.req, n.exact)})
		}
		run := []string{""}
		for j := i; j < len(nodes) && nodes[j].known; j++ {
			if run = product(run, nodes[j].exact); run == nil {
				break
			}
			if r := nonEmpty(run); r != nil {
				cands = append(cands, cand{r, i, j, false})
			}
		}
	}
	var bestC *cand
	for k := range cands {
		c := &cands[k]
		before, okB := steps(nodes[:c.i], true)
		after, okA := steps(nodes[c.j+1:], false)
		if c.inside {
			x := nodes[c.i]
			s, ok := partStep(x)
			before, after = append([]step{s}, before...), append([]step{s}, after...)
			okB, okA = okB && ok, okA && ok
		}
		if !okB || !okA {
			continue
		}
		if bestC == nil || better(c.lits, bestC.lits) {
			bestC = c
			rw.lits, rw.before, rw.after = c.lits, before, after
		}
	}
	return rw
}

// partStep bounds one part of a regexp.
func partStep(n node) (step, bool) {
	switch {
	case n.max >= 0:
		return step{bytes: n.max}, true
	case n.nl >= 0:
		return step{bytes: -1, lines: n.nl}, true
	}
	return step{}, false
}

// steps bounds the parts on one side of a literal, nearest first.
func steps(nodes []node, reverse bool) ([]step, bool) {
	var out []step
	for k := range nodes {
		n := nodes[k]
		if reverse {
			n = nodes[len(nodes)-1-k]
		}
		s, ok := partStep(n)
		if !ok {
			return nil, false
		}
		if len(out) > 0 && s.bytes >= 0 && out[len(out)-1].bytes >= 0 {
			out[len(out)-1].bytes += s.bytes
			continue
		}
		out = append(out, s)
	}
	return out, true
}

// better reports whether the literals a are more selective than b: a longer
// shortest literal, then fewer literals.
func better(a, b []string) bool {
	score := func(set []string) int {
		m := 1 << 30
		for _, s := range set {
			m = min(m, len(s))
		}
		return m
	}
	return score(a) > score(b) || score(a) == score(b) && len(a) < len(b)
}

// node is what the analysis knows of a subexpression: every string it matches
// (exact, when few and known), literals one of which every match holds (req),
// the longest match in bytes and the most newlines in a match (max and nl, -1
// unbounded).
type node struct {
	exact   []string
	known   bool // exact is the whole set
	req     []string
	max, nl int
}

// addBound is a+b for bounds (-1 unbounded).
func addBound(a, b int) int {
	if a < 0 || b < 0 {
		return -1
	}
	return a + b
}

// maxBound is max(a, b) for bounds.
func maxBound(a, b int) int {
	if a < 0 || b < 0 {
		return -1
	}
	return max(a, b)
}

// repeatBound bounds up to n repetitions (n < 0: unbounded) of something
// bounded by b.
func repeatBound(b, n int) int {
	switch {
	case b == 0:
		return 0
	case b < 0 || n < 0:
		return -1
	}
	return b * n
}

// analyzeNode is what the analysis knows of re.
func analyzeNode(re *syntax.Regexp) node {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return node{exact: []string{""}, known: true}
	case syntax.OpLiteral:
		return literalNode(re)
	case syntax.OpCharClass:
		return charClassNode(re)
	case syntax.OpAnyCharNotNL:
		return node{max: utf8.UTFMax}
	case syntax.OpAnyChar:
		return node{max: utf8.UTFMax, nl: 1}
	case syntax.OpCapture:
		return analyzeNode(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		return repeatNode(re)
	case syntax.OpAlternate:
		return alternateNode(re)
	case syntax.OpConcat:
		return concatNode(re)
	}
	return node{max: -1, nl: -1} // OpNoMatch and anything new: no claim
}

// literalNode analyzes a literal: its bytes (the widest case folding of each
// rune, but the Kelvin sign and the long s), its newlines, and, when it is
// ASCII, itself lowered as its one string and requirement.
func literalNode(re *syntax.Regexp) node {
	var n node
	lit := make([]byte, 0, len(re.Rune))
	ascii := true
	for _, r := range re.Rune {
		w := runeLen(r)
		if re.Flags&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				if !foldRune(f) {
					w = max(w, runeLen(f))
				}
			}
		}
		n.max += w
		if r == '\n' {
			n.nl++
		}
		if r >= utf8.RuneSelf {
			ascii = false
		} else {
			lit = append(lit, lower(byte(r)))
		}
	}
	if ascii {
		n.exact, n.known = []string{string(lit)}, true
		n.req = n.exact
	}
	return n
}

// charClassNode analyzes a character class: one rune, a newline when it holds
// one, and its lowered characters as strings when they are at most 8 and
// ASCII (the Kelvin sign and the long s aside).
func charClassNode(re *syntax.Regexp) node {
	var n node
	var chars []string
	count := 0
	for i := 0; i+1 < len(re.Rune); i += 2 {
		lo, hi := re.Rune[i], re.Rune[i+1]
		if !(lo == hi && foldRune(lo)) {
			n.max = max(n.max, runeLen(hi))
		}
		if lo <= '\n' && '\n' <= hi {
			n.nl = 1
		}
		count += int(hi-lo) + 1
		for r := lo; r <= hi && count <= 8; r++ {
			switch {
			case r < utf8.RuneSelf:
				if c := string(lower(byte(r))); !slices.Contains(chars, c) {
					chars = append(chars, c)
				}
			case foldRune(r): // texts holding it run whole
			default:
				count = 1 << 30 // another non-ASCII rune: not a literal
			}
		}
	}
	if n.max == 0 { // an empty class matches nothing
		n.max = utf8.UTFMax
	}
	if count <= 8 && len(chars) > 0 {
		n.exact, n.known = chars, true
		n.req = chars
	}
	return n
}

// repeatNode analyzes x*, x+, x? and x{min,max}: bounded as many x, requiring
// what x requires when x must occur, with x's strings for x? and x{1}.
func repeatNode(re *syntax.Regexp) node {
	s := analyzeNode(re.Sub[0])
	switch re.Op {
	case syntax.OpStar, syntax.OpPlus:
		n := node{max: -1, nl: repeatBound(s.nl, -1)}
		if re.Op == syntax.OpPlus {
			n.req = s.req
		}
		return n
	case syntax.OpQuest:
		n := node{max: s.max, nl: s.nl}
		if s.known && len(s.exact) < maxExact {
			n.exact, n.known = append(slices.Clone(s.exact), ""), true
		}
		return n
	}
	n := node{max: repeatBound(s.max, re.Max), nl: repeatBound(s.nl, re.Max)}
	if re.Min >= 1 {
		n.req = s.req
	}
	if re.Min == 1 && re.Max == 1 {
		n.exact, n.known = s.exact, s.known
	}
	return n
}

// alternateNode analyzes a|b|…: the widest bound, the union of the strings
// while few and known, and the union of the requirements when every branch
// has one (the strings, when they are known).
func alternateNode(re *syntax.Regexp) node {
	n := node{known: true}
	reqOK := true
	for _, sub := range re.Sub {
		s := analyzeNode(sub)
		n.max, n.nl = maxBound(n.max, s.max), maxBound(n.nl, s.nl)
		if n.known && s.known && len(n.exact)+len(s.exact) <= maxExact {
			n.exact = union(n.exact, s.exact)
		} else {
			n.known, n.exact = false, nil
		}
		if reqOK && len(s.req) > 0 {
			n.req = union(n.req, s.req)
		} else {
			reqOK = false
		}
	}
	if !reqOK {
		n.req = nil
	}
	if n.known {
		n.req = nonEmpty(n.exact)
	}
	return n
}

// concatNode analyzes ab…: the summed bounds, the product of the strings while
// few and known, and as requirement the best of the parts' requirements, the
// strings of each run of known parts, and the whole's strings.
func concatNode(re *syntax.Regexp) node {
	n := node{known: true, exact: []string{""}}
	var cands [][]string
	run := []string{""} // cross product of the current run of exact subexpressions
	for _, sub := range re.Sub {
		s := analyzeNode(sub)
		n.max, n.nl = addBound(n.max, s.max), addBound(n.nl, s.nl)
		if len(s.req) > 0 {
			cands = append(cands, s.req)
		}
		if s.known {
			run = product(run, s.exact)
			if n.known {
				n.exact = product(n.exact, s.exact)
				if n.exact == nil {
					n.known = false
				}
			}
			if run == nil { // too many: start again from this one
				run = slices.Clone(s.exact)
			}
		} else {
			n.known, n.exact = false, nil
			run = []string{""}
		}
		if r := nonEmpty(run); r != nil {
			cands = append(cands, r)
		}
	}
	if n.known {
		cands = append(cands, nonEmpty(n.exact))
	}
	for _, c := range cands {
		if c != nil && (n.req == nil || better(c, n.req)) {
			n.req = c
		}
	}
	return n
}

// foldRune reports whether r is the Kelvin sign or the long s, which Go's case
// folding matches as k and s. Windows are only cut in texts without them, so
// the analysis counts neither as a literal's letter nor in a match's length.
func foldRune(r rune) bool { return r == '\u212a' || r == '\u017f' }

// runeLen is the most bytes a rune up to r takes (invalid UTF-8 is read as
// runes of one byte).
func runeLen(r rune) int {
	if n := utf8.RuneLen(r); n > 0 {
		return n
	}
	return utf8.UTFMax
}

// lower lowers an ASCII letter.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// product is {x+y}, or nil when that is more than maxExact strings.
func product(a, b []string) []string {
	if len(a)*len(b) > maxExact {
		return nil
	}
	var out []string
	for _, x := range a {
		for _, y := range b {
			if s := x + y; !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// nonEmpty returns set if none of its strings is empty (a requirement), else nil.
func nonEmpty(set []string) []string {
	if len(set) == 0 || slices.Contains(set, "") {
		return nil
	}
	return set
}

// findAll is r.Regex.FindAllStringIndex(p.raw, -1), run on the windows.
func (d *detector) findAll(p *pass, r config.Rule) [][]int {
	rw := d.rules[r.RuleID]
	if rw == nil || rw.re != r.Regex || rw.lits == nil || p.foldHazard() {
		return r.Regex.FindAllStringIndex(p.raw, -1)
	}
	wins, ok := p.windows(rw)
	if !ok {
		return r.Regex.FindAllStringIndex(p.raw, -1)
	}
	covered := 0
	for _, w := range wins {
		covered += w[1] - w[0]
	}
	if covered*2 > len(p.raw) {
		return r.Regex.FindAllStringIndex(p.raw, -1)
	}
	var out [][]int
	for _, w := range wins {
		for _, m := range r.Regex.FindAllStringIndex(p.raw[w[0]:w[1]], -1) {
			out = append(out, []int{m[0] + w[0], m[1] + w[0]})
		}
	}
	return out
}

// foldHazard reports whether the text holds the Kelvin sign or the long s.
func (p *pass) foldHazard() bool {
	if p.folds == 0 {
		p.folds = 2
		if strings.Contains(p.raw, "\u212a") || strings.Contains(p.raw, "\u017f") {
			p.folds = 1
		}
	}
	return p.folds == 1
}

// windows returns the merged windows of rw's literals in p.raw; not ok when
// the literals are so dense that the windows would cover the text anyway
// (a bound on the work and memory a crafted file can cost).
func (p *pass) windows(rw *ruleWindows) (_ [][2]int, ok bool) {
	if p.occurs == nil {
		b := []byte(p.raw)
		for i, c := range b {
			b[i] = lower(c)
		}
		p.lower = string(b)
		p.occurs = map[string][]int{}
	}
	n := len(p.raw)
	var zones [][2]int
	for _, lit := range rw.lits {
		occ, ok := p.occurs[lit]
		if !ok {
			for i := 0; ; {
				j := strings.Index(p.lower[i:], lit)
				if j < 0 {
					break
				}
				occ = append(occ, i+j)
				i += j + 1
			}
			p.occurs[lit] = occ
		}
		if len(zones)+len(occ) > len(p.raw)/16+256 {
			return nil, false
		}
		for _, o := range occ {
			a, b := p.zone(rw, o, len(lit))
			zones = append(zones, [2]int{max(a-margin, 0), min(b+margin, n)})
		}
	}
	if len(zones) == 0 {
		return nil, true
	}
	slices.SortFunc(zones, func(a, b [2]int) int { return a[0] - b[0] })
	var out [][2]int
	for _, z := range zones {
		for z[0] > 0 && p.raw[z[0]] >= utf8.RuneSelf {
			z[0]--
		}
		for z[1] < n && p.raw[z[1]] >= utf8.RuneSelf {
			z[1]++
		}
		if len(out) > 0 && z[0] <= out[len(out)-1][1] {
			out[len(out)-1][1] = max(out[len(out)-1][1], z[1])
			continue
		}
		out = append(out, z)
	}
	return out, true
}

// zone returns [A, B], where every match holding the literal at o (l bytes
// long) lies.
func (p *pass) zone(rw *ruleWindows, o, l int) (a, b int) {
	if p.nl == nil {
		p.nl = []int{}
		for i := 0; ; {
			j := strings.IndexByte(p.raw[i:], '\n')
			if j < 0 {
				break
			}
			p.nl = append(p.nl, i+j)
			i += j + 1
		}
	}
	a = o
	for _, s := range rw.before {
		if s.bytes >= 0 {
			a -= s.bytes
			continue
		}
		// The part ends at or after a and holds at most s.lines newlines: it
		// starts at or after the start of the line s.lines above a's.
		i, _ := slices.BinarySearch(p.nl, max(a, 0)) // the newlines before a
		if i -= 1 + s.lines; i >= 0 {
			a = p.nl[i] + 1
		} else {
			a = 0
		}
	}
	b = o + l
	for _, s := range rw.after {
		if s.bytes >= 0 {
			b += s.bytes
			continue
		}
		// The part starts at or before b and holds at most s.lines newlines:
		// it ends at or before the (s.lines+1)th newline from b.
		i, _ := slices.BinarySearch(p.nl, min(b, len(p.raw))) // the first newline at or after b
		if i += s.lines; i < len(p.nl) {
			b = p.nl[i]
		} else {
			b = len(p.raw)
		}
	}
	return max(a, 0), min(b, len(p.raw))
}

package threatmodel

import (
	"bytes"
	"sort"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// lineInfo is one line of the body as GitHub renders it, for this package's
// purposes: the block it belongs to, as goldmark (a CommonMark parser, with
// GitHub's table, strikethrough and task-list extensions) reads it, and its
// visible text.
type lineInfo struct {
	text      string // visible text: HTML comments removed (raw inside a code block)
	hidden    bool   // an HTML comment with text in it starts on this line
	code      bool   // a content line of a code block (fenced or indented)
	fence     bool   // the opening or closing line of a fenced code block
	continued bool   // the line began inside an HTML comment; never a label
	// heading is the level of the heading (ATX or setext) that starts on this
	// line outside block quotes, 0 if none; headEnd is its last line (the
	// setext underline).
	heading int
	headEnd int
	// prose is a line of a paragraph outside block quotes: only such a line
	// holds a list or bold label. Lines of HTML blocks, code blocks, block
	// quotes and tables never do.
	prose bool
	// strong is set when a strong emphasis (**…** or __…__) starts the line.
	strong bool
	// definition is a link reference definition: not shown, its text is "".
	definition bool
}

// markdown is the parser: CommonMark's blocks, plus GitHub's tables (a table
// row is not a paragraph line), and the inlines that decide what is text:
// code spans, autolinks, raw HTML (comments) and emphasis. Links and images are
// left out on purpose: their text is read as text either way, and goldmark's
// link parser is quadratic on unclosed "[](" runs (seconds for a 64 KiB body).
var markdown = parser.NewParser(
	parser.WithBlockParsers(parser.DefaultBlockParsers()...),
	parser.WithInlineParsers(
		util.Prioritized(parser.NewCodeSpanParser(), 100),
		util.Prioritized(parser.NewAutoLinkParser(), 300),
		util.Prioritized(parser.NewRawHTMLParser(), 400),
		util.Prioritized(parser.NewEmphasisParser(), 500),
	),
	parser.WithParagraphTransformers(append(parser.DefaultParagraphTransformers(),
		util.Prioritized(extension.NewTableParagraphTransformer(), 200))...),
)

// span is a byte range of the body that GitHub does not show: an HTML
// comment, or (tag set) other raw HTML: a tag, a processing instruction, a
// declaration, CDATA, or an element the sanitizer drops with its content
// (script, style, ...).
type span struct {
	start, stop int
	tag         bool
}

// scanLines parses body (LF line endings) as markdown and describes each of its
// lines: which block holds it, and its text with HTML comments removed.
func scanLines(body string) []lineInfo {
	raw, starts := splitLines(body)
	s := &lineScanner{body: body, raw: raw, starts: starts, out: make([]lineInfo, len(raw)), covered: make([]bool, len(raw))}
	doc := markdown.Parse(text.NewReader(capNesting([]byte(body))))
	_ = ast.Walk(doc, s.visit)
	s.uncovered()
	applyComments(s.out, raw, starts, body, s.comments)
	return s.out
}

// lineScanner is scanLines' state while it walks the markdown tree.
type lineScanner struct {
	body   string
	raw    []string
	starts []int
	out    []lineInfo
	// covered marks the lines a block holds.
	covered  []bool
	comments []span
	// dropped is an open inline element GitHub drops with its content,
	// opened at droppedAt.
	dropped   string
	droppedAt int
	// quote is the blockquote depth.
	quote int
}

// lineOf is the line holding the byte at off.
func (s *lineScanner) lineOf(off int) int { return sort.SearchInts(s.starts, off+1) - 1 }

// visit records what node n says about its lines.
func (s *lineScanner) visit(n ast.Node, entering bool) (ast.WalkStatus, error) {
	if n.Kind() == ast.KindBlockquote {
		if entering {
			s.quote++
		} else {
			s.quote--
		}
		return ast.WalkContinue, nil
	}
	if !entering {
		return ast.WalkContinue, nil
	}
	switch v := n.(type) {
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		s.codeBlock(n)
		return ast.WalkSkipChildren, nil
	case *ast.HTMLBlock:
		s.htmlBlock(v)
		return ast.WalkSkipChildren, nil
	case *ast.Heading:
		s.heading(v)
	case *ast.Paragraph, *ast.TextBlock:
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			l := s.lineOf(lines.At(i).Start)
			s.covered[l] = true
			s.out[l].prose = s.quote == 0
		}
	case *east.TableRow, *east.TableHeader:
		if p := n.Pos(); p >= 0 && p < len(s.body) {
			s.covered[s.lineOf(p)] = true
		}
	case *ast.Emphasis:
		if p := n.Pos(); v.Level == 2 && p >= 0 && p < len(s.body) {
			l := s.lineOf(p)
			s.out[l].strong = strings.TrimLeft(s.body[s.starts[l]:p], " \t") == ""
		}
	case *ast.RawHTML:
		s.rawHTML(v)
	}
	return ast.WalkContinue, nil
}

// codeBlock marks an indented or fenced code block's lines, and a fenced
// one's opening and closing fences.
func (s *lineScanner) codeBlock(n ast.Node) {
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		l := s.lineOf(lines.At(i).Start)
		s.covered[l], s.out[l].code = true, true
	}
	if _, fenced := n.(*ast.FencedCodeBlock); !fenced {
		return
	}
	open := s.lineOf(n.Pos())
	s.covered[open], s.out[open].fence = true, true
	last := open
	if lines.Len() > 0 {
		last = s.lineOf(lines.At(lines.Len() - 1).Start)
	}
	if c := last + 1; c < len(s.raw) && !s.covered[c] && isFenceLine(s.raw[c]) {
		s.covered[c], s.out[c].fence = true, true
	}
}

// htmlBlock marks an HTML block's lines and records its comments and the
// elements GitHub does not show.
func (s *lineScanner) htmlBlock(v *ast.HTMLBlock) {
	segs := v.Lines()
	first, stop := -1, 0
	for i := 0; i < segs.Len(); i++ {
		seg := segs.At(i)
		s.covered[s.lineOf(seg.Start)] = true
		if first < 0 {
			first = seg.Start
		}
		stop = seg.Stop
	}
	if v.HasClosure() {
		s.covered[s.lineOf(v.ClosureLine.Start)] = true
		if first < 0 {
			first = v.ClosureLine.Start
		}
		stop = v.ClosureLine.Stop
	}
	if first >= 0 {
		s.comments = append(s.comments, htmlComments(s.body, first, stop)...)
		s.comments = append(s.comments, htmlHidden(s.body, first, stop)...)
	}
}

// heading marks an ATX or setext heading's lines; outside a blockquote it
// is a heading of the body.
func (s *lineScanner) heading(v *ast.Heading) {
	start := s.lineOf(v.Pos())
	end := start
	if lines := v.Lines(); lines.Len() > 0 {
		end = s.lineOf(lines.At(lines.Len() - 1).Start)
	}
	if v.Pos() < len(s.body) && s.body[v.Pos()] != '#' { // setext: the underline follows
		end = min(end+1, len(s.raw)-1)
	}
	for l := start; l <= end; l++ {
		s.covered[l] = true
	}
	if s.quote == 0 {
		s.out[start].heading, s.out[start].headEnd = v.Level, end
	}
}

// rawHTML records inline HTML that is not shown: a comment, an element
// GitHub drops with its content (up to its closing tag), or a tag.
func (s *lineScanner) rawHTML(v *ast.RawHTML) {
	if v.Segments.Len() == 0 {
		return
	}
	start, end := v.Segments.At(0).Start, v.Segments.At(v.Segments.Len()-1).Stop
	raw := s.body[start:end]
	switch {
	case strings.HasPrefix(raw, "<!--"):
		s.comments = append(s.comments, span{start: start, stop: end})
	case s.dropped != "":
		if closes(raw, s.dropped) {
			s.comments = append(s.comments, span{s.droppedAt, end, true})
			s.dropped = ""
		}
	default:
		if name := droppedElement(raw); name != "" {
			s.dropped, s.droppedAt = name, start
		} else {
			s.comments = append(s.comments, span{start, end, true})
		}
	}
}

// uncovered describes the lines no block holds: thematic breaks, empty list
// items and quote lines, link reference definitions (not shown: no answer)
// and fences that close a block no content line precedes.
func (s *lineScanner) uncovered() {
	for i := range s.out {
		switch {
		case s.covered[i] || isBlank(s.raw[i]):
		case isFenceLine(s.raw[i]):
			s.out[i].fence = true
		case strings.Trim(s.raw[i], " \t>-*+_=#.)0123456789") != "":
			// Text no block holds: a link reference definition (its label,
			// destination and title may each be on a line of its own), which
			// is not shown.
			s.out[i].definition = true
		}
	}
}

// applyComments sets each line's visible text: the raw line with the HTML
// comments that overlap it cut out (code lines stay raw).
func applyComments(out []lineInfo, raw []string, starts []int, body string, comments []span) {
	sort.Slice(comments, func(i, j int) bool { return comments[i].start < comments[j].start })
	k := 0
	for i, r := range raw {
		li := &out[i]
		if li.code {
			li.text = r
			continue
		}
		if li.fence || li.definition {
			continue
		}
		s, e := starts[i], starts[i]+len(r)
		for k < len(comments) && comments[k].stop <= s {
			k++
		}
		var b strings.Builder
		pos := s
		for j := k; j < len(comments) && comments[j].start < e; j++ {
			c := comments[j]
			if c.start < s {
				li.continued = true
			} else {
				b.WriteString(body[pos:c.start])
				if c.tag {
					b.WriteByte(' ')
				} else if content := strings.TrimSuffix(strings.TrimPrefix(body[c.start:c.stop], "<!--"), "-->"); strings.TrimSpace(content) != "" {
					li.hidden = true
				}
			}
			pos = max(pos, min(c.stop, e))
		}
		if pos < e {
			b.WriteString(body[pos:e])
		}
		li.text = b.String()
	}
}

// htmlComments returns the HTML comments in body[start:stop] (an HTML block),
// as a browser ends them: at the first "-->" ("<!-->" and "<!--->" are empty
// comments), or at the end of the block when unclosed.
func htmlComments(body string, start, stop int) []span {
	var out []span
	for p := start; p < stop; {
		k := strings.Index(body[p:stop], "<!--")
		if k < 0 {
			break
		}
		o := p + k
		switch {
		case strings.HasPrefix(body[o+4:stop], ">"):
			out, p = append(out, span{start: o, stop: o + 5}), o+5
			continue
		case strings.HasPrefix(body[o+4:stop], "->"):
			out, p = append(out, span{start: o, stop: o + 6}), o+6
			continue
		}
		e := strings.Index(body[o+4:stop], "-->")
		if e < 0 {
			out = append(out, span{start: o, stop: stop})
			break
		}
		end := o + 4 + e + 3
		out, p = append(out, span{start: o, stop: end}), end
	}
	return out
}

// droppedElements are the elements GitHub's sanitizer removes with their
// content (the Sanitize gem's remove_contents).
var droppedElements = []string{"script", "style", "iframe", "noscript", "noembed", "noframes", "plaintext", "xmp", "svg", "template"}

// droppedElement returns the name of the dropped element raw (an HTML tag)
// opens, or "".
func droppedElement(raw string) string {
	for _, name := range droppedElements {
		if len(raw) > len(name)+1 && strings.EqualFold(raw[1:1+len(name)], name) {
			switch raw[1+len(name)] {
			case '>', ' ', '\t', '\n', '/':
				return name
			}
		}
	}
	return ""
}

// closes reports whether raw (an HTML tag) is the end tag of name.
func closes(raw, name string) bool {
	return len(raw) > len(name)+2 && raw[1] == '/' && strings.EqualFold(raw[2:2+len(name)], name)
}

// htmlHidden returns what of body[start:stop] (an HTML block) GitHub does not
// show besides comments: tags, processing instructions ("<?…?>"),
// declarations ("<!X…>"), CDATA ("<![CDATA[…]]>") and the dropped elements
// with their content. Unclosed, they run to the end of the block.
func htmlHidden(body string, start, stop int) []span {
	var out []span
	for p := start; p < stop; {
		k := strings.IndexByte(body[p:stop], '<')
		if k < 0 || p+k+1 >= stop {
			break
		}
		o := p + k
		rest := body[o:stop]
		end := ""
		switch c := rest[1]; {
		case strings.HasPrefix(rest, "<!--"):
			p = o + 4 // htmlComments has it
			if e := strings.Index(body[p:stop], "-->"); e >= 0 {
				p += e + 3
			} else {
				p = stop
			}
			continue
		case strings.HasPrefix(rest, "<![CDATA["):
			end = "]]>"
		case c == '?':
			end = "?>"
		case c == '!' || c == '/' || c|0x20 >= 'a' && c|0x20 <= 'z':
			end = ">"
			if name := droppedElement(rest); name != "" {
				i := strings.Index(strings.ToLower(rest), "</"+name)
				if i < 0 {
					out = append(out, span{o, stop, true})
					return out
				}
				o2 := o + i
				e := strings.IndexByte(body[o2:stop], '>')
				if e < 0 {
					out = append(out, span{o, stop, true})
					return out
				}
				out, p = append(out, span{o, o2 + e + 1, true}), o2+e+1
				continue
			}
		default:
			p = o + 1
			continue
		}
		e := strings.Index(body[o+2:stop], end)
		if e < 0 {
			out = append(out, span{o, stop, true})
			break
		}
		out, p = append(out, span{o, o + 2 + e + len(end), true}), o+2+e+len(end)
	}
	return out
}

// maxNesting is the most block quotes and list items one line may open:
// goldmark's container matching is quadratic in a line's nesting (a line of
// 64 KiB of ">" takes seconds), and no threat model nests 32 deep.
const maxNesting = 32

// capNesting returns src with the container marker that would open a line's
// 33rd nested block quote or list item replaced by ".", so that the rest of
// the line is text. Lengths and offsets are unchanged (the visible text is
// still read from the body itself); only absurd bodies change.
func capNesting(src []byte) []byte {
	for start := 0; start < len(src); {
		depth := 0
		i := start
		for i < len(src) && src[i] != '\n' {
			c := src[i]
			n := 0 // length of the marker at i, 0 if none
			switch {
			case c == ' ' || c == '\t':
				i++
				continue
			case c == '>':
				n = 1
			case (c == '-' || c == '*' || c == '+') && i+1 < len(src) && (src[i+1] == ' ' || src[i+1] == '\t'):
				n = 1
			case c >= '0' && c <= '9':
				j := i
				for j < len(src) && j-i < 9 && src[j] >= '0' && src[j] <= '9' {
					j++
				}
				if j+1 < len(src) && (src[j] == '.' || src[j] == ')') && (src[j+1] == ' ' || src[j+1] == '\t') {
					n = j + 1 - i
				}
			}
			if n == 0 {
				break
			}
			if depth++; depth > maxNesting {
				for k := i; k < i+n; k++ {
					src[k] = '.'
				}
				break
			}
			i += n
		}
		k := bytes.IndexByte(src[start:], '\n')
		if k < 0 {
			break
		}
		start += k + 1
	}
	return src
}

// isFenceLine reports whether line, after indentation and container markers
// (block quote ">", list markers), is a run of three or more ` or ~.
func isFenceLine(line string) bool {
	t := strings.TrimLeft(line, " \t>-*+0123456789.)")
	return strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")
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

package gha

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// EscapeText escapes text from outside the gate — file names, SARIF, SBOMs,
// registry answers — for one field of a printed line. Every control character
// (C0 with tab, newline and carriage return, DEL, C1), the Unicode line and
// paragraph separators and the bidirectional formatting characters are written
// as Go escapes (\x1b, \n, \u202e): the text can neither drive a terminal,
// start a new line (for a person or for a runner reading the log), nor reorder
// what is shown. Everything else is kept as is.
func EscapeText(s string) string { return escape(s, false) }

// SafeLine makes one line safe to print to a terminal or to a log a runner
// parses. Control characters are escaped as by EscapeText (tabs are kept), so
// the result is one line; a line that would start a workflow command — "::"
// after leading white space, which the runner trims — has that "::" written as
// ": :"; and the runner's legacy "##[" command marker, honoured anywhere in a
// line, is written as "##\[".
func SafeLine(s string) string {
	s = escape(s, true)
	if strings.Contains(s, "##[") {
		s = strings.ReplaceAll(s, "##[", `##\[`)
	}
	rest := strings.TrimLeftFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) })
	if strings.HasPrefix(rest, "::") {
		i := len(s) - len(rest)
		s = s[:i] + ": :" + s[i+2:]
	}
	return s
}

// escapeKeepLines is EscapeText keeping tabs, newlines and carriage returns,
// for workflow command data, whose own escaping encodes line breaks.
func escapeKeepLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		parts := strings.Split(l, "\r")
		for j, p := range parts {
			parts[j] = escape(p, true)
		}
		lines[i] = strings.Join(parts, "\r")
	}
	return strings.Join(lines, "\n")
}

func escape(s string, keepTab bool) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return mustEscape(r, keepTab) }) {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if mustEscape(c, keepTab) {
			q := strconv.QuoteRune(c)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// mustEscape reports the C0 and C1 control characters and DEL (the tab when
// keepTab is false), the line and paragraph separators, and the bidirectional
// formatting characters.
func mustEscape(c rune, keepTab bool) bool {
	switch {
	case c == '\t':
		return !keepTab
	case c < 0x20, c >= 0x7f && c <= 0x9f:
		return true
	case c == 0x2028, c == 0x2029: // line and paragraph separators
		return true
	case c == 0x061c, c == 0x200e, c == 0x200f, c >= 0x202a && c <= 0x202e, c >= 0x2066 && c <= 0x2069: // bidi
		return true
	case c == 0xfeff: // byte order mark / zero-width no-break space
		return true
	}
	return false
}

// SafeWriter writes through SafeLine, line by line: what a table printer
// writes reaches the terminal or log as safe lines. Call Flush at the end for
// a last line without a newline.
type SafeWriter struct {
	w   io.Writer
	buf []byte
}

// NewSafeWriter returns a SafeWriter over w.
func NewSafeWriter(w io.Writer) *SafeWriter { return &SafeWriter{w: w} }

// Write buffers p and writes every complete line through SafeLine.
func (s *SafeWriter) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		line := string(s.buf[:i])
		s.buf = s.buf[i+1:]
		if _, err := io.WriteString(s.w, SafeLine(line)+"\n"); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// Flush writes a last line that has no newline.
func (s *SafeWriter) Flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	line := string(s.buf)
	s.buf = nil
	_, err := io.WriteString(s.w, SafeLine(line)+"\n")
	return err
}

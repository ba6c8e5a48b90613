package textclip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestClipAndLine: the result is valid UTF-8 of at most n bytes, cut on a
// rune boundary and marked with "…" when cut; Line first folds white space of
// any kind to one space, so a message cannot start a line of its own.
func TestClipAndLine(t *testing.T) {
	t.Parallel()
	clip, line := "Clip", "Line"
	for _, c := range []struct {
		fn, name, in string
		n            int
		want         string
	}{
		{clip, "empty", "", 5, ""},
		{clip, "shorter", "abc", 5, "abc"},
		{clip, "exact length", "abcde", 5, "abcde"},
		{clip, "one over", "abcdef", 5, "ab…"},
		{clip, "multi-byte at the cut", "aé€😀z", 8, "aé…"},
		{clip, "multi-byte exactly fits", "é€", 5, "é€"},
		{clip, "cut inside a rune", "ab€cd", 6, "ab…"},
		{clip, "cut just after a rune", "ab€cdef", 8, "ab€…"},
		{clip, "all multi-byte", strings.Repeat("€", 10), 10, "€€…"},
		{clip, "invalid UTF-8 kept short", "a\xffb", 10, "a\uFFFDb"},
		{clip, "invalid UTF-8 at the cut", "abc\xff\xfedef", 6, "abc…"},
		{clip, "invalid UTF-8 grows past n", "ab\xff", 4, "a…"},
		{clip, "n smaller than the ellipsis", "abcdef", 2, "ab"},
		{clip, "n smaller than the ellipsis, multi-byte", "éa", 1, ""},
		{clip, "n equal to the ellipsis", "abcdef", 3, "…"},
		{clip, "n zero", "abc", 0, ""},
		{clip, "n negative", "abc", -1, ""},
		{clip, "n zero, empty", "", 0, ""},
		{line, "empty", "", 10, ""},
		{line, "only space", " \n\t ", 10, ""},
		{line, "newlines and tabs", "  a\n\nb\tc\r\nd  ", 20, "a b c d"},
		{line, "unicode space", "a\u2028b\u00a0c\u0085d", 20, "a b c d"},
		{line, "fold then clip", "ab\n\n\n\ncd", 5, "ab cd"},
		{line, "folded and cut", "ab\n\n\n\ncd", 4, "a…"},
		{line, "multi-byte at the cut", "x\n" + strings.Repeat("日本", 4), 9, "x 日…"},
		{line, "invalid UTF-8", "a\n\xff", 9, "a \uFFFD"},
	} {
		f := Clip
		if c.fn == line {
			f = Line
		}
		got := f(c.in, c.n)
		if got != c.want {
			t.Errorf("%s: %s(%q, %d) = %q, want %q", c.name, c.fn, c.in, c.n, got, c.want)
		}
		if !utf8.ValidString(got) || len(got) > max(c.n, 0) {
			t.Errorf("%s: %s(%q, %d) = %q: not valid UTF-8 of at most %d bytes", c.name, c.fn, c.in, c.n, got, c.n)
		}
	}
	if got := Fold("a\n b"); got != "a b" {
		t.Errorf("Fold = %q, want %q", got, "a b")
	}
}

package textclip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestClip: the result is valid UTF-8 of at most n bytes, cut on a rune
// boundary and marked with "…" when cut.
func TestClip(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in string
		n        int
		want     string
	}{
		{"empty", "", 5, ""},
		{"shorter", "abc", 5, "abc"},
		{"exact length", "abcde", 5, "abcde"},
		{"one over", "abcdef", 5, "ab…"},
		{"multi-byte at the cut", "aé€😀z", 8, "aé…"},
		{"multi-byte exactly fits", "é€", 5, "é€"},
		{"cut inside a rune", "ab€cd", 6, "ab…"},
		{"cut just after a rune", "ab€cdef", 8, "ab€…"},
		{"all multi-byte", strings.Repeat("€", 10), 10, "€€…"},
		{"invalid UTF-8 kept short", "a\xffb", 10, "a\uFFFDb"},
		{"invalid UTF-8 at the cut", "abc\xff\xfedef", 6, "abc…"},
		{"invalid UTF-8 grows past n", "ab\xff", 4, "a…"},
		{"n smaller than the ellipsis", "abcdef", 2, "ab"},
		{"n smaller than the ellipsis, multi-byte", "éa", 1, ""},
		{"n equal to the ellipsis", "abcdef", 3, "…"},
		{"n zero", "abc", 0, ""},
		{"n negative", "abc", -1, ""},
		{"n zero, empty", "", 0, ""},
	} {
		got := Clip(c.in, c.n)
		if got != c.want {
			t.Errorf("%s: Clip(%q, %d) = %q, want %q", c.name, c.in, c.n, got, c.want)
		}
		if !utf8.ValidString(got) || len(got) > max(c.n, 0) {
			t.Errorf("%s: Clip(%q, %d) = %q: not valid UTF-8 of at most %d bytes", c.name, c.in, c.n, got, c.n)
		}
	}
}

// TestLine: white space of any kind folds to one space before the text is
// clipped, so a message cannot start a line of its own.
func TestLine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in string
		n        int
		want     string
	}{
		{"empty", "", 10, ""},
		{"only space", " \n\t ", 10, ""},
		{"newlines and tabs", "  a\n\nb\tc\r\nd  ", 20, "a b c d"},
		{"unicode space", "a\u2028b\u00a0c\u0085d", 20, "a b c d"},
		{"fold then clip", "ab\n\n\n\ncd", 5, "ab cd"},
		{"folded and cut", "ab\n\n\n\ncd", 4, "a…"},
		{"multi-byte at the cut", "x\n" + strings.Repeat("日本", 4), 9, "x 日…"},
	} {
		if got := Line(c.in, c.n); got != c.want {
			t.Errorf("%s: Line(%q, %d) = %q, want %q", c.name, c.in, c.n, got, c.want)
		}
	}
	if got := Fold("a\n b"); got != "a b" {
		t.Errorf("Fold = %q, want %q", got, "a b")
	}
}

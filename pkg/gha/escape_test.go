package gha_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode"

	"github.com/secure-gates/secure-gates/pkg/gha"
)

// Observation 11 of issue 13: text from files reached the terminal and the log
// raw. The attack corpus: what a file name, SARIF tool name or registry answer
// may hold, and the line printed for it.
func TestSafeLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\tkept", "tab\tkept"},
		{"\x1b[2J\x1b[31mred", `\x1b[2J\x1b[31mred`},
		{"\u009b31m C1 CSI", `\u009b31m C1 CSI`},
		{"::error::pwned", ": :error::pwned"},
		{"   ::set-output name=x::y", "   : :set-output name=x::y"},
		{"\u00a0::warning::nbsp", "\u00a0: :warning::nbsp"},
		{"\u3000::warning::ideographic space", "\u3000: :warning::ideographic space"},
		{"\u200b::warning::zero width", "\u200b: :warning::zero width"},
		{"a\n::error::b", `a\n::error::b`},
		{"a\r::error::b", `a\r::error::b`},
		{"x ##[add-mask]secret", `x ##\[add-mask]secret`},
		{"\u202eevil.go", `\u202eevil.go`},
		{"line\u2028sep", `line\u2028sep`},
		{"::", ": :"},
		{"a::b", "a::b"},
		{"ünïcödé ✓", "ünïcödé ✓"},
	} {
		if got := gha.SafeLine(tc.in); got != tc.want {
			t.Errorf("SafeLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := gha.EscapeText("a\tb\nc"); got != `a\tb\nc` {
		t.Errorf("EscapeText escapes tabs and newlines in a field: %q", got)
	}
}

// What a table printer writes through a SafeWriter reaches the output as safe
// lines, however the writes are split.
func TestSafeWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := gha.NewSafeWriter(&out)
	for _, p := range []string{"::err", "or::x\nok\n\x1b", "[1mbold"} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), ": :error::x\nok\n\\x1b[1mbold\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

// Off a runner the summary goes to the log: a file name in it cannot start a
// workflow command or drive the terminal.
func TestWriteSummaryToLogIsSafe(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	rt := gha.New(gha.Options{Stdout: &out})
	var s gha.Summary
	s.Para("found in x\n::error::pwned \x1b]0;title\x07")
	if err := rt.WriteSummary(s.String()); err != nil {
		t.Fatal(err)
	}
	assertSafe(t, out.String())
}

func assertSafe(t *testing.T, printed string) {
	t.Helper()
	for _, line := range strings.Split(printed, "\n") {
		rest := strings.TrimLeftFunc(line, func(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) })
		if strings.HasPrefix(rest, "::") || strings.Contains(line, "##[") || strings.ContainsAny(line, "\x1b\r\u009b\u2028") {
			t.Errorf("unsafe line printed: %q", line)
		}
	}
}

// Whatever the text, SafeLine prints one line that starts no workflow command
// and holds no control character but tabs.
func FuzzSafeLine(f *testing.F) {
	for _, s := range []string{"::error::x", "\u00a0::x", "a\r::b", "##[add-mask]x", "\x1b[31m", "\u2029::x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := gha.SafeLine(s)
		rest := strings.TrimLeftFunc(got, func(r rune) bool { return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) })
		if strings.HasPrefix(rest, "::") || strings.Contains(got, "##[") {
			t.Fatalf("SafeLine(%q) = %q starts a command", s, got)
		}
		for _, c := range got {
			if c != '\t' && (c < 0x20 || c >= 0x7f && c <= 0x9f || c == 0x2028 || c == 0x2029) {
				t.Fatalf("SafeLine(%q) = %q holds %U", s, got, c)
			}
		}
	})
}

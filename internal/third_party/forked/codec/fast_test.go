package codec

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// regexpMatches is what gitleaks' findEncodingMatches read: the alternative
// and the span of each match of encodingsRe.
func regexpMatches(data string) [][3]int {
	var out [][3]int
	for _, m := range encodingsRe.FindAllStringSubmatchIndex(data, -1) {
		for i, j := 2, 0; i < len(m); i, j = i+2, j+1 {
			if m[i] > -1 {
				out = append(out, [3]int{j, m[i], m[i+1]})
			}
		}
	}
	return out
}

func fastMatches(data string) [][3]int {
	var out [][3]int
	scanEncodings(data, func(alt, start, end int) { out = append(out, [3]int{alt, start, end}) })
	return out
}

func checkSame(t *testing.T, data string) {
	t.Helper()
	if want, got := regexpMatches(data), fastMatches(data); !slices.Equal(want, got) {
		t.Fatalf("input %q:\nregexp %v\nscanner %v", data, want, got)
	}
}

var encodingCases = []string{
	"", "%", "%4", "%41", "%41%", "a%41b%42c", "%41 x %4g %42\n%43", "%41\n%42", "%zz%41",
	"U+0041", "U+0041 ", "U+0041\nU+0042 U+0043", "U+0041U+0042", "U+004", "xU+0041 y", "U+0041\v",
	`\u0041`, `\\u0041`, `\\\u0041`, `\U0041\u0042`, `\\\\u0041`, `\u004`, `\u0041\\U0042x`,
	strings.Repeat("a", 31), strings.Repeat("a", 32), strings.Repeat("0f", 20) + "zz", strings.Repeat("A", 15),
	strings.Repeat("A", 16), strings.Repeat("A", 16) + "===", "ab+/-_cdefghijklmn==x", "é" + strings.Repeat("b", 20),
	"\xff\xfe" + strings.Repeat("c", 17) + "\xc3", "key = \"dGhpcyBpcyBhIHNlY3JldCB2YWx1ZQ==\"",
	"U+0041" + strings.Repeat("B", 20), strings.Repeat("1", 40) + "U+0041 ", "%41" + strings.Repeat("a", 40),
}

func TestScanEncodingsMatchesTheRegexp(t *testing.T) {
	for _, c := range encodingCases {
		checkSame(t, c)
	}
	// Random text over the bytes that matter to the alternatives.
	alphabet := []string{"%", "4", "1", "f", "F", "g", "U", "+", "u", "\\", "=", " ", "\n", "\t", "/", "-", "_", "z",
		"\xc3\xa9", "\xff", "U+00", "\\u00", "0123456789abcdef", "ABCDEFGHIJKLMNOP", ".", "\"", "\v", "\r"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range r.IntN(80) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		checkSame(t, b.String())
	}
}

func FuzzScanEncodings(f *testing.F) {
	for _, c := range encodingCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, data string) { checkSame(t, data) })
}

package secrets

import (
	"math/rand/v2"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/config"
)

// windowRegexps exercise the analysis: anchors, word boundaries, case
// folding (k and s fold to non-ASCII runes), lazy and unbounded parts, parts
// that match newlines, literals inside alternations and repetitions.
var windowRegexps = []string{
	`(?i)[\w.-]{0,50}?(?:access|auth|(?-i:[Aa]pi|API)|credential|creds|key|passw(?:or)?d|secret|token)(?:[ \t\w.-]{0,20})[\s'"]{0,3}(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)[\x60'"\s=]{0,5}([\w.=-]{10,150}|[a-z0-9][a-z0-9+/]{11,}={0,3})(?:[\x60'"\s;]|\\[nr]|$)`,
	`\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`,
	`(?m)^token:\s*(\S+)$`,
	`^key=(\w+)`,
	`(\w+)=secret$`,
	`(?i)sk_[a-z]{3,}\b`,
	`(?s)BEGIN.{0,40}END`,
	`(?i)(?:ab|cd)+x{2,5}[^\n]{0,10}`,
	`key[\s\S]{0,30}?value`,
	`(?:xy|z)\n\n?w+`,
	`é+key`,
}

func TestFindAllOnWindowsIsFindAll(t *testing.T) {
	t.Parallel()
	pieces := []string{"key", "KEY", "K", "\u212aey", "ſk_abc", "sk_", "token: ", "AKIA", "ABCDEFGHIJKLMNOP", "=", " = ", "'", "\"",
		"\n", "\n\n", "\r\n", "\t", "secret", "value", "BEGIN", "END", "ab", "cd", "xx", "xy", "z", "w", "é", "\xff", "\xe2\x80",
		"a1b2c3d4e5f6g7h8", "Zq8XyW3vT6uR9sP2", "-", ".", "_", "/", "+", "api", "Api", "passwd", "\\n", ";", "abcdefghijklmnopqrstuvwxyz"}
	r := rand.New(rand.NewPCG(7, 11))
	d := &detector{rules: map[string]*ruleWindows{}}
	windowed := 0
	for _, expr := range windowRegexps {
		re := regexp.MustCompile(expr)
		rw := analyze(re)
		d.rules[expr] = rw
		rule := config.Rule{RuleID: expr, Regex: re}
		for range 3000 {
			var b strings.Builder
			for n := r.IntN(60); n > 0; n-- {
				b.WriteString(pieces[r.IntN(len(pieces))])
			}
			p := &pass{raw: b.String()}
			want := re.FindAllStringIndex(p.raw, -1)
			if got := d.findAll(p, rule); !slices.EqualFunc(want, got, slices.Equal[[]int]) {
				t.Fatalf("%s on %q: windows %v (literals %q, before %v, after %v), whole text %v", expr, p.raw, got, rw.lits, rw.before, rw.after, want)
			}
			if rw.lits != nil && !p.foldHazard() {
				windowed++
			}
		}
	}
	if windowed < 10000 {
		t.Fatalf("only %d texts were cut into windows", windowed)
	}
}

// TestWindowsBoundTheWork: literals so dense that windows would cover the text
// run the regexp on the whole text, so a crafted file costs no more than it
// did before (no zone per occurrence, no quadratic line search).
func TestWindowsBoundTheWork(t *testing.T) {
	t.Parallel()
	rw := analyze(regexp.MustCompile(windowRegexps[0]))
	p := &pass{raw: strings.Repeat("key", 1<<16)}
	if _, ok := p.windows(rw); ok {
		t.Fatal("a text of nothing but literals was cut into windows")
	}
	p = &pass{raw: strings.Repeat("x", 1<<16) + "key = abcdefghijk1234\n"}
	if w, ok := p.windows(rw); !ok || len(w) != 1 || w[0][1]-w[0][0] > 400 {
		t.Fatalf("one literal in a long line: windows %v, %v", w, ok)
	}
}

// What the analysis knows of each kind of part: its strings when few and
// known, the literals one of which every match holds, its longest match in
// bytes and its most newlines (-1 unbounded).
func TestAnalyzeNode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		re      string
		exact   []string // nil: not known
		req     []string
		max, nl int
	}{
		{re: `^`, exact: []string{""}},
		{re: `Key`, exact: []string{"key"}, req: []string{"key"}, max: 3},
		{re: `(?i)k`, exact: []string{"k"}, req: []string{"k"}, max: 1}, // the Kelvin sign is not counted
		{re: `(?i)é`, max: 2},                                           // not ASCII: no literal
		{re: "a\nb", exact: []string{"a\nb"}, req: []string{"a\nb"}, max: 3, nl: 1},
		{re: `[aB]`, exact: []string{"b", "a"}, req: []string{"b", "a"}, max: 1},
		{re: `[a-z]`, max: 1}, // more than 8 characters
		{re: `[^a]`, max: 4, nl: 1},
		{re: `.`, max: 4},
		{re: `(?s).`, max: 4, nl: 1},
		{re: `(ab)`, exact: []string{"ab"}, req: []string{"ab"}, max: 2},
		{re: `(?:ab)*`, max: -1},
		{re: `(?:ab)+`, req: []string{"ab"}, max: -1},
		{re: `(?:ab)?`, exact: []string{"ab", ""}, max: 2},
		{re: `(?:ab){2,3}`, req: []string{"ab"}, max: 6},
		{re: `(?:ab){0,3}`, max: 6},
		{re: `ab|cd`, exact: []string{"ab", "cd"}, req: []string{"ab", "cd"}, max: 2},
		{re: `ab|\w+`, max: -1},
		{re: `key\w+secret`, req: []string{"secret"}, max: -1},
		{re: `(?:a|b)(?:c|d)`, exact: []string{"ac", "ad", "bc", "bd"}, req: []string{"ac", "ad", "bc", "bd"}, max: 2},
	} {
		re, err := syntax.Parse(tt.re, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		n := analyzeNode(re)
		if n.known != (tt.exact != nil) || !slices.Equal(n.exact, tt.exact) || !slices.Equal(n.req, tt.req) || n.max != tt.max || n.nl != tt.nl {
			t.Errorf("%q: got %+v, want exact %q req %q max %d nl %d", tt.re, n, tt.exact, tt.req, tt.max, tt.nl)
		}
	}
}

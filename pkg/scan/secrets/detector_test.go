package secrets

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"math/rand/v2"
	"net/url"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/zricethezav/gitleaks/v8/cmd/generate/config/utils"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// The detector must find exactly what gitleaks' own detector finds (as this
// package configures it): these tests run both on the same fragments and
// compare every field a finding's report or fingerprint reads.

// findingKey is everything of a finding the two detectors must agree on.
func findingKey(f report.Finding) string {
	return fmt.Sprintf("%s|%s|%s|lines %d-%d|cols %d-%d|secret %q|match %q|line %q|entropy %v|tags %q|required %s",
		f.RuleID, f.File, f.Commit, f.StartLine, f.EndLine, f.StartColumn, f.EndColumn, f.Secret, f.Match, f.Line, f.Entropy, f.Tags, required(f))
}

// required lists a finding's required (auxiliary) findings, which
// report.Finding keeps unexported.
func required(f report.Finding) string {
	v := reflect.ValueOf(f).FieldByName("requiredFindings")
	var out []string
	for i := range v.Len() {
		e := v.Index(i).Elem()
		out = append(out, fmt.Sprintf("%s:%d:%d:%q", e.FieldByName("RuleID").String(), e.FieldByName("StartLine").Int(),
			e.FieldByName("StartColumn").Int(), e.FieldByName("Secret").String()))
	}
	return strings.Join(out, ",")
}

func keys(fs []report.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, findingKey(f))
	}
	slices.Sort(out)
	return out
}

// gitleaksDetector is gitleaks' detector as Scan configured it before it had
// its own.
func gitleaksDetector(cfg config.Config) *detect.Detector {
	d := detect.NewDetector(cfg)
	d.IgnoreGitleaksAllow = true
	d.MaxDecodeDepth = maxDecodeDepth
	d.Redact = 0
	return d
}

// scanConfig is the config as Scan runs it.
func scanConfig(t testing.TB, data string) config.Config {
	t.Helper()
	cfg, err := LoadConfig([]byte(data), "test")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Allowlists, err = withoutExtensionAllowlists(cfg.Allowlists); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// compare runs both detectors on each fragment and returns how many findings
// they agreed on.
func compare(t *testing.T, cfg config.Config, frags []sources.Fragment) int {
	t.Helper()
	theirs, ours := gitleaksDetector(cfg), newDetector(cfg)
	total, failed := 0, 0
	for _, frag := range frags {
		want := keys(theirs.DetectContext(context.Background(), detect.Fragment(frag)))
		got := keys(ours.detect(context.Background(), frag))
		if !slices.Equal(want, got) {
			failed++
			if failed <= 5 {
				t.Errorf("fragment %s (line %d, %d bytes) %q:\ngitleaks:\n  %s\nours:\n  %s", frag.FilePath, frag.StartLine, len(frag.Raw),
					clip(frag.Raw), strings.Join(want, "\n  "), strings.Join(got, "\n  "))
			}
			continue
		}
		total += len(want)
	}
	if failed > 0 {
		t.Fatalf("%d of %d fragments differ", failed, len(frags))
	}
	return total
}

func clip(s string) string {
	if len(s) > 600 {
		return s[:300] + " … " + s[len(s)-300:]
	}
	return s
}

// ruleExamples returns every string literal of gitleaks' rule definitions
// (cmd/generate/config/rules, where each default rule carries its true and
// false positives) from the module cache, and the rules' own identifiers.
func ruleExamples(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "zricethezav", "gitleaks", "v8@v"+ToolVersion, "cmd", "generate", "config", "rules")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) < 100 {
		t.Fatalf("gitleaks' rule definitions in %s: %d files, %v", dir, len(files), err)
	}
	var lits []string
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if bl, ok := n.(*ast.BasicLit); ok && bl.Kind == token.STRING {
				if s, err := strconv.Unquote(bl.Value); err == nil && len(s) >= 4 {
					lits = append(lits, s)
				}
			}
			return true
		})
	}
	return lits
}

// variants returns s as it is and in the shapes that exercise the detector's
// windows and the decoder: encoded three ways, in mixed case, after a Kelvin
// sign, among invalid UTF-8 and CRLF lines, and between long lines.
func variants(s string, r *rand.Rand) []string {
	out := []string{
		s,
		base64.StdEncoding.EncodeToString([]byte(s)),
		"value: " + base64.StdEncoding.EncodeToString([]byte(s)) + "\n",
		hex.EncodeToString([]byte(s)),
		url.QueryEscape(s),
		strings.ToUpper(s),
		"\u212a " + s,
		"caf\xc3\xa9 \xff\xfe " + s + " \xe2\x80\x9c",
		strings.ReplaceAll(s, "\n", "\r\n"),
		strings.Repeat("x", r.IntN(300)) + " " + s + " " + strings.Repeat("y", r.IntN(300)),
	}
	return out
}

// corpus builds fragments from texts: one in four alone, then all the texts packed
// many to a fragment between noise lines, so that windows meet, merge and
// cross lines, at varying start lines.
func corpus(texts []string, r *rand.Rand) []sources.Fragment {
	noise := []string{
		"", "func main() {", "\tkey := cache.Key(obj)", "// the token is refreshed", "apiVersion: v1",
		"kind: Secret", "data:", "  password: c2VjcmV0", `import "k8s.io/client-go/rest"`, "x = 1",
		strings.Repeat("a", 120), "\t}", "auth = None", "access_level: admin",
	}
	var frags []sources.Fragment
	for i, s := range texts {
		if r.IntN(4) == 0 {
			frags = append(frags, sources.Fragment{Raw: s, FilePath: fmt.Sprintf("single/%d.txt", i), StartLine: 1})
		}
	}
	for i := 0; i < len(texts); {
		var b strings.Builder
		for n := 1 + r.IntN(12); n > 0 && i < len(texts); n-- {
			for k := r.IntN(4); k > 0; k-- {
				b.WriteString(noise[r.IntN(len(noise))])
				b.WriteByte('\n')
			}
			b.WriteString(texts[i])
			i++
			if r.IntN(3) > 0 {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		frags = append(frags, sources.Fragment{Raw: b.String(), FilePath: fmt.Sprintf("packed/%d.go", i), StartLine: 1 + r.IntN(5000)})
	}
	return frags
}

// TestDetectorMatchesGitleaksOnRuleExamples runs both detectors over every
// default rule's own examples and generated secrets in the shapes gitleaks'
// rule tests use, each also encoded and disguised.
func TestDetectorMatchesGitleaksOnRuleExamples(t *testing.T) {
	t.Parallel()
	cfg := scanConfig(t, "")
	r := rand.New(rand.NewPCG(20, 4))
	// Every example as it is; one in ten also in every variant (the whole
	// product takes gitleaks' detector minutes).
	var texts []string
	for _, s := range ruleExamples(t) {
		if r.IntN(10) == 0 {
			texts = append(texts, variants(s, r)...)
		} else {
			texts = append(texts, s)
		}
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range cfg.Rules {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		rule := cfg.Rules[id]
		if rule.Regex == nil {
			continue
		}
		// One secret in the shapes of gitleaks' rule tests, another in the
		// variants.
		if secret := generate(rule.Regex.String(), r); secret != "" {
			samples := utils.GenerateSampleSecrets(strings.ReplaceAll(id, "-", "_"), secret)
			slices.Sort(samples) // a map's order
			texts = append(texts, samples...)
		}
		if secret := generate(rule.Regex.String(), r); secret != "" {
			texts = append(texts, variants(secret, r)...)
		}
	}
	want := 4000
	if testing.Short() { // a quarter of the corpus (the whole takes ~20 s of CPU)
		var some []string
		for i := 0; i < len(texts); i += 4 {
			some = append(some, texts[i])
		}
		texts, want = some, 1000
	}
	n := compare(t, cfg, corpus(texts, r))
	t.Logf("%d texts, %d findings agreed", len(texts), n)
	if n < want {
		t.Fatalf("only %d findings: the corpus no longer exercises the rules", n)
	}
}

// generate returns a random string the regexp matches, as often as not
// (anchors and word boundaries are not enforced), from its syntax tree.
func generate(re string, r *rand.Rand) string {
	tree, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return ""
	}
	var b strings.Builder
	var gen func(n *syntax.Regexp)
	repeat := func(n *syntax.Regexp, lo, hi int) {
		if hi < 0 || hi > lo+40 {
			hi = lo + 40
		}
		for k := lo + r.IntN(hi-lo+1); k > 0; k-- {
			gen(n.Sub[0])
		}
	}
	gen = func(n *syntax.Regexp) {
		switch n.Op {
		case syntax.OpLiteral:
			for _, c := range n.Rune {
				if n.Flags&syntax.FoldCase != 0 && r.IntN(2) == 0 {
					c = unicode.SimpleFold(c)
				}
				b.WriteRune(c)
			}
		case syntax.OpCharClass:
			if len(n.Rune) > 0 {
				i := 2 * r.IntN(len(n.Rune)/2)
				lo, hi := n.Rune[i], min(n.Rune[i+1], n.Rune[i]+200)
				b.WriteRune(lo + rune(r.IntN(int(hi-lo)+1)))
			}
		case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
			b.WriteByte(byte('!' + r.IntN(90)))
		case syntax.OpCapture:
			gen(n.Sub[0])
		case syntax.OpStar:
			repeat(n, 0, 3)
		case syntax.OpPlus:
			repeat(n, 1, 4)
		case syntax.OpQuest:
			repeat(n, 0, 1)
		case syntax.OpRepeat:
			repeat(n, n.Min, n.Max)
		case syntax.OpConcat:
			for _, sub := range n.Sub {
				gen(sub)
			}
		case syntax.OpAlternate:
			gen(n.Sub[r.IntN(len(n.Sub))])
		}
	}
	gen(tree)
	return b.String()
}

// TestDetectorMatchesGitleaksOnFixture runs both on the files of the scan
// fixture (planted secrets, a planted .gitleaks.toml) and on this package's
// and gitleaks' sources.
func TestDetectorMatchesGitleaksOnFixture(t *testing.T) {
	t.Parallel()
	fx := testinfra.NewScanFixture(t)
	var frags []sources.Fragment
	for _, root := range []string{fx.Dir, "."} {
		files := testinfra.ReadTree(t, root)
		for _, name := range slices.Sorted(maps.Keys(files)) {
			frags = append(frags, sources.Fragment{Raw: files[name], FilePath: name, StartLine: 1})
		}
	}
	if n := compare(t, scanConfig(t, ""), frags); n < 2 {
		t.Fatalf("only %d findings in the fixture", n)
	}
}

// TestDetectorMatchesGitleaksWithConfig covers what the default rules do not:
// a rule with required rules, a path-only rule, a path-and-regex rule,
// allowlists on the line, the match and stop words, AND-conditions, and rules
// no window applies to.
func TestDetectorMatchesGitleaksWithConfig(t *testing.T) {
	t.Parallel()
	cfg := scanConfig(t, `
[extend]
useDefault = true

[[rules]]
id = "composite-client"
regex = '''client_id\s*=\s*"([a-z0-9]{12})"'''
keywords = ["client_id"]
[[rules.required]]
id = "composite-secret"
withinLines = 2

[[rules]]
id = "composite-secret"
regex = '''client_secret\s*=\s*"([A-Za-z0-9]{20,})"'''
keywords = ["client_secret"]
skipReport = true

[[rules]]
id = "env-file"
path = '''(^|/)\.env\.prod$'''

[[rules]]
id = "internal-token"
path = '''\.cfg$'''
regex = '''itok_[0-9a-f]{16}'''

[[rules]]
id = "no-keywords"
regex = '''plain_[a-z]{8}\b'''

[[rules]]
id = "unbounded"
regex = '''(?s)BEGIN SECRET.*?END SECRET'''

[[rules]]
id = "anchored"
regex = '''(?m)^token:\s*(\S+)$'''
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''^token:\s*dummy''']
[[rules.allowlists]]
condition = "AND"
paths = ['''^test/''']
stopwords = ["fixture"]
`)
	texts := []string{
		"client_id = \"abcdef123456\"\nclient_secret = \"Zq8XyW3vT6uR9sP2nM5kL7jH\"\n",
		"client_id = \"abcdef123456\"\n\n\n\nclient_secret = \"Zq8XyW3vT6uR9sP2nM5kL7jH\"\n",
		"x = itok_0123456789abcdef\n", "BEGIN SECRET\nline\nEND SECRET", "token: Zx81kQ\ntoken: dummy1\ntoken: fixture9\n",
		"preamble\ntoken: \xff\xfe\n", "", "plain_abcdefgh plain_abc\n",
	}
	var frags []sources.Fragment
	for _, p := range []string{"a.txt", "a.cfg", ".env.prod", "test/x.yaml", "x/.env.prod"} {
		for _, s := range texts {
			frags = append(frags, sources.Fragment{Raw: s, FilePath: p, StartLine: 3})
			frags = append(frags, sources.Fragment{Raw: s, FilePath: p, StartLine: 3, CommitSHA: "0123456789abcdef0123456789abcdef01234567"})
		}
	}
	if n := compare(t, cfg, frags); n < 10 {
		t.Fatalf("only %d findings", n)
	}
}

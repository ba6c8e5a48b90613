package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
)

func summarize(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s:%d %s", f.RuleID, f.Path, f.StartLine, f.Severity))
	}
	slices.Sort(out)
	return out
}

// scanHistory scans the commits base..head of the repository at dir and
// returns the result with the summarized findings in the given paths.
func scanHistory(t *testing.T, dir, base, head string, paths ...string) (*Result, []string) {
	t.Helper()
	res, err := Scan(context.Background(), dir, Options{Range: &Range{Base: base, Head: head}})
	if err != nil {
		t.Fatal(err)
	}
	var in []finding.Finding
	for _, f := range res.Findings {
		if slices.Contains(paths, f.Path) {
			in = append(in, f)
		}
	}
	return res, summarize(in)
}

func assertRedacted(t *testing.T, fx *testinfra.ScanFixture, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range fx.Secrets() {
		if strings.Contains(string(data), s) || strings.Contains(string(data), s[4:]) {
			t.Fatalf("secret value leaked into the result: %s", data)
		}
	}
}

func TestScanFixture(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	tree := []string{
		"aws-access-token config/settings.env:3 critical",
		"github-pat config/settings.env:4 critical",
	}
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"working tree: planted .gitleaks.toml, .gitleaksignore and gitleaks:allow change nothing", Options{}, tree},
		{"pull request range adds the secret removed in history", Options{Range: &Range{Base: fx.Base, Head: fx.Head}},
			append(slices.Clone(tree), "github-pat deploy/old-token.txt:1 critical")},
		{"range by ref names", Options{Range: &Range{Base: fx.Base, Head: "main"}},
			append(slices.Clone(tree), "github-pat deploy/old-token.txt:1 critical")},
		{"empty range", Options{Range: &Range{Base: fx.Head, Head: fx.Head}}, tree},
		{"an explicit config is honoured (the planted one would switch the rules off)",
			Options{Config: []byte(readFile(t, filepath.Join(fx.Dir, ".gitleaks.toml"))), ConfigSource: "secrets-config input"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Scan(context.Background(), fx.Dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := summarize(res.Findings); !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n got %q\nwant %q", got, tt.want)
			}
			assertRedacted(t, fx, res)
			for _, f := range res.Findings {
				if f.Fingerprint == "" || f.Scanner != "secrets" || f.Help == "" || !strings.Contains(f.Message, f.Path) {
					t.Errorf("finding %+v lacks fingerprint, scanner, help or path", f)
				}
			}
			if len(res.Rules) < 100 && tt.opts.Config == nil {
				t.Errorf("only %d default rules", len(res.Rules))
			}
		})
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFingerprintsStable(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	a, err := Scan(context.Background(), fx.Dir, Options{Range: &Range{Base: fx.Base, Head: fx.Head}})
	if err != nil {
		t.Fatal(err)
	}
	// An unrelated edit moves the secrets down two lines: fingerprints stay.
	p := filepath.Join(fx.Dir, "config", "settings.env")
	if err := os.WriteFile(p, []byte("# moved\n\n"+readFile(t, p)), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Scan(context.Background(), fx.Dir, Options{Range: &Range{Base: fx.Base, Head: fx.Head}})
	if err != nil {
		t.Fatal(err)
	}
	fp := func(r *Result) []string {
		var out []string
		for _, f := range r.Findings {
			out = append(out, f.Fingerprint)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(fp(a), fp(b)) || len(slices.Compact(fp(a))) != 3 {
		t.Errorf("fingerprints changed or collide: %v vs %v", fp(a), fp(b))
	}
}

func TestStaged(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	testinfra.WriteFile(t, filepath.Join(fx.Dir, "src", "client.go"), "package src\n\nconst key = \""+fx.AWSKey+"\"\n", 0o644)
	// Not staged yet: nothing.
	res, err := Scan(context.Background(), fx.Dir, Options{Staged: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 {
		t.Fatalf("unstaged change reported: %v", summarize(res.Findings))
	}
	if out, err := exec.Command("git", "-C", fx.Dir, "add", "src/client.go").CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	res, err = Scan(context.Background(), fx.Dir, Options{Staged: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := summarize(res.Findings); !slices.Equal(got, []string{"aws-access-token src/client.go:3 critical"}) {
		t.Errorf("staged findings = %q", got)
	}
	assertRedacted(t, fx, res)
}

func TestScanErrors(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	notRepo := t.TempDir()
	tests := []struct {
		name string
		root string
		opts Options
		kind errkind.Kind
		want string
	}{
		{"option-looking base", fx.Dir, Options{Range: &Range{Base: "--output=/tmp/x", Head: fx.Head}}, errkind.KindInput, "expected a commit SHA"},
		{"range in a revision", fx.Dir, Options{Range: &Range{Base: "a..b", Head: fx.Head}}, errkind.KindInput, "expected a commit SHA"},
		{"base not in the clone", fx.Dir, Options{Range: &Range{Base: strings.Repeat("e", 40), Head: fx.Head}}, errkind.KindInput, "fetch-depth: 0"},
		{"range outside a repository", notRepo, Options{Range: &Range{Base: "main~1", Head: "main"}}, errkind.KindInput, "not in the clone"},
		{"too many commits", fx.Dir, Options{Range: &Range{Base: fx.Base, Head: fx.Head}, MaxCommits: 1}, errkind.KindInput, "more than the 1"},
		{"staged outside a repository", notRepo, Options{Staged: true}, errkind.KindInfra, "git failed"},
		{"bad config", fx.Dir, Options{Config: []byte("[[rules]\n"), ConfigSource: "x.toml"}, errkind.KindInput, "x.toml"},
		{"config extending a path", fx.Dir, Options{Config: []byte("[extend]\npath = \"/etc/passwd\"\n"), ConfigSource: "x.toml"}, errkind.KindInput, "not supported"},
		{"root missing", filepath.Join(notRepo, "nope"), Options{}, errkind.KindInput, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Scan(context.Background(), tt.root, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if errkind.Of(err) != tt.kind || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v (%v), want %v containing %q", err, errkind.Of(err), tt.kind, tt.want)
			}
		})
	}
}

func TestConfigAt(t *testing.T) {
	fx := testinfra.NewScanFixture(t)
	got, err := ConfigAt(context.Background(), "", fx.Dir, fx.Base, "")
	if err != nil || got != nil {
		t.Fatalf("config at base = %q, %v; want none", got, err)
	}
	got, err = ConfigAt(context.Background(), "", fx.Dir, fx.Head, ".gitleaks.toml")
	if err != nil || !strings.Contains(string(got), "allow everything") {
		t.Fatalf("config at head = %q, %v", got, err)
	}
	if _, err := ConfigAt(context.Background(), "", fx.Dir, strings.Repeat("e", 40), ""); errkind.Of(err) != errkind.KindInput {
		t.Fatalf("missing revision: %v", err)
	}
	if _, err := ConfigAt(context.Background(), "", fx.Dir, "main", "../x"); errkind.Of(err) != errkind.KindInput {
		t.Fatalf("path outside: %v", err)
	}
}

// A config extending the default rules keeps them however many times a
// process loads it: gitleaks counts the extended configs in a package global
// it never resets, and from the third load on dropped the default rules.
func TestLoadConfigUseDefaultRepeatedly(t *testing.T) {
	cfg := []byte("[extend]\nuseDefault = true\n[[rules]]\nid = \"own\"\nregex = '''own-[0-9]{8}'''\n")
	first, err := LoadConfig(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Rules) < 100 {
		t.Fatalf("the first load has %d rules", len(first.Rules))
	}
	for i := range 4 {
		c, err := LoadConfig(cfg, "test")
		if err != nil || len(c.Rules) != len(first.Rules) {
			t.Fatalf("load %d: %d rules, %v; want %d", i+2, len(c.Rules), err, len(first.Rules))
		}
	}
}

package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Lint warns about policies that load but admit more than their author meant,
// on the line of the field.
func TestLint(t *testing.T) {
	dir := keyDir(t)
	// A second file holding the release key: the same signer under another name.
	if err := os.WriteFile(filepath.Join(dir, "copy.pub"), mustRead(t, filepath.Join(dir, "release.pub")), 0o644); err != nil {
		t.Fatal(err)
	}
	const wf = `^https://github\.com/acme/widgets/\.github/workflows/release\.yml@refs/heads/main$`
	id := func(re string, extra ...string) string {
		return "  - issuer: " + ghIssuer + "\n    subject-regexp: '" + re + "'\n" + strings.Join(extra, "")
	}
	tests := []struct {
		name, body string
		want       map[string]string // field → substring of its warning; nil: no warnings
		line       int               // line of the first warning, when want is not nil
	}{
		{"precise identity", "identities:\n" + id(wf) + attackRequire, nil, 0},
		{"any owner", "identities:\n" + id(`^https://github\.com/[^/]+/widgets/\.github/workflows/release\.yml@refs/heads/main$`) + attackRequire,
			map[string]string{"identities[0].subject-regexp": "admits any owner"}, 5},
		{"owner prefix", "identities:\n" + id(`^https://github\.com/acme.*/widgets/\.github/workflows/release\.yml@refs/heads/main$`) + attackRequire,
			map[string]string{"identities[0].subject-regexp": "admits any owner"}, 5},
		{"owner from a letters-only class", "identities:\n" + id(`^https://github\.com/(acme|[a-z]+)/widgets/\.github/workflows/release\.yml@refs/heads/main$`) + attackRequire,
			map[string]string{"identities[0].subject-regexp": "admits any owner"}, 5},
		{"two named owners", "identities:\n" + id(`^https://github\.com/(acme|acme-labs)/widgets/\.github/workflows/release\.yml@refs/heads/main$`) + attackRequire, nil, 0},
		{"any repository", "identities:\n" + id(`^https://github\.com/acme/[a-z-]+/\.github/workflows/release\.yml@refs/heads/main$`) + attackRequire,
			map[string]string{"identities[0].subject-regexp": "admits any repository of acme"}, 5},
		{"any owner and repository", "identities:\n" + id(`^https://github\.com/.*$`) + attackRequire,
			map[string]string{"identities[0].subject-regexp": "admits any owner and repository"}, 5},
		{"anything", "identities:\n" + id(`^.*$`) + attackRequire,
			map[string]string{"identities[0].subject-regexp": "admits any owner and repository"}, 5},
		{"repository pinned by the extension", "identities:\n" + id(`^https://github\.com/[^/]+/[^/]+/\.github/workflows/release\.yml@refs/heads/main$`, "    repository: acme/widgets\n") + attackRequire, nil, 0},
		{"any workflow", "identities:\n" + id(`^https://github\.com/acme/widgets/\.github/workflows/.*@refs/heads/main$`) + attackRequire,
			map[string]string{"identities[0].subject-regexp": "admits any workflow file"}, 5},
		{"workflow prefix", "identities:\n" + id(`^https://github\.com/acme/widgets/\.github/workflows/release.*$`) + attackRequire,
			map[string]string{"identities[0].subject-regexp": "admits any workflow file"}, 5},
		{"any workflow even when the repository is pinned", "identities:\n" + id(`^https://github\.com/acme/widgets/\.github/workflows/[^@]+@refs/heads/main$`, "    repository: acme/widgets\n") + attackRequire,
			map[string]string{"identities[0].subject-regexp": "admits any workflow file"}, 5},
		{"audit everywhere", "mode: audit\nidentities: [{key: release.pub}]\n",
			map[string]string{"mode": "audit without enforce-environments"}, 3},
		{"audit with enforce-environments", "mode: audit\nenforce-environments: [production]\nidentities: [{key: release.pub}]\n", nil, 0},
		{"exception signer is the release key", "identities: [{key: release.pub}]\n" + attackRequire + "exceptions:\n  signers: [{key: release.pub}]\n",
			map[string]string{"exceptions.signers[0]": "the same key release.pub"}, 7},
		{"exception signer is the release key in another file", "identities: [{key: release.pub}]\n" + attackRequire + "exceptions:\n  signers: [{key: copy.pub}]\n",
			map[string]string{"exceptions.signers[0]": "the same public key"}, 7},
		{"exception signer is the release workflow", "identities:\n" + id(wf) + attackRequire + "exceptions:\n  signers:\n  " + strings.ReplaceAll(id(wf), "\n  ", "\n    "),
			map[string]string{"exceptions.signers[0]": "the same issuer and subject-regexp"}, 10},
		{"exception regexp covers the release subject", "identities:\n  - issuer: " + ghIssuer + "\n    subject: https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main\n" + attackRequire +
			"exceptions:\n  signers:\n    - issuer: " + ghIssuer + "\n      subject-regexp: '^https://github\\.com/acme/widgets/\\.github/workflows/(release|approve)\\.yml@refs/heads/main$'\n",
			map[string]string{"exceptions.signers[0]": "matches the release subject"}, 10},
		{"break-glass signer is the release key", "identities: [{key: release.pub}]\n" + attackRequire + "break-glass: {signers: [{key: release.pub}], ttl: 1h}\n",
			map[string]string{"break-glass.signers[0]": "can then sign break-glass"}, 0},
		{"separate signers", "identities: [{key: release.pub}]\n" + attackRequire + "exceptions:\n  signers: [{key: security.pub}]\nbreak-glass: {signers: [{key: breakglass.pub}], ttl: 1h}\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(attackHead+tt.body), Options{BaseDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			ws := Lint(p)
			got := map[string]string{}
			for _, w := range ws {
				got[w.Field] += w.Msg
			}
			if len(ws) != len(tt.want) {
				t.Errorf("%d warnings, want %d: %v", len(ws), len(tt.want), ws)
			}
			for f, sub := range tt.want {
				if !strings.Contains(got[f], sub) {
					t.Errorf("no warning on %s saying %q: %v", f, sub, ws)
				}
			}
			if tt.line > 0 && len(ws) > 0 && ws[0].Line != tt.line {
				t.Errorf("warning on line %d, want %d", ws[0].Line, tt.line)
			}
		})
	}
}

// The example policies the project ships lint clean.
func TestLintExample(t *testing.T) {
	p, err := Load("testdata/policy.yaml", Options{BaseDir: keyDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if ws := Lint(p); len(ws) != 0 {
		t.Errorf("warnings on the example: %v", ws)
	}
}

// Problems takes a load error apart into the fields and lines annotations need.
func TestProblemsLines(t *testing.T) {
	dir := keyDir(t)
	body := attackHead + // lines 1-2
		"mode: !!binary YXVkaXQ=\n" + // 3
		"identities:\n" + // 4
		"  - issuer: https://token.actions.githubusercontent.com/\n" + // 5
		"    subject-regexp: '^a|b$'\n" // 6
	_, err := Parse([]byte(body), Options{BaseDir: dir})
	ps := Problems(err)
	if len(ps) != 1 || ps[0].Field != "mode" || ps[0].Line != 3 {
		t.Fatalf("strict-YAML problems = %+v, want mode on line 3", ps)
	}
	body = strings.Replace(body, "!!binary YXVkaXQ=", "enforce", 1)
	_, err = Load(writeTemp(t, body), Options{BaseDir: dir})
	want := map[string]int{"identities[0].issuer": 5, "identities[0].subject-regexp": 6, "require": 0}
	got := map[string]int{}
	for _, p := range Problems(err) {
		got[p.Field] = p.Line
	}
	for f, l := range want {
		if gl, ok := got[f]; !ok || gl != l {
			t.Errorf("problem %s on line %d (present %v), want line %d; all: %v", f, gl, ok, l, got)
		}
	}
	_, err = Parse([]byte(attackHead+"identities: [{key: release.pub}]\ncolour: blue\n"+attackRequire), Options{BaseDir: dir})
	ps = Problems(err)
	if len(ps) != 1 || ps[0].Line != 4 || !strings.Contains(ps[0].Msg, "field colour is unknown") {
		t.Errorf("unknown-field problems = %+v, want line 4", ps)
	}
	ps = Problems(errOf(Load(filepath.Join(dir, "nope.yaml"), Options{})))
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "nope.yaml") {
		t.Errorf("unreadable file problems = %+v", ps)
	}
}

func writeTemp(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func errOf(_ *Policy, err error) error { return err }

package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// attackHead is a policy that loads; each attack row appends to it or replaces
// its identity.
const attackHead = "apiVersion: secure-gates/v1\nkind: Policy\n"

const attackRequire = "require:\n  - type: vuln\n"

const ghIssuer = "https://token.actions.githubusercontent.com"

// keyless is one keyless identity with the given issuer and subject-regexp.
func keyless(issuer, re string) string {
	return "identities:\n  - issuer: " + issuer + "\n    subject-regexp: '" + re + "'\n"
}

// The attack corpus of issue 13 (observations 1 and 13) and its neighbours:
// policy files that loaded on main and admitted what their author did not mean.
// Each must now fail to load with an input error that names the field and says
// what to write instead.
func TestAttackCorpusRefused(t *testing.T) {
	dir := keyDir(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "k.pem"), mustRead(t, filepath.Join(dir, "release.pub")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "k.pem"), filepath.Join(dir, "escape.pub")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "outdir")); err != nil {
		t.Fatal(err)
	}
	release := "identities: [{key: release.pub}]\n"
	tests := []struct {
		name, body string
		want       []string // substrings of the error: the field, the value, the fix
	}{
		// Observation 1: a top-level alternation anchors each branch at one end only.
		{"obs1 alternation anchored at one end per branch", keyless(ghIssuer, `^https://github\.com/acme/a/\.github/workflows/release\.yml@refs/heads/main|x$`) + attackRequire,
			[]string{"identities[0].subject-regexp", "group the alternation", "`^(https://github\\.com/acme/a/\\.github/workflows/release\\.yml@refs/heads/main|x)$`"}},
		{"alternation of two anchored branches", keyless(ghIssuer, `^https://a$|^https://b$`) + attackRequire,
			[]string{"identities[0].subject-regexp", "group the alternation: `^(https://a|https://b)$`"}},
		{"alternation with an unanchored middle branch", keyless(ghIssuer, `^(https://a)$|evil|^(https://b)$`) + attackRequire,
			[]string{"identities[0].subject-regexp", "group the alternation"}},
		{"multi-line mode", keyless(ghIssuer, `(?m)^https://github\.com/acme/a/\.github/workflows/r\.yml@refs/heads/main$`) + attackRequire,
			[]string{"identities[0].subject-regexp", "multi-line mode", "remove the m flag"}},
		{"multi-line group", keyless(ghIssuer, `^https://github\.com/acme/(?m:$)`) + attackRequire,
			[]string{"identities[0].subject-regexp", "multi-line mode"}},
		{"escaped dollar is not an anchor", keyless(ghIssuer, `^https://github\.com/acme/a\$`) + attackRequire,
			[]string{"identities[0].subject-regexp", "is not anchored"}},
		{"repeated anchored group matches the empty string anywhere", keyless(ghIssuer, `(^https://a$)*`) + attackRequire,
			[]string{"identities[0].subject-regexp", "is not anchored"}},
		{"optional end anchor", keyless(ghIssuer, `^https://github\.com/acme/a($)?`) + attackRequire,
			[]string{"identities[0].subject-regexp", "is not anchored"}},
		{"end anchor inside an alternation", keyless(ghIssuer, `^https://github\.com/acme/(a$|b)`) + attackRequire,
			[]string{"identities[0].subject-regexp", "is not anchored"}},

		// Observation 13: YAML tricks.
		{"obs13 binary tag", "mode: !!binary YXVkaXQ=\n" + release + attackRequire,
			[]string{"mode", "line 3", "the tag !!binary is not allowed", "write the value as plain text"}},
		{"obs13 merge key", "<<: {mode: audit}\n" + release + attackRequire,
			[]string{"the merge key << is not allowed", "write each field out"}},
		{"str tag", "mode: !!str audit\n" + release + attackRequire, []string{"mode", "the tag !!str is not allowed"}},
		{"custom tag", "mode: !audit enforce\n" + release + attackRequire, []string{"mode", "the tag !audit is not allowed"}},
		{"tag directive", "%TAG !x! tag:yaml.org,2002:\n---\n" + attackHead + "mode: !x!binary YXVkaXQ=\n" + release + attackRequire,
			[]string{"mode", "is not allowed"}},
		{"anchor and alias", "identities: &ids [{key: release.pub}]\nexceptions: {signers: *ids}\n" + attackRequire,
			[]string{"the anchor &ids is not allowed", "the alias *ids is not allowed"}},
		{"merge key inside an identity", "x: &base {issuer: " + ghIssuer + "}\nidentities:\n  - <<: *base\n    subject: https://github.com/acme/a/.github/workflows/r.yml@refs/heads/main\n" + attackRequire,
			[]string{"merge key", "anchor &base"}},
		{"obs13 issuer with a trailing slash", keyless(ghIssuer+"/", `^https://a$`) + attackRequire,
			[]string{"identities[0].issuer", "remove the trailing slash", `write "` + ghIssuer + `"`}},
		{"obs13 issuer over http", keyless("http://token.actions.githubusercontent.com", `^https://a$`) + attackRequire,
			[]string{"identities[0].issuer", "https", `write "` + ghIssuer + `"`}},
		{"http issuer that only looks local", keyless("http://127.0.0.1.evil.example", `^https://a$`) + attackRequire, []string{"identities[0].issuer", "https"}},
		{"loopback issuer with a trailing slash", keyless("http://127.0.0.1:5556/", `^https://a$`) + attackRequire, []string{"identities[0].issuer", "trailing slash"}},
		{"issuer with a query", keyless(ghIssuer+"?x=1", `^https://a$`) + attackRequire, []string{"identities[0].issuer", "query"}},
		{"issuer with a fragment", keyless(ghIssuer+"#x", `^https://a$`) + attackRequire, []string{"identities[0].issuer", "fragment"}},
		{"issuer with user information", keyless("https://u@token.actions.githubusercontent.com", `^https://a$`) + attackRequire,
			[]string{"identities[0].issuer", "user information"}},
		{"issuer host in upper case", keyless("https://Token.Actions.GitHubUserContent.com", `^https://a$`) + attackRequire,
			[]string{"identities[0].issuer", "lower case"}},
		{"issuer with the default port", keyless("https://token.actions.githubusercontent.com:443", `^https://a$`) + attackRequire,
			[]string{"identities[0].issuer", ":443"}},
		{"issuer with a wildcard", keyless("https://*.example.com", `^https://a$`) + attackRequire, []string{"identities[0].issuer", "not a plain DNS name"}},
		{"issuer host with a trailing dot", keyless(ghIssuer+".", `^https://a$`) + attackRequire, []string{"identities[0].issuer", "not a plain DNS name"}},
		{"issuer host with a homoglyph", keyless("https://tоken.actions.githubusercontent.com", `^https://a$`) + attackRequire, []string{"identities[0].issuer", "not a plain DNS name"}},
		{"verbatim tag", "mode: !<tag:yaml.org,2002:binary> YXVkaXQ=\n" + release + attackRequire, []string{"mode", "is not allowed"}},
		{"issuer without a scheme", keyless("token.actions.githubusercontent.com", `^https://a$`) + attackRequire,
			[]string{"identities[0].issuer", "https URL"}},
		{"issuer of an exception signer", release + attackRequire + "exceptions:\n  signers:\n    - issuer: " + ghIssuer + "/\n      subject: x\n",
			[]string{"exceptions.signers[0].issuer", "trailing slash"}},
		{"obs13 require empty in enforce", release + "require: []\n", []string{"require", "is empty in enforce mode", "type: vuln"}},
		{"require missing in enforce", "mode: enforce\n" + release, []string{"require", "is empty in enforce mode"}},
		{"require missing, enforce by default", release, []string{"require", "is empty in enforce mode"}},
		{"obs13 absolute key path", "identities: [{key: /etc/x.pem}]\n" + attackRequire,
			[]string{"identities[0].key", `"/etc/x.pem" is an absolute path`, "relative to"}},
		{"obs13 key leaving the folder", "identities: [{key: ../k.pem}]\n" + attackRequire,
			[]string{"identities[0].key", `"../k.pem" leaves the key folder`}},
		{"key with .. that comes back", "identities: [{key: sub/../release.pub}]\n" + attackRequire,
			[]string{"identities[0].key", "without .."}},
		{"obs13 key symlink leaving the folder", "identities: [{key: escape.pub}]\n" + attackRequire,
			[]string{"identities[0].key", `"escape.pub" leaves the key folder`, "through a symbolic link"}},
		{"key under a symlinked folder leaving it", "identities: [{key: outdir/k.pem}]\n" + attackRequire,
			[]string{"identities[0].key", "symbolic link"}},
		{"key that is a folder", "identities: [{key: outdir}]\n" + attackRequire, []string{"identities[0].key"}},
		{"break-glass key outside", release + attackRequire + "break-glass: {signers: [{key: /etc/x.pem}], ttl: 1h}\n",
			[]string{"break-glass.signers[0].key", "absolute path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := tt.body
			if !strings.HasPrefix(body, "%TAG") {
				body = attackHead + body
			}
			p, err := Parse([]byte(body), Options{BaseDir: dir})
			if err == nil {
				t.Fatalf("loaded (mode %s, %d identities, %d requirements); want it refused:\n%s", p.Mode, len(p.Identities), len(p.Require), body)
			}
			wantRefusal(t, err, tt.want...)
		})
	}
}

// What the compile rules still accept: anchored expressions in their usual
// spellings, exact https issuers with a port or path, keys inside the folder
// (also through a symlink that stays inside), KMS URIs.
func TestAttackCorpusAccepted(t *testing.T) {
	dir := keyDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../release.pub", filepath.Join(dir, "keys", "link.pub")); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, body string }{
		{"grouped alternation", keyless(ghIssuer, `^https://github\.com/acme/(a|b)/\.github/workflows/release\.yml@refs/heads/main$`)},
		{"non-capturing group", keyless(ghIssuer, `^(?:https://github\.com/acme/a/\.github/workflows/release\.yml@refs/(heads/main|tags/v[0-9.]+))$`)},
		{"\\A and \\z", keyless(ghIssuer, `\Ahttps://github\.com/acme/a/\.github/workflows/release\.yml@refs/heads/main\z`)},
		{"whole expression in a group", keyless(ghIssuer, `(^https://github\.com/acme/a/\.github/workflows/release\.yml@refs/heads/main$)`)},
		{"case-insensitive flag", keyless(ghIssuer, `(?i)^https://github\.com/acme/a/\.github/workflows/release\.yml@refs/heads/main$`)},
		{"a bracket class holding |", keyless(ghIssuer, `^https://github\.com/acme/a[|]b$`)},
		{"issuer with a port and path", keyless("https://keycloak.example.com:8443/realms/ci", `^ci@example\.com$`)},
		{"loopback issuer over http (local test stacks)", keyless("http://127.0.0.1:5556", `^ci@example\.com$`)},
		{"exact subject", "identities:\n  - issuer: " + ghIssuer + "\n    subject: https://github.com/acme/a/.github/workflows/r.yml@refs/heads/main\n"},
		{"key in a subfolder through a symlink inside", "identities: [{key: keys/link.pub}]\n"},
		{"key with ./", "identities: [{key: ./release.pub}]\n"},
		{"KMS key", "identities: [{key: 'awskms:///arn:aws:kms:us-east-1:1:key/x'}]\n"},
		{"audit without require", "mode: audit\nidentities: [{key: release.pub}]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := attackHead + tt.body
			if !strings.Contains(body, "mode: audit") {
				body += attackRequire
			}
			if _, err := Parse([]byte(body), Options{BaseDir: dir}); err != nil {
				t.Fatalf("refused: %v\n%s", err, body)
			}
		})
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

package kyverno

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

func load(t *testing.T, name string) *policy.Policy {
	t.Helper()
	p, err := policy.Load(filepath.Join("testdata", name), policy.Options{BaseDir: "testdata"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The rendered policies are reviewed once and kept as golden files.
func TestRenderGolden(t *testing.T) {
	tests := []struct {
		policy, golden string
		opts           Options
	}{
		{"key.policy.yaml", "key.golden.yaml", Options{ImageReferences: []string{"127.0.0.1:*/acme/widgets*"}, IgnoreTlog: true, IgnoreSCT: true}},
		{"keyless.policy.yaml", "keyless.golden.yaml", Options{Name: "widgets", ImageReferences: []string{"ghcr.io/acme/widgets*", "ghcr.io/acme/widgets-worker*"}, MaxAgeAtAdmission: true}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			p := load(t, tt.policy)
			got, err := Render(p, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tt.golden), got)
		})
	}
}

// decoded is the rendered policy read back generically, the way Kyverno reads it.
func decoded(t *testing.T, p *policy.Policy, o Options) map[string]any {
	t.Helper()
	out, err := Render(p, o)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

// What a user relies on: the mode becomes the failure action, digests are
// required, every identity is an attestor (any one suffices) and every required
// predicate type is an attestation with the policy's conditions.
func TestRenderSemantics(t *testing.T) {
	o := Options{ImageReferences: []string{"ghcr.io/acme/widgets*"}}
	key := load(t, "key.policy.yaml")
	m := decoded(t, key, o)
	vi := dig(t, m, "spec", "rules", 0, "verifyImages", 0)
	if got := dig(t, vi, "failureAction"); got != "Enforce" {
		t.Errorf("enforce policy rendered failureAction %v", got)
	}
	if got := dig(t, m, "spec", "validationFailureAction"); got != "Enforce" {
		t.Errorf("validationFailureAction %v", got)
	}
	if dig(t, vi, "verifyDigest") != true || dig(t, vi, "mutateDigest") != false || dig(t, vi, "required") != true {
		t.Errorf("want verifyDigest true, mutateDigest false, required true: %v", vi)
	}
	if got := dig(t, vi, "attestors", 0, "entries", 0, "keys", "publicKeys"); got != strings.TrimSpace(string(key.Identities[0].KeyPEM)) {
		t.Errorf("publicKeys = %v", got)
	}
	atts := dig(t, vi, "attestations").([]any)
	if len(atts) != len(key.Require) {
		t.Fatalf("%d attestations for %d requirements", len(atts), len(key.Require))
	}
	for i, r := range key.Require {
		if got := dig(t, atts[i], "type"); got != r.PredicateType {
			t.Errorf("attestation %d type %v, want %s", i, got, r.PredicateType)
		}
	}
	vuln := dig(t, atts[2], "conditions", 0, "all", 0, "key").(string)
	if !strings.Contains(vuln, "'Critical', 'High'") || !strings.Contains(vuln, "fix.state == 'fixed'") {
		t.Errorf("deny high fixed-only rendered as %q", vuln)
	}
	if got := dig(t, atts[3], "conditions", 0, "all", 0, "value"); got != "pass" {
		t.Errorf("code-scan condition value %v", got)
	}
	// max-age is not an admission condition unless asked for.
	if n := len(dig(t, atts[2], "conditions", 0, "all").([]any)); n != 1 {
		t.Errorf("vuln has %d conditions without MaxAgeAtAdmission, want 1", n)
	}
	if !strings.Contains(dig(t, m, "metadata", "annotations", "secure-gates.dev/not-enforced-at-admission").(string), "max-age") {
		t.Error("max-age not listed as not enforced at admission")
	}

	keyless := load(t, "keyless.policy.yaml")
	m = decoded(t, keyless, Options{ImageReferences: []string{"ghcr.io/acme/widgets*"}, MaxAgeAtAdmission: true})
	vi = dig(t, m, "spec", "rules", 0, "verifyImages", 0)
	if got := dig(t, vi, "failureAction"); got != "Audit" {
		t.Errorf("audit policy rendered failureAction %v", got)
	}
	entries := dig(t, vi, "attestors", 0, "entries").([]any)
	if len(entries) != 2 || dig(t, vi, "attestors", 0, "count") != 1 {
		t.Fatalf("want 2 entries, count 1: %v", dig(t, vi, "attestors"))
	}
	ext := dig(t, entries[0], "keyless", "additionalExtensions").(map[string]any)
	want := map[string]any{"githubWorkflowRepository": "acme/widgets", "githubWorkflowRef": "refs/heads/main", "githubWorkflowName": "secure-gates", "githubWorkflowTrigger": "push"}
	for k, v := range want {
		if ext[k] != v {
			t.Errorf("extension %s = %v, want %v", k, ext[k], v)
		}
	}
	if got := dig(t, entries[0], "keyless", "rekor", "url"); got != DefaultRekorURL {
		t.Errorf("keyless rekor url %v", got)
	}
	prov := dig(t, vi, "attestations", 1)
	if dig(t, prov, "type") != PredicateSLSAProvenanceV02 || dig(t, prov, "attestors", 0, "entries", 0, "keyless", "subjectRegExp") != SLSAGeneratorSubjectRegexp {
		t.Errorf("slsa-github-generator provenance rendered as %v", prov)
	}
	if got := dig(t, prov, "conditions", 0, "all", 0, "value"); got != "git+https://github.com/acme/widgets@refs/heads/main" {
		t.Errorf("source condition %v", got)
	}
}

// Anything Kyverno cannot express the way the pipeline checks it is refused with
// an input error naming it, never silently dropped.
func TestRenderErrors(t *testing.T) {
	img := []string{"ghcr.io/acme/widgets*"}
	tests := []struct {
		name   string
		policy string
		opts   Options
		want   string
	}{
		{"no image references", "", Options{}, "no image references"},
		{"every image", "", Options{ImageReferences: []string{"*"}}, "not empty or every image"},
		{"bad name", "", Options{ImageReferences: img, Name: "Widgets_Policy"}, "not a Kubernetes object name"},
		{"keyless without trigger", "identities:\n  - issuer: https://token.actions.githubusercontent.com\n    subject: https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main\n", Options{ImageReferences: img}, "needs a trigger"},
		// A wildcard issuer no longer loads (pkg/policy: issuers are exact DNS names).
		{"wildcard workflow name", "identities:\n  - issuer: https://token.actions.githubusercontent.com\n    subject: x\n    trigger: push\n    workflow: release*\n", Options{ImageReferences: img}, "wildcard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "apiVersion: secure-gates/v1\nkind: Policy\n"
			if tt.policy == "" {
				src += "identities:\n  - key: release.pub\n"
			} else {
				src += tt.policy
			}
			src += "require:\n  - type: vuln\n"
			p, err := policy.Parse([]byte(src), policy.Options{BaseDir: "testdata"})
			if err != nil {
				t.Fatalf("test policy does not load: %v", err)
			}
			_, err = Render(p, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if errkind.Of(err) != errkind.KindInput {
				t.Errorf("error kind %v, want input", errkind.Of(err))
			}
		})
	}
	if _, err := Render(nil, Options{ImageReferences: img}); err == nil || !errors.Is(err, err) {
		t.Error("nil policy rendered")
	}
}

// An identity with tlog: required keeps Kyverno's transparency-log check on even
// when the options ignore the log for everyone else.
func TestRenderTlogRequired(t *testing.T) {
	o := Options{ImageReferences: []string{"ghcr.io/acme/widgets*"}, IgnoreTlog: true}
	for _, file := range []string{"key.policy.yaml", "keyless.policy.yaml"} {
		p := load(t, file)
		m := decoded(t, p, o)
		entry := dig(t, m, "spec", "rules", 0, "verifyImages", 0, "attestors", 0, "entries", 0).(map[string]any)
		kind := "keys"
		if _, ok := entry["keyless"]; ok {
			kind = "keyless"
		}
		if got := dig(t, entry, kind, "rekor", "ignoreTlog"); got != true {
			t.Errorf("%s: ignoreTlog %v with the option set and no tlog: required", file, got)
		}
		p.Identities[0].Tlog = "required"
		m = decoded(t, p, o)
		entry = dig(t, m, "spec", "rules", 0, "verifyImages", 0, "attestors", 0, "entries", 0).(map[string]any)
		rk := dig(t, entry, kind, "rekor").(map[string]any)
		if rk["ignoreTlog"] == true || rk["url"] != DefaultRekorURL {
			t.Errorf("%s: tlog: required rendered rekor %v", file, rk)
		}
	}
}

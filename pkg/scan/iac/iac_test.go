package iac_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
)

const wf = ".github/workflows/ci.yml"

// ruleCases holds, for every bundled policy rule, a fixture that violates it
// (and nothing else) and one that does not: the archive
// testdata/rules/<rule>.txtar, which says what the rule catches and holds the
// cases side by side (bad/…, good/…), extracted by extract.
var ruleCases = []struct {
	rule string
	bad  string   // the case in testdata/rules/<rule>.txtar (its files are bad/…)
	want []string // "rule path:line" of every finding in bad
}{
	{"k8s-run-as-non-root", "bad", []string{"k8s-run-as-non-root deploy.yaml:13"}},
	{"k8s-readonly-root-filesystem", "bad", []string{"k8s-readonly-root-filesystem deploy.yaml:14"}},
	{"k8s-privileged", "bad", []string{"k8s-privileged deploy.yaml:16"}},
	{"k8s-host-path", "bad", []string{"k8s-host-path deploy.yaml:13"}},
	{"k8s-host-namespace", "bad", []string{"k8s-host-namespace deploy.yaml:11"}},
	{"k8s-resource-limits", "bad", []string{"k8s-resource-limits deploy.yaml:12"}},
	{"k8s-image-digest", "bad", []string{"k8s-image-digest deploy.yaml:13"}},
	{"docker-user", "bad", []string{"docker-user Dockerfile:5"}},
	{"docker-user", "bad-root", []string{"docker-user Dockerfile:3"}},
	{"docker-base-digest", "bad", []string{"docker-base-digest Dockerfile:2"}},
	{"docker-add-url", "bad", []string{"docker-add-url Dockerfile:2"}},
	{"docker-secret-env", "bad", []string{"docker-secret-env Dockerfile:2", "docker-secret-env Dockerfile:3", "docker-secret-env Dockerfile:4"}},
	{"gha-permissions", "bad", []string{"gha-permissions " + wf + ":4"}},
	{"gha-pinned-actions", "bad", []string{"gha-pinned-actions " + wf + ":8", "gha-pinned-actions " + wf + ":9", "gha-pinned-actions " + wf + ":10", "gha-pinned-actions " + wf + ":12", "gha-pinned-actions " + wf + ":14"}},
	{"gha-pr-target-checkout", "bad", []string{"gha-pr-target-checkout " + wf + ":11"}},
	{"gha-script-injection", "bad", []string{"gha-script-injection " + wf + ":12", "gha-script-injection " + wf + ":13", "gha-script-injection " + wf + ":16"}},
	{"tf-s3-public-access", "bad", []string{"tf-s3-public-access main.tf:3", "tf-s3-public-access main.tf:20"}},
	{"tf-s3-encryption", "bad", []string{"tf-s3-encryption main.tf:1"}},
	{"tf-s3-versioning", "bad", []string{"tf-s3-versioning main.tf:1"}},
	{"tf-sg-admin-port-open", "bad", []string{"tf-sg-admin-port-open main.tf:10", "tf-sg-admin-port-open main.tf:23", "tf-sg-admin-port-open main.tf:30"}},
	{"tf-iam-wildcard-admin", "bad", []string{"tf-iam-wildcard-admin main.tf:3", "tf-iam-wildcard-admin main.tf:14", "tf-iam-wildcard-admin main.tf:22"}},
	{"tf-unencrypted-storage", "bad", []string{"tf-unencrypted-storage main.tf:1", "tf-unencrypted-storage main.tf:9", "tf-unencrypted-storage main.tf:13"}},
	{"tf-db-public", "bad", []string{"tf-db-public main.tf:5"}},
	{"tf-kms-rotation", "bad", []string{"tf-kms-rotation main.tf:1", "tf-kms-rotation main.tf:7"}},
	{"tf-github-oidc-trust", "bad", []string{"tf-github-oidc-trust aws.tf:12", "tf-github-oidc-trust aws.tf:28", "tf-github-oidc-trust aws.tf:48",
		"tf-github-oidc-trust gcp_azure.tf:8", "tf-github-oidc-trust gcp_azure.tf:20"}},
}

func TestRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.rule+"/"+tc.bad, func(t *testing.T) {
			dir := extract(t, filepath.Join("testdata/rules", tc.rule+".txtar"))
			fs := scan(t, filepath.Join(dir, tc.bad), iac.Options{})
			got := short(fs)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("bad fixture findings:\n got  %q\n want %q", got, want)
			}
			goods, _ := filepath.Glob(filepath.Join(dir, "good*"))
			if len(goods) == 0 {
				t.Fatal("no good fixture")
			}
			for _, g := range goods {
				if fs := scan(t, g, iac.Options{}); len(fs) != 0 {
					t.Errorf("good fixture %s has findings: %q", filepath.Base(g), short(fs))
				}
			}
		})
	}
}

// TestRulesCatalogue checks every bundled rule is documented and tested.
func TestRulesCatalogue(t *testing.T) {
	rules := iac.Rules()
	tested := map[string]bool{}
	for _, tc := range ruleCases {
		tested[tc.rule] = true
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.ID] {
			t.Errorf("rule %s listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.Title == "" || r.Description == "" || r.Remediation == "" || r.Severity.Rank() == 0 {
			t.Errorf("rule %s lacks metadata: %+v", r.ID, r)
		}
		scannerRule := strings.HasPrefix(r.ID, "iac-") || strings.HasPrefix(r.ID, "kustomize-") || strings.HasPrefix(r.ID, "helm-") ||
			r.ID == iac.RuleTerraformRemote || r.ID == iac.RulePlanError
		if !scannerRule && !tested[r.ID] {
			t.Errorf("rule %s has no fixture in ruleCases", r.ID)
		}
	}
	for id := range tested {
		if !seen[id] {
			t.Errorf("ruleCases names %s, which Rules() does not list", id)
		}
	}
	if len(rules) < 32 {
		t.Errorf("Rules() lists %d rules, want the 24 policy rules and 8 scanner rules", len(rules))
	}
}

func TestMultiDocumentYAML(t *testing.T) {
	got := short(scan(t, "testdata/multidoc", iac.Options{}))
	want := []string{
		"k8s-privileged all.yaml:47",     // List item 1 (a CronJob), 4th document
		"k8s-host-namespace all.yaml:14", // 2nd document (the Pod)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got  %q\n want %q", got, want)
	}
}

func TestKustomizeBaseAndOverlays(t *testing.T) {
	fs := scan(t, "testdata/kustomize", iac.Options{})
	got := short(fs)
	// dev renders the base as is: the tag-only image and missing limits are
	// reported on the base's file. prod pins the digest and patches limits in:
	// nothing. The base is not rendered on its own and the prod patch is not
	// scanned as a resource.
	want := []string{
		"k8s-image-digest base/deployment.yaml:13",
		"k8s-resource-limits base/deployment.yaml:12",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n got  %q\n want %q", got, want)
	}
	for _, f := range fs {
		if !strings.Contains(f.Message, "dev-web") || !strings.Contains(f.Message, "rendered by overlays/dev/kustomization.yaml") {
			t.Errorf("message does not name the rendered resource and overlay: %q", f.Message)
		}
	}
}

func TestKustomizeRemoteBaseIsNotFetched(t *testing.T) {
	fs := scan(t, "testdata/kustomize-remote", iac.Options{})
	if got := short(fs); !slices.Equal(got, []string{"kustomize-remote-base overlay/kustomization.yaml:4"}) {
		t.Fatalf("findings: %q", got)
	}
	if fs[0].Severity != finding.High || !strings.Contains(fs[0].Message, "https://github.com/acme/infra//base?ref=v1.0.0") {
		t.Errorf("finding: %+v", fs[0])
	}
}

// TestKustomizeSCPRemoteIsNotFetched: an SCP-style remote with a user other
// than git (deploy@host:repo) is a remote base kustomize fetches with git; the
// scanner used to miss it and kustomize ran git fetch against the host named
// by the pull request. It is reported as a remote base and git never runs.
// (Not parallel: PATH holds a git that records being run.)
func TestKustomizeSCPRemoteIsNotFetched(t *testing.T) {
	bin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "git-ran")
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte("#!/bin/sh\necho \"$@\" >> "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := t.TempDir()
	write(t, dir, "overlay/kustomization.yaml", "resources:\n- deploy@127.0.0.1:acme/infra\n")
	fs := scan(t, dir, iac.Options{})
	if got := short(fs); !slices.Equal(got, []string{"kustomize-remote-base overlay/kustomization.yaml:2"}) {
		t.Errorf("findings: %q", got)
	}
	if data, err := os.ReadFile(marker); err == nil {
		t.Errorf("kustomize ran git: %s", data)
	}
}

func TestKustomizeConfinedToScanRoot(t *testing.T) {
	fs := scan(t, "testdata/kustomize-escape/root", iac.Options{})
	if got := short(fs); !slices.Equal(got, []string{"kustomize-build-error app/kustomization.yaml:0"}) {
		t.Fatalf("findings: %q (the privileged pod outside the root must not be read)", got)
	}
	if !strings.Contains(fs[0].Message, "outside the scanned directory") {
		t.Errorf("message: %q", fs[0].Message)
	}
}

// TestMalformedFiles: a file that does not parse is a finding naming the file
// and the line, and the scan goes on with the other files.
func TestMalformedFiles(t *testing.T) {
	fs := scan(t, "testdata/malformed", iac.Options{})
	got := short(fs)
	want := []string{
		"iac-parse-error " + ".github/workflows/bad.yml:1",
		"iac-parse-error Dockerfile:1",
		"iac-parse-error broken.yaml:6",
		"k8s-image-digest ok/pod.yaml:10",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n got  %q\n want %q", got, want)
	}
	sev := map[string]finding.Severity{}
	for _, f := range fs {
		if f.RuleID == iac.RuleParseError {
			sev[f.Path] = f.Severity
			if !strings.Contains(f.Message, f.Path) {
				t.Errorf("parse error does not name the file: %q", f.Message)
			}
		}
	}
	want2 := map[string]finding.Severity{".github/workflows/bad.yml": finding.High, "Dockerfile": finding.High, "broken.yaml": finding.Medium}
	for p, s := range want2 {
		if sev[p] != s {
			t.Errorf("parse error severity of %s = %q, want %q", p, sev[p], s)
		}
	}
}

func TestBoundedInput(t *testing.T) {
	dir := t.TempDir()
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n" + strings.Repeat("  k: "+strings.Repeat("x", 1000)+"\n", 3000)
	write(t, dir, "big.yaml", big)
	// An alias bomb: a few hundred bytes that expand to billions of values.
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
	write(t, dir, "bomb.yaml", bomb)
	fs := scan(t, dir, iac.Options{MaxFileBytes: 1 << 20})
	got := map[string]string{}
	for _, f := range fs {
		got[f.Path] = f.RuleID
	}
	if got["big.yaml"] != iac.RuleFileTooLarge || got["bomb.yaml"] != iac.RuleParseError || len(fs) != 2 {
		t.Errorf("findings: %q", short(fs))
	}

	_, err := iac.Scan(context.Background(), dir, iac.Options{MaxFiles: 1})
	if err == nil || errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "more than 1 IaC files") {
		t.Errorf("MaxFiles exceeded: err = %v, want an input error", err)
	}
	_, err = iac.Scan(context.Background(), filepath.Join(dir, "nope"), iac.Options{})
	if err == nil || errkind.Of(err) != errkind.KindInput {
		t.Errorf("missing root: err = %v, want an input error", err)
	}
}

func TestUserPolicies(t *testing.T) {
	fs := scan(t, "testdata/user-target", iac.Options{ExtraPolicies: "testdata/policies/user"})
	got := map[string]finding.Finding{}
	var keys []string
	for _, f := range fs {
		k := f.RuleID + " " + f.Path + ":" + itoa(f.StartLine)
		got[k] = f
		keys = append(keys, k)
	}
	want := []string{
		"custom-no-latest Dockerfile:1",
		"custom-no-latest pod.yaml:10",
		"custom-pod-name pod.yaml:4",
		"docker-base-digest Dockerfile:1",
		"k8s-image-digest pod.yaml:10",
	}
	slices.Sort(keys)
	if !slices.Equal(keys, want) {
		t.Fatalf("findings:\n got  %q\n want %q", keys, want)
	}
	if f := got["custom-no-latest pod.yaml:10"]; f.Severity != finding.Critical || f.Title != "Image uses the latest tag" || !strings.Contains(f.Help, "Pin a version") {
		t.Errorf("user rule metadata not applied: %+v", f)
	}
	if f := got["custom-pod-name pod.yaml:4"]; f.Severity != finding.Medium || f.Title != "custom-pod-name" {
		t.Errorf("user rule without metadata: %+v", f)
	}
}

func TestUserPoliciesRejected(t *testing.T) {
	for _, tc := range []struct{ dir, want string }{
		{"testdata/policies/bad-namespace", "bundled namespace"},
		{"testdata/policies/bad-syntax", "x.rego"},
		{"testdata/policies/bad-result", "expected a set of objects"},
		{"testdata/policies/missing", "iac-policies"},
		{"testdata/multidoc", "no .rego files"},
	} {
		_, err := iac.Scan(context.Background(), "testdata/user-target", iac.Options{ExtraPolicies: tc.dir})
		if err == nil || errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want an input error mentioning %q", tc.dir, err, tc.want)
		}
	}
}

func TestFingerprints(t *testing.T) {
	tree := fixtureTree(t)
	a := scan(t, tree, iac.Options{ExtraPolicies: "testdata/policies/user"})
	b := scan(t, tree, iac.Options{ExtraPolicies: "testdata/policies/user"})
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("runs differ: %d vs %d findings", len(a), len(b))
	}
	seen := map[string]bool{}
	for i := range a {
		if a[i].Fingerprint != b[i].Fingerprint || a[i].Path != b[i].Path {
			t.Errorf("finding %d differs between runs", i)
		}
		if seen[a[i].Fingerprint] {
			t.Errorf("duplicate fingerprint %s (%s %s)", a[i].Fingerprint, a[i].RuleID, a[i].Path)
		}
		seen[a[i].Fingerprint] = true
		if a[i].Scanner != iac.Scanner || filepath.IsAbs(a[i].Path) || strings.Contains(a[i].Path, "\\") {
			t.Errorf("finding %+v: want scanner iac and a relative slash path", a[i])
		}
	}
	// Moving a finding's line does not change its fingerprint.
	dir := t.TempDir()
	src, _ := os.ReadFile(filepath.Join(extract(t, "testdata/rules/k8s-privileged.txtar"), "bad/deploy.yaml"))
	write(t, dir, "deploy.yaml", string(src))
	before := scan(t, dir, iac.Options{})
	write(t, dir, "deploy.yaml", "# a comment\n\n"+string(src))
	after := scan(t, dir, iac.Options{})
	if len(before) != 1 || len(after) != 1 || before[0].Fingerprint != after[0].Fingerprint || before[0].StartLine+2 != after[0].StartLine {
		t.Errorf("fingerprint should survive a line shift: %+v vs %+v", before, after)
	}
}

// TestGolden pins the complete findings (messages, help, severities) of the
// composite fixtures.
func TestGolden(t *testing.T) {
	terraform := extract(t, "testdata/terraform/module.txtar")
	for _, tc := range []struct{ name, dir string }{
		{"kustomize", "testdata/kustomize"},
		{"multidoc", "testdata/multidoc"},
		{"malformed", "testdata/malformed"},
		{"terraform/module", filepath.Join(terraform, "module")},
		{"helm-deps", "testdata/helm-deps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := scan(t, tc.dir, iac.Options{})
			got, _ := json.MarshalIndent(fs, "", "  ")
			got = append(got, '\n')
			golden.Check(t, filepath.Join("testdata", "golden", tc.name+".json"), got)
		})
	}
}

func TestScanCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := iac.Scan(ctx, "testdata", iac.Options{}); err == nil {
		t.Error("Scan with a cancelled context succeeded")
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKustomizeSymlinkEscape: a symlink inside the tree that points outside
// it is not followed by a kustomize build, and not scanned as a file.
func TestKustomizeSymlinkEscape(t *testing.T) {
	base := t.TempDir()
	write(t, base, "outside/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: evil}\nspec:\n  containers:\n    - {name: c, image: x, securityContext: {privileged: true}}\n")
	root := filepath.Join(base, "root")
	write(t, root, "app/kustomization.yaml", "resources:\n  - pod.yaml\n")
	if err := os.Symlink(filepath.Join(base, "outside/pod.yaml"), filepath.Join(root, "app/pod.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "outside/pod.yaml"), filepath.Join(root, "linked.yaml")); err != nil {
		t.Fatal(err)
	}
	fs := scan(t, root, iac.Options{})
	if got := short(fs); !slices.Equal(got, []string{"kustomize-build-error app/kustomization.yaml:0"}) || !strings.Contains(fs[0].Message, "outside the scanned directory") {
		t.Fatalf("findings %q (%v)", got, fs)
	}
}

func BenchmarkScan(b *testing.B) {
	tree := fixtureTree(b)
	for b.Loop() {
		if _, err := iac.Scan(context.Background(), tree, iac.Options{ExtraPolicies: "testdata/policies/user"}); err != nil {
			b.Fatal(err)
		}
	}
}

package iac_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
)

func sortedShort(fs []finding.Finding) []string {
	got := short(fs)
	slices.Sort(got)
	return got
}

// TestTerraformModule: locals (chained, conditional, a cycle), variable
// defaults (and one without), count (known, zero), for_each (expanded per
// key), a dynamic block, .tf.json, and a remote module.
func TestTerraformModule(t *testing.T) {
	t.Parallel()
	dir := extract(t, "testdata/terraform/module.txtar")
	fs := scan(t, filepath.Join(dir, "module"), iac.Options{})
	want := []string{
		"terraform-remote-module main.tf:55",
		"tf-db-public extra.tf.json:6",
		"tf-kms-rotation main.tf:36",
		"tf-sg-admin-port-open main.tf:15",
		"tf-sg-admin-port-open main.tf:15",
		"tf-unencrypted-storage main.tf:30",
	}
	if got := sortedShort(fs); !slices.Equal(got, want) {
		t.Fatalf("findings:\n got  %q\n want %q", got, want)
	}
	msgs := map[string]bool{}
	for _, f := range fs {
		msgs[f.Message] = true
	}
	for _, m := range []string{
		`aws_kms_key.keys["payments"]: enable_key_rotation is not true`,
		"aws_security_group.admin: ingress from 0.0.0.0/0 on port 22 (SSH)",
		"aws_security_group.admin: ingress from 0.0.0.0/0 on port 3389 (RDP)",
		"aws_ebs_volume.data[count.index]: encrypted is not true",
		`module "vpc" uses the remote source "terraform-aws-modules/vpc/aws"`,
	} {
		found := false
		for got := range msgs {
			if strings.Contains(got, m) {
				found = true
			}
		}
		if !found {
			t.Errorf("no finding says %q; messages: %q", m, slices.Collect(func(yield func(string) bool) {
				for m := range msgs {
					if !yield(m) {
						return
					}
				}
			}))
		}
	}
	if fs := scan(t, filepath.Join(dir, "module-fixed"), iac.Options{}); len(fs) != 0 {
		t.Errorf("fixed module has findings: %q", short(fs))
	}
}

func TestTerraformPlan(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	fs := scan(t, empty, iac.Options{Plan: filepath.Join(mustAbs(t, "testdata/terraform/plan"), "plan.json")})
	want := []string{"tf-db-public plan.json:42", "tf-kms-rotation plan.json:54", "tf-s3-public-access plan.json:18"}
	if got := sortedShort(fs); !slices.Equal(got, want) {
		t.Fatalf("findings:\n got  %q\n want %q", got, want)
	}
	// A plan inside the root is reported relative to it.
	fs = scan(t, "testdata/terraform/plan", iac.Options{Plan: "plan.json"})
	if len(fs) != 3 || fs[0].Path != "plan.json" {
		t.Errorf("findings: %q", short(fs))
	}
	if fs := scan(t, empty, iac.Options{Plan: mustAbs(t, "testdata/terraform/plan-fixed/plan.json")}); len(fs) != 0 {
		t.Errorf("fixed plan has findings: %q", short(fs))
	}
	// Not a plan: a finding, not a silent pass.
	bad := filepath.Join(empty, "bad.json")
	write(t, empty, "bad.json", `{"resources": []}`)
	fs = scan(t, empty, iac.Options{Plan: bad})
	if got := short(fs); !slices.Equal(got, []string{"terraform-plan-error bad.json:0"}) {
		t.Errorf("not a plan: %q", got)
	}
	_, err := iac.Scan(context.Background(), empty, iac.Options{Plan: filepath.Join(empty, "missing.json")})
	if errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "iac-plan") {
		t.Errorf("missing plan: err = %v, want an input error naming iac-plan", err)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTerraformHostile: inputs built to exhaust the parser or the evaluator
// end quickly with a parse error or unknown values, never a crash.
func TestTerraformHostile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Deep nesting: the parsers recurse per level.
	write(t, dir, "deep/main.tf", "locals {\n  x = "+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+"\n}\n")
	// An interpolation bomb: each local doubles the previous one.
	var b strings.Builder
	b.WriteString("locals {\n  l0 = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n")
	for i := 1; i <= 64; i++ {
		b.WriteString("  l" + itoa(i) + " = \"${local.l" + itoa(i-1) + "}${local.l" + itoa(i-1) + "}\"\n")
	}
	b.WriteString("}\nresource \"aws_kms_key\" \"k\" {\n  description = local.l64\n  enable_key_rotation = true\n}\n")
	write(t, dir, "bomb/main.tf", b.String())
	// Nested for expressions over a list: cubic.
	write(t, dir, "for/main.tf", `variable "l" { default = [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20] }
locals { cube = [for a in var.l : [for b in var.l : [for c in var.l : [for d in var.l : "${a}${b}${c}${d}"]]]] }
resource "aws_kms_key" "k" {
  description = jsonencode(local.cube)
}
`)
	// format with a huge width, range and a reference cycle.
	write(t, dir, "fmt/main.tf", `locals {
  a = format("%999999999d", 1)
  b = local.c
  c = local.b
}
resource "aws_kms_key" "k" {
  description         = local.a
  enable_key_rotation = local.b
}
`)
	fs := scan(t, dir, iac.Options{})
	got := sortedShort(fs)
	want := []string{"iac-parse-error deep/main.tf:0", "tf-kms-rotation for/main.tf:3"}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n got  %q\n want %q", got, want)
	}
}

// TestTerraformConfinedAndBounded: a .tf symlink out of the tree is not read
// and a file over the bound is a finding.
func TestTerraformConfinedAndBounded(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	write(t, base, "outside/main.tf", "resource \"aws_db_instance\" \"x\" {\n  publicly_accessible = true\n}\n")
	root := filepath.Join(base, "root")
	write(t, root, "big/main.tf", "# "+strings.Repeat("x", 2<<20)+"\n")
	if err := os.Symlink(filepath.Join(base, "outside/main.tf"), filepath.Join(root, "link.tf")); err != nil {
		t.Fatal(err)
	}
	fs := scan(t, root, iac.Options{MaxFileBytes: 1 << 20})
	if got := short(fs); !slices.Equal(got, []string{"iac-file-too-large big/main.tf:0"}) {
		t.Fatalf("findings: %q", got)
	}
}

func TestChangedOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, d := range []string{"a", "b"} {
		write(t, dir, d+"/main.tf", "resource \"aws_db_instance\" \"x\" {\n  storage_encrypted = true\n  publicly_accessible = true\n}\n")
	}
	write(t, dir, "b/README.md", "docs\n")
	write(t, dir, "k8s/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: c, image: x, securityContext: {privileged: true}}\n")
	all := sortedShort(scan(t, dir, iac.Options{}))
	if len(all) < 3 {
		t.Fatalf("whole tree: %q", all)
	}
	// A change anywhere in module b (even a file that is not Terraform)
	// checks module b only.
	got := sortedShort(scan(t, dir, iac.Options{Changed: []string{"b/README.md"}}))
	if !slices.Equal(got, []string{"tf-db-public b/main.tf:3"}) {
		t.Errorf("changed b/README.md: %q", got)
	}
	if got := scan(t, dir, iac.Options{Changed: []string{}}); len(got) != 0 {
		t.Errorf("nothing changed: %q", short(got))
	}
	got = sortedShort(scan(t, dir, iac.Options{Changed: []string{"k8s/pod.yaml", "a/main.tf"}}))
	if len(got) < 2 || !strings.HasPrefix(got[0], "k8s-") && !strings.Contains(strings.Join(got, " "), "k8s/pod.yaml") || !slices.Contains(got, "tf-db-public a/main.tf:3") {
		t.Errorf("changed k8s/pod.yaml and a/main.tf: %q", got)
	}
	// Kustomizations are checked when a file they read changed.
	got = sortedShort(scan(t, "testdata/kustomize", iac.Options{Changed: []string{"base/deployment.yaml"}}))
	if len(got) != 2 {
		t.Errorf("kustomize base changed: %q", got)
	}
	if got := scan(t, "testdata/kustomize", iac.Options{Changed: []string{"overlays/prod/limits.yaml"}}); len(got) != 0 {
		t.Errorf("kustomize prod patch changed (prod is clean): %q", short(got))
	}
}

var _ = errors.New

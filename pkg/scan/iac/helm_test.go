package iac_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
)

// TestHelmChart renders a chart with helpers, a conditional, range and with,
// first with its own values (clean), then with values overrides.
func TestHelmChart(t *testing.T) {
	t.Parallel()
	if fs := scan(t, "testdata/helm", iac.Options{}); len(fs) != 0 {
		t.Errorf("chart with its values.yaml: %q", short(fs))
	}
	if fs := scan(t, "testdata/helm", iac.Options{HelmValues: map[string][]string{"web": {"web/values-prod.yaml"}}}); len(fs) != 0 {
		t.Errorf("chart with values-prod.yaml: %q", short(fs))
	}
	fs := scan(t, "testdata/helm", iac.Options{HelmValues: map[string][]string{"web": {"web/values-prod.yaml", "web/values-debug.yaml"}}})
	want := []string{
		"k8s-image-digest web/templates/deployment.yaml:34",
		"k8s-privileged web/templates/deployment.yaml:26",
		"k8s-resource-limits web/templates/deployment.yaml:33",
	}
	if got := sortedShort(fs); !slices.Equal(got, want) {
		t.Fatalf("findings:\n got  %q\n want %q", got, want)
	}
	for _, f := range fs {
		if !strings.Contains(f.Message, "Deployment/release-name-web") || !strings.Contains(f.Message, "(rendered from the chart web)") {
			t.Errorf("message: %q", f.Message)
		}
	}
	_, err := iac.Scan(context.Background(), "testdata/helm", iac.Options{HelmValues: map[string][]string{"nochart": {"x.yaml"}}})
	if errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "nochart") {
		t.Errorf("helm-values for a directory that is no chart: %v", err)
	}
	_, err = iac.Scan(context.Background(), "testdata/helm", iac.Options{HelmValues: map[string][]string{"web": {"web/missing.yaml"}}})
	if errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "web/missing.yaml") {
		t.Errorf("missing values file: %v", err)
	}
}

func TestParseHelmValues(t *testing.T) {
	t.Parallel()
	got, err := iac.ParseHelmValues([]string{"deploy/chart=deploy/values-prod.yaml\n# comment\n\n./deploy/chart = deploy/values-eu.yaml", "other=o.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got["deploy/chart"], []string{"deploy/values-prod.yaml", "deploy/values-eu.yaml"}) || !slices.Equal(got["other"], []string{"o.yaml"}) {
		t.Errorf("got %v", got)
	}
	for _, bad := range []string{"deploy/chart", "=x.yaml", "chart="} {
		if _, err := iac.ParseHelmValues([]string{bad}); errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "chart-dir=values-file") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// TestHelmDependencies: a vendored subchart is rendered with the parent (its
// findings on its own template); an undeclared remote one is reported.
func TestHelmDependencies(t *testing.T) {
	t.Parallel()
	fs := scan(t, "testdata/helm-deps", iac.Options{})
	want := []string{"helm-dependency-missing app/Chart.yaml:7", "k8s-host-namespace app/charts/common/templates/pod.yaml:6"}
	if got := sortedShort(fs); !slices.Equal(got, want) {
		t.Fatalf("findings:\n got  %q\n want %q", got, want)
	}
}

func chart(t *testing.T, dir, tpl string) {
	t.Helper()
	write(t, dir, "Chart.yaml", "apiVersion: v2\nname: evil\nversion: 0.1.0\n")
	write(t, dir, "values.yaml", "list: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32]\n")
	write(t, dir, "templates/t.yaml", tpl)
}

// TestHelmHostile: charts built to hang, exhaust memory or read outside the
// tree end within the caps with a finding naming the chart, and read nothing
// outside the tree.
func TestHelmHostile(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	write(t, base, "secret.txt", "TOP-SECRET-OUTSIDE\n")
	root := filepath.Join(base, "root")
	// No range of template calls stops on its own: 32^6 empty iterations.
	chart(t, filepath.Join(root, "loop"), "{{ range .Values.list }}{{ range $.Values.list }}{{ range $.Values.list }}{{ range $.Values.list }}{{ range $.Values.list }}{{ range $.Values.list }}{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}\n")
	// Gigabytes of output.
	chart(t, filepath.Join(root, "giga"), "{{ range until 100000 }}{{ range until 100000 }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ end }}{{ end }}\n")
	// A doubling string, never written.
	chart(t, filepath.Join(root, "double"), "{{ $s := \"xxxxxxxx\" }}{{ range until 64 }}{{ $s = printf \"%s%s\" $s $s }}{{ end }}\n")
	// until with a huge count.
	chart(t, filepath.Join(root, "until"), "{{ range until 2000000000 }}x{{ end }}\n")
	// Recursion through include, and through tpl.
	chart(t, filepath.Join(root, "recurse"), "{{ define \"r\" }}{{ include \"r\" . }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}\n")
	chart(t, filepath.Join(root, "tplrec"), "{{ tpl \"{{ tpl .Values.x . }}\" . }}\n")
	write(t, filepath.Join(root, "tplrec"), "values.yaml", "x: \"{{ tpl .Values.x . }}\"\n")
	// lookup, getHostByName and .Files outside the chart give nothing.
	chart(t, filepath.Join(root, "reach"), `apiVersion: v1
kind: ConfigMap
metadata:
  name: reach
data:
  lookup: {{ lookup "v1" "Secret" "kube-system" "" | toJson | quote }}
  dns: {{ getHostByName "example.com" | quote }}
  up: {{ .Files.Get "../../secret.txt" | quote }}
  abs: {{ .Files.Get "/etc/passwd" | quote }}
  glob: {{ .Files.Glob "**" | len | quote }}
  linked: {{ .Files.Get "files/linked.txt" | quote }}
`)
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "reach", "files", "linked.txt")); err != nil {
		if err := os.MkdirAll(filepath.Join(root, "reach", "files"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "reach", "files", "linked.txt")); err != nil {
			t.Fatal(err)
		}
	}
	// 50000 nested ifs: rendered (line mapping is linear in the template).
	chart(t, filepath.Join(root, "nest"), strings.Repeat("{{ if true }}", 50000)+"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nest}\n"+strings.Repeat("{{ end }}", 50000)+"\n")
	// A template that is a symlink out of the tree.
	chart(t, filepath.Join(root, "linktpl"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "linktpl", "templates", "secret.yaml")); err != nil {
		t.Fatal(err)
	}
	// A .helmignore that never ends (/dev/zero: read whole, it exhausted the
	// memory), one that blocks (a FIFO) and one that leaves the tree: the
	// scan neither hangs nor reads them, and the charts still render.
	chart(t, filepath.Join(root, "zeroignore"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: z}\n")
	if err := os.Symlink("/dev/zero", filepath.Join(root, "zeroignore", ".helmignore")); err != nil {
		t.Fatal(err)
	}
	chart(t, filepath.Join(root, "fifoignore"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: reach}\ndata: {rendered: fifo}\n")
	if err := syscall.Mkfifo(filepath.Join(root, "fifoignore", ".helmignore"), 0o644); err != nil {
		t.Fatal(err)
	}
	chart(t, filepath.Join(root, "outignore"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o}\n")
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "outignore", ".helmignore")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	fs := scan(t, root, iac.Options{HelmTimeout: 5 * time.Second, HelmMaxOutputBytes: 8 << 20, ExtraPolicies: "testdata/policies/dump"})
	elapsed := time.Since(start)
	got := map[string]string{}
	for _, f := range fs {
		if strings.Contains(f.Message, "TOP-SECRET") {
			t.Errorf("a finding carries content from outside the tree: %+v", f)
		}
		got[f.Path] += f.RuleID + ": " + f.Message + "\n"
	}
	for path, want := range map[string]string{
		"loop/Chart.yaml":               "render limits",
		"giga/Chart.yaml":               "render limits",
		"double/Chart.yaml":             "render limits",
		"until/Chart.yaml":              "until with a count over",
		"recurse/Chart.yaml":            "helm-render-error",
		"tplrec/Chart.yaml":             "render limits",
		"reach/files/linked.txt":        "points outside the scanned directory",
		"linktpl/templates/secret.yaml": "points outside the scanned directory",
		"zeroignore/.helmignore":        "points outside the scanned directory",
		"outignore/.helmignore":         "points outside the scanned directory",
		"fifoignore/templates/t.yaml":   `{"rendered":"fifo"}`,
	} {
		if !strings.Contains(got[path], want) {
			t.Errorf("%s: findings %q, want one mentioning %q", path, got[path], want)
		}
	}
	if got["nest/Chart.yaml"] != "" {
		t.Errorf("nested ifs: %q", got["nest/Chart.yaml"])
	}
	// The reach chart rendered: lookup, DNS and .Files outside gave nothing.
	wantData := `{"abs":"","dns":"","glob":"0","linked":"","lookup":"{}","up":""}`
	if !strings.Contains(got["reach/templates/t.yaml"], wantData) {
		t.Errorf("reach chart rendered %q, want %s", got["reach/templates/t.yaml"], wantData)
	}
	t.Logf("hostile charts scanned in %s", elapsed)
}

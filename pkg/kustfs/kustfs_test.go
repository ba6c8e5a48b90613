package kustfs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"

	"github.com/secure-gates/secure-gates/pkg/kustfs"
)

// tree makes root/{a.yaml, sub/b.yaml, link-out -> outside/secret.yaml,
// dir-out -> outside/, fifo} and returns root.
func tree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(root, "a.yaml"):         "a: 1\n",
		filepath.Join(root, "sub", "b.yaml"):  "b: 2\n",
		filepath.Join(outside, "secret.yaml"): "secret: s3cr3t\n",
	}
	for p, c := range files {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(root, "link-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "dir-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.yaml", filepath.Join(root, "link-in")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func newFS(t *testing.T, root string, o kustfs.Options) *kustfs.FS {
	t.Helper()
	if o.MaxFileBytes == 0 {
		o.MaxFileBytes = 1 << 20
	}
	if o.Outside == "" {
		o.Outside = "leaves the repository"
	}
	f, err := kustfs.New(root, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestConfined: what kustomize may read, and the error for what it may not.
func TestConfined(t *testing.T) {
	t.Parallel()
	root := tree(t)
	f := newFS(t, root, kustfs.Options{})
	tests := []struct {
		path, want string // want: content, or an error fragment after "!"
	}{
		{"a.yaml", "a: 1\n"},
		{"sub/b.yaml", "b: 2\n"},
		{"sub/../a.yaml", "a: 1\n"},
		{"link-in", "a: 1\n"},
		{"link-out", "!link-out leaves the repository"},
		{"dir-out/secret.yaml", "!leaves the repository"},
		{"../outside/secret.yaml", "!leaves the repository"},
		{"/etc/passwd", "!leaves the repository"},
		{"missing.yaml", "!no such file"},
		{"fifo", "!fifo is not a regular file"},
		{"sub", "!not a regular file"},
	}
	for _, tt := range tests {
		p := tt.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		data, err := f.ReadFile(p)
		if want, isErr := strings.CutPrefix(tt.want, "!"); isErr {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ReadFile(%s) = %q, %v; want an error containing %q", tt.path, data, err, want)
			}
			continue
		}
		if err != nil || string(data) != tt.want {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", tt.path, data, err, tt.want)
		}
	}
	for _, p := range []string{"link-out", "dir-out", "dir-out/secret.yaml"} {
		if f.Exists(filepath.Join(root, p)) || f.IsDir(filepath.Join(root, p)) {
			t.Errorf("%s exists for kustomize", p)
		}
	}
	if _, err := f.ReadDir(filepath.Join(root, "dir-out")); err == nil {
		t.Error("ReadDir of a symlink out of the root")
	}
	if !f.Exists(filepath.Join(root, "sub", "b.yaml")) || !f.IsDir(filepath.Join(root, "sub")) {
		t.Error("files inside the root do not exist for kustomize")
	}
	got, err := f.Glob(filepath.Join(root, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if b := filepath.Base(p); b == "link-out" || b == "dir-out" {
			t.Errorf("Glob returned %s", p)
		}
	}
	if _, err := f.Glob(filepath.Join(root, "dir-out", "*")); err == nil {
		t.Error("Glob below a symlink out of the root")
	}
	var walkErrs []string
	_ = f.Walk(root, func(path string, _ fs.FileInfo, err error) error {
		if err != nil {
			walkErrs = append(walkErrs, filepath.Base(path))
		}
		return nil
	})
	if strings.Join(walkErrs, ",") != "dir-out,link-out" {
		t.Errorf("Walk reported %v, want the two symlinks out", walkErrs)
	}
	if _, _, err := f.CleanedAbs(filepath.Join(root, "dir-out")); err == nil {
		t.Error("CleanedAbs of a symlink out of the root")
	}
	read := f.Read()
	if len(read) != 2 || filepath.Base(read[0]) != "a.yaml" || filepath.Base(read[1]) != "b.yaml" {
		t.Errorf("Read() = %v", read)
	}
}

// TestReadOnly: every write, and Open (an unbounded reader), is refused.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	root := tree(t)
	f := newFS(t, root, kustfs.Options{})
	p := filepath.Join(root, "new.yaml")
	_, cerr := f.Create(p)
	for name, err := range map[string]error{"Create": cerr, "Mkdir": f.Mkdir(p), "MkdirAll": f.MkdirAll(p), "RemoveAll": f.RemoveAll(filepath.Join(root, "sub")), "WriteFile": f.WriteFile(p, nil)} {
		if !errors.Is(err, kustfs.ErrReadOnly) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := f.Open(filepath.Join(root, "a.yaml")); err == nil || !strings.Contains(err.Error(), "read whole only") {
		t.Errorf("Open: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "sub", "b.yaml")); err != nil {
		t.Error("RemoveAll removed something")
	}
}

// TestBounds: one file over MaxFileBytes, the files together over
// MaxTotalBytes, and aliases expanding past MaxExpandedNodes are refused.
func TestBounds(t *testing.T) {
	t.Parallel()
	root := tree(t)
	if _, err := newFS(t, root, kustfs.Options{MaxFileBytes: 4}).ReadFile(filepath.Join(root, "a.yaml")); err == nil || !strings.Contains(err.Error(), "a.yaml is larger than 4 bytes") {
		t.Errorf("MaxFileBytes: %v", err)
	}
	f := newFS(t, root, kustfs.Options{MaxTotalBytes: 8})
	if _, err := f.ReadFile(filepath.Join(root, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFile(filepath.Join(root, "sub", "b.yaml")); err == nil || !strings.Contains(err.Error(), "read more than 8 bytes") {
		t.Errorf("MaxTotalBytes: %v", err)
	}
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	if err := os.WriteFile(filepath.Join(root, "bomb.yaml"), []byte(bomb), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newFS(t, root, kustfs.Options{}).ReadFile(filepath.Join(root, "bomb.yaml")); err == nil || !strings.Contains(err.Error(), "aliases expand the files of the render to more than 1000000 nodes") {
		t.Errorf("alias bomb: %v", err)
	}
}

// TestOnReadAndKustomize: kustomize builds on the FS; OnRead sees every file
// read (resolved) and what it returns is what kustomize gets; its error
// fails the build.
func TestOnReadAndKustomize(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(p, c string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("kustomization.yaml", "resources: [cm.yaml]\n")
	write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: original}\n")
	var seen []string
	f := newFS(t, root, kustfs.Options{OnRead: func(p string, data []byte) ([]byte, error) {
		seen = append(seen, filepath.Base(p))
		return []byte(strings.ReplaceAll(string(data), "original", "changed")), nil
	}})
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(f, root)
	if err != nil {
		t.Fatal(err)
	}
	if rs := m.Resources(); len(rs) != 1 || rs[0].GetName() != "changed" {
		t.Errorf("resources %v", rs)
	}
	if strings.Join(seen, ",") != "kustomization.yaml,cm.yaml" {
		t.Errorf("OnRead saw %v", seen)
	}
	refuse := newFS(t, root, kustfs.Options{OnRead: func(p string, data []byte) ([]byte, error) {
		if filepath.Base(p) == "cm.yaml" {
			return nil, errors.New("refused by the caller")
		}
		return data, nil
	}})
	if _, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(refuse, root); err == nil || !strings.Contains(err.Error(), "refused by the caller") {
		t.Errorf("OnRead's error: %v", err)
	}
}

// TestFetches is kustomize's own reading of a reference (it moved here from
// pkg/deploy with the rule); the IaC scanner used a heuristic that missed
// SCP-style references with a user other than git, which kustomize then
// fetched with git during the scan.
func TestFetches(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"../base": false, "deployment.yaml": false, "github.com/acme/x//y?ref=v1": true, "GitHub.com:acme/x": true,
		"git@gitlab.example:acme/x.git": true, "https://example.com/x.yaml": true, "HTTP://example.com/x.yaml": true,
		"git::https://x/y": true, "ssh://git@x/y": true, "file:///tmp/x": true, "gitlab.com/acme/x": false,
		"example.com/x": false, " https://x/y": true,
		"deploy@127.0.0.1:acme/x": true, "ci-bot@git.example:acme/x//base?ref=v1": true, "HTTPS://x/y": true, "git::ssh://x/y": true, "my-dir/@x": false,
	} {
		if got := kustfs.Fetches(s); got != want {
			t.Errorf("Fetches(%q) = %v, want %v", s, got, want)
		}
	}
}

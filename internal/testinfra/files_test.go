package testinfra

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A tree written with WriteTree reads back whole with ReadTree, .git and
// symbolic links left out; CopyTree keeps modes and links.
func TestTreeRoundTrip(t *testing.T) {
	t.Parallel()
	files := map[string]string{"a.txt": "a\n", "d/e/f.go": "package e\n", "a/b": "nested\n"}
	dir := WriteTree(t, t.TempDir(), files)
	WriteFile(t, filepath.Join(dir, ".git", "HEAD"), "ref: refs/heads/main\n", 0o644)
	WriteFile(t, filepath.Join(dir, "bin", "run"), []byte("#!/bin/sh\n"), 0o755)
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	want := maps.Clone(files)
	want["bin/run"] = "#!/bin/sh\n"
	if got := ReadTree(t, dir); !maps.Equal(got, want) {
		t.Errorf("ReadTree = %q, want %q", got, want)
	}
	if got, names := TreeFiles(t, dir), slices.Sorted(maps.Keys(want)); !slices.Equal(got, names) {
		t.Errorf("TreeFiles = %q, want %q", got, names)
	}

	cp := filepath.Join(t.TempDir(), "copy")
	CopyTree(t, dir, cp)
	if got := ReadTree(t, cp); !maps.Equal(got, want) {
		t.Errorf("copy holds %q, want %q", got, want)
	}
	if fi, err := os.Stat(filepath.Join(cp, "bin", "run")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("copied executable: %v, %v; want mode 0755", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(cp, "link")); err != nil || target != "a.txt" {
		t.Errorf("copied link: %q, %v; want a link to a.txt", target, err)
	}
}

// WriteTar compresses with gzip exactly when the name ends in .gz.
func TestWriteTar(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"layer.tar", "db.tar.gz"} {
		p := WriteTar(t, filepath.Join(t.TempDir(), name), func(tw *tar.Writer) {
			if err := tw.WriteHeader(&tar.Header{Name: "f", Mode: 0o644, Size: 2}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write([]byte("hi")); err != nil {
				t.Fatal(err)
			}
		})
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var r io.Reader = f
		if filepath.Ext(name) == ".gz" {
			if r, err = gzip.NewReader(f); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		tr := tar.NewReader(r)
		hdr, err := tr.Next()
		if err != nil || hdr.Name != "f" {
			t.Fatalf("%s: first entry %v, %v", name, hdr, err)
		}
		if b, err := io.ReadAll(tr); err != nil || string(b) != "hi" {
			t.Errorf("%s: entry holds %q, %v", name, b, err)
		}
		if _, err := tr.Next(); err != io.EOF {
			t.Errorf("%s: more than one entry: %v", name, err)
		}
	}
}

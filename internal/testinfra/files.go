package testinfra

import (
	"archive/tar"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// WriteFile writes data to path with mode, creating the folders above it, and
// returns path. An error fails t.
func WriteFile[D ~string | ~[]byte](t testing.TB, path string, data D, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteTree writes files (contents by slash path) under dir, each with mode
// 0o644, and returns dir.
func WriteTree[D ~string | ~[]byte](t testing.TB, dir string, files map[string]D) string {
	t.Helper()
	for name, data := range files {
		WriteFile(t, filepath.Join(dir, filepath.FromSlash(name)), data, 0o644)
	}
	return dir
}

// TreeFiles lists the regular files under root by slash path, sorted, passing
// over .git folders. An error fails t.
func TreeFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == ".git":
			return fs.SkipDir
		case d.Type().IsRegular():
			rel, err := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// ReadTree reads the regular files under root (TreeFiles), contents by slash
// path. An error fails t.
func ReadTree(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range TreeFiles(t, root) {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(b)
	}
	return out
}

// WriteTar writes a tar archive to path, gzip-compressed when path ends in
// ".gz", holding what fill writes to it (fill fails t itself), and returns
// path.
func WriteTar(t testing.TB, path string, fill func(tw *tar.Writer)) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var gz *gzip.Writer
	tw := tar.NewWriter(f)
	if strings.HasSuffix(path, ".gz") {
		gz = gzip.NewWriter(f)
		tw = tar.NewWriter(gz)
	}
	fill(tw)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// CopyTree copies the tree at src into dst (created if missing): folders and
// regular files with their permission bits, symbolic links as links. An error
// fails t.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, fi.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, data, fi.Mode().Perm())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

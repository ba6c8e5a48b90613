package readfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// TestBounded: a regular file within the limit is read; a FIFO (which would
// block an open), a directory, a file over the limit and a missing file are
// errors saying so.
func TestBounded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("fifo", filepath.Join(dir, "to-fifo")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		limit int64
		want  string
		is    error
	}{
		{"f", 5, "", nil},
		{"f", 4, "f is larger than 4 bytes", readfile.ErrTooLarge},
		{"fifo", 5, "fifo is not a regular file", readfile.ErrNotRegular},
		{"to-fifo", 5, "to-fifo is not a regular file", readfile.ErrNotRegular},
		{".", 5, "", readfile.ErrNotRegular},
		{"missing", 5, "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		data, err := readfile.Bounded(filepath.Join(dir, tt.name), tt.limit)
		switch {
		case tt.is == nil && (err != nil || string(data) != "12345"):
			t.Errorf("%s: %q, %v", tt.name, data, err)
		case tt.is != nil && !errors.Is(err, tt.is):
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.is)
		case tt.want != "" && err.Error() != tt.want:
			t.Errorf("%s: error %q, want %q", tt.name, err, tt.want)
		}
	}
}

// TestInTree: a file inside the root is read, through links that stay inside;
// a link that leaves the root (absolute, by "..", dangling, or a directory
// above the file) is refused with ErrEscapes and nothing of its target read; a
// FIFO, /dev/zero behind a link and a file over the limit are refused as by
// Bounded; a path outside the root (absolute, or leaving it by "..") is read
// as Bounded reads it.
func TestInTree(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	root := filepath.Join(t.TempDir(), "ws")
	mustMkdir(t, filepath.Join(root, "sub"))
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "f"), "12345")
	write(filepath.Join(outside, "secret"), "SECRET")
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	link("f", "to-f")
	link("../f", "sub/up-to-f")
	link("sub", "to-sub")
	link("to-fifo-target", "dangling-inside")
	link("fifo", "to-fifo")
	link(filepath.Join(outside, "secret"), "abs-out")
	link("../"+filepath.Base(outside)+"/secret", "rel-out") // not reached: root's parent is another directory
	link(filepath.Join("..", "..", filepath.Base(filepath.Dir(outside)), filepath.Base(outside), "secret"), "dotdot-out")
	link(filepath.Join(outside, "missing"), "dangling-out")
	link(outside, "dir-out")
	link("/dev/zero", "zero")
	link(filepath.Join(root, "f"), "abs-in")
	tests := []struct {
		path  string
		limit int64
		want  string // error text, "" for any
		is    error  // nil: the content is "12345"
	}{
		{"f", 5, "", nil},
		{"to-f", 5, "", nil},
		{"sub/up-to-f", 5, "", nil},
		{"to-sub/up-to-f", 5, "", nil},
		{"sub/../f", 5, "", nil},
		{"abs-in", 5, "", readfile.ErrEscapes}, // os.Root refuses absolute link targets, even inside
		{"f", 4, "f is larger than 4 bytes", readfile.ErrTooLarge},
		{"fifo", 5, "fifo is not a regular file", readfile.ErrNotRegular},
		{"to-fifo", 5, "to-fifo is not a regular file", readfile.ErrNotRegular},
		{"zero", 5, "zero is a symbolic link that leaves the workspace: commit the file itself", readfile.ErrEscapes},
		{"abs-out", 5, "abs-out is a symbolic link that leaves the workspace: commit the file itself", readfile.ErrEscapes},
		{"dotdot-out", 5, "", readfile.ErrEscapes},
		{"dangling-out", 5, "", readfile.ErrEscapes},
		{"dir-out/secret", 5, "dir-out/secret lies under a symbolic link that leaves the workspace: commit the file itself", readfile.ErrEscapes},
		{"rel-out", 5, "", readfile.ErrEscapes},
		{"dangling-inside", 5, "", fs.ErrNotExist},
		{"missing", 5, "", fs.ErrNotExist},
		{".", 5, "", readfile.ErrNotRegular},
	}
	for _, tt := range tests {
		data, err := readfile.InTree(root, filepath.Join(root, tt.path), tt.limit)
		check(t, tt.path, data, err, tt.want, tt.is)
		if strings.Contains(string(data), "SECRET") || (err != nil && strings.Contains(err.Error(), "SECRET")) {
			t.Errorf("%s: the outside file was read", tt.path)
		}
	}
	// Outside the root: read as Bounded reads it (the workflow named it).
	write(filepath.Join(outside, "f"), "12345")
	data, err := readfile.InTree(root, filepath.Join(outside, "f"), 5)
	check(t, "outside", data, err, "", nil)
	data, err = readfile.InTree(root, filepath.Join(root, "..", filepath.Base(root), "..", "ws", "f"), 5)
	check(t, "ws/../ws/f", data, err, "", nil)
	if err := os.Symlink(filepath.Join(root, "f"), filepath.Join(outside, "back-in")); err != nil {
		t.Fatal(err)
	}
	data, err = readfile.InTree(root, filepath.Join(outside, "back-in"), 5)
	check(t, "outside link into root", data, err, "", nil)
	_, err = readfile.InTree(root, "/dev/zero", 5)
	check(t, "/dev/zero", nil, err, "zero is not a regular file", readfile.ErrNotRegular)
	// OpenInTree opens what InTree reads, and refuses what it refuses.
	f, err := readfile.OpenInTree(root, filepath.Join(root, "to-sub", "up-to-f"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, p := range []string{"fifo", "abs-out", "dir-out/secret"} {
		if f, err := readfile.OpenInTree(root, filepath.Join(root, p)); err == nil {
			f.Close()
			t.Errorf("OpenInTree %s: no error", p)
		}
	}
}

func check(t *testing.T, name string, data []byte, err error, want string, is error) {
	t.Helper()
	switch {
	case is == nil && (err != nil || string(data) != "12345"):
		t.Errorf("%s: %q, %v", name, data, err)
	case is != nil && !errors.Is(err, is):
		t.Errorf("%s: error %v, want %v", name, err, is)
	case want != "" && err.Error() != want:
		t.Errorf("%s: error %q, want %q", name, err, want)
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestMkdirInTree: a report folder in the workspace is created there, through
// links that stay inside; one that is, or lies under, a link leading out is
// refused (ErrEscapes) and nothing is created where the link leads; a folder
// outside the workspace is created as MkdirAll would.
func TestMkdirInTree(t *testing.T) {
	t.Parallel()
	ws, outside := t.TempDir(), t.TempDir()
	for _, l := range [][2]string{{outside, "out"}, {"inner", "in"}} {
		if err := os.Symlink(l[0], filepath.Join(ws, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(ws, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir, made string // made: where the folder must exist afterwards ("" refused)
	}{
		{filepath.Join(ws, "reports", "scan"), filepath.Join(ws, "reports", "scan")},
		{filepath.Join(ws, "in", "scan"), filepath.Join(ws, "inner", "scan")},
		{filepath.Join(ws, "out"), ""},
		{filepath.Join(ws, "out", "scan"), ""},
		{filepath.Join(outside, "named"), filepath.Join(outside, "named")},
	} {
		err := readfile.MkdirInTree(ws, tc.dir)
		if tc.made == "" {
			if !errors.Is(err, readfile.ErrEscapes) {
				t.Errorf("%s: %v, want ErrEscapes", tc.dir, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.dir, err)
		} else if st, err := os.Stat(tc.made); err != nil || !st.IsDir() {
			t.Errorf("%s: %s not created: %v", tc.dir, tc.made, err)
		}
	}
	if left, _ := os.ReadDir(outside); len(left) != 1 || left[0].Name() != "named" {
		t.Errorf("created through the link out: %v", left)
	}
}

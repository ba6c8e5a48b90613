package readfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
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

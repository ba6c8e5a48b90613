// Package readfile is the one bounded file reader of the suite's libraries:
// every file a gate reads whole from a tree it does not control (exceptions
// files, policies, kustomizations, Helm values, Terraform plans, go.mod) goes
// through Bounded, so none can be a FIFO that blocks the gate, a device, or
// larger than the caller's limit.
//
// A pull request controls every file of the checked-out tree, symbolic links
// included: a config file committed as a link to a file outside the workspace
// (a runner credential, /dev/zero) would make the gate read that file and
// perhaps quote it in a parse error. A gate reading a file that lies in the
// workspace therefore reads it through InTree (or OpenInTree, when the caller
// bounds the read itself), which opens it through an [os.Root] of the
// workspace: a symbolic link, in the file's name or in any directory above it,
// that leaves the workspace is refused (ErrEscapes), and so is a FIFO, without
// waiting on it. A path outside the workspace — one only the workflow can name
// — is read as Bounded reads it. The folders a gate writes its reports into
// follow the same rule (MkdirInTree): a committed link in their place cannot
// lead the gate's writes out of the workspace.
package readfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrNotRegular is wrapped by Bounded's error for anything but a regular file
// (a FIFO, a device, a directory, a socket).
var ErrNotRegular = errors.New("not a regular file")

// ErrEscapes is wrapped by InTree's error for a path under the root that a
// symbolic link leads out of the root.
var ErrEscapes = errors.New("symbolic link leaves the workspace")

// ErrTooLarge is wrapped by Bounded's error for a file over the limit.
var ErrTooLarge = errors.New("file too large")

// Bounded reads the regular file at path (symlinks followed), at most limit
// bytes of it: "<name> is not a regular file" (ErrNotRegular) or "<name> is
// larger than <limit> bytes" (ErrTooLarge) otherwise, name being path's base
// name; open and read errors are the os package's. The file is checked
// before it is opened (opening a FIFO blocks until something writes to it)
// and read through a limit after (it may grow in between).
func Bounded(path string, limit int64) ([]byte, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, path, limit)
}

// open opens the regular file at path (symlinks followed), checked before it
// is opened (opening a FIFO blocks) and after.
func open(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return regular(f, path)
}

// regular returns f when it is a regular file, and closes it otherwise.
func regular(f *os.File, path string) (*os.File, error) {
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = notRegular(path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readLimited reads at most limit bytes of f.
func readLimited(f *os.File, path string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes%w", filepath.Base(path), limit, hidden{ErrTooLarge})
	}
	return data, nil
}

// InTree reads the file at path like Bounded when path lies outside root (the
// workspace). When path lies inside root (path is
// made absolute and cleaned first, so a ".." that leaves root lexically makes
// it outside), the file is opened as OpenInTree opens it. Errors are
// OpenInTree's and Bounded's.
func InTree(root, path string, limit int64) ([]byte, error) {
	f, err := OpenInTree(root, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, path, limit)
}

// OpenInTree opens the regular file at path for reading, for a caller that
// bounds what it reads itself. A path outside root (the workspace) is opened as
// Bounded opens it. A path inside root is opened
// through an [os.Root] of root: every symbolic link on the way must stay inside
// root, otherwise the error is "<rel> is a symbolic link that leaves the
// workspace: commit the file itself" (or "<rel> lies under a symbolic link
// ..."; ErrEscapes, rel being path relative to root). A link leaving root is
// refused even when its target does not exist, and so is a link to an absolute
// path (os.Root resolves relative targets only). A missing file is an error
// wrapping fs.ErrNotExist; anything but a regular file is ErrNotRegular, and a
// FIFO is never waited on.
func OpenInTree(root, path string) (*os.File, error) {
	rel, inside, err := within(root, path)
	if err != nil {
		return nil, err
	}
	if !inside {
		return open(path)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close() // the file stays open
	// O_NONBLOCK: opening a FIFO returns at once (and regular refuses it)
	// instead of blocking until something writes to it.
	f, err := r.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, rootError(r, rel, err)
	}
	return regular(f, path)
}

// within reports whether path lies inside root (both made absolute), and its
// path relative to root if so.
func within(root, path string) (string, bool, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return "", false, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false, err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false, nil
	}
	return rel, true, nil
}

// rootError turns os.Root's "path escapes from parent" for rel (an unexported
// sentinel, found by asking r for an absolute name, which it refuses the same
// way before any system call) into ErrEscapes, naming rel.
func rootError(r *os.Root, rel string, err error) error {
	var pe, probe *os.PathError
	if _, perr := r.Lstat(string(filepath.Separator)); !errors.As(err, &pe) || !errors.As(perr, &probe) || !errors.Is(pe.Err, probe.Err) {
		return err
	}
	what := "lies under a symbolic link"
	if st, err := r.Lstat(rel); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		what = "is a symbolic link"
	}
	return fmt.Errorf("%s %s that leaves the workspace: commit the file itself%w", filepath.ToSlash(rel), what, hidden{ErrEscapes})
}

func notRegular(path string) error {
	return fmt.Errorf("%s is not a regular file%w", filepath.Base(path), hidden{ErrNotRegular})
}

// hidden wraps a sentinel without adding its text to the message.
type hidden struct{ err error }

func (h hidden) Error() string { return "" }
func (h hidden) Unwrap() error { return h.err }

// MkdirInTree creates dir, a folder a gate writes its reports into, with its
// parents, under the rule InTree reads by: when dir lies inside root (the
// workspace, whose content a pull request controls) it is created through an
// [os.Root] of root, so a symbolic link committed in its place or above it
// that leaves the workspace is refused (ErrEscapes) instead of leading the
// gate's writes out of it. A dir outside root (one the workflow names) is
// created as [os.MkdirAll] creates it.
func MkdirInTree(root, dir string) error {
	rel, inside, err := within(root, dir)
	if err != nil {
		return err
	}
	if !inside {
		return os.MkdirAll(dir, 0o755)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.MkdirAll(rel, 0o755); err != nil {
		return rootError(r, rel, err)
	}
	return nil
}

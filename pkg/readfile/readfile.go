// Package readfile is the one bounded file reader of the suite's libraries:
// every file a gate reads whole from a tree it does not control (exceptions
// files, policies, kustomizations, Helm values, Terraform plans, go.mod) goes
// through Bounded, so none can be a FIFO that blocks the gate, a device, or
// larger than the caller's limit.
package readfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrNotRegular is wrapped by Bounded's error for anything but a regular file
// (a FIFO, a device, a directory, a socket).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by Bounded's error for a file over the limit.
var ErrTooLarge = errors.New("file too large")

// Bounded reads the regular file at path (symlinks followed), at most limit
// bytes of it: "<name> is not a regular file" (ErrNotRegular) or "<name> is
// larger than <limit> bytes" (ErrTooLarge) otherwise, name being path's base
// name; open and read errors are the os package's. The file is checked
// before it is opened (opening a FIFO blocks until something writes to it)
// and read through a limit after (it may grow in between).
func Bounded(path string, limit int64) ([]byte, error) {
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
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, notRegular(path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes%w", filepath.Base(path), limit, hidden{ErrTooLarge})
	}
	return data, nil
}

func notRegular(path string) error {
	return fmt.Errorf("%s is not a regular file%w", filepath.Base(path), hidden{ErrNotRegular})
}

// hidden wraps a sentinel without adding its text to the message.
type hidden struct{ err error }

func (h hidden) Error() string { return "" }
func (h hidden) Unwrap() error { return h.err }

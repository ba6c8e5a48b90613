package testinfra

import (
	"os"
	"path/filepath"
	"syscall"
)

// BuildOnce returns the program <dir>/<name>, calling build the first time to
// make it. build writes the program at the path it is given, which is renamed
// into place when build succeeds (and removed when it fails), so the program is
// never seen half-written.
//
// The build lock, a .lock file in dir, is the one machine-wide lock of the
// tests, and it must stay: test binaries run in parallel (go test runs packages
// at once) and two that find the program missing would otherwise build it into
// the same folder together. It guards only the build: a built program is used
// without taking it.
func BuildOnce(dir, name string, build func(tmp string) error) (string, error) {
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp := bin + ".tmp"
	if err := build(tmp); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return bin, os.Rename(tmp, bin)
}

package testinfra

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// BuildOnce returns bin, building it the first time on this machine: build
// writes tmp (bin + ".tmp"), which is then renamed to bin, so no test sees a
// half-written binary. A lock file next to bin keeps test binaries that run
// at once (go test runs packages in parallel) from building it together; a
// built binary is used without taking the lock.
func BuildOnce(t testing.TB, bin string, build func(tmp string) error) string {
	t.Helper()
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	dir := filepath.Dir(bin)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	tmp := bin + ".tmp"
	if err := build(tmp); err != nil {
		os.Remove(tmp)
		t.Fatalf("building %s: %v", bin, err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

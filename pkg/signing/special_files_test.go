package signing

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// TestConfigAndKeyRefuseSpecialFiles: a trusted-root, signing-config or key
// path that is a FIFO or leads to a device (both size 0 to stat) is an input
// error at once; it was read until something wrote to the FIFO, or forever
// from /dev/zero.
func TestConfigAndKeyRefuseSpecialFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo, zero := filepath.Join(dir, "trusted_root.json"), filepath.Join(dir, "cosign.key")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, zero} {
		if _, err := ReadConfig(p, "trusted-root"); errkind.Of(err) != errkind.KindInput {
			t.Errorf("ReadConfig(%s): %v, want an input error", filepath.Base(p), err)
		}
		if _, err := loadKey(p, nil); err == nil || errors.Is(err, os.ErrNotExist) {
			t.Errorf("loadKey(%s): %v, want a refusal", filepath.Base(p), err)
		}
	}
}

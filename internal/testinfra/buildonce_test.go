package testinfra

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// A program is built once however many callers ask at the same time, and a
// failed build leaves nothing behind: the next call builds again.
func TestBuildOnce(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tool@v1")
	if _, err := BuildOnce(dir, "tool", func(tmp string) error {
		if err := os.WriteFile(tmp, []byte("half"), 0o755); err != nil {
			return err
		}
		return errors.New("compiler crashed")
	}); err == nil || err.Error() != "compiler crashed" {
		t.Fatalf("a failed build: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "tool*")); len(left) != 0 {
		t.Fatalf("a failed build left %v", left)
	}
	var builds atomic.Int32
	var wg sync.WaitGroup
	bins := make([]string, 8)
	for i := range bins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bin, err := BuildOnce(dir, "tool", func(tmp string) error {
				builds.Add(1)
				return os.WriteFile(tmp, []byte("#!/bin/sh\n"), 0o755)
			})
			if err != nil {
				t.Error(err)
			}
			bins[i] = bin
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("built %d times, want once", n)
	}
	for _, bin := range bins {
		if data, err := os.ReadFile(bin); err != nil || string(data) != "#!/bin/sh\n" || bin != filepath.Join(dir, "tool") {
			t.Errorf("%s: %q, %v", bin, data, err)
		}
	}
}

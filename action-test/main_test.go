package actiontest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// h is the harness every test uses; TestMain builds the binary once.
//
// Every test is parallel. Go starts the paused parallel tests last-declared
// first, so the tests that run whole workflows — by far the longest — are
// declared last (workflow_*_test.go sorts after every other file): they start
// at once and the short tests fill the time around them.
var h *Harness

func TestMain(m *testing.M) {
	os.Exit(func() int {
		root, err := filepath.Abs("..")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		dir, err := os.MkdirTemp("", "secure-gates-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "secure-gates")
		// As release image builds the image's binary (static, -trimpath,
		// stripped): what the actions run, and a link a quarter the cost of a
		// cgo build with DWARF.
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		start := time.Now()
		err = build.Run()
		RecordUsage("TestMain", "go build", build, start)
		if err != nil {
			fmt.Fprintln(os.Stderr, "building secure-gates:", err)
			return 1
		}
		h = &Harness{Root: root, Binary: bin}
		return m.Run()
	}())
}

func run(t *testing.T, step Step) *Result {
	t.Helper()
	if step.TempDir == "" {
		step.TempDir = t.TempDir()
	}
	res, err := h.Run(context.Background(), step)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// wantSummary fails t for each of wants the step summary of res lacks.
func wantSummary(t *testing.T, res *Result, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(res.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, res.Summary)
		}
	}
}

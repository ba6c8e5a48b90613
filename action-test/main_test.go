package actiontest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// h is the harness every test uses; TestMain builds the binary once.
//
// Every test is parallel. The tests spend their time waiting for the
// subprocesses they start (the binary, the cosign CLI, Sigstore's services,
// wapiti) and for those to wait on each other, not computing, so unless -parallel
// is given they run up to parallelTests at a time, not GOMAXPROCS (go test's
// default, for tests that compute): with 2 slots on 2 cores the whole-workflow
// tests — by far the longest — waited behind whichever short tests the
// scheduler resumed first (the order the paused tests resume in is not
// declaration order), and the cores idled while each slot waited.
var h *Harness

// parallelTests is the default -parallel of this package.
func parallelTests() int { return max(8, 2*runtime.GOMAXPROCS(0)) }

func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		if err := flag.Set("test.parallel", strconv.Itoa(parallelTests())); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
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

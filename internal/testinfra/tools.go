package testinfra

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Tool is an outside program the tests run, built from its Go module at a pinned
// version.
type Tool struct {
	// Name is the binary's name.
	Name string
	// Package is the main package, e.g. github.com/sigstore/cosign/v2/cmd/cosign.
	Package string
	// Version is the module version, e.g. v2.6.5.
	Version string
}

// Pinned tools. Their versions are the ones DESIGN.md and the recipes name.
var (
	CosignCLI = Tool{Name: "cosign", Package: "github.com/sigstore/cosign/v2/cmd/cosign", Version: "v2.6.5"}
	Crane     = Tool{Name: "crane", Package: "github.com/google/go-containerregistry/cmd/crane", Version: "v0.22.1"}
	// Actionlint is the actionlint CLI at the version the tests link as a library
	// (go.mod); unlike the library it runs shellcheck on every run: script.
	Actionlint = Tool{Name: "actionlint", Package: "github.com/rhysd/actionlint/cmd/actionlint", Version: "v1.7.12"}
)

// ToolsDir is the cache folder tools are built into: $SECURE_GATES_TOOLS, or
// secure-gates/tools in the user's cache folder (~/.cache on Linux), outside the
// checkout so a fresh clone on a warm machine reuses what was built.
func ToolsDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("SECURE_GATES_TOOLS"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("locating the tools cache: %v (set SECURE_GATES_TOOLS)", err)
	}
	return filepath.Join(cache, "secure-gates", "tools")
}

// RepoRoot finds the repository root (the folder holding go.mod) from the working
// directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Path returns the tool's binary, building it with `go install pkg@version` into
// <ToolsDir>/<name>@<version>/ the first time (BuildOnce: under the build lock,
// never half-written).
func (tool Tool) Path(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(ToolsDir(t), tool.Name+"@"+tool.Version)
	name := tool.Name
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	bin, err := BuildOnce(dir, name, func(tmp string) error {
		t.Logf("building %s %s into %s (once per machine)", tool.Name, tool.Version, dir)
		gobin := tmp + ".bin"
		defer os.RemoveAll(gobin)
		cmd := exec.Command("go", "install", tool.Package+"@"+tool.Version)
		cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=", "CGO_ENABLED=0")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s@%s: %v\n%s", tool.Package, tool.Version, err, lastLines(string(out), 30))
		}
		return os.Rename(filepath.Join(gobin, name), tmp)
	})
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

package testinfra

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ModuleTool is an outside program built from a wrapper module inside this
// repository (a nested go.mod pinning it, with the replace directives `go
// install pkg@version` refuses). The nested module keeps it out of the main
// module's ./... and go.sum.
type ModuleTool struct {
	// Name is the binary's name.
	Name string
	// CacheName names the cache folder, <ToolsDir>/<CacheName>@<Version>.
	CacheName string
	// Module is the wrapper module's folder, relative to the repository root.
	Module string
	// Package is the main package built from the wrapper module.
	Package string
	// Version is the pinned version the wrapper module requires.
	Version string
}

// KyvernoCLI is the Kyverno CLI (kubectl-kyverno) v1.19.1, built from the
// wrapper module internal/testinfra/kyvernocli (13 minutes and 400 MB the first
// time; see the recipes' Kyverno section).
var KyvernoCLI = ModuleTool{
	Name:      "kubectl-kyverno",
	CacheName: "kyverno",
	Module:    "internal/testinfra/kyvernocli",
	Package:   "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno",
	Version:   "v1.19.1",
}

// Path returns the tool's binary, building it from its wrapper module into
// <ToolsDir>/<CacheName>@<Version>/ the first time (BuildOnce: under the same
// lock as Tool.Path, which also keeps a background warm-up build from building
// it twice; never half-written).
func (tool ModuleTool) Path(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(ToolsDir(t), tool.CacheName+"@"+tool.Version)
	bin, err := BuildOnce(dir, tool.Name, func(tmp string) error {
		root, err := RepoRoot()
		if err != nil {
			return err
		}
		t.Logf("building %s %s from %s into %s (once per machine; the Kyverno CLI takes ~13 minutes cold, the others a minute or two)", tool.Name, tool.Version, tool.Module, dir)
		cmd := exec.Command("go", "build", "-o", tmp, tool.Package)
		cmd.Dir = filepath.Join(root, tool.Module)
		cmd.Env = append(os.Environ(), "GOFLAGS=", "CGO_ENABLED=0", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s@%s from the wrapper module %s (needs the Go module proxy the first time): %v\n%s", tool.Package, tool.Version, tool.Module, err, lastLines(string(out), 30))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

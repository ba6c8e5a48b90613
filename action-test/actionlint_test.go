package actiontest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// actionlintCLI runs the actionlint CLI (testinfra.Actionlint, built into the
// tools cache) in dir, which lints every workflow under dir/.github/workflows,
// with shellcheck checking each run: script.
func actionlintCLI(t *testing.T, dir string) (string, error) {
	t.Helper()
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatalf("actionlint checks run: scripts with shellcheck: apt-get install shellcheck (scripts/test does): %v", err)
	}
	cmd := exec.Command(testinfra.Actionlint.Path(t), "-no-color", "-shellcheck", shellcheck, "-pyflakes", "")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestProjectWorkflowsActionlintCLI: the actionlint CLI passes on every
// workflow of .github/workflows/ (ci.yml, release.yml and the reusable
// workflows), shellcheck included — which the library (TestProjectWorkflows)
// does not run. The check is live: an unquoted variable in a run: script of a
// copy is reported.
func TestProjectWorkflowsActionlintCLI(t *testing.T) {
	t.Parallel()
	if out, err := actionlintCLI(t, h.Root); err != nil {
		t.Errorf("actionlint on .github/workflows: %v\n%s", err, out)
	}
	dir := t.TempDir()
	wf := filepath.Join(dir, ".github", "workflows")
	if err := os.MkdirAll(wf, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(h.Root, ".github", "workflows", "release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	const quoted = `echo "digest=$digest" >> "$GITHUB_OUTPUT"`
	if !strings.Contains(string(raw), quoted) {
		t.Fatalf("release.yml no longer has %q; update the test", quoted)
	}
	bad := strings.Replace(string(raw), quoted, `echo digest=$digest >> $GITHUB_OUTPUT`, 1)
	if err := os.WriteFile(filepath.Join(wf, "release.yml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("git", "init", "-q", dir).Run(); err != nil {
		t.Fatal(err)
	}
	out, err := actionlintCLI(t, dir)
	if err == nil || !strings.Contains(out, "SC2086") {
		t.Errorf("actionlint accepted an unquoted variable in a run: script (%v):\n%s", err, out)
	}
}

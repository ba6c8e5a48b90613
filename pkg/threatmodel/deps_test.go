package threatmodel_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the package light: the action that checks PR
// bodies must not pull in cosign, syft, grype or any other module than
// goldmark (the CommonMark parser, itself standard library only).
func TestStandardLibraryOnly(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/secure-gates/secure-gates/"
	const goldmark = "github.com/yuin/goldmark"
	self := false
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, module) && p != goldmark && !strings.HasPrefix(p, goldmark+"/") {
			t.Errorf("imports %s, which is outside the standard library, this module and goldmark", p)
		}
		self = self || p == module+"pkg/threatmodel"
	}
	if !self {
		t.Fatalf("go list did not list the package itself; output:\n%s", out)
	}
}

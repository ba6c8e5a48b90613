package exceptions

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// The exceptions input scan, sbom and dast embed: empty is DefaultPath, which
// may be missing; a file the user names must exist; the path is resolved by
// the gate (against the workspace).
func TestFileInputLoad(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	resolve := func(p string) string { return filepath.Join(ws, p) }
	if set, err := (FileInput{}).Load(resolve, now); err != nil || set == nil || len(set.Entries) != 0 {
		t.Errorf("default file missing: %v, %v; want an empty set", set, err)
	}
	if _, err := (FileInput{Exceptions: "waivers.yaml"}).Load(resolve, now); errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), filepath.Join(ws, "waivers.yaml")+": it does not exist") {
		t.Errorf("named file missing: %v, want an input error naming the resolved path", err)
	}
	named := write(t, "exceptions:\n  - id: CVE-1\n    reason: r\n    expires: 2026-12-01\n")
	set, err := (FileInput{Exceptions: filepath.Base(named)}).Load(func(p string) string { return filepath.Join(filepath.Dir(named), p) }, now)
	if err != nil || len(set.Entries) != 1 {
		t.Errorf("named file: %v, %v", set, err)
	}
}

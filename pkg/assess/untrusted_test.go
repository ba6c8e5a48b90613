package assess

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The scanned directory is untrusted: symbolic links leading out of it are not
// followed, FIFOs and oversized files are not read, a kustomization naming a
// remote base is not built (kustomize would run git: a git on PATH that leaves
// a marker shows it never ran), and key files the policy names are never
// opened (a FIFO would block the open forever).
func TestUntrustedDirectory(t *testing.T) {
	outside := t.TempDir()
	dir := t.TempDir()
	mk := func(p, content string) {
		t.Helper()
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A paved-road workflow and an assessment outside, linked in.
	wfData, err := os.ReadFile("../../examples/.github/workflows/secure-gates.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "wf.yml"), wfData, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".github", "workflows"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "wf.yml"), filepath.Join(dir, ".github", "workflows", "ci.yml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "linked")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, ".github", "workflows", "fifo.yml"), 0o644); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(dir, ".github", "workflows", "big.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(2 << 30); err != nil { // sparse
		t.Fatal(err)
	}
	big.Close()
	fifo := filepath.Join(outside, "key.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	mk(policyFile, "apiVersion: secure-gates/v1\nkind: Policy\nidentities:\n  - key: "+fifo+"\n  - key: ../../../.."+fifo+"\nrequire:\n  - type: vuln\n")
	mk("k/kustomization.yaml", "resources:\n  - github.com/evil/repo//base?ref=main\n")
	mk("k2/kustomization.yaml", "resources:\n  - git@github.com:evil/repo.git\n")
	bin := t.TempDir()
	marker := filepath.Join(outside, "git-ran")
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte("#!/bin/sh\ntouch "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	r := evalDir(t, dir, Options{})
	if _, err := os.Stat(marker); err == nil {
		t.Error("git ran")
	}
	// Only the policy (enforce mode, question 12) counts: nothing linked in does.
	if r.Total != 1 || scoreOf(r, 12).Score != 1 {
		t.Errorf("total %d: evidence outside the directory was counted: %+v", r.Total, r.Questions)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{
		".github/workflows/big.yml was not read: over 1048576 bytes",
		`k/kustomization.yaml was not built: k/kustomization: resources entry "github.com/evil/repo//base?ref=main" is not a relative path`,
		`k2/kustomization.yaml was not built`,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "fifo") || strings.Contains(notes, "linked") {
		t.Errorf("a FIFO or a linked folder was listed:\n%s", notes)
	}
	if strings.Contains(notes, policyFile) {
		t.Errorf("the policy with key identities did not load:\n%s", notes)
	}
}

package sarifin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/sarif"
)

func TestIngest(t *testing.T) {
	root, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Ingest(context.Background(), []string{"*.sarif"}, Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s:%d", f.Scanner, f.RuleID, f.Severity, f.Path, f.StartLine))
		if f.Fingerprint == "" || f.Message == "" || f.Title == "" {
			t.Errorf("incomplete finding %+v", f)
		}
	}
	want := []string{
		"CodeQL|js/xss|medium|web/index.js:40",
		"CodeQL|js/xss|medium|web/other.js:2",
		"Semgrep OSS|python.lang.security.audit.eval-detected|high|src/app.py:12",
		"Semgrep OSS|generic.style.todo|low|src/util x.py:3",
		"Semgrep OSS|python.lang.security.audit.eval-detected|high|:0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Tools) != 2 || res.Tools[0].Name != "CodeQL" || res.Tools[0].Version != "2.19.0" || res.Tools[1].Version != "1.97.0" {
		t.Errorf("tools = %+v", res.Tools)
	}
	if res.Findings[2].Fingerprint != sarif.Fingerprint("Semgrep OSS", "python.lang.security.audit.eval-detected", "abc123:1") {
		t.Errorf("the tool's own fingerprint was not kept")
	}
}

func TestIngestErrors(t *testing.T) {
	root, _ := filepath.Abs("testdata")
	dir := t.TempDir()
	many := filepath.Join(dir, "many.sarif")
	var runs []string
	for i := range MaxTools + 1 {
		runs = append(runs, fmt.Sprintf(`{"tool":{"driver":{"name":"tool%d"}},"results":[]}`, i))
	}
	if err := os.WriteFile(many, []byte(`{"version":"2.1.0","runs":[`+strings.Join(runs, ",")+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.sarif")
	if err := os.WriteFile(bad, []byte(`{"version":"2.0.0","runs":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		patterns []string
		o        Options
		want     string
	}{
		{"no match", []string{"nothing/*.sarif"}, Options{Root: root}, "matched no file"},
		{"wrong version", []string{bad}, Options{Root: root}, `"2.1.0"`},
		{"too big", []string{"semgrep.sarif"}, Options{Root: root, MaxFileBytes: 100}, "limit"},
		{"too many files", []string{"*.sarif"}, Options{Root: root, MaxFiles: 1}, "more than the 1"},
		{"too many results", []string{"*.sarif"}, Options{Root: root, MaxResults: 2}, "more than 2 results"},
		{"bad pattern", []string{"[.sarif"}, Options{Root: root}, "pattern"},
		{"too many tools", []string{many}, Options{Root: root}, "more than the 60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Ingest(context.Background(), tt.patterns, tt.o)
			if err == nil || errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v (%v), want input error with %q", err, errkind.Of(err), tt.want)
			}
		})
	}
}

func FuzzIngest(f *testing.F) {
	for _, n := range []string{"semgrep.sarif", "codeql.sarif"} {
		data, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":""}},"results":[{"ruleIndex":99,"message":{}}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x.sarif"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := Ingest(context.Background(), []string{"x.sarif"}, Options{Root: dir, MaxResults: 1000})
		if err != nil {
			return
		}
		for _, f := range res.Findings {
			if f.Scanner == "" || f.RuleID == "" || f.Fingerprint == "" || strings.HasPrefix(f.Path, "..") || strings.HasPrefix(f.Path, "/") {
				t.Fatalf("bad finding %+v", f)
			}
		}
	})
}

// Observation 8 of issue 13: a SARIF run whose tool says it did not run was
// ingested as "ran, 0 findings". A tool that failed carries Failure.
func TestToolFailure(t *testing.T) {
	t.Parallel()
	run := func(name, invocations string) string {
		s := `{"tool":{"driver":{"name":"` + name + `"}},"results":[]`
		if invocations != "" {
			s += `,"invocations":` + invocations
		}
		return s + `}`
	}
	doc := func(runs ...string) string { return `{"version":"2.1.0","runs":[` + strings.Join(runs, ",") + `]}` }
	tests := []struct {
		name  string
		sarif string
		want  string // "" means the tool ran
	}{
		{"executionSuccessful false", doc(run("semgrep", `[{"executionSuccessful":false}]`)), "invocations[0].executionSuccessful is false"},
		{"executionSuccessful missing", doc(run("semgrep", `[{}]`)), "has no executionSuccessful"},
		{"executionSuccessful null", doc(run("semgrep", `[{"executionSuccessful":null}]`)), "has no executionSuccessful"},
		{"invocation null", doc(run("semgrep", `[null]`)), "invocations[0] is null"},
		{"error notification", doc(run("semgrep", `[{"executionSuccessful":true,"toolExecutionNotifications":[{"level":"warning","message":{"text":"partial parse"}},{"level":"error","message":{"text":"out of memory\n::error::x"}}]}]`)),
			`toolExecutionNotifications[1]: "out of memory ::error::x"`},
		{"error notification in capitals", doc(run("semgrep", `[{"executionSuccessful":true,"toolExecutionNotifications":[{"level":" ERROR ","message":{"text":"boom"}}]}]`)), "boom"},
		{"process did not start", doc(run("semgrep", `[{"executionSuccessful":true,"processStartFailureMessage":"no such file"}]`)), "did not start"},
		{"the second invocation failed", doc(run("semgrep", `[{"executionSuccessful":true},{"executionSuccessful":false}]`)), "invocations[1].executionSuccessful is false"},
		{"the second run of the tool failed", doc(run("semgrep", `[{"executionSuccessful":true}]`), run("semgrep", `[{"executionSuccessful":false}]`)), "x.sarif run 1: invocations[0]"},
		{"a string is not a boolean", doc(run("semgrep", `[{"executionSuccessful":"true"}]`)), "error"},
		{"succeeded", doc(run("semgrep", `[{"executionSuccessful":true}]`)), ""},
		{"warnings only", doc(run("semgrep", `[{"executionSuccessful":true,"toolExecutionNotifications":[{"level":"warning","message":{"text":"x"}}]}]`)), ""},
		{"no invocations says nothing", doc(run("semgrep", "")), ""},
		{"empty invocations", doc(run("semgrep", `[]`)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "x.sarif"), []byte(tt.sarif), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := Ingest(context.Background(), []string{"x.sarif"}, Options{Root: dir})
			if tt.want == "error" {
				if errkind.Of(err) != errkind.KindInput {
					t.Fatalf("error %v, want an input error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Tools) != 1 {
				t.Fatalf("tools %+v", res.Tools)
			}
			got := res.Tools[0].Failure
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("failure %q, want %q", got, tt.want)
			}
			if got != "" && !strings.HasPrefix(got, "x.sarif run ") {
				t.Errorf("failure %q does not name the file and run", got)
			}
		})
	}
}

// A SARIF file of the scanned tree (which a pull request controls) that is a
// symbolic link out of the tree, or a FIFO, is an input error: the link used
// to be followed and the file outside read, the FIFO to block the scan.
func TestIngestHostileTree(t *testing.T) {
	t.Parallel()
	outside := filepath.Join(t.TempDir(), "outside.sarif")
	if err := os.WriteFile(outside, []byte(`{"version":"2.1.0","runs":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		make func(p string) error
		want string
	}{
		{"link out", func(p string) error { return os.Symlink(outside, p) }, "x.sarif is a symbolic link that leaves the workspace"},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "x.sarif is not a regular file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			if err := tt.make(filepath.Join(root, "x.sarif")); err != nil {
				t.Fatal(err)
			}
			_, err := Ingest(context.Background(), []string{"*.sarif"}, Options{Root: root})
			if err == nil || errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want an input error with %q", err, tt.want)
			}
		})
	}
}

package actiontest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instructions returns the Dockerfile's instructions with continuation lines
// joined and comments dropped.
func instructions(t *testing.T, path string) [][2]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		kw, rest, _ := strings.Cut(cur.String(), " ")
		out = append(out, [2]string{strings.ToUpper(kw), strings.TrimSpace(rest)})
		cur.Reset()
	}
	return out
}

// The action image keeps the invariants GitHub and our security defaults need,
// since it cannot be built here (no Docker engine).
func TestDockerfileInvariants(t *testing.T) {
	t.Parallel()
	ins := instructions(t, filepath.Join(h.Root, "Dockerfile"))
	pinned := regexp.MustCompile(`^\S+@sha256:[0-9a-f]{64}(\s+AS\s+\S+)?$`)
	var froms, entrypoints []string
	var build string
	for _, in := range ins {
		switch in[0] {
		case "USER":
			t.Errorf("USER %s: GitHub runs container actions as root so they can read GITHUB_WORKSPACE", in[1])
		case "WORKDIR":
			t.Errorf("WORKDIR %s: the runner sets the working directory to the workspace", in[1])
		case "FROM":
			froms = append(froms, in[1])
			if !pinned.MatchString(in[1]) {
				t.Errorf("FROM %s is not pinned by digest", in[1])
			}
		case "ENTRYPOINT":
			entrypoints = append(entrypoints, in[1])
		case "RUN":
			if strings.Contains(in[1], "go build") {
				build = in[1]
			}
		case "ADD":
			t.Errorf("ADD %s: use COPY (ADD fetches URLs and unpacks archives)", in[1])
		}
	}
	if len(froms) < 2 {
		t.Errorf("want a multi-stage build, got FROM %v", froms)
	}
	if len(entrypoints) != 1 || entrypoints[0] != `["/usr/local/bin/secure-gates"]` {
		t.Errorf("ENTRYPOINT = %v, want exec form [\"/usr/local/bin/secure-gates\"]", entrypoints)
	}
	for _, want := range []string{"-trimpath", "-s -w"} {
		if !strings.Contains(build, want) {
			t.Errorf("go build %q lacks %s", build, want)
		}
	}
	all := ""
	for _, in := range ins {
		all += in[0] + " " + in[1] + "\n"
	}
	if !strings.Contains(all, "CGO_ENABLED=0") {
		t.Error("the binary is not built static (CGO_ENABLED=0)")
	}
	final := all[strings.LastIndex(all, "FROM "):]
	if !regexp.MustCompile(`apt-get install[^\n]*\bgit\b`).MatchString(final) {
		t.Error("the final image must contain git (history scans need it)")
	}
}

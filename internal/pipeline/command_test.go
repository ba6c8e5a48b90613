package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// A bad flag is reported once, by the caller, escaped: the flag package's own
// line, which quotes the flag raw, is not printed, so on a runner a flag named
// "x\n::warning::…" puts no workflow command on a line of its own. -h prints the
// usage and succeeds.
func TestCommandFlags(t *testing.T) {
	t.Parallel()
	run := func(args ...string) (string, error) {
		var stdout bytes.Buffer
		rt := gha.New(gha.Options{Stdout: &stdout, Getenv: func(k string) string { return map[string]string{"GITHUB_ACTIONS": "true"}[k] }})
		err := Command(nil).Run(context.Background(), rt, args)
		return stdout.String(), err
	}
	out, err := run("--x\n::warning::injected")
	if errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "pipeline: flag provided but not defined") {
		t.Errorf("err = %v", err)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "::") {
			t.Errorf("a workflow command in the output: %q", l)
		}
	}
	if out, err := run("-h"); err != nil || !strings.Contains(out, "-work-dir") {
		t.Errorf("-h: %v\n%s", err, out)
	}
	if _, err := run("a", "b"); errkind.Of(err) != errkind.KindInput {
		t.Errorf("two repositories: %v", err)
	}
}

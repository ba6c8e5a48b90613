package actiontest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/secure-gates/secure-gates/actions"
	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// Every gate reads exactly the inputs its action.yml declares: no undeclared
// input, no dead input.
func TestInputsMatchActionYAML(t *testing.T) {
	t.Parallel()
	eachGate(t, func(t *testing.T, g gate.Gate, _ *gha.Action) {
		onDisk, err := os.ReadFile(filepath.Join(h.Root, "actions", g.Name, "action.yml"))
		if err != nil || !bytes.Equal(onDisk, g.ActionYAML) {
			t.Fatalf("the gate's embedded action.yml is not actions/%s/action.yml (%v)", g.Name, err)
		}
		if err := g.CheckInputs(); err != nil {
			t.Error(err)
		}
	})
}

// Every gate writes exactly the outputs its action.yml declares: no output
// written that action.yml does not declare, none declared and never written
// (gate.Gate.Check, on the gate's Outputs struct).
func TestOutputsMatchActionYAML(t *testing.T) {
	t.Parallel()
	for _, g := range actions.All() {
		t.Run(g.Name, func(t *testing.T) {
			if err := g.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

// eachGate runs check as a subtest for every gate, with its action.yml parsed.
func eachGate(t *testing.T, check func(t *testing.T, g gate.Gate, a *gha.Action)) {
	t.Helper()
	for _, g := range actions.All() {
		t.Run(g.Name, func(t *testing.T) {
			a, err := gha.ParseAction(g.ActionYAML)
			if err != nil {
				t.Fatal(err)
			}
			check(t, g, a)
		})
	}
}

func requiredInputs(a *gha.Action) map[string]string {
	with := map[string]string{}
	for _, in := range a.Inputs {
		if in.Required && !in.HasDefault {
			with[in.Name] = "example.test/acme/app@sha256:" + strings.Repeat("a", 64)
		}
	}
	return with
}

// Every action.yml is a valid container action the way the docs describe it, and
// passes actionlint when a workflow uses it.
func TestActionMetadata(t *testing.T) {
	t.Parallel()
	eachGate(t, func(t *testing.T, g gate.Gate, a *gha.Action) {
		if a.Runs.Using != "docker" || a.Runs.Image != "../../Dockerfile" || !slices.Equal(a.Runs.Args, []string{g.Name}) {
			t.Errorf("runs = %+v, want docker, ../../Dockerfile, args [%s]", a.Runs, g.Name)
		}
		if strings.TrimSpace(a.Description) == "" {
			t.Error("no description")
		}
		for _, in := range a.Inputs {
			if strings.TrimSpace(in.Description) == "" {
				t.Errorf("input %s has no description", in.Name)
			}
		}
		for _, o := range a.Outputs {
			if strings.TrimSpace(o.Description) == "" {
				t.Errorf("output %s has no description", o.Name)
			}
		}
		if !strings.Contains(string(g.ActionYAML), "branding:") {
			t.Error("no branding")
		}
	})
}

// lint runs actionlint (as a library) on a workflow inside the repository, so local
// `uses: ./actions/<gate>` steps are checked against their action.yml.
func lint(t *testing.T, name string, content []byte) []*actionlint.Error {
	t.Helper()
	proj, err := actionlint.NewProject(h.Root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := actionlint.NewLinter(&bytes.Buffer{}, &actionlint.LinterOptions{WorkingDir: h.Root})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint(name, content, proj)
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

func TestActionlintActions(t *testing.T) {
	t.Parallel()
	var steps strings.Builder
	for _, g := range actions.All() {
		a, _ := gha.ParseAction(g.ActionYAML)
		steps.WriteString("      - uses: ./actions/" + g.Name + "\n")
		if with := requiredInputs(a); len(with) > 0 {
			steps.WriteString("        with:\n")
			for k, v := range with {
				steps.WriteString("          " + k + ": " + v + "\n")
			}
		}
	}
	wf := "name: all\non: push\npermissions:\n  contents: read\njobs:\n  all:\n    runs-on: ubuntu-latest\n    steps:\n" +
		"      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n        with:\n          persist-credentials: false\n" + steps.String()
	for _, e := range lint(t, ".github/workflows/all.yml", []byte(wf)) {
		t.Errorf("actionlint: %s", e.Error())
	}
	// The check is live: an input the action does not declare is reported.
	bad := strings.Replace(wf, "      - uses: ./actions/threat-model\n", "      - uses: ./actions/threat-model\n        with:\n          no-such-input: x\n", 1)
	if errs := lint(t, ".github/workflows/bad.yml", []byte(bad)); len(errs) == 0 {
		t.Error("actionlint accepted an undeclared input")
	}
}

// Every starter workflow passes actionlint.
func TestActionlintTemplates(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(h.Root, "workflows-templates", "*.yml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range lint(t, ".github/workflows/"+filepath.Base(f), data) {
			t.Errorf("%s: %s", filepath.Base(f), e.Error())
		}
	}
}

func TestCLI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, 0, "secure-gates "},
		{[]string{"help"}, 0, "Exit codes: 0 pass, 1 failed by policy, 2 usage or input error, 3 infrastructure error"},
		{[]string{"help", "threat-model"}, 0, "--min-words (default \"5\")"},
		{[]string{"threat-model", "--help"}, 0, "--fail-on-missing"},
		{nil, 2, "Usage: secure-gates <command>"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"threat-model", "--no-such-flag"}, 2, "no-such-flag"},
		{[]string{"threat-model", "--min-words", "x", "body"}, 2, `input "min-words": "x" is not an integer`},
		{[]string{"threat-model"}, 2, "no body to check"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := exec.Command(h.Binary, tt.args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			out, _ := cmd.CombinedOutput()
			if cmd.ProcessState.ExitCode() != tt.code || !strings.Contains(string(out), tt.want) {
				t.Errorf("exit %d, want %d; output:\n%s\nwant it to contain %q", cmd.ProcessState.ExitCode(), tt.code, out, tt.want)
			}
		})
	}
}

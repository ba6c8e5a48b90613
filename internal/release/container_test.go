package release

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"gopkg.in/yaml.v3"
)

// extractRootfs flattens the image's layers into a fresh folder: the filesystem
// a container of the image starts with.
func extractRootfs(t *testing.T, res *ImageResult) string {
	t.Helper()
	root := t.TempDir()
	rc := mutate.Extract(res.Image)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Clean("/" + h.Name)
		p := filepath.Join(root, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, os.FileMode(h.Mode).Perm()); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, os.FileMode(h.Mode).Perm()|modeBits(h.Mode))
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		default:
			t.Fatalf("%s: unexpected entry type %q in the image", h.Name, h.Typeflag)
		}
	}
	return root
}

func modeBits(m int64) os.FileMode {
	if m&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

// actionArgs reads runs.args and the inputs of an action.yml the way the runner
// does: every input becomes INPUT_<NAME> with its default, expressions
// evaluated (github.token to a fake token, anything else to empty).
func actionArgs(t *testing.T, gate string) (args []string, env []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "actions", gate, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Args []string `yaml:"args"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	eval := func(s string) string {
		if strings.Contains(s, "${{") {
			if strings.Contains(s, "github.token") {
				return "ghs_faketoken"
			}
			return ""
		}
		return s
	}
	for _, arg := range a.Runs.Args {
		args = append(args, eval(arg))
	}
	for k, in := range a.Inputs {
		env = append(env, "INPUT_"+strings.ToUpper(strings.ReplaceAll(k, " ", "_"))+"="+eval(in.Default))
	}
	return args, env
}

// containerRun runs the image's entrypoint in rootfs the way GitHub runs a
// container action: chroot into the image (when root), working directory
// /github/workspace, owned by another user, file commands under
// /github/file_commands, the event under /github/workflow, HOME /github/home,
// and nothing of the host's environment.
type containerRun struct {
	rootfs string
	chroot bool
}

func (c containerRun) host(p string) string { return filepath.Join(c.rootfs, p) }

func (c containerRun) in(p string) string {
	if c.chroot {
		return p
	}
	return c.host(p)
}

func newContainer(t *testing.T, res *ImageResult) containerRun {
	t.Helper()
	c := containerRun{rootfs: extractRootfs(t, res), chroot: os.Geteuid() == 0}
	for _, d := range []string{"/github/workspace", "/github/file_commands", "/github/home", "/github/workflow"} {
		if err := os.MkdirAll(c.host(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if c.chroot {
		// The runner's checkout belongs to the runner user (1001), not to the
		// container's root.
		if err := os.Chown(c.host("/github/workspace"), 1001, 1001); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c containerRun) run(t *testing.T, args []string, env []string) (code int, out string) {
	t.Helper()
	cfg, err := builtConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	entry := cfg.Config.Entrypoint
	if len(entry) == 0 {
		t.Fatal("the image has no entrypoint")
	}
	cmd := exec.Command(c.host(entry[0]), append(entry[1:], args...)...)
	if c.chroot {
		cmd.Path = entry[0]
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: c.rootfs}
	}
	cmd.Dir = c.in("/github/workspace")
	cmd.Env = append(append([]string{}, cfg.Config.Env...), env...)
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(b)
	}
	if err != nil {
		t.Fatalf("running %v: %v", args, err)
	}
	return 0, string(b)
}

func builtConfig(t *testing.T) (*struct {
	Config struct {
		Entrypoint []string
		Env        []string
	}
}, error) {
	raw, err := releaseImage(t).Image.RawConfigFile()
	if err != nil {
		return nil, err
	}
	var cf struct {
		Config struct {
			Entrypoint []string
			Env        []string
		}
	}
	return &cf, json.Unmarshal(raw, &cf)
}

// gates lists every action of the repository (actions/*/action.yml).
func gates(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join("..", "..", "actions", "*", "action.yml"))
	if err != nil || len(m) < 6 {
		t.Fatalf("actions/*/action.yml: %v %v", m, err)
	}
	var out []string
	for _, p := range m {
		out = append(out, filepath.Base(filepath.Dir(p)))
	}
	return out
}

// TestImageRunsAsContainerAction runs the built image's entrypoint under the
// container-action conventions: every gate's --help, `version`, and the
// threat-model gate on a pull_request event whose body answers the four
// questions — exit 0, the outputs and the step summary written.
func TestImageRunsAsContainerAction(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the secure-gates binary")
	}
	t.Parallel()
	c := newContainer(t, releaseImage(t))
	if !c.chroot {
		t.Log("not root: running the extracted binary without chroot")
	}
	base := []string{
		"GITHUB_ACTIONS=true", "CI=true", "HOME=/github/home",
		"GITHUB_WORKSPACE=/github/workspace", "GITHUB_REPOSITORY=acme/widgets",
		"GITHUB_SERVER_URL=https://github.com", "GITHUB_API_URL=https://api.github.com",
		"GITHUB_RUN_ID=1", "GITHUB_SHA=" + strings.Repeat("b", 40), "RUNNER_TEMP=/home/runner/work/_temp",
	}

	if code, out := c.run(t, []string{"version"}, base); code != 0 || !strings.Contains(out, "v0.0.0-test") {
		t.Errorf("version: exit %d\n%s", code, out)
	}
	for _, g := range gates(t) {
		args, _ := actionArgs(t, g)
		if len(args) == 0 || args[0] != g {
			t.Fatalf("%s: runs.args %v do not start with the gate", g, args)
		}
		code, out := c.run(t, append(args, "--help"), base)
		if code != 0 || !strings.Contains(out, "secure-gates "+g) {
			t.Errorf("%s --help: exit %d\n%s", g, code, out)
		}
	}

	body, err := os.ReadFile(filepath.Join("..", "..", "action-test", "testdata", "threat-model", "good.md"))
	if err != nil {
		t.Fatal(err)
	}
	event, _ := json.Marshal(map[string]any{
		"action": "opened", "number": 42,
		"pull_request": map[string]any{
			"number": 42, "title": "Rate-limit uploads", "body": string(body),
			"head": map[string]any{"ref": "feature", "sha": strings.Repeat("b", 40)},
			"base": map[string]any{"ref": "main", "sha": strings.Repeat("c", 40)},
		},
		"repository": map[string]any{"full_name": "acme/widgets", "default_branch": "main"},
	})
	if err := os.WriteFile(c.host("/github/workflow/event.json"), event, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"set_output_1", "step_summary_1", "set_env_1", "add_path_1", "save_state_1"} {
		if err := os.WriteFile(c.host("/github/file_commands/"+f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args, inputs := actionArgs(t, "threat-model")
	env := append(append([]string{}, base...), inputs...)
	env = append(env,
		"GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH=/github/workflow/event.json",
		"GITHUB_OUTPUT=/github/file_commands/set_output_1", "GITHUB_STEP_SUMMARY=/github/file_commands/step_summary_1",
		"GITHUB_ENV=/github/file_commands/set_env_1", "GITHUB_PATH=/github/file_commands/add_path_1",
		"GITHUB_STATE=/github/file_commands/save_state_1",
	)
	code, out := c.run(t, args, env)
	if code != 0 {
		t.Fatalf("threat-model on a good pull request: exit %d\n%s", code, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "ghs_faketoken") && !strings.HasPrefix(line, "::add-mask::") {
			t.Errorf("the token reached the log: %q", line)
		}
	}
	outputs := readOutputs(t, c.host("/github/file_commands/set_output_1"))
	if outputs["result"] != "pass" {
		t.Errorf("outputs %v: want result=pass\n%s", outputs, out)
	}
	if s, _ := os.ReadFile(c.host("/github/file_commands/step_summary_1")); len(s) == 0 {
		t.Error("no step summary written")
	}
}

// readOutputs parses a GITHUB_OUTPUT file (name=value and heredoc forms).
func readOutputs(t *testing.T, p string) map[string]string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if k, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(k, "=") {
			var v []string
			for sc.Scan() && sc.Text() != delim {
				v = append(v, sc.Text())
			}
			out[k] = strings.Join(v, "\n")
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

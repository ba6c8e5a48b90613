package cliflag

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// flags is the flag set of a "policy check" command whose usage, with the
// flags' defaults, is printed to the buffer returned.
func flags() (*flag.FlagSet, *bytes.Buffer) {
	out := new(bytes.Buffer)
	fs := flag.NewFlagSet("policy check", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.String("policy", "", "policy file")
	fs.Int("n", 0, "a number")
	fs.Usage = func() { out.WriteString("usage\n"); fs.PrintDefaults() }
	return fs, out
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		args    []string
		hint    string
		help    bool
		err     string
		printed bool
	}{
		{name: "flags", args: []string{"--policy", "p.yaml"}},
		{name: "help", args: []string{"--help"}, help: true, printed: true},
		{name: "-h", args: []string{"-h"}, help: true, printed: true},
		{name: "bad flag", args: []string{"--nope"}, err: "policy check: flag provided but not defined: -nope", printed: true},
		{name: "bad value", args: []string{"--n", "x"}, err: `policy check: invalid value "x" for flag -n: parse error`, printed: true},
		{name: "argument", args: []string{"p.yaml"}, err: `policy check: unexpected argument "p.yaml"`},
		{name: "argument with hint", args: []string{"--policy", "a", "p.yaml", "q"}, hint: "give the file with --policy",
			err: `policy check: unexpected argument "p.yaml" (give the file with --policy)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs, out := flags()
			help, err := Parse(fs, tt.args, tt.hint)
			if help != tt.help || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
				t.Fatalf("help %v, error %v; want %v, %q", help, err, tt.help, tt.err)
			}
			if err != nil && errkind.ExitCode(err) != 2 {
				t.Errorf("exit code %d, want 2", errkind.ExitCode(err))
			}
			if printed := bytes.Contains(out.Bytes(), []byte("usage\n")); printed != tt.printed {
				t.Errorf("usage printed: %v\n%s", printed, out.String())
			}
		})
	}
}

// ParseArgs leaves the arguments after the flags to the command.
func TestParseArgs(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("evidence verify", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "")
	help, err := ParseArgs(fs, []string{"--json", "bundle.tar.gz"})
	if help || err != nil || !*asJSON || fs.NArg() != 1 || fs.Arg(0) != "bundle.tar.gz" {
		t.Errorf("help %v, error %v, json %v, args %q", help, err, *asJSON, fs.Args())
	}
}

// A bad flag's name is not printed raw: on a runner a line of it could be a
// workflow command. The usage is still printed, and the error (escaped by
// whoever reports it) still names the flag.
func TestBadFlagNotEchoed(t *testing.T) {
	t.Parallel()
	fs, out := flags()
	_, err := Parse(fs, []string{"--x\n::warning::injected"}, "")
	if err == nil || !strings.Contains(err.Error(), "-x\n::warning::injected") {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(out.String(), "::warning::") || !strings.HasPrefix(out.String(), "usage\n") || !strings.Contains(out.String(), "-policy") {
		t.Errorf("printed:\n%s", out.String())
	}
	if fs.Output() != out {
		t.Error("the flag set's output was not restored")
	}
}

// Without a Usage function the flag package's default usage is printed.
func TestDefaultUsage(t *testing.T) {
	t.Parallel()
	fs, out := flags()
	fs.Usage = nil
	if help, err := Parse(fs, []string{"-h"}, ""); !help || err != nil {
		t.Fatalf("help %v, error %v", help, err)
	}
	if !strings.HasPrefix(out.String(), "Usage of policy check:\n") || !strings.Contains(out.String(), "-policy") {
		t.Errorf("printed:\n%s", out.String())
	}
}

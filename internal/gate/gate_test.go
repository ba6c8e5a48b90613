package gate

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// A timeout input had no upper bound: 999999h was accepted. It is refused
// (exit 2) above GitHub's 6h job limit, naming the input and the bound; zero or
// less stays refused.
func TestCheckTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string // "" accepted
	}{
		{time.Second, ""},
		{15 * time.Minute, ""},
		{MaxTimeout, ""},
		{0, "timeout is 0s: give a positive Go duration"},
		{-time.Minute, "timeout is -1m0s: give a positive Go duration"},
		{MaxTimeout + time.Second, "timeout is 6h0m1s, over the 6h0m0s bound (GitHub's job limit): give at most 6h"},
		{999999 * time.Hour, "timeout is 999999h0m0s, over the 6h0m0s bound"},
	}
	for _, tt := range tests {
		err := CheckTimeout(tt.d)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckTimeout(%s) = %v, want nil", tt.d, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckTimeout(%s) = %v, want %q", tt.d, err, tt.want)
			continue
		}
		if got := errkind.ExitCode(err); got != 2 {
			t.Errorf("CheckTimeout(%s): exit %d, want 2", tt.d, got)
		}
		ctx, cancel, werr := WithTimeout(context.Background(), tt.d)
		cancel()
		if werr == nil || werr.Error() != err.Error() {
			t.Errorf("WithTimeout(%s) = %v, want %v", tt.d, werr, err)
		}
		if _, ok := ctx.Deadline(); ok {
			t.Errorf("WithTimeout(%s) set a deadline on a refused timeout", tt.d)
		}
	}
}

// TestParseFlags checks the non-gate commands' flag handling: help is no
// error, a bad flag or a positional argument is an input error naming the
// command.
func TestParseFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		args     []string
		help     bool
		wantErr  string
		wantList []string
	}{
		{name: "flags", args: []string{"--image", "a", "--image", "b"}, wantList: []string{"a", "b"}},
		{name: "help", args: []string{"-h"}, help: true},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "cmd sub: flag provided but not defined: -nope"},
		{name: "positional", args: []string{"x"}, wantErr: `cmd sub: unexpected argument "x" (give it with --image)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("cmd sub", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var l ListFlag
			fs.Var(&l, "image", "image (repeatable)")
			help, err := ParseFlags(fs, tc.args, " (give it with --image)")
			if help != tc.help {
				t.Errorf("help = %v, want %v", help, tc.help)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr || errkind.ExitCode(err) != errkind.ExitInput):
				t.Fatalf("error %v (exit %d), want %q (input)", err, errkind.ExitCode(err), tc.wantErr)
			}
			if len(tc.wantList) > 0 && l.String() != "a,b" {
				t.Errorf("list %q, want a,b", l.String())
			}
		})
	}
}

// What ParseFlags prints: the usage on -h and on a bad flag, never the flag
// package's own line quoting a bad flag raw (on a runner a line of it could be
// a workflow command); the default usage when fs.Usage is nil; and the flag
// set's output is restored.
func TestParseFlagsOutput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, arg string
		noUsage   bool
		want      string
	}{
		{name: "help", arg: "-h", want: "usage\n  -policy string"},
		{name: "bad flag", arg: "--x\n::warning::injected", want: "usage\n  -policy string"},
		{name: "default usage", arg: "--help", noUsage: true, want: "Usage of policy check:\n  -policy string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			fs := flag.NewFlagSet("policy check", flag.ContinueOnError)
			fs.SetOutput(&out)
			fs.String("policy", "", "policy file")
			fs.Usage = func() { out.WriteString("usage\n"); fs.PrintDefaults() }
			if tc.noUsage {
				fs.Usage = nil
			}
			_, err := ParseFlags(fs, []string{tc.arg}, "")
			if got := out.String(); !strings.HasPrefix(got, tc.want) || strings.Contains(got, "::warning::") {
				t.Errorf("printed %q, want it to start with %q and hold no workflow command", got, tc.want)
			}
			if strings.HasPrefix(tc.arg, "--x") && (err == nil || !strings.Contains(err.Error(), "-x\n::warning::injected")) {
				t.Errorf("error %v does not name the flag", err)
			}
			if fs.Output() != &out {
				t.Error("the flag set's output was not restored")
			}
		})
	}
}

// ParseFlagArgs leaves the arguments after the flags to the command.
func TestParseFlagArgs(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("evidence verify", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "")
	help, err := ParseFlagArgs(fs, []string{"--json", "bundle.tar.gz"})
	if help || err != nil || !*asJSON || fs.NArg() != 1 || fs.Arg(0) != "bundle.tar.gz" {
		t.Errorf("help %v, error %v, json %v, args %q", help, err, *asJSON, fs.Args())
	}
}

package gate

import (
	"flag"
	"io"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

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

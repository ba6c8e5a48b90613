package gate

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// ParseFlags parses a command's flags, for the commands that are not gates
// (evidence, kpi, policy). help is true when -h or --help asked for the usage
// (printed by fs.Usage): the command then does nothing and exits 0. Any other
// error is an input error named after the flag set ("evidence: ..."), as is a
// positional argument; hint, if any, is appended to that one to say what to
// do instead (" (give the file with --policy)").
func ParseFlags(fs *flag.FlagSet, args []string, hint string) (help bool, err error) {
	if help, err := ParseFlagArgs(fs, args); help || err != nil {
		return help, err
	}
	if fs.NArg() > 0 {
		return false, errkind.Input(fmt.Errorf("%s: unexpected argument %q%s", fs.Name(), fs.Arg(0), hint))
	}
	return false, nil
}

// ParseFlagArgs is ParseFlags for a command that takes arguments after its
// flags (evidence verify BUNDLE, pipeline [REPO]): they are left in fs.Args().
//
// A bad flag prints the usage (fs.Usage) but not the flag package's own line
// about it, which quotes the argument raw: on a runner a flag named
// "x\n::warning::…" would put a workflow command of the caller's choosing on a
// line of its own. The error is reported once, escaped, by the command's caller.
func ParseFlagArgs(fs *flag.FlagSet, args []string) (help bool, err error) {
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err = fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	if err == nil {
		return false, nil
	}
	if fs.Usage != nil {
		fs.Usage()
	} else {
		fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
	}
	if errors.Is(err, flag.ErrHelp) {
		return true, nil
	}
	return false, errkind.Input(fmt.Errorf("%s: %w", fs.Name(), err))
}

// ListFlag is a repeatable string flag (--image a --image b).
type ListFlag []string

// String joins the values with commas.
func (l *ListFlag) String() string { return strings.Join(*l, ",") }

// Set adds one value.
func (l *ListFlag) Set(s string) error { *l = append(*l, s); return nil }

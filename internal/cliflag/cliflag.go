// Package cliflag parses the flags of the suite's commands that are not gates
// (policy, evidence, ...) one way: --help prints the usage and succeeds, a bad
// flag or a stray argument is an input error (exit 2) naming the command.
package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// ParseArgs parses args into fs, a flag set named after the command ("policy
// check") and made with flag.ContinueOnError. help is true, and err nil, when
// args ask for --help: fs.Usage has printed the usage and the command has
// nothing more to do. A bad flag is an input error "NAME: …", after the usage.
// Arguments after the flags are left in fs.Args().
//
// The flag package's own line about a bad flag is not printed: it quotes the
// argument raw, and on a runner a flag named "x\n::warning::…" would put a
// workflow command of the caller's choosing on a line of its own. The error is
// reported once, by the command's caller, escaped.
func ParseArgs(fs *flag.FlagSet, args []string) (help bool, err error) {
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

// Parse is ParseArgs for a command that takes no argument after its flags: the
// first one is an input error `NAME: unexpected argument "x"`, followed by
// hint in parentheses when hint is not empty (where the value goes instead).
func Parse(fs *flag.FlagSet, args []string, hint string) (help bool, err error) {
	if help, err := ParseArgs(fs, args); help || err != nil {
		return help, err
	}
	if fs.NArg() > 0 {
		if hint = strings.TrimSpace(hint); hint != "" {
			hint = " (" + hint + ")"
		}
		return false, errkind.Input(fmt.Errorf("%s: unexpected argument %q%s", fs.Name(), fs.Arg(0), hint))
	}
	return false, nil
}

// Package cliflag parses the flags of the suite's commands that are not gates
// (policy, evidence, ...) one way: --help prints the usage and succeeds, a bad
// flag or a stray argument is an input error (exit 2) naming the command.
package cliflag

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// ParseArgs parses args into fs, a flag set named after the command ("policy
// check") and made with flag.ContinueOnError. help is true, and err nil, when
// args ask for --help: fs.Usage has printed the usage and the command has
// nothing more to do. A bad flag is an input error "NAME: …". Arguments after
// the flags are left in fs.Args().
func ParseArgs(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, errkind.Input(fmt.Errorf("%s: %w", fs.Name(), err))
	}
	return false, nil
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

package gate

import (
	"errors"
	"flag"
	"fmt"
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
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, errkind.Input(fmt.Errorf("%s: %w", fs.Name(), err))
	}
	if fs.NArg() > 0 {
		return false, errkind.Input(fmt.Errorf("%s: unexpected argument %q%s", fs.Name(), fs.Arg(0), hint))
	}
	return false, nil
}

// ListFlag is a repeatable string flag (--image a --image b).
type ListFlag []string

// String joins the values with commas.
func (l *ListFlag) String() string { return strings.Join(*l, ",") }

// Set adds one value.
func (l *ListFlag) Set(s string) error { *l = append(*l, s); return nil }

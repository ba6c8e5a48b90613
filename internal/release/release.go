package release

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// Command is the `release` subcommand of the secure-gates binary.
var Command = gate.Command{
	Name:    "release",
	Summary: "release steps: release pin --image REPO@sha256:… | release image --push REPO:TAG",
	Run:     run,
}

const usage = `Usage:
  secure-gates release pin --image REGISTRY/OWNER/secure-gates@sha256:DIGEST [--commit SHA]
      Rewrites runs.image of every actions/*/action.yml to docker://IMAGE (and, with
      --commit, the commit every secure-gates/secure-gates/...@SHA reference in
      workflows-templates/ and examples/ points at). Run in the repository root.
  secure-gates release image --push REGISTRY/REPO:TAG
      Builds the action image reproducibly from the current checkout, pushes it and
      prints "digest: sha256:...".
`

func run(ctx context.Context, rt *gha.Runtime, args []string) error {
	if len(args) == 0 {
		return errkind.Input(errors.New(`release: want a subcommand: "release pin --image REPO@sha256:…" or "release image --push REPO:TAG"`))
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(rt.Stdout(), usage)
		return nil
	case "pin":
		return runPin(ctx, rt, args[1:])
	}
	return errkind.Input(fmt.Errorf("release: unknown subcommand %q (want pin or image)", args[0]))
}

func runPin(ctx context.Context, rt *gha.Runtime, args []string) error {
	var o PinOptions
	fs := flag.NewFlagSet("release pin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Image, "image", "", "the published action image by digest: REGISTRY/OWNER/secure-gates@sha256:DIGEST (required)")
	fs.StringVar(&o.Commit, "commit", "", "release commit (40 hex) for the secure-gates/secure-gates/...@SHA references in the templates")
	fs.StringVar(&o.Root, "root", ".", "repository root")
	if help, err := parse(fs, rt, args); help || err != nil {
		return err
	}
	res, err := Pin(ctx, o)
	if err != nil {
		return err
	}
	for _, f := range res.Changed {
		fmt.Fprintf(rt.Stdout(), "pinned %s\n", f)
	}
	fmt.Fprintf(rt.Stdout(), "image: docker://%s (%d files changed, %d already pinned)\n", res.Image, len(res.Changed), len(res.Unchanged))
	return nil
}

// parse parses flags, printing usage on --help, and refuses positional arguments.
func parse(fs *flag.FlagSet, rt *gha.Runtime, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(rt.Stdout(), usage+"\nFlags of "+fs.Name()+":\n")
			fs.SetOutput(rt.Stdout())
			fs.PrintDefaults()
			return true, nil
		}
		return false, errkind.Input(fmt.Errorf("%s: %w", fs.Name(), err))
	}
	if fs.NArg() > 0 {
		return false, errkind.Input(fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0)))
	}
	return false, nil
}

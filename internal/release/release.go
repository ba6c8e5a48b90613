package release

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

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
  secure-gates release pin --image REGISTRY/OWNER/secure-gates@sha256:DIGEST
      [--commit SHA] [--workflow-commit SHA] [--version vX.Y.Z]
      Rewrites runs.image of every actions/*/action.yml to docker://IMAGE. With
      --commit, every secure-gates/secure-gates/actions/...@SHA reference in
      .github/workflows/, workflows-templates/, examples/ and the README's uses:
      lines points at that commit, whose actions must already run IMAGE; with
      --workflow-commit, every .../.github/workflows/...@SHA reference points at
      that commit, whose reusable workflows must use such actions. --version sets
      the # vX.Y.Z comment of the references rewritten. Run in the repository root
      (a git checkout when a commit is given).
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
	case "image":
		return runImage(ctx, rt, args[1:])
	}
	return errkind.Input(fmt.Errorf("release: unknown subcommand %q (want pin or image)", args[0]))
}

func runPin(ctx context.Context, rt *gha.Runtime, args []string) error {
	var o PinOptions
	fs := flag.NewFlagSet("release pin", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Image, "image", "", "the published action image by digest: REGISTRY/OWNER/secure-gates@sha256:DIGEST (required)")
	fs.StringVar(&o.Commit, "commit", "", "commit (40 hex) whose pinned actions the secure-gates/secure-gates/actions/...@SHA references name")
	fs.StringVar(&o.WorkflowCommit, "workflow-commit", "", "commit (40 hex) whose reusable workflows the secure-gates/secure-gates/.github/workflows/...@SHA references name")
	fs.StringVar(&o.Version, "version", "", "release version vX.Y.Z for the version comments of the references rewritten")
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

func runImage(ctx context.Context, rt *gha.Runtime, args []string) error {
	var o ImageOptions
	var push string
	fs := flag.NewFlagSet("release image", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&push, "push", "", "REGISTRY/REPO:TAG to push the image to (required)")
	fs.StringVar(&o.Root, "root", ".", "the checkout to build (the folder holding go.mod)")
	fs.StringVar(&o.Version, "version", "dev", "version stamped into the binary (the release tag)")
	fs.StringVar(&o.Arch, "arch", "amd64", "image architecture (GOARCH)")
	fs.StringVar(&o.Base, "base", "", "base image by digest (REPO@sha256:…) to build on; default scratch")
	fs.StringVar(&o.Binary, "binary", "", "a prebuilt secure-gates binary instead of building the checkout")
	fs.StringVar(&o.SLSAVerifier, "slsa-verifier", "", "a prebuilt slsa-verifier "+SLSAVerifierVersion+" instead of building it")
	fs.StringVar(&o.CACerts, "ca-certs", "", "PEM CA bundle for "+CACertsPath+" (default "+HostCACerts+" on scratch)")
	if help, err := parse(fs, rt, args); help || err != nil {
		return err
	}
	if push == "" {
		return errkind.Input(errors.New("release image: --push REGISTRY/REPO:TAG is required"))
	}
	if e := rt.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		n, err := strconv.ParseInt(e, 10, 64)
		if err != nil || n <= 0 {
			return errkind.Input(fmt.Errorf("release image: SOURCE_DATE_EPOCH %q is not a positive number of seconds", e))
		}
		o.Epoch = n
	}
	// Refuse a bad --push before minutes of compiling.
	if _, err := ParsePushRef(push); err != nil {
		return err
	}
	res, err := BuildImage(ctx, o)
	if err != nil {
		return err
	}
	defer res.Close()
	ref, err := PushImage(ctx, res.Image, push, o.Registry)
	if err != nil {
		return err
	}
	fmt.Fprintf(rt.Stdout(), "pushed %s (%d bytes compressed, SOURCE_DATE_EPOCH=%d)\n", ref, res.CompressedSize, res.Epoch)
	fmt.Fprintf(rt.Stdout(), "digest: %s\n", ref.Digest)
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

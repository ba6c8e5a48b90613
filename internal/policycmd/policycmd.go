// Package policycmd is the `secure-gates policy` command: tools around the
// verify-and-deploy policy file. `policy check` compiles and lints the policy
// (the policy-check action's code: errors exit 2, warnings are annotations on
// the file); `policy kyverno` renders the policy as a Kyverno ClusterPolicy
// (pkg/kyverno) so admission requires what the pipeline requires.
package policycmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"io"
	"os"
	"strings"

	policycheck "github.com/secure-gates/secure-gates/actions/policy-check"
	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/kyverno"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

// Command is the `policy` subcommand of the secure-gates binary.
var Command = gate.Command{
	Name:    "policy",
	Summary: "check the verify-and-deploy policy (policy check --policy FILE) or render it for admission (policy kyverno --policy FILE --image PATTERN)",
	Run:     run,
}

const usage = `Usage: secure-gates policy check [--policy FILE] [--base-dir DIR]
       secure-gates policy kyverno [flags]

policy check loads the policy exactly as verify-and-deploy does and lints it.
Every error (the policy does not load: exit code 2) and every warning (legal but
dangerous: a subject-regexp admitting any owner, repository or workflow file,
audit mode without enforce-environments, an exception or break-glass signer that
is also a release signer) is reported on its line of the file: as annotations on
a runner, as "error: FILE:LINE: ..." lines off one. Warnings alone exit 0.

policy kyverno renders the verify-and-deploy policy file as a Kyverno ClusterPolicy whose
verifyImages requires the same signer identities and attestations.

Flags of policy kyverno:

Renders the verify-and-deploy policy file as a Kyverno ClusterPolicy whose
verifyImages requires the same signer identities and attestations.

Flags:
`

// maxPEMBytes bounds the --roots and --tsa-cert-chain files.
const maxPEMBytes = 1 << 20

func run(ctx context.Context, rt *gha.Runtime, args []string) error {
	if len(args) > 0 && args[0] == "check" {
		return check(rt, args[1:])
	}
	if len(args) == 0 || args[0] != "kyverno" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(rt.Stdout(), usage)
			fs := newFlags(io.Discard, &kyverno.Options{}, new(string), new(string), new(string), new(string), new(string))
			fs.SetOutput(rt.Stdout())
			fs.PrintDefaults()
			return nil
		}
		return errkind.Input(errors.New(`policy: want a subcommand: "policy check --policy FILE" or "policy kyverno --policy FILE --image PATTERN"`))
	}
	var o kyverno.Options
	var policyPath, baseDir, output, roots, tsa string
	fs := newFlags(rt.Stdout(), &o, &policyPath, &baseDir, &output, &roots, &tsa)
	if help, err := gate.ParseFlags(fs, args[1:], ""); help || err != nil {
		return err
	}
	var err error
	if o.Roots, err = readPEM("--roots", roots); err != nil {
		return err
	}
	if o.TSACertChain, err = readPEM("--tsa-cert-chain", tsa); err != nil {
		return err
	}
	p, err := policy.Load(policyPath, policy.Options{BaseDir: baseDir})
	if err != nil {
		return fmt.Errorf("loading the policy: %w", err)
	}
	out, err := kyverno.Render(p, o)
	if err != nil {
		return err
	}
	if output == "" || output == "-" {
		_, err := rt.Stdout().Write(out)
		return err
	}
	if err := atomicfile.Write(output, out); err != nil {
		return errkind.Infra(fmt.Errorf("writing %s: %w", output, err))
	}
	fmt.Fprintf(rt.Stdout(), "wrote %s (ClusterPolicy %q, %s)\n", output, nameOr(o.Name), p.Mode)
	return nil
}

// check is `policy check`: the policy-check action's code with flags.
func check(rt *gha.Runtime, args []string) error {
	fs := flag.NewFlagSet("policy check", flag.ContinueOnError)
	fs.SetOutput(rt.Stdout())
	policyPath := fs.String("policy", ".secure-gates/policy.yaml", "policy file")
	baseDir := fs.String("base-dir", "", "folder key paths in the policy are relative to (default the workspace, or the working directory)")
	fs.Usage = func() { fmt.Fprint(rt.Stdout(), usage); fs.PrintDefaults() }
	if help, err := gate.ParseFlags(fs, args, " (give the file with --policy)"); help || err != nil {
		return err
	}
	_, err := policycheck.Check(rt, *policyPath, *baseDir)
	return err
}

func newFlags(w io.Writer, o *kyverno.Options, policyPath, baseDir, output, roots, tsa *string) *flag.FlagSet {
	fs := flag.NewFlagSet("policy kyverno", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() { fmt.Fprint(w, usage); fs.PrintDefaults() }
	fs.StringVar(policyPath, "policy", ".secure-gates/policy.yaml", "policy file")
	fs.StringVar(baseDir, "base-dir", "", "folder key paths in the policy are relative to (default the working directory)")
	fs.StringVar(output, "output", "", "write the ClusterPolicy to this file (default standard output)")
	fs.StringVar(&o.Name, "name", kyverno.DefaultName, "ClusterPolicy name")
	fs.Var((*gate.ListFlag)(&o.ImageReferences), "image", "image pattern the policy applies to, e.g. ghcr.io/acme/widgets* (repeatable, required)")
	fs.StringVar(&o.RekorURL, "rekor-url", "", "transparency log URL (default "+kyverno.DefaultRekorURL+" for keyless)")
	fs.BoolVar(&o.IgnoreTlog, "ignore-tlog", false, "accept signatures without a transparency-log entry")
	fs.BoolVar(&o.IgnoreSCT, "ignore-sct", false, "accept Fulcio certificates without a CT log timestamp")
	fs.StringVar(roots, "roots", "", "PEM file of a private Fulcio's root certificates")
	fs.StringVar(tsa, "tsa-cert-chain", "", "PEM file of a timestamp authority's certificate chain")
	fs.BoolVar(&o.MaxAgeAtAdmission, "max-age-at-admission", false, "also check max-age at admission (refuses Pods rescheduled after the window)")
	fs.StringVar(&o.Environment, "environment", "", "environment of the cluster the policy admits to, e.g. production: a dast requirement is left out in the cluster of its own environment (default: every requirement)")
	return fs
}

func nameOr(n string) string {
	if n == "" {
		return kyverno.DefaultName
	}
	return n
}

func readPEM(flagName, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", errkind.Input(fmt.Errorf("%s: %w", flagName, err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMBytes+1))
	if err != nil {
		return "", errkind.Input(fmt.Errorf("%s: reading %s: %w", flagName, path, err))
	}
	if len(data) > maxPEMBytes || !strings.Contains(string(data), "-----BEGIN CERTIFICATE-----") {
		return "", errkind.Input(fmt.Errorf("%s: %s is not a PEM certificate file of at most %d bytes", flagName, path, maxPEMBytes))
	}
	return string(data), nil
}

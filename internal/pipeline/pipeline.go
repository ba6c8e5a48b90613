// Package pipeline is the `secure-gates pipeline` command: the whole five-gate
// chain run locally on a service repository with nothing installed beyond Go and
// git. It starts an in-process OCI registry on loopback, builds the service's
// image without Docker, makes ephemeral signing keys, and runs the real gates —
// scan → sbom → sign → attest → verify-and-deploy (GitOps into a temporary bare
// repository) — in one process, each through the same input path as on a
// runner, then prints each gate's verdict and the attestation chain of the
// digest. When the policy requires dast, the promotion stage follows (dast.go):
// the image's binary runs on loopback as staging, wapiti attacks it, the dast
// gate's verdict is attested, and verify-and-deploy promotes the digest to
// production only when the DAST passed.
//
// When the vulnerability DB cannot be obtained, the outage policy applies
// (default continue): the chain goes on without vulnerability results, says so,
// and plays the seed's scanner-outage procedure — "fail open, page security,
// record the skip as a signed exception" — by signing a short-lived outage
// exception with this run's security key, which verify-and-deploy accepts only
// where the repository's policy says on-scanner-outage: exception.
//
// Nothing it makes is trusted outside the run: the keys are new each time and the
// policy verify-and-deploy applies is the repository's own with its identities
// replaced by those keys.
package pipeline

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

// DefaultRepo is the service the command runs on when none is named: the
// worked example of this repository.
const DefaultRepo = "examples"

const usage = `Usage: secure-gates pipeline [flags] [REPO]

Runs the whole five-gate chain locally on a Go service repository (default
examples/): an in-process registry, the image built without Docker, ephemeral
keys, then scan, sbom, sign, attest and verify-and-deploy (GitOps into a
temporary bare repository), printing each gate's verdict and the attestation
chain. When the policy requires dast, the service then runs on loopback as
staging, wapiti attacks it, the dast gate's verdict is attested, and
verify-and-deploy promotes the digest to production only if it passed.
Nothing it signs is trusted outside the run.

Flags:
`

// Options configures Run.
type Options struct {
	// Repo is the service repository: a Go main module at its root, with
	// .secure-gates/policy.yaml (optional) and deploy/overlays/staging (optional).
	Repo string
	// DBDir is a grype DB root or archive (the gates' db-dir input); empty means
	// grype's default download into DBCache.
	DBDir string
	// DBCache is where the default download goes (the gates' db-cache input).
	DBCache string
	// OnScannerOutage is continue (the default) or fail.
	OnScannerOutage string
	// WorkDir holds everything the run writes; empty means a new temporary
	// folder, removed at the end unless Keep.
	WorkDir string
	// Keep keeps a temporary WorkDir.
	Keep bool
	// Verbose copies every gate's log to Out.
	Verbose bool
	// DAST is DASTAuto (the default), DASTOn or DASTOff: whether the
	// promotion stage runs after the staging deploy when the policy requires
	// dast (wapiti attacks the service on loopback, the dast gate decides, the
	// verdict is attested, verify-and-deploy promotes to production).
	DAST string
	// Gates are the binary's gates (actions.All()).
	Gates []gate.Gate
	// Out receives the progress and the verdicts.
	Out io.Writer
}

// Command returns the `pipeline` subcommand over the binary's gates.
func Command(gates []gate.Gate) gate.Command {
	return gate.Command{
		Name:    "pipeline",
		Summary: "run the whole chain locally on a service (default examples/): scan, sbom, sign, attest, verify-and-deploy",
		Run: func(ctx context.Context, rt *gha.Runtime, args []string) error {
			o := Options{Gates: gates, Out: rt.Stdout()}
			fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
			fs.SetOutput(rt.Stdout())
			fs.Usage = func() { fmt.Fprint(rt.Stdout(), usage); fs.PrintDefaults() }
			fs.StringVar(&o.Repo, "repo", DefaultRepo, "service repository (a Go main module at its root)")
			fs.StringVar(&o.DBDir, "db-dir", "", "grype DB root (holding 6/vulnerability.db) or DB archive; default: grype's download into --db-cache")
			fs.StringVar(&o.DBCache, "db-cache", "", "where the default DB download is kept (default the user cache folder)")
			fs.StringVar(&o.OnScannerOutage, "on-scanner-outage", attestation.OutageContinue, "continue (record the outage, sign an outage exception) or fail")
			fs.StringVar(&o.WorkDir, "work-dir", "", "folder for everything the run writes (default a temporary folder, removed at the end)")
			fs.BoolVar(&o.Keep, "keep", false, "keep the temporary work folder")
			fs.BoolVar(&o.Verbose, "verbose", false, "print every gate's log")
			fs.StringVar(&o.DAST, "dast", DASTAuto, "auto, on or off: after the staging deploy, when the policy requires dast, attack the service on loopback with wapiti, attest the dast verdict and promote to production")
			if help, err := gate.ParseFlagArgs(fs, args); help || err != nil {
				return err
			}
			switch fs.NArg() {
			case 0:
			case 1:
				o.Repo = fs.Arg(0)
			default:
				return errkind.Input(fmt.Errorf("pipeline: one repository at most, got %q", fs.Args()))
			}
			_, err := Run(ctx, o)
			return err
		},
	}
}

// Result is what a run did.
type Result struct {
	// Image is the built image, repo@sha256:… in the run's registry.
	Image string
	// Gates are the gates that ran, in order, with their verdicts.
	Gates []GateResult
	// Outage is the scanner outage met, or "".
	Outage string
	// Verified is verify-and-deploy's verdict.
	Verified bool
	// Deployed is the kustomization the GitOps deploy wrote, or "".
	Deployed string
	// Promoted is true when verify-and-deploy promoted the digest to
	// production after its DAST in staging.
	Promoted bool
	// WorkDir is where the run's files are (removed already unless kept).
	WorkDir string
}

// GateResult is one gate's outcome.
type GateResult struct {
	Name    string
	Outputs map[string]string
	Err     error
	// Log and Summary are the files holding the gate's log and step summary.
	Log, Summary string
}

// Run runs the chain. It returns the error of the gate that stopped it (with
// that gate's exit code kind), or nil when the digest was verified and deployed.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	switch o.DAST {
	case "":
		o.DAST = DASTAuto
	case DASTAuto, DASTOn, DASTOff:
	default:
		return nil, errkind.Input(fmt.Errorf("pipeline: --dast %q: expected auto, on or off", o.DAST))
	}
	switch o.OnScannerOutage {
	case "":
		o.OnScannerOutage = attestation.OutageContinue
	case attestation.OutageContinue, attestation.OutageFail:
	default:
		return nil, errkind.Input(fmt.Errorf("pipeline: --on-scanner-outage %q: expected continue or fail", o.OnScannerOutage))
	}
	svc, err := loadService(o.Repo)
	if err != nil {
		return nil, err
	}
	work, cleanup, err := workDir(o)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	r := &runner{o: o, svc: svc, work: work, res: &Result{WorkDir: work}}
	err = r.run(ctx)
	return r.res, err
}

func workDir(o Options) (string, func(), error) {
	if o.WorkDir != "" {
		abs, err := filepath.Abs(o.WorkDir)
		if err != nil {
			return "", nil, errkind.Input(fmt.Errorf("pipeline: --work-dir: %w", err))
		}
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return "", nil, errkind.Input(fmt.Errorf("pipeline: --work-dir: %w", err))
		}
		if entries, _ := os.ReadDir(abs); len(entries) > 0 {
			return "", nil, errkind.Input(fmt.Errorf("pipeline: --work-dir %s is not empty: give an empty or new folder", abs))
		}
		return abs, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "secure-gates-pipeline-")
	if err != nil {
		return "", nil, errkind.Infra(fmt.Errorf("pipeline: making the work folder: %w", err))
	}
	if o.Keep {
		return dir, func() {}, nil
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix) + "\n"
}

// Package kpicmd is the `secure-gates kpi` command: the pipeline's key figures
// (pkg/kpi) computed from the verified attestations of what runs, written as
// JSON, markdown (also the job summary on a runner), the Prometheus text
// format and a self-contained HTML page.
package kpicmd

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/kpi"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/readfile"
	"github.com/secure-gates/secure-gates/pkg/verify"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

// Command is the `kpi` subcommand of the secure-gates binary.
var Command = gate.Command{
	Name:    "kpi",
	Summary: "pipeline coverage, gate escapes, MTTD and MTTR from the verified attestations of the running images (kpi --policy FILE --images FILE --db-dir DB --json OUT)",
	Run:     run,
}

const usage = `Usage: secure-gates kpi --policy FILE (--images FILE | --kubeconfig FILE [--context NAME] | --pods FILE | --gitops DIR)
                      (--db-dir DB | --db-cache DIR)
                      [--from TIME] [--to TIME] --json OUT [--markdown OUT] [--prometheus OUT] [--html OUT]

Verifies every running image against the policy and computes, from the verified
attestations only (definitions: docs/kpi.md):
  coverage     verified running images / running images, per environment
  escapes      findings present now (the attested SBOM against the DB) whose advisory
               was published before the release scan finished, but that it missed or
               did not deny; the escape rate is escapes / findings present
  MTTD, MTTR   per finding detected in the window: publication -> first attested scan
               recording it; detection -> first verified deploy (VSA) of a digest of
               the same repository without it (median and p90, seconds)

The running images come from one of:
  --images FILE   one reference per line, optionally followed by its environment
  --kubeconfig    a live cluster: the pods of every namespace (environment: namespace),
                  through client-go with the kubeconfig's context (or --context)
  --pods FILE     the output of kubectl get pods -A -o json (environment: namespace)
  --gitops DIR    a GitOps repository: each overlays/<environment> rendered with kustomize

Exit codes: 0 computed, 2 bad input, 3 registry, Sigstore or DB failure.

Flags:
`

type options struct {
	policy, baseDir, images, pods, gitops, trustedRoot string
	kubeconfig, kubeContext                            string
	dbDir, dbCache                                     string
	maxDBAge                                           time.Duration
	from, to                                           string
	json, markdown, prometheus, html                   string
}

func newFlags(w io.Writer, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("kpi", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.StringVar(&o.policy, "policy", ".secure-gates/policy.yaml", "the verify-and-deploy policy every image is verified against")
	fs.StringVar(&o.baseDir, "base-dir", "", "folder key paths in the policy are relative to (default the working directory)")
	fs.StringVar(&o.images, "images", "", "file listing the running images, one reference per line (optionally followed by the environment)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of a live cluster whose pods (every namespace) are what runs")
	fs.StringVar(&o.kubeContext, "context", "", "the kubeconfig context to use (default its current context)")
	fs.StringVar(&o.pods, "pods", "", "file holding the output of `kubectl get pods -A -o json`")
	fs.StringVar(&o.gitops, "gitops", "", "GitOps repository folder whose overlays/<environment> kustomizations say what runs")
	fs.StringVar(&o.trustedRoot, "trusted-root", "", "Sigstore trusted root JSON for keyless identities (default the public-good instance through TUF)")
	fs.StringVar(&o.dbDir, "db-dir", "", "grype DB root or archive (no download)")
	fs.StringVar(&o.dbCache, "db-cache", "", "grype DB cache folder (downloaded when missing or stale)")
	fs.DurationVar(&o.maxDBAge, "max-db-age", 120*time.Hour, "refuse a DB built longer ago than this")
	fs.StringVar(&o.from, "from", "", "start of the MTTD/MTTR window: RFC 3339 time, or a duration back from now (720h)")
	fs.StringVar(&o.to, "to", "", "end of the window (RFC 3339; default now)")
	fs.StringVar(&o.json, "json", "", "write the JSON report here (required)")
	fs.StringVar(&o.markdown, "markdown", "", "write the markdown report here (on a runner it is also the job summary)")
	fs.StringVar(&o.prometheus, "prometheus", "", "write the Prometheus text format here")
	fs.StringVar(&o.html, "html", "", "write the self-contained HTML page here")
	fs.Usage = func() { fmt.Fprint(w, usage); fs.PrintDefaults() }
	return fs
}

func run(ctx context.Context, rt *gha.Runtime, args []string) error {
	var o options
	fs := newFlags(rt.Stdout(), &o)
	if help, err := gate.ParseFlags(fs, args, ""); help || err != nil {
		return err
	}
	now := time.Now().UTC()
	if err := o.check(); err != nil {
		return err
	}
	from, err := parseTime("--from", o.from, now, true)
	if err != nil {
		return err
	}
	to, err := parseTime("--to", o.to, now, false)
	if err != nil {
		return err
	}
	running, err := o.running(ctx)
	if err != nil {
		return err
	}
	rep, err := o.compute(ctx, running, from, to, now)
	if err != nil {
		return err
	}
	return o.write(rt, rep)
}

// check refuses flags that do not go together, before any work.
func (o options) check() error {
	sources := 0
	for _, s := range []string{o.images, o.pods, o.gitops, o.kubeconfig} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return errkind.Input(errors.New("kpi: give exactly one of --images FILE, --kubeconfig FILE, --pods FILE (kubectl get pods -A -o json) and --gitops DIR"))
	}
	if o.kubeContext != "" && o.kubeconfig == "" {
		return errkind.Input(errors.New("kpi: --context selects a context of --kubeconfig; give --kubeconfig too"))
	}
	if o.json == "" {
		return errkind.Input(errors.New("kpi: --json OUT is required (the JSON report is the record every other output is a view of)"))
	}
	if (o.dbDir == "") == (o.dbCache == "") {
		return errkind.Input(errors.New("kpi: give exactly one of --db-dir DB and --db-cache DIR"))
	}
	return nil
}

// running lists the running images from the one source given.
func (o options) running(ctx context.Context) ([]kpi.Running, error) {
	switch {
	case o.images != "":
		data, err := readBounded(o.images)
		if err != nil {
			return nil, err
		}
		return kpi.ParseImages(data, o.images)
	case o.pods != "":
		data, err := readBounded(o.pods)
		if err != nil {
			return nil, err
		}
		return kpi.ParsePods(data, o.pods)
	case o.kubeconfig != "":
		return kpi.ParseCluster(ctx, o.kubeconfig, o.kubeContext)
	}
	return kpi.ParseGitOps(o.gitops)
}

// compute loads the policy, trust and DB and computes the report.
func (o options) compute(ctx context.Context, running []kpi.Running, from, to, now time.Time) (*kpi.Report, error) {
	pol, err := policy.Load(o.policy, policy.Options{BaseDir: cmp.Or(o.baseDir, ".")})
	if err != nil {
		return nil, err
	}
	trust, err := verify.TrustedMaterial(ctx, o.trustedRoot, pol)
	if err != nil {
		return nil, err
	}
	db, err := vulndb.Load(ctx, vulndb.Options{DBDir: o.dbDir, CacheDir: o.dbCache, MaxAge: o.maxDBAge})
	if err != nil {
		return nil, fmt.Errorf("kpi: %w", err)
	}
	defer db.Close()
	return kpi.Compute(ctx, running, kpi.Options{
		Verify: verify.Options{Policy: pol, TrustedMaterial: trust, Registry: oci.Options{UserAgent: "secure-gates-kpi"}},
		DB:     db, From: from, To: to, Now: func() time.Time { return now },
	})
}

// write writes the report in every format asked for (the markdown is also
// the job summary on a runner) and prints its figures.
func (o options) write(rt *gha.Runtime, rep *kpi.Report) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return errkind.Infra(err)
	}
	md := kpi.Markdown(rep)
	outs := []struct {
		path string
		data func() ([]byte, error)
	}{
		{o.json, func() ([]byte, error) { return append(data, '\n'), nil }},
		{o.markdown, func() ([]byte, error) { return []byte(md), nil }},
		{o.prometheus, func() ([]byte, error) { return []byte(kpi.Prometheus(rep)), nil }},
		{o.html, func() ([]byte, error) { return kpi.HTML(rep) }},
	}
	for _, out := range outs {
		if out.path == "" {
			continue
		}
		b, err := out.data()
		if err != nil {
			return errkind.Infra(err)
		}
		if err := atomicfile.Write(out.path, b); err != nil {
			return errkind.Infra(fmt.Errorf("writing %s: %w", out.path, err))
		}
	}
	if rt.InActions() {
		if err := rt.WriteSummary(md); err != nil {
			return errkind.Infra(err)
		}
	}
	fmt.Fprintf(rt.Stdout(), "coverage %s, escapes %d of %d findings present (rate %s), MTTD %s (p90 %s), MTTR %s (p90 %s); wrote %s\n",
		pct(rep.Coverage), rep.Escapes, rep.FindingsPresent, pct(rep.EscapeRate), kpi.Duration(rep.MTTD), kpi.Duration(rep.MTTDP90),
		kpi.Duration(rep.MTTR), kpi.Duration(rep.MTTRP90), strings.Join(written(o), ", "))
	return nil
}

func written(o options) []string {
	var out []string
	for _, p := range []string{o.json, o.markdown, o.prometheus, o.html} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func pct(r *float64) string {
	if r == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", *r*100)
}

// parseTime reads an RFC 3339 time or, when back is allowed, a duration
// before now; "" is the zero time.
func parseTime(flagName, s string, now time.Time, back bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if back {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			return now.Add(-d), nil
		}
		return time.Time{}, errkind.Input(fmt.Errorf("kpi: %s %q: want an RFC 3339 time (2026-01-01T00:00:00Z) or a positive duration back from now (720h)", flagName, s))
	}
	return time.Time{}, errkind.Input(fmt.Errorf("kpi: %s %q: want an RFC 3339 time (2026-01-01T00:00:00Z)", flagName, s))
}

func readBounded(path string) ([]byte, error) {
	data, err := readfile.Bounded(path, kpi.MaxInputBytes)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("kpi: reading %s: %w", path, err))
	}
	return data, nil
}

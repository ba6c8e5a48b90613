// Package scan is the scan action: gates 1 and 2 at the source. It maps the
// action's inputs to pkg/scan, and the result to outputs, the SARIF upload, a step
// summary, annotations on the pull request's changed lines, or — on a laptop — a
// readable table.
package scan

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/page"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	scanner "github.com/secure-gates/secure-gates/pkg/scan"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
	"github.com/secure-gates/secure-gates/pkg/scancache"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the scan subcommand.
var Gate = gate.Define(gate.Spec{Name: "scan", ActionYAML: actionYAML, Positional: "path"}, runScan)

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Path     string   `input:"path"`
	Scanners []string `input:"scanners"`
	finding.CutoffInputs
	vulndb.Inputs
	DBUpdateURL    string   `input:"db-update-url"`
	LicenseAllow   []string `input:"license-allow"`
	LicenseDeny    []string `input:"license-deny"`
	LicenseUnknown string   `input:"license-unknown"`
	IaCPolicies    string   `input:"iac-policies"`
	IaCPlan        string   `input:"iac-plan"`
	HelmValues     []string `input:"helm-values,lines"`
	IaCChangedOnly bool     `input:"iac-changed-only"`
	SARIFInputs    []string `input:"sarif-inputs"`
	exceptions.FileInput
	VEX           []string `input:"vex"`
	SecretsConfig string   `input:"secrets-config"`
	Staged        bool     `input:"staged"`
	OutputDir     string   `input:"output-dir"`
	sarif.UploadInputs
	Category     string `input:"category"`
	CacheDir     string `input:"cache-dir"`
	CacheSecret  string `input:"cache-secret,secret"`
	CacheMaxSize string `input:"cache-max-size"`
	// Timeout bounds each network phase (DB download, upload), not the scan.
	Timeout time.Duration `input:"timeout"`
	page.PagingInputs

	// Parsed by Validate.
	cutoff       finding.Severity
	scanners     []string
	helmValues   map[string][]string
	cacheMaxSize int64
}

// Validate checks every input that needs no file, and keeps what it parsed.
func (in *Inputs) Validate() error {
	if err := in.PagingInputs.Validate(); err != nil {
		return err
	}
	var err error
	if in.cutoff, err = in.Cutoff(); err != nil {
		return errkind.Input(err)
	}
	if in.scanners, err = scanner.ParseScanners(in.Scanners); err != nil {
		return err
	}
	if err := in.Inputs.Validate(); err != nil {
		return err
	}
	if err := gate.CheckTimeout(in.Timeout); err != nil {
		return err
	}
	switch in.LicenseUnknown {
	case "", license.UnknownWarn, "fail", "ignore":
	default:
		return errkind.Input(fmt.Errorf("license-unknown %q: expected warn, fail or ignore", in.LicenseUnknown))
	}
	if in.cacheMaxSize, err = scancache.ParseSize(cmp.Or(in.CacheMaxSize, "512MiB")); err != nil {
		return errkind.Input(fmt.Errorf("cache-max-size: %w", err))
	}
	if in.CacheSecret != "" && len(in.CacheSecret) < scancache.MinSecretBytes {
		return errkind.Input(fmt.Errorf("cache-secret: %d characters, expected at least %d (give a random secret, e.g. openssl rand -hex 32)", len(in.CacheSecret), scancache.MinSecretBytes))
	}
	in.helmValues, err = iac.ParseHelmValues(in.HelmValues)
	return err
}

// upload reports whether the SARIF goes to code scanning: on a runner, unless
// only the staged changes are scanned.
func (in Inputs) upload(run *gate.Run) bool { return in.UploadSARIF && !in.Staged && run.InActions() }

// Outputs are the action's outputs; the tags are the names in action.yml.
type Outputs struct {
	Verdict           string `output:"verdict"`
	SARIF             string `output:"sarif"`
	CodeScanPredicate string `output:"code-scan-predicate"`
	VulnPredicate     string `output:"vuln-predicate"`
	Critical          int    `output:"critical"`
	High              int    `output:"high"`
	Medium            int    `output:"medium"`
	Low               int    `output:"low"`
	Secrets           int    `output:"secrets"`
	CacheKey          string `output:"cache-key"`
	page.PagingOutputs

	report  report
	subject string // repository@commit, for paging
}

// PageOutcome is the scan's verdict on the commit for paging (docs/paging.md):
// the failing findings and the scanners that did not run.
func (o Outputs) PageOutcome() (page.Outcome, bool) {
	res := o.report.res
	if res == nil {
		return page.Outcome{}, false
	}
	po := page.Outcome{Gate: "scan", Subject: o.subject, Failing: page.FromFindings(res.Failing), Failed: res.Decision == attestation.DecisionFail}
	po.Seen = page.Others(page.FromFindings(res.Findings), po.Failing)
	var reasons []string
	for _, out := range res.Outages {
		po.Outages = append(po.Outages, out.Scanner)
		reasons = append(reasons, out.Scanner+": "+out.Reason)
	}
	po.OutageDetail = strings.Join(reasons, "; ")
	for _, s := range res.Scanners {
		if s.Skipped == "" {
			po.Ran = append(po.Ran, s.Name)
		}
	}
	return po, true
}

// MaxAnnotations bounds the annotations of one run (the runner shows 10 of each
// level per step and 50 per job).
const MaxAnnotations = 10

// TopFindings is how many findings the summary table lists.
const TopFindings = 20

func runScan(ctx context.Context, run *gate.Run, in Inputs) (Outputs, error) {
	if err := in.CheckToken(in.upload(run)); err != nil {
		return Outputs{}, err
	}
	s, err := prepare(ctx, run, in)
	if err != nil {
		return Outputs{}, err
	}
	run.Infof("secure-gates scan: %s with %s", s.opts.Root, strings.Join(s.opts.Scanners, ", "))
	res, err := scanner.Run(ctx, s.opts)
	cacheKey := closeCache(run, s)
	if err != nil {
		return Outputs{}, err
	}
	files, err := res.WriteFiles(s.out, scanner.WriteOptions{Category: in.Category,
		Source: sourceRef(s.ctx), RepoRoot: s.repo, Invocation: invocation(s.ctx)})
	if err != nil {
		return Outputs{}, err
	}
	counts := res.Counts()
	out := Outputs{Verdict: string(res.Decision), SARIF: files.SARIF, CodeScanPredicate: files.CodeScan, VulnPredicate: files.Vuln,
		Critical: counts[finding.Critical], High: counts[finding.High], Medium: counts[finding.Medium], Low: counts[finding.Low],
		Secrets: res.Secrets(), CacheKey: cacheKey, report: report{res: res, files: files, repo: s.repo, onRunner: run.InActions()}, subject: s.repo}
	if c := run.Context(); c.Repository != "" && c.SHA != "" {
		out.subject = c.Repository + "@" + c.SHA
	}
	var uploadErr error
	if run.InActions() {
		out.report.changes = changedLines(ctx, res, s.opts.Secrets.Range)
		if in.upload(run) {
			uploadErr = upload(ctx, run, res, in, s)
		}
	} else if err := Table(run.Stdout(), res); err != nil {
		return Outputs{}, errkind.Infra(err)
	}
	if res.Decision == attestation.DecisionFail {
		where := "the table above"
		if run.InActions() {
			where = "the step summary"
		}
		return out, errkind.Policy(fmt.Errorf("%d finding(s) fail the gate (severity %s or above%s); see %s and %s",
			len(res.Failing), res.Cutoff, onlyFixedNote(res.OnlyFixed && res.Ran(scanner.Deps)), where, files.SARIF))
	}
	return out, uploadErr
}

func onlyFixedNote(b bool) string {
	if b {
		return ", dependencies only when a fix exists"
	}
	return ""
}

func shaRE(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return !slices.ContainsFunc([]byte(s), func(c byte) bool { return !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') })
}

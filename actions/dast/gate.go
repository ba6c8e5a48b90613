// Package dast is the dast gate: it reads the report(s) of a DAST run
// against a deployed environment, applies ZAP's rules file, the exceptions
// and fail-on, treats an incomplete scan as an outage, and writes the SARIF,
// the job summary and the dast predicate. The logic lives in pkg/dast.
package dast

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	dast "github.com/secure-gates/secure-gates/pkg/dast"
	"github.com/secure-gates/secure-gates/pkg/deploy"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/page"
	"github.com/secure-gates/secure-gates/pkg/readfile"
	"github.com/secure-gates/secure-gates/pkg/sarif"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the dast gate.
var Gate = gate.Define(gate.Spec{Name: "dast", ActionYAML: actionYAML, Positional: "report"}, runDAST)

// Inputs are the gate's inputs (action.yml).
type Inputs struct {
	Report    string `input:"report"`
	RulesFile string `input:"rules-file"`
	FailOn    string `input:"fail-on"`
	exceptions.FileInput
	OnScannerOutage string `input:"on-scanner-outage"`
	Image           string `input:"image"`
	Environment     string `input:"environment"`
	Target          string `input:"target"`
	// The workload the image is read back from (runningImage).
	deploy.WorkloadInputs
	sarif.UploadInputs
	OutputDir string `input:"output-dir"`
	gate.Timeout
	page.PagingInputs

	// Parsed by Validate.
	failOn      *dast.Risk
	outageFails bool
	env, image  string
}

// Validate checks every input, and that upload-sarif has a token, before any
// report is read; it keeps what it parsed.
func (in *Inputs) Validate() error {
	if err := in.PagingInputs.Validate(); err != nil {
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(cmp.Or(in.FailOn, "high")), "none") {
		r, err := dast.ParseRisk(in.FailOn)
		if err != nil {
			return fmt.Errorf("fail-on: %w, or none", err)
		}
		in.failOn = &r
	}
	switch cmp.Or(in.OnScannerOutage, "fail") {
	case "fail":
		in.outageFails = true
	case "continue":
	default:
		return fmt.Errorf("on-scanner-outage %q: expected fail or continue", in.OnScannerOutage)
	}
	if in.env = strings.TrimSpace(in.Environment); in.env == "" {
		return errors.New("environment is required: name the environment scanned, e.g. staging")
	}
	if !validEnv(in.env) {
		return fmt.Errorf("environment %q: expected letters, digits, '.', '_', '-' or '/', at most 255", in.env)
	}
	if in.Target != "" {
		u, err := url.Parse(in.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("target %q: expected the http(s) URL scanned", in.Target)
		}
	}
	if in.Image != "" {
		d, err := oci.ParseDigestRef(in.Image)
		if err != nil {
			return fmt.Errorf("image: expected the digest the environment runs (repo@sha256:...), not a tag: %w", err)
		}
		in.image = d.String()
	}
	if strings.TrimSpace(in.Report) == "" {
		return errors.New("report is required: the path or glob of the DAST report(s)")
	}
	return in.CheckToken(in.UploadSARIF)
}

// Outputs are the gate's outputs (action.yml). high counts critical and high.
type Outputs struct {
	Verdict       string `output:"verdict"`
	High          int    `output:"high"`
	Medium        int    `output:"medium"`
	Low           int    `output:"low"`
	Informational int    `output:"informational"`
	SARIF         string `output:"sarif"`
	DASTPredicate string `output:"dast-predicate"`
	page.PagingOutputs
	Image string `output:"image"`

	report report
}

// PageOutcome is the verdict on the environment for paging (docs/paging.md):
// a failed promotion (severity high) and the scanners that did not complete.
func (o Outputs) PageOutcome() (page.Outcome, bool) {
	d := o.report.d
	if d == nil {
		return page.Outcome{}, false
	}
	subject := o.report.image
	if subject == "" {
		subject = d.Predicate.Target
	}
	subject += " (" + d.Predicate.Environment + ")"
	po := page.Outcome{Gate: "dast", Subject: subject, Failed: !d.Pass, FailedSeverity: finding.High}
	if !d.Pass {
		f := d.Failing
		if len(f) > 5 {
			f = f[:5]
		}
		po.FailedSummary = strings.Join(f, "; ")
	}
	var reasons []string
	for _, out := range d.Predicate.Outages {
		po.Outages = append(po.Outages, out.Scanner)
		reasons = append(reasons, out.Reason)
	}
	po.OutageDetail = strings.Join(reasons, "; ")
	if len(po.Outages) == 0 {
		for _, t := range d.Predicate.Tools {
			po.Ran = append(po.Ran, t.Name)
		}
	}
	return po, true
}

const (
	defaultRules = ".zap/rules.tsv"
	maxReports   = 64
)

func runDAST(ctx context.Context, run *gate.Run, in Inputs) (Outputs, error) {
	now := time.Now().UTC().Truncate(time.Second)
	// Paths are relative to GITHUB_WORKSPACE when it is set, even off a runner
	// (the pipeline command sets it), else to the working directory.
	resolve := func(p string) string {
		if ws := run.Context().Workspace; ws != "" && !filepath.IsAbs(p) {
			return filepath.Join(ws, p)
		}
		return p
	}
	image, err := runningImage(ctx, run, in)
	if err != nil {
		return Outputs{}, err
	}
	p := dast.Policy{Now: now, FailOn: in.failOn, OutageFails: in.outageFails}
	if err := readRules(&p, resolve, cmp.Or(in.RulesFile, defaultRules)); err != nil {
		return Outputs{}, err
	}
	exSet, err := in.FileInput.Load(resolve, now)
	if err != nil {
		return Outputs{}, err
	}
	p.Exceptions = exSet
	inputs, err := readReports(resolve(in.Report), in.Report)
	if err != nil {
		return Outputs{}, err
	}
	d, err := dast.Evaluate(inputs, p, in.Target, in.env)
	if err != nil {
		return Outputs{}, err
	}
	dir := resolve(cmp.Or(in.OutputDir, filepath.Join(run.TempDir(), "secure-gates", "dast")))
	out, sarifDoc, err := writeFiles(d, dir)
	if err != nil {
		return Outputs{}, err
	}
	out.Image = image
	out.report = report{d: d, image: image, predicate: out.DASTPredicate}
	if in.UploadSARIF {
		if err := upload(ctx, run, in.Token, sarifDoc, d.Predicate.EvaluatedOn); err != nil {
			return out, err
		}
	}
	if !d.Pass {
		return out, errkind.Policy(fmt.Errorf("DAST of %s (%s) fails: %s", d.Predicate.Target, in.env, strings.Join(first(d.Failing, 5), "; ")))
	}
	return out, nil
}

// runningImage is the digest the DAST is bound to: the image input, or, with
// workload, the digest the workload's pods report (which must then equal image).
func runningImage(ctx context.Context, run *gate.Run, in Inputs) (string, error) {
	if in.Workload == "" {
		return in.image, nil
	}
	r, err := deploy.RunningImage(ctx, in.KubectlOptions())
	if err != nil {
		return "", err
	}
	if in.image != "" && !strings.HasSuffix(in.image, "@"+r.Image.Digest) {
		return "", errkind.Policy(fmt.Errorf("image %s is not what %s runs: %s; the DAST scanned what runs, so it cannot be attested on %s", in.image, in.Environment, r.Detail, in.image))
	}
	run.Infof("read back: %s", r.Detail)
	return r.Image.String(), nil
}

// readRules reads ZAP's rules file into p; the default file may be missing.
func readRules(p *dast.Policy, resolve func(string) string, rulesPath string) error {
	data, err := readfile.Bounded(resolve(rulesPath), dast.MaxRulesBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && rulesPath == defaultRules {
			return nil
		}
		return errkind.Input(fmt.Errorf("reading rules file %s: %w", rulesPath, err))
	}
	rules, err := dast.ParseRules(rulesPath, data)
	if err != nil {
		return err
	}
	p.Rules, p.RulesDigest = rules, attestation.DigestOf(data)
	return nil
}

// writeFiles writes the dast predicate and the SARIF into dir and returns the
// outputs naming them, and the SARIF.
func writeFiles(d *dast.Decision, dir string) (Outputs, []byte, error) {
	pred, err := json.MarshalIndent(d.Predicate, "", "  ")
	if err != nil {
		return Outputs{}, nil, fmt.Errorf("encoding the dast predicate: %w", err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateDAST, pred, attestation.Options{}); err != nil {
		return Outputs{}, nil, errkind.Infra(fmt.Errorf("the dast predicate does not match its schema: %w", err))
	}
	sarifDoc, err := d.SARIF()
	if err != nil {
		return Outputs{}, nil, err
	}
	predPath, sarifPath := filepath.Join(dir, "dast.predicate.json"), filepath.Join(dir, "dast.sarif")
	if err := atomicfile.Write(predPath, append(pred, '\n')); err != nil {
		return Outputs{}, nil, errkind.Infra(fmt.Errorf("writing the dast predicate: %w", err))
	}
	if err := atomicfile.Write(sarifPath, sarifDoc); err != nil {
		return Outputs{}, nil, errkind.Infra(fmt.Errorf("writing the SARIF: %w", err))
	}
	c := d.Predicate.Counts
	verdict := "fail"
	if d.Pass {
		verdict = "pass"
	}
	return Outputs{Verdict: verdict, High: c.Critical + c.High, Medium: c.Medium, Low: c.Low, Informational: c.Informational,
		SARIF: sarifPath, DASTPredicate: predPath}, sarifDoc, nil
}

// readReports expands pattern and reads each report. No match is a scanner
// outage (the report the scan should have written is missing), recorded as
// an empty report, never a pass.
func readReports(pattern, shown string) ([]dast.Input, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("report %q: bad glob: %w", shown, err))
	}
	if len(matches) == 0 {
		return []dast.Input{{Name: shown, Digest: attestation.DigestOf(nil), Report: &dast.Report{Incomplete: "no report at " + shown + ": the scan wrote none"}}}, nil
	}
	if len(matches) > maxReports {
		return nil, errkind.Input(fmt.Errorf("report %q matches %d files, more than %d", shown, len(matches), maxReports))
	}
	var out []dast.Input
	for _, m := range matches {
		data, err := readfile.Bounded(m, dast.MaxReportBytes)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("report %s: %w", m, err))
		}
		rep, err := dast.Parse(m, bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		out = append(out, dast.Input{Name: m, Digest: attestation.DigestOf(data), Report: rep})
	}
	return out, nil
}

// upload sends the SARIF to code scanning.
func upload(ctx context.Context, run *gate.Run, token string, doc []byte, started time.Time) error {
	client, err := run.GitHub(token)
	if err != nil {
		return err
	}
	c := run.Context()
	id, err := sarif.Upload(ctx, client, sarif.UploadRequest{Owner: c.Owner(), Repo: c.Name(), CommitSHA: c.SHA, Ref: c.Ref, ToolName: "secure-gates-dast", StartedAt: started, SARIF: doc})
	if err != nil {
		return fmt.Errorf("uploading the DAST SARIF: %w", err)
	}
	run.Infof("code scanning: DAST SARIF uploaded (%s)", id)
	return nil
}

func validEnv(s string) bool {
	if len(s) > 255 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || (i > 0 && (r == '.' || r == '_' || r == '-' || r == '/'))
		if !ok {
			return false
		}
	}
	return true
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

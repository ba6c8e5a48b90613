// Package dastaction is the dast gate: it reads the report(s) of a DAST run
// against a deployed environment, applies ZAP's rules file, the exceptions
// and fail-on, treats an incomplete scan as an outage, and writes the SARIF,
// the job summary and the dast predicate. The logic lives in pkg/dast.
package dastaction

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/dast"
	"github.com/secure-gates/secure-gates/pkg/deploy"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/sarif"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the dast gate.
var Gate = gate.Gate{Name: "dast", ActionYAML: actionYAML, Positional: "report", Run: run, Inputs: Inputs{}}

// Inputs are the gate's inputs (action.yml).
type Inputs struct {
	Report          string        `input:"report"`
	RulesFile       string        `input:"rules-file"`
	FailOn          string        `input:"fail-on"`
	Exceptions      string        `input:"exceptions"`
	OnScannerOutage string        `input:"on-scanner-outage"`
	Image           string        `input:"image"`
	Environment     string        `input:"environment"`
	Target          string        `input:"target"`
	Workload        string        `input:"workload"`
	Namespace       string        `input:"namespace"`
	Container       string        `input:"container"`
	Kubeconfig      string        `input:"kubeconfig"`
	UploadSARIF     bool          `input:"upload-sarif"`
	Token           string        `input:"token"`
	OutputDir       string        `input:"output-dir"`
	Timeout         time.Duration `input:"timeout"`
}

const (
	defaultRules = ".zap/rules.tsv"
	maxReports   = 64
)

func run(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) error {
	var in Inputs
	if err := gha.Decode(raw, &in); err != nil {
		return errkind.Input(err)
	}
	ctx, cancel, err := gate.WithTimeout(ctx, in.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	token := in.Token
	if strings.HasPrefix(token, "${{") {
		token = ""
	}
	if token != "" {
		rt.AddMask(token)
	}
	now := time.Now().UTC().Truncate(time.Second)
	resolve := func(p string) string {
		if ws := rt.Context().Workspace; ws != "" && !filepath.IsAbs(p) {
			return filepath.Join(ws, p)
		}
		return p
	}

	p := dast.Policy{Now: now}
	switch strings.ToLower(strings.TrimSpace(or(in.FailOn, "high"))) {
	case "none":
	default:
		r, err := dast.ParseRisk(in.FailOn)
		if err != nil {
			return errkind.Input(fmt.Errorf("fail-on: %w, or none", err))
		}
		p.FailOn = &r
	}
	switch or(in.OnScannerOutage, "fail") {
	case "fail":
		p.OutageFails = true
	case "continue":
	default:
		return errkind.Input(fmt.Errorf("on-scanner-outage %q: expected fail or continue", in.OnScannerOutage))
	}
	env := strings.TrimSpace(in.Environment)
	if env == "" {
		return errkind.Input(errors.New("environment is required: name the environment scanned, e.g. staging"))
	}
	if !validEnv(env) {
		return errkind.Input(fmt.Errorf("environment %q: expected letters, digits, '.', '_', '-' or '/', at most 255", env))
	}
	if in.Target != "" {
		u, err := url.Parse(in.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errkind.Input(fmt.Errorf("target %q: expected the http(s) URL scanned", in.Target))
		}
	}
	image := ""
	if in.Image != "" {
		d, err := oci.ParseDigestRef(in.Image)
		if err != nil {
			return errkind.Input(fmt.Errorf("image: expected the digest the environment runs (repo@sha256:...), not a tag: %w", err))
		}
		image = d.String()
	}
	if in.Workload != "" {
		// The digest the environment runs, as its pods report it.
		r, err := deploy.RunningImage(ctx, deploy.KubectlOptions{Kubeconfig: in.Kubeconfig, Namespace: in.Namespace, Workload: in.Workload, Container: in.Container})
		if err != nil {
			return err
		}
		if image != "" && !strings.HasSuffix(image, "@"+r.Image.Digest) {
			return errkind.Policy(fmt.Errorf("image %s is not what %s runs: %s; the DAST scanned what runs, so it cannot be attested on %s", image, in.Environment, r.Detail, image))
		}
		rt.Infof("read back: %s", r.Detail)
		image = r.Image.String()
	}

	rulesPath := or(in.RulesFile, defaultRules)
	if data, err := readSmall(resolve(rulesPath), dast.MaxRulesBytes); err == nil {
		rules, err := dast.ParseRules(rulesPath, data)
		if err != nil {
			return err
		}
		p.Rules, p.RulesDigest = rules, attestation.DigestOf(data)
	} else if !(errors.Is(err, fs.ErrNotExist) && rulesPath == defaultRules) {
		return errkind.Input(fmt.Errorf("reading rules file %s: %w", rulesPath, err))
	}
	exPath := or(in.Exceptions, exceptions.DefaultPath)
	exSet, err := exceptions.Load(resolve(exPath), now, exceptions.Options{MissingOK: exPath == exceptions.DefaultPath})
	if err != nil {
		return err
	}
	p.Exceptions = exSet

	inputs, err := readReports(resolve(in.Report), in.Report)
	if err != nil {
		return err
	}
	d, err := dast.Evaluate(inputs, p, in.Target, env)
	if err != nil {
		return err
	}

	dir := in.OutputDir
	if dir == "" {
		dir = filepath.Join(or(rt.Getenv("RUNNER_TEMP"), os.TempDir()), "secure-gates", "dast")
	}
	dir = resolve(dir)
	pred, err := json.MarshalIndent(d.Predicate, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the dast predicate: %w", err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateDAST, pred, attestation.Options{}); err != nil {
		return errkind.Infra(fmt.Errorf("the dast predicate does not match its schema: %w", err))
	}
	sarifDoc, err := d.SARIF()
	if err != nil {
		return err
	}
	predPath, sarifPath := filepath.Join(dir, "dast.predicate.json"), filepath.Join(dir, "dast.sarif")
	if err := atomicfile.Write(predPath, append(pred, '\n')); err != nil {
		return errkind.Infra(fmt.Errorf("writing the dast predicate: %w", err))
	}
	if err := atomicfile.Write(sarifPath, sarifDoc); err != nil {
		return errkind.Infra(fmt.Errorf("writing the SARIF: %w", err))
	}

	summary := d.Summary()
	if image != "" {
		summary += "\nImage scanned: `" + image + "` — attest `dast=" + predPath + "` on this digest.\n"
	}
	if err := rt.WriteSummary(summary); err != nil {
		return errkind.Infra(err)
	}
	c := d.Predicate.Counts
	verdict := "fail"
	if d.Pass {
		verdict = "pass"
	}
	for _, o := range []gha.KeyValue{
		{Name: "verdict", Value: verdict},
		{Name: "high", Value: strconv.Itoa(c.Critical + c.High)},
		{Name: "medium", Value: strconv.Itoa(c.Medium)},
		{Name: "low", Value: strconv.Itoa(c.Low)},
		{Name: "informational", Value: strconv.Itoa(c.Informational)},
		{Name: "sarif", Value: sarifPath},
		{Name: "dast-predicate", Value: predPath},
		{Name: "image", Value: image},
	} {
		if err := rt.SetOutput(o.Name, o.Value); err != nil {
			return errkind.Infra(err)
		}
	}
	for _, o := range d.Predicate.Outages {
		rt.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "DAST scanner outage", Message: o.Reason})
	}
	if in.UploadSARIF {
		if err := upload(ctx, rt, token, sarifDoc, d.Predicate.EvaluatedOn); err != nil {
			return err
		}
	}
	if !d.Pass {
		return errkind.Policy(fmt.Errorf("DAST of %s (%s) fails: %s", d.Predicate.Target, env, strings.Join(first(d.Failing, 5), "; ")))
	}
	return nil
}

// readReports expands pattern and reads each report. No match is a scanner
// outage (the report the scan should have written is missing), recorded as
// an empty report, never a pass.
func readReports(pattern, shown string) ([]dast.Input, error) {
	if strings.TrimSpace(shown) == "" {
		return nil, errkind.Input(errors.New("report is required: the path or glob of the DAST report(s)"))
	}
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
		st, err := os.Stat(m)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("report %s: %w", m, err))
		}
		if !st.Mode().IsRegular() {
			return nil, errkind.Input(fmt.Errorf("report %s is not a regular file", m))
		}
		data, err := readSmall(m, dast.MaxReportBytes)
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

// readSmall reads a regular file of at most max bytes.
func readSmall(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > max {
		return nil, fmt.Errorf("larger than the %d-byte limit", max)
	}
	buf := make([]byte, 0, st.Size())
	b := bytes.NewBuffer(buf)
	if _, err := b.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, err
	}
	if int64(b.Len()) > max {
		return nil, fmt.Errorf("larger than the %d-byte limit", max)
	}
	return b.Bytes(), nil
}

func upload(ctx context.Context, rt *gha.Runtime, token string, doc []byte, started time.Time) error {
	if token == "" {
		return errkind.Input(errors.New("upload-sarif needs the token input (security-events: write)"))
	}
	c := rt.Context()
	client := github.NewClient(rt.HTTPClient()).WithAuthToken(token)
	api, err := url.Parse(strings.TrimSuffix(or(c.APIURL, "https://api.github.com"), "/") + "/")
	if err != nil {
		return errkind.Input(fmt.Errorf("parsing GITHUB_API_URL: %w", err))
	}
	client.BaseURL = api
	id, err := sarif.Upload(ctx, client, sarif.UploadRequest{Owner: c.Owner(), Repo: c.Name(), CommitSHA: c.SHA, Ref: c.Ref, ToolName: "secure-gates-dast", StartedAt: started, SARIF: doc})
	if err != nil {
		return fmt.Errorf("uploading the DAST SARIF: %w", err)
	}
	rt.Infof("code scanning: DAST SARIF uploaded (%s)", id)
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

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

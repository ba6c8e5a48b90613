// Package assess is the assess action: seed 002's 20-question
// self-assessment scored from evidence (pkg/assess) for a repository directory
// or every repository of an organization, written as a job summary, markdown
// and JSON.
package assess

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/assess"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/readfile"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the assess subcommand.
var Gate = gate.Define(gate.Spec{Name: "assess", ActionYAML: actionYAML, Positional: "repo"}, runAssess)

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Repo               string        `input:"repo"`
	Org                string        `input:"org"`
	Repository         string        `input:"repository"`
	JSON               string        `input:"json"`
	Markdown           string        `input:"markdown"`
	Previous           string        `input:"previous"`
	PavedRoad          []string      `input:"paved-road"`
	ReassessmentPeriod time.Duration `input:"reassessment-period"`
	MinScore           int           `input:"min-score"`
	Concurrency        int           `input:"concurrency"`
	Token              string        `input:"token,secret"`
}

// Validate checks every input, and that organization mode has a token.
func (in Inputs) Validate() error {
	if in.MinScore < 0 || in.MinScore > 40 {
		return fmt.Errorf("input \"min-score\": %d: want 0–40", in.MinScore)
	}
	if in.Concurrency < 1 || in.Concurrency > 16 {
		return fmt.Errorf("input \"concurrency\": %d: want 1–16", in.Concurrency)
	}
	if in.ReassessmentPeriod <= 0 || in.ReassessmentPeriod > 366*24*time.Hour {
		return fmt.Errorf("input \"reassessment-period\": %s: want a duration up to 8784h (a year)", in.ReassessmentPeriod)
	}
	for _, p := range in.PavedRoad {
		o, n, ok := strings.Cut(p, "/")
		if !ok || !assess.ValidOwner(o) || n == "" || strings.ContainsAny(n, "/@ ") {
			return fmt.Errorf("input \"paved-road\": %q is not OWNER/REPO", p)
		}
	}
	if in.Org != "" && !assess.ValidOwner(in.Org) {
		return fmt.Errorf("input \"org\": %q is not a GitHub organization name", in.Org)
	}
	if in.Org != "" && in.Token == "" {
		return errNoToken
	}
	return nil
}

var errNoToken = errors.New("the GitHub API needs a token (input token)")

// Outputs are the action's outputs; the tags are the names in action.yml. In
// organization mode total and tier are the lowest of the repositories assessed.
type Outputs struct {
	Total     int    `output:"total"`
	Tier      int    `output:"tier"`
	JSON      string `output:"json,omitempty"`
	Markdown  string `output:"markdown,omitempty"`
	Predicate string `output:"predicate,omitempty"`

	summary string // the report's markdown
}

// Summary is the report's markdown.
func (o Outputs) Summary() string { return o.summary }

// Now is the clock of the assessment; tests replace it.
var Now = time.Now

func runAssess(ctx context.Context, run *gate.Run, in Inputs) (Outputs, error) {
	prevData, err := readPrevious(in.Previous)
	if err != nil {
		return Outputs{}, err
	}
	opts := assess.Options{Now: Now(), Reassessment: in.ReassessmentPeriod, PavedRoad: in.PavedRoad}
	if in.Org != "" {
		return assessOrg(ctx, run, in, opts, prevData)
	}
	in.Repo = cmp.Or(in.Repo, ".")
	opts.Repository = in.Repository
	if opts.Repository == "" && run.InActions() && in.Repo == "." {
		opts.Repository = run.Context().Repository
	}
	var apiNote string
	if opts.Repository != "" && in.Token != "" {
		if opts.Protection, apiNote, err = protection(ctx, run, in.Token, opts.Repository); err != nil {
			return Outputs{}, err
		}
	}
	tree, err := assess.OpenDir(in.Repo)
	if err != nil {
		return Outputs{}, errkind.Input(fmt.Errorf("input \"repo\": %w", err))
	}
	defer tree.Close()
	rep, err := assess.Evaluate(ctx, tree, opts)
	if err != nil {
		return Outputs{}, errkind.Infra(fmt.Errorf("assessing %s: %w", in.Repo, err))
	}
	if apiNote != "" {
		rep.Notes = append(rep.Notes, apiNote)
	}
	if rep.AnswersError != "" {
		return Outputs{}, errkind.Input(fmt.Errorf("%s; fix the file (see actions/assess/README.md) or remove it", rep.AnswersError))
	}
	if prevData != nil {
		prev, _, err := assess.ParsePrevious(prevData)
		if err != nil || prev == nil {
			return Outputs{}, errkind.Input(fmt.Errorf("input \"previous\": %s is not a repository assessment JSON", in.Previous))
		}
		rep.SetTrend(prev)
	}
	return finishRepo(run, in, rep)
}

// client is the API client of the assessment.
func client(run *gate.Run, token string) (*assess.Client, error) {
	cl, err := assess.NewClient(assess.ClientOptions{BaseURL: run.Context().APIURL, Token: token, HTTPClient: run.HTTPClient()})
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("GITHUB_API_URL: %w", err))
	}
	return cl, nil
}

// assessOrg assesses every repository of the organization through the API.
func assessOrg(ctx context.Context, run *gate.Run, in Inputs, opts assess.Options, prevData []byte) (Outputs, error) {
	cl, err := client(run, in.Token)
	if err != nil {
		return Outputs{}, err
	}
	rep, err := assess.AssessOrg(ctx, cl, in.Org, assess.OrgOptions{Evaluate: opts, Concurrency: in.Concurrency})
	if err != nil {
		if assess.IsInfra(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return Outputs{}, errkind.Infra(err)
		}
		return Outputs{}, errkind.Input(err)
	}
	var prev map[string]*assess.Report
	if prevData != nil {
		if _, prev, err = assess.ParsePrevious(prevData); err != nil || prev == nil {
			return Outputs{}, errkind.Input(fmt.Errorf("input \"previous\": %s is not an organization assessment JSON", in.Previous))
		}
	}
	return finishOrg(in, rep, prev)
}

// protection reads the repository's required checks. A token that cannot read
// them is a note on the report (scored without required checks), not an
// error; an outage is an error (it is not "nothing required").
func protection(ctx context.Context, run *gate.Run, token, repository string) (*assess.Protection, string, error) {
	cl, err := client(run, token)
	if err != nil {
		return nil, "", err
	}
	r, err := cl.Repository(ctx, repository)
	if err == nil {
		var p *assess.Protection
		if p, err = cl.Protection(ctx, r); err == nil {
			return p, "", nil
		}
	}
	if assess.IsInfra(err) {
		return nil, "", errkind.Infra(err)
	}
	return nil, "required checks not read: " + err.Error(), nil
}

func readPrevious(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	// Bounded: a FIFO is refused at once instead of blocking the gate.
	data, err := readfile.Bounded(path, assess.MaxReportBytes)
	if errors.Is(err, readfile.ErrTooLarge) {
		return nil, errkind.Input(fmt.Errorf("input \"previous\": %s is larger than %d bytes", path, assess.MaxReportBytes))
	}
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("input \"previous\": %w", err))
	}
	return data, nil
}

// write writes the JSON and markdown reports the inputs ask for and returns
// the outputs naming them, with the markdown as the summary.
func write(in Inputs, v any, md string) (Outputs, error) {
	out := Outputs{summary: md}
	if in.JSON != "" {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return Outputs{}, errkind.Infra(fmt.Errorf("encoding the report: %w", err))
		}
		if err := atomicfile.Write(in.JSON, append(data, '\n')); err != nil {
			return Outputs{}, errkind.Infra(fmt.Errorf("writing %s: %w", in.JSON, err))
		}
		out.JSON = in.JSON
	}
	if in.Markdown != "" {
		if err := atomicfile.Write(in.Markdown, []byte(md)); err != nil {
			return Outputs{}, errkind.Infra(fmt.Errorf("writing %s: %w", in.Markdown, err))
		}
		out.Markdown = in.Markdown
	}
	return out, nil
}

func finishRepo(run *gate.Run, in Inputs, rep *assess.Report) (Outputs, error) {
	out, err := write(in, rep, rep.Markdown())
	if err != nil {
		return Outputs{}, err
	}
	if rep.Repository != "" {
		if out.Predicate, err = writePredicate(run.TempDir(), rep); err != nil {
			return Outputs{}, err
		}
	}
	out.Total, out.Tier = rep.Total, rep.Tier
	if in.MinScore > 0 && rep.Total < in.MinScore {
		return out, errkind.Policy(fmt.Errorf("total %d / 40 is below min-score %d", rep.Total, in.MinScore))
	}
	return out, nil
}

func finishOrg(in Inputs, rep *assess.OrgReport, prev map[string]*assess.Report) (Outputs, error) {
	out, err := write(in, rep, rep.Markdown(prev))
	if err != nil {
		return Outputs{}, err
	}
	lowest, tier, n := 40, 4, 0
	var below []string
	for _, r := range rep.Repositories {
		if r.Error != "" {
			continue
		}
		n++
		lowest, tier = min(lowest, r.Total), min(tier, r.Tier)
		if in.MinScore > 0 && r.Total < in.MinScore {
			below = append(below, fmt.Sprintf("%s (%d)", r.Repository, r.Total))
		}
	}
	if n == 0 {
		lowest, tier = 0, 0
	}
	out.Total, out.Tier = lowest, tier
	if len(below) > 0 {
		slices.Sort(below)
		return out, errkind.Policy(fmt.Errorf("%d repositories below min-score %d: %s", len(below), in.MinScore, strings.Join(below, ", ")))
	}
	return out, nil
}

// Predicate returns the assessment predicate of a repository report, validated
// against its schema.
func Predicate(rep *assess.Report) ([]byte, error) {
	p := attestation.Assessment{Repository: rep.Repository, AssessedAt: rep.AssessedAt, Total: rep.Total, Tier: rep.Tier}
	for _, q := range rep.Questions {
		ev := q.Evidence
		if len(ev) > 10 {
			ev = append(ev[:9:9], fmt.Sprintf("… and %d more", len(q.Evidence)-9))
		}
		clipped := make([]string, len(ev))
		for i, e := range ev {
			clipped[i] = textclip.Clip(e, 2048)
		}
		p.Questions = append(p.Questions, attestation.AssessmentAnswer{ID: q.ID, Score: q.Score, Evidence: clipped, Source: q.Source})
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the assessment predicate: %w", err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateAssessment, data, attestation.Options{}); err != nil {
		return nil, fmt.Errorf("assessment predicate does not match its schema: %w", err)
	}
	return data, nil
}

// writePredicate writes the assessment predicate into dir/secure-gates and
// returns its path.
func writePredicate(dir string, rep *assess.Report) (string, error) {
	data, err := Predicate(rep)
	if err != nil {
		return "", errkind.Infra(err)
	}
	path := filepath.Join(dir, "secure-gates", "assessment.predicate.json")
	if err := atomicfile.Write(path, append(data, '\n')); err != nil {
		return "", errkind.Infra(fmt.Errorf("writing the assessment predicate: %w", err))
	}
	return path, nil
}

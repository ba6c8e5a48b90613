// Package assessaction is the assess action: seed 002's 20-question
// self-assessment scored from evidence (pkg/assess) for a repository directory
// or every repository of an organization, written as a job summary, markdown
// and JSON.
package assessaction

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/assess"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the assess subcommand.
var Gate = gate.Gate{Name: "assess", ActionYAML: actionYAML, Positional: "repo", Run: run, Inputs: Inputs{}}

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
	Token              string        `input:"token"`
}

// Now is the clock of the assessment; tests replace it.
var Now = time.Now

func run(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) error {
	var in Inputs
	if err := gha.Decode(raw, &in); err != nil {
		return errkind.Input(err)
	}
	token := in.Token
	if strings.HasPrefix(token, "${{") {
		token = ""
	}
	if token != "" {
		rt.AddMask(token)
	}
	if in.MinScore < 0 || in.MinScore > 40 {
		return errkind.Input(fmt.Errorf("input \"min-score\": %d: want 0–40", in.MinScore))
	}
	if in.Concurrency < 1 || in.Concurrency > 16 {
		return errkind.Input(fmt.Errorf("input \"concurrency\": %d: want 1–16", in.Concurrency))
	}
	if in.ReassessmentPeriod <= 0 || in.ReassessmentPeriod > 366*24*time.Hour {
		return errkind.Input(fmt.Errorf("input \"reassessment-period\": %s: want a duration up to 8784h (a year)", in.ReassessmentPeriod))
	}
	for _, p := range in.PavedRoad {
		o, n, ok := strings.Cut(p, "/")
		if !ok || !assess.ValidOwner(o) || n == "" || strings.ContainsAny(n, "/@ ") {
			return errkind.Input(fmt.Errorf("input \"paved-road\": %q is not OWNER/REPO", p))
		}
	}
	opts := assess.Options{Now: Now(), Reassessment: in.ReassessmentPeriod, PavedRoad: in.PavedRoad}
	prevData, err := readPrevious(in.Previous)
	if err != nil {
		return err
	}
	c := rt.Context()
	client := func() (*assess.Client, error) {
		if token == "" {
			return nil, errkind.Input(errors.New("the GitHub API needs a token (input token)"))
		}
		cl, err := assess.NewClient(assess.ClientOptions{BaseURL: c.APIURL, Token: token, HTTPClient: rt.HTTPClient()})
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("GITHUB_API_URL: %w", err))
		}
		return cl, nil
	}
	if in.Org != "" {
		if !assess.ValidOwner(in.Org) {
			return errkind.Input(fmt.Errorf("input \"org\": %q is not a GitHub organization name", in.Org))
		}
		cl, err := client()
		if err != nil {
			return err
		}
		rep, err := assess.AssessOrg(ctx, cl, in.Org, assess.OrgOptions{Evaluate: opts, Concurrency: in.Concurrency})
		if err != nil {
			if assess.IsInfra(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return errkind.Infra(err)
			}
			return errkind.Input(err)
		}
		var prev map[string]*assess.Report
		if prevData != nil {
			if _, prev, err = assess.ParsePrevious(prevData); err != nil || prev == nil {
				return errkind.Input(fmt.Errorf("input \"previous\": %s is not an organization assessment JSON", in.Previous))
			}
		}
		return finishOrg(rt, in, rep, prev)
	}
	if in.Repo == "" {
		in.Repo = "."
	}
	repository := in.Repository
	if repository == "" && rt.InActions() && in.Repo == "." {
		repository = c.Repository
	}
	var apiNote string
	if repository != "" && token != "" {
		cl, err := client()
		if err != nil {
			return err
		}
		prot, err := protection(ctx, cl, repository)
		switch {
		case assess.IsInfra(err):
			return errkind.Infra(err) // an outage is not "nothing required"
		case err != nil:
			// The token cannot read the repository (permissions): score
			// without required checks, and say so.
			apiNote = "required checks not read: " + err.Error()
		default:
			opts.Protection = prot
		}
	}
	opts.Repository = repository
	tree, err := assess.OpenDir(in.Repo)
	if err != nil {
		return errkind.Input(fmt.Errorf("input \"repo\": %w", err))
	}
	defer tree.Close()
	rep, err := assess.Evaluate(ctx, tree, opts)
	if err != nil {
		return errkind.Infra(fmt.Errorf("assessing %s: %w", in.Repo, err))
	}
	if apiNote != "" {
		rep.Notes = append(rep.Notes, apiNote)
	}
	if rep.AnswersError != "" {
		return errkind.Input(fmt.Errorf("%s; fix the file (see actions/assess/README.md) or remove it", rep.AnswersError))
	}
	if prevData != nil {
		prev, _, err := assess.ParsePrevious(prevData)
		if err != nil || prev == nil {
			return errkind.Input(fmt.Errorf("input \"previous\": %s is not a repository assessment JSON", in.Previous))
		}
		rep.SetTrend(prev)
	}
	return finishRepo(rt, in, rep)
}

func protection(ctx context.Context, cl *assess.Client, repository string) (*assess.Protection, error) {
	r, err := cl.Repository(ctx, repository)
	if err != nil {
		return nil, err
	}
	return cl.Protection(ctx, r)
}

func readPrevious(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("input \"previous\": %w", err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, assess.MaxReportBytes+1))
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("input \"previous\": reading %s: %w", path, err))
	}
	if len(data) > assess.MaxReportBytes {
		return nil, errkind.Input(fmt.Errorf("input \"previous\": %s is larger than %d bytes", path, assess.MaxReportBytes))
	}
	return data, nil
}

func write(rt *gha.Runtime, in Inputs, v any, md string) error {
	if in.JSON != "" {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return errkind.Infra(fmt.Errorf("encoding the report: %w", err))
		}
		if err := atomicfile.Write(in.JSON, append(data, '\n')); err != nil {
			return errkind.Infra(fmt.Errorf("writing %s: %w", in.JSON, err))
		}
		if err := rt.SetOutput("json", in.JSON); err != nil {
			return errkind.Infra(err)
		}
	}
	if in.Markdown != "" {
		if err := atomicfile.Write(in.Markdown, []byte(md)); err != nil {
			return errkind.Infra(fmt.Errorf("writing %s: %w", in.Markdown, err))
		}
		if err := rt.SetOutput("markdown", in.Markdown); err != nil {
			return errkind.Infra(err)
		}
	}
	if err := rt.WriteSummary(md); err != nil {
		return errkind.Infra(err)
	}
	return nil
}

func finishRepo(rt *gha.Runtime, in Inputs, rep *assess.Report) error {
	if err := write(rt, in, rep, rep.Markdown()); err != nil {
		return err
	}
	if rep.Repository != "" {
		path, err := writePredicate(rt, rep)
		if err != nil {
			return err
		}
		if err := rt.SetOutput("predicate", path); err != nil {
			return errkind.Infra(err)
		}
	}
	for _, o := range []gha.KeyValue{{Name: "total", Value: fmt.Sprint(rep.Total)}, {Name: "tier", Value: fmt.Sprint(rep.Tier)}} {
		if err := rt.SetOutput(o.Name, o.Value); err != nil {
			return errkind.Infra(err)
		}
	}
	if in.MinScore > 0 && rep.Total < in.MinScore {
		return errkind.Policy(fmt.Errorf("total %d / 40 is below min-score %d", rep.Total, in.MinScore))
	}
	return nil
}

func finishOrg(rt *gha.Runtime, in Inputs, rep *assess.OrgReport, prev map[string]*assess.Report) error {
	if err := write(rt, in, rep, rep.Markdown(prev)); err != nil {
		return err
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
	for _, o := range []gha.KeyValue{{Name: "total", Value: fmt.Sprint(lowest)}, {Name: "tier", Value: fmt.Sprint(tier)}} {
		if err := rt.SetOutput(o.Name, o.Value); err != nil {
			return errkind.Infra(err)
		}
	}
	if len(below) > 0 {
		slices.Sort(below)
		return errkind.Policy(fmt.Errorf("%d repositories below min-score %d: %s", len(below), in.MinScore, strings.Join(below, ", ")))
	}
	return nil
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
			clipped[i] = clipRunes(e, 2048)
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

func clipRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// writePredicate writes the assessment predicate into RUNNER_TEMP (the system
// temp folder off a runner) and returns its path.
func writePredicate(rt *gha.Runtime, rep *assess.Report) (string, error) {
	data, err := Predicate(rep)
	if err != nil {
		return "", errkind.Infra(err)
	}
	dir := rt.Getenv("RUNNER_TEMP")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, "secure-gates", "assessment.predicate.json")
	if err := atomicfile.Write(path, append(data, '\n')); err != nil {
		return "", errkind.Infra(fmt.Errorf("writing the assessment predicate: %w", err))
	}
	return path, nil
}

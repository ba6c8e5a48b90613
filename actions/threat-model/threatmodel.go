// Package threatmodelaction is the threat-model action: it checks the pull request
// body for the four threat-modelling questions with pkg/threatmodel and reports the
// result as outputs, a step summary and annotations.
package threatmodelaction

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/threatmodel"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the threat-model subcommand.
var Gate = gate.Gate{Name: "threat-model", ActionYAML: actionYAML, Positional: "body", Run: run, Inputs: Inputs{}}

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Body          string        `input:"body"`
	Questions     []string      `input:"questions,lines"`
	MinWords      int           `input:"min-words"`
	FailOnMissing bool          `input:"fail-on-missing"`
	Token         string        `input:"token"`
	Timeout       time.Duration `input:"timeout"`
}

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
	if in.Token != "" && !strings.HasPrefix(in.Token, "${{") {
		rt.AddMask(in.Token)
	}
	body, pr, source, err := prBody(ctx, rt, in)
	if err != nil {
		return err
	}
	res, err := threatmodel.Check(body, threatmodel.Options{Questions: in.Questions, MinWords: in.MinWords})
	if err != nil {
		return errkind.Input(fmt.Errorf("checking the %s: %w", source, err))
	}
	if pr != nil {
		path, err := writePredicate(rt, *pr, res)
		if err != nil {
			return err
		}
		if err := rt.SetOutput("predicate", path); err != nil {
			return errkind.Infra(err)
		}
	}
	return report(rt, in, res, source)
}

// writePredicate writes the threat-model predicate (for the attest action) into
// RUNNER_TEMP, or the system temp folder off a runner, and returns its path.
func writePredicate(rt *gha.Runtime, pr attestation.PullRequest, res threatmodel.Result) (string, error) {
	digest, err := attestation.ParseDigest(res.AnswersDigest)
	if err != nil {
		return "", fmt.Errorf("threat-model answers digest: %w", err)
	}
	p := attestation.ThreatModel{PullRequest: pr, AnswersDigest: digest, Result: attestation.DecisionFail, CheckedOn: time.Now().UTC().Truncate(time.Second)}
	if res.Pass {
		p.Result = attestation.DecisionPass
	}
	for _, q := range res.Questions {
		p.Questions = append(p.Questions, attestation.Question{Label: q.Question, Answered: q.Status == threatmodel.StatusAnswered})
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding threat-model predicate: %w", err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateThreatModel, data, attestation.Options{}); err != nil {
		return "", fmt.Errorf("threat-model predicate does not match its schema: %w", err)
	}
	dir := rt.Getenv("RUNNER_TEMP")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, "secure-gates", "threat-model.predicate.json")
	if err := atomicfile.Write(path, append(data, '\n')); err != nil {
		return "", errkind.Infra(fmt.Errorf("writing threat-model predicate: %w", err))
	}
	return path, nil
}

// prBody returns the text to check, the pull request it belongs to (nil when the
// text came from the body input) and a description of where it came from.
func prBody(ctx context.Context, rt *gha.Runtime, in Inputs) (string, *attestation.PullRequest, string, error) {
	if in.Body != "" {
		return in.Body, nil, "body input", nil
	}
	c := rt.Context()
	if c.EventPath == "" {
		return "", nil, "", errkind.Input(errors.New("no body to check: pass --body (or the body input), or run on a pull_request event"))
	}
	ev, err := rt.Event()
	if err != nil {
		return "", nil, "", errkind.Input(fmt.Errorf("reading the %s event: %w", c.EventName, err))
	}
	switch c.EventName {
	case "pull_request", "pull_request_target":
		if ev.PullRequest == nil {
			return "", nil, "", errkind.Input(fmt.Errorf("the %s event payload has no pull_request object", c.EventName))
		}
		pr := &attestation.PullRequest{Number: ev.PullRequest.Number, Repository: repoName(c, ev), URL: ev.PullRequest.HTMLURL}
		return ev.PullRequest.Body, pr, fmt.Sprintf("body of pull request #%d", ev.PullRequest.Number), nil
	case "merge_group":
		if ev.MergeGroup == nil {
			return "", nil, "", errkind.Input(errors.New("the merge_group event payload has no merge_group object"))
		}
		n, err := MergeGroupPR(ev.MergeGroup.HeadRef)
		if err != nil {
			return "", nil, "", errkind.Input(err)
		}
		body, err := fetchBody(ctx, rt, c, in.Token, n)
		if err != nil {
			return "", nil, "", err
		}
		pr := &attestation.PullRequest{Number: n, Repository: repoName(c, ev)}
		return body, pr, fmt.Sprintf("body of pull request #%d", n), nil
	default:
		return "", nil, "", errkind.Input(fmt.Errorf("the threat-model check runs on pull_request and merge_group events, not %q; "+
			"on other events pass the text to check in the body input", c.EventName))
	}
}

func repoName(c gha.Context, ev *gha.Event) string {
	if ev.Repository.FullName != "" {
		return ev.Repository.FullName
	}
	return c.Repository
}

var mergeQueueRef = regexp.MustCompile(`^refs/heads/gh-readonly-queue/.+/pr-([0-9]{1,10})-[0-9a-f]{40}$`)

// MergeGroupPR extracts the pull request number from a merge queue head ref
// (refs/heads/gh-readonly-queue/<base>/pr-<number>-<sha>).
func MergeGroupPR(headRef string) (int, error) {
	m := mergeQueueRef.FindStringSubmatch(headRef)
	if m == nil {
		return 0, fmt.Errorf("merge_group head_ref %q is not a merge queue ref (refs/heads/gh-readonly-queue/<base>/pr-<number>-<sha>)", headRef)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("merge_group head_ref %q: bad pull request number", headRef)
	}
	return n, nil
}

func fetchBody(ctx context.Context, rt *gha.Runtime, c gha.Context, token string, number int) (string, error) {
	if token == "" || strings.HasPrefix(token, "${{") {
		return "", errkind.Input(errors.New("reading the pull request body on merge_group needs the token input (pull-requests: read)"))
	}
	client := github.NewClient(rt.HTTPClient()).WithAuthToken(token)
	api, err := url.Parse(strings.TrimSuffix(c.APIURL, "/") + "/")
	if err != nil {
		return "", errkind.Input(fmt.Errorf("parsing GITHUB_API_URL: %w", err))
	}
	client.BaseURL = api
	pr, resp, err := client.PullRequests.Get(ctx, c.Owner(), c.Name(), number)
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnauthorized) {
			return "", errkind.Input(fmt.Errorf("reading pull request #%d: %s (the token needs pull-requests: read)", number, resp.Status))
		}
		return "", errkind.Infra(fmt.Errorf("reading pull request #%d through the API: %w", number, err))
	}
	return pr.GetBody(), nil
}

func report(rt *gha.Runtime, in Inputs, res threatmodel.Result, source string) error {
	missing := res.Missing()
	result := "pass"
	if !res.Pass {
		result = "fail"
	}
	var s gha.Summary
	s.Heading(2, "Threat model: "+result)
	s.Para("Checked the " + source + fmt.Sprintf(" for %d questions, each needing an answer of at least %d words.", len(res.Questions), minWords(in.MinWords)))
	rows := make([][]string, 0, len(res.Questions))
	for _, q := range res.Questions {
		mark := "✓"
		if q.Status != threatmodel.StatusAnswered {
			mark = "✗"
		}
		why := q.Reason
		if why == "" {
			why = fmt.Sprintf("answered (%d words)", q.Words)
		}
		rows = append(rows, []string{q.Question, mark, why})
	}
	s.Table([]string{"Question", "", "Why"}, rows)
	if err := rt.WriteSummary(s.String()); err != nil {
		return errkind.Infra(err)
	}
	level := gha.LevelError
	if !in.FailOnMissing {
		level = gha.LevelWarning
	}
	for _, q := range res.Questions {
		if q.Status != threatmodel.StatusAnswered {
			rt.Annotate(gha.Annotation{Level: level, Title: "Threat model", Message: q.Question + " " + q.Reason})
		}
	}
	for _, o := range []gha.KeyValue{
		{Name: "result", Value: result},
		{Name: "missing", Value: strings.Join(missing, ",")},
		{Name: "answers-digest", Value: res.AnswersDigest},
	} {
		if err := rt.SetOutput(o.Name, o.Value); err != nil {
			return errkind.Infra(err)
		}
	}
	if !res.Pass && in.FailOnMissing {
		return errkind.Policy(fmt.Errorf("the %s does not answer: %s", source, strings.Join(missing, "; ")))
	}
	return nil
}

func minWords(n int) int {
	if n <= 0 {
		return 5
	}
	return n
}

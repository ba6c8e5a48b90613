// Package threatmodelaction is the threat-model action: it checks the pull request
// body for the four threat-modelling questions with pkg/threatmodel and reports the
// result as outputs, a step summary and annotations.
package threatmodelaction

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/secure-gates/secure-gates/internal/gate"
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
	Body          string   `input:"body"`
	Questions     []string `input:"questions,lines"`
	MinWords      int      `input:"min-words"`
	FailOnMissing bool     `input:"fail-on-missing"`
	Token         string   `input:"token"`
}

func run(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) error {
	var in Inputs
	if err := gha.Decode(raw, &in); err != nil {
		return errkind.Input(err)
	}
	if in.Token != "" && !strings.HasPrefix(in.Token, "${{") {
		rt.AddMask(in.Token)
	}
	body, source, err := prBody(ctx, rt, in)
	if err != nil {
		return err
	}
	res, err := threatmodel.Check(body, threatmodel.Options{Questions: in.Questions, MinWords: in.MinWords})
	if err != nil {
		return errkind.Input(fmt.Errorf("checking the %s: %w", source, err))
	}
	return report(rt, in, res, source)
}

// prBody returns the text to check and a description of where it came from.
func prBody(ctx context.Context, rt *gha.Runtime, in Inputs) (string, string, error) {
	if in.Body != "" {
		return in.Body, "body input", nil
	}
	c := rt.Context()
	if c.EventPath == "" {
		return "", "", errkind.Input(errors.New("no body to check: pass --body (or the body input), or run on a pull_request event"))
	}
	ev, err := rt.Event()
	if err != nil {
		return "", "", errkind.Input(fmt.Errorf("reading the %s event: %w", c.EventName, err))
	}
	switch c.EventName {
	case "pull_request", "pull_request_target":
		if ev.PullRequest == nil {
			return "", "", errkind.Input(fmt.Errorf("the %s event payload has no pull_request object", c.EventName))
		}
		return ev.PullRequest.Body, fmt.Sprintf("body of pull request #%d", ev.PullRequest.Number), nil
	case "merge_group":
		if ev.MergeGroup == nil {
			return "", "", errkind.Input(errors.New("the merge_group event payload has no merge_group object"))
		}
		n, err := MergeGroupPR(ev.MergeGroup.HeadRef)
		if err != nil {
			return "", "", errkind.Input(err)
		}
		body, err := fetchBody(ctx, rt, c, in.Token, n)
		if err != nil {
			return "", "", err
		}
		return body, fmt.Sprintf("body of pull request #%d", n), nil
	default:
		return "", "", errkind.Input(fmt.Errorf("the threat-model check runs on pull_request and merge_group events, not %q; "+
			"on other events pass the text to check in the body input", c.EventName))
	}
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

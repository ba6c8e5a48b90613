// Package threatmodel is the threat-model action: it checks the pull request body
// for the four threat-modelling questions with pkg/threatmodel and reports the
// result as outputs, a step summary and annotations, and writes the threat-model
// predicate for the attest action.
package threatmodel

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	tm "github.com/secure-gates/secure-gates/pkg/threatmodel"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the threat-model subcommand.
var Gate = gate.Define(gate.Spec{Name: "threat-model", ActionYAML: actionYAML, Positional: "body"}, check)

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Body          string   `input:"body"`
	Questions     []string `input:"questions,lines"`
	MinWords      int      `input:"min-words"`
	FailOnMissing bool     `input:"fail-on-missing"`
	Token         string   `input:"token,secret"`
	gate.Timeout
}

// Validate refuses bad questions or min-words before the body is fetched.
func (in Inputs) Validate() error {
	_, err := tm.Check("", in.options()) // an empty body fails only on the options
	return err
}

func (in Inputs) options() tm.Options {
	return tm.Options{Questions: in.Questions, MinWords: in.MinWords}
}

// Outputs are the action's outputs; the tags are the names in action.yml.
type Outputs struct {
	// Predicate is written only for a pull request (not for the body input).
	Predicate     string `output:"predicate,omitempty"`
	Result        string `output:"result"`
	Missing       string `output:"missing"`
	AnswersDigest string `output:"answers-digest"`

	report report
}

func check(ctx context.Context, run *gate.Run, in Inputs) (Outputs, error) {
	body, pr, source, err := prBody(ctx, run, in)
	if err != nil {
		return Outputs{}, err
	}
	res, err := tm.Check(body, in.options())
	if err != nil {
		return Outputs{}, errkind.Input(fmt.Errorf("checking the %s: %w", source, err))
	}
	out := Outputs{
		Result: result(res), Missing: strings.Join(res.Missing(), ","), AnswersDigest: res.AnswersDigest,
		report: report{res: res, source: source, minWords: in.MinWords, failOnMissing: in.FailOnMissing},
	}
	if pr != nil {
		if out.Predicate, err = writePredicate(run.TempDir(), *pr, res); err != nil {
			return Outputs{}, err
		}
	}
	if !res.Pass && in.FailOnMissing {
		return out, errkind.Policy(fmt.Errorf("the %s does not answer: %s", source, strings.Join(res.Missing(), "; ")))
	}
	return out, nil
}

// prBody returns the text to check, the pull request it belongs to (nil when the
// text came from the body input) and a description of where it came from.
func prBody(ctx context.Context, run *gate.Run, in Inputs) (string, *attestation.PullRequest, string, error) {
	if in.Body != "" {
		return in.Body, nil, "body input", nil
	}
	c := run.Context()
	if c.EventPath == "" {
		return "", nil, "", errkind.Input(errors.New("no body to check: pass --body (or the body input), or run on a pull_request event"))
	}
	ev, err := run.Event()
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
		body, err := fetchBody(ctx, run, in.Token, n)
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

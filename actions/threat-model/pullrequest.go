package threatmodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	tm "github.com/secure-gates/secure-gates/pkg/threatmodel"
)

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

// fetchBody reads pull request number's body through the pulls API.
func fetchBody(ctx context.Context, run *gate.Run, token string, number int) (string, error) {
	if token == "" {
		return "", errkind.Input(errors.New("reading the pull request body on merge_group needs the token input (pull-requests: read)"))
	}
	client, err := run.GitHub(token)
	if err != nil {
		return "", err
	}
	c := run.Context()
	pr, resp, err := client.PullRequests.Get(ctx, c.Owner(), c.Name(), number)
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnauthorized) {
			return "", errkind.Input(fmt.Errorf("reading pull request #%d: %s (the token needs pull-requests: read)", number, resp.Status))
		}
		return "", errkind.Infra(fmt.Errorf("reading pull request #%d through the API: %w", number, err))
	}
	return pr.GetBody(), nil
}

// writePredicate writes the threat-model predicate (for the attest action) into
// dir/secure-gates and returns its path.
func writePredicate(dir string, pr attestation.PullRequest, res tm.Result) (string, error) {
	digest, err := attestation.ParseDigest(res.AnswersDigest)
	if err != nil {
		return "", fmt.Errorf("threat-model answers digest: %w", err)
	}
	p := attestation.ThreatModel{PullRequest: pr, AnswersDigest: digest, Result: attestation.DecisionFail, CheckedOn: time.Now().UTC().Truncate(time.Second)}
	if res.Pass {
		p.Result = attestation.DecisionPass
	}
	for _, q := range res.Questions {
		p.Questions = append(p.Questions, attestation.Question{Label: q.Question, Answered: q.Status == tm.StatusAnswered})
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding threat-model predicate: %w", err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateThreatModel, data, attestation.Options{}); err != nil {
		return "", fmt.Errorf("threat-model predicate does not match its schema: %w", err)
	}
	path := filepath.Join(dir, "secure-gates", "threat-model.predicate.json")
	if err := atomicfile.Write(path, append(data, '\n')); err != nil {
		return "", errkind.Infra(fmt.Errorf("writing threat-model predicate: %w", err))
	}
	return path, nil
}

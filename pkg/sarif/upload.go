package sarif

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/secure-gates/secure-gates/pkg/bounds"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// UploadRequest is one SARIF document to upload to GitHub code scanning
// (POST /repos/{owner}/{repo}/code-scanning/sarifs).
type UploadRequest struct {
	// Owner and Repo name the repository.
	Owner, Repo string
	// CommitSHA is the full 40-hex-digit SHA of the analysed commit.
	CommitSHA string
	// Ref is the full Git reference: refs/heads/<branch>, refs/tags/<tag>,
	// refs/pull/<number>/merge or refs/pull/<number>/head.
	Ref string
	// CheckoutURI is the file:// URI of the directory that was analysed, as
	// GitHub uses it to make absolute URIs relative. Optional (the writer
	// emits relative URIs already).
	CheckoutURI string
	// ToolName filters the upload's analyses by tool in GitHub. Optional.
	ToolName string
	// StartedAt is when the analysis started. Optional.
	StartedAt time.Time
	// SARIF is the document, for example Document.JSON from Pack. Upload
	// compresses and encodes it.
	SARIF []byte
}

var (
	ownerRepoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	commitRE    = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)
	refRE       = regexp.MustCompile(`^refs/(heads|tags|pull)/.+$`)
)

const (
	permUpload = "security-events: write"
	permRead   = "security-events: read"
)

// Upload sends req.SARIF to GitHub code scanning and returns the SARIF id to
// pass to Wait. Before sending it checks the request fields, that the document
// is SARIF 2.1.0 within GitHub's limits (Check) and that it is at most
// MaxUploadGzipBytes gzipped; those failures, and GitHub's 4xx answers, are
// errkind.Input errors (a 403 says which permission the token needs). Network
// failures, rate limits and 5xx answers are errkind.Infra errors. The client's
// BaseURL picks the API server (GitHub Enterprise, or a test server).
func Upload(ctx context.Context, client *github.Client, req UploadRequest) (string, error) {
	if client == nil {
		return "", errors.New("uploading SARIF: GitHub client is nil")
	}
	if err := req.validate(); err != nil {
		return "", errkind.Input(fmt.Errorf("uploading SARIF: %w", err))
	}
	gz, err := gzipBytes(req.SARIF)
	if err != nil {
		return "", err
	}
	if len(gz) > MaxUploadGzipBytes {
		return "", errkind.Input(fmt.Errorf("uploading SARIF to %s/%s: document is %d bytes gzipped: GitHub accepts at most %d (use Pack to split it)", req.Owner, req.Repo, len(gz), MaxUploadGzipBytes))
	}
	rep, err := parse(req.SARIF)
	if err != nil {
		return "", errkind.Input(fmt.Errorf("uploading SARIF to %s/%s: %w", req.Owner, req.Repo, err))
	}
	if err := Check(rep, GitHubLimits()); err != nil {
		return "", fmt.Errorf("uploading SARIF to %s/%s: %w", req.Owner, req.Repo, err)
	}

	analysis := &github.SarifAnalysis{
		CommitSHA: github.String(req.CommitSHA),
		Ref:       github.String(req.Ref),
		Sarif:     github.String(base64.StdEncoding.EncodeToString(gz)),
	}
	if req.CheckoutURI != "" {
		analysis.CheckoutURI = github.String(req.CheckoutURI)
	}
	if req.ToolName != "" {
		analysis.ToolName = github.String(req.ToolName)
	}
	if !req.StartedAt.IsZero() {
		analysis.StartedAt = &github.Timestamp{Time: req.StartedAt.UTC()}
	}
	id, resp, err := client.CodeScanning.UploadSarif(ctx, req.Owner, req.Repo, analysis)
	action := fmt.Sprintf("uploading SARIF to %s/%s", req.Owner, req.Repo)
	if err != nil {
		return "", classify(action, err, permUpload)
	}
	if id == nil || id.ID == nil || *id.ID == "" {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		return "", errkind.Infra(fmt.Errorf("%s: GitHub answered HTTP %d without a SARIF id: expected 202 Accepted with an id", action, code))
	}
	return *id.ID, nil
}

func (r UploadRequest) validate() error {
	switch {
	case !ownerRepoRE.MatchString(r.Owner):
		return fmt.Errorf("owner %q: expected a GitHub user or organization name", r.Owner)
	case !ownerRepoRE.MatchString(r.Repo):
		return fmt.Errorf("repository %q: expected a repository name without the owner", r.Repo)
	case !commitRE.MatchString(r.CommitSHA):
		return fmt.Errorf("commit SHA %q: expected 40 hexadecimal digits", r.CommitSHA)
	case !refRE.MatchString(r.Ref):
		return fmt.Errorf("ref %q: expected refs/heads/<branch>, refs/tags/<tag> or refs/pull/<number>/(merge|head)", r.Ref)
	case len(r.SARIF) == 0:
		return errors.New("SARIF document is empty")
	}
	if r.CheckoutURI != "" {
		if u, err := url.Parse(r.CheckoutURI); err != nil || !u.IsAbs() {
			return fmt.Errorf("checkout URI %q: expected an absolute URI such as file:///github/workspace/", r.CheckoutURI)
		}
	}
	return nil
}

// WaitOptions bounds Wait's polling.
type WaitOptions struct {
	// Interval is the pause between status requests; default 5s.
	Interval time.Duration
	// Timeout bounds the whole wait; default 2 minutes (what GitHub's
	// upload-sarif action waits).
	Timeout time.Duration
	// MaxAttempts bounds the status requests; default enough for Timeout at
	// Interval.
	MaxAttempts int
}

func (o WaitOptions) withDefaults() WaitOptions {
	o.Interval = bounds.Or(o.Interval, 5*time.Second)
	o.Timeout = bounds.Or(o.Timeout, 2*time.Minute)
	o.MaxAttempts = bounds.Or(o.MaxAttempts, int(o.Timeout/o.Interval)+1)
	return o
}

// Processing status values of GET /repos/{owner}/{repo}/code-scanning/sarifs/{sarif_id}.
const (
	StatusPending  = "pending"
	StatusComplete = "complete"
	StatusFailed   = "failed"
)

// ProcessingStatus is GitHub's answer about a SARIF upload.
type ProcessingStatus struct {
	// Status is pending, complete or failed.
	Status string `json:"processing_status"`
	// AnalysesURL is the API URL of the analyses the upload produced.
	AnalysesURL string `json:"analyses_url"`
	// Errors are the processing errors GitHub reports for a failed upload.
	Errors []string `json:"errors"`
}

// Wait polls GET /repos/{owner}/{repo}/code-scanning/sarifs/{sarif_id} until
// GitHub reports the upload complete or failed, within opts' bounds and ctx.
// While the upload is not registered yet GitHub answers 404; that, 202,
// "pending", and transient failures (network, rate limit, 5xx) are retried
// within the bounds. A failed upload returns the status and an errkind.Input
// error carrying GitHub's errors; running out of attempts or time is an
// errkind.Infra error naming the last answer; other 4xx answers are
// errkind.Input errors (a 403 says which permission the token needs).
func Wait(ctx context.Context, client *github.Client, owner, repo, sarifID string, opts WaitOptions) (*ProcessingStatus, error) {
	if client == nil {
		return nil, errors.New("waiting for SARIF processing: GitHub client is nil")
	}
	if !ownerRepoRE.MatchString(owner) || !ownerRepoRE.MatchString(repo) {
		return nil, errkind.Input(fmt.Errorf("waiting for SARIF processing: repository %q/%q: expected owner and name", owner, repo))
	}
	if sarifID == "" {
		return nil, errkind.Input(errors.New("waiting for SARIF processing: SARIF id is empty"))
	}
	opts = opts.withDefaults()
	action := fmt.Sprintf("waiting for SARIF upload %s of %s/%s", sarifID, owner, repo)
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	last := "no answer"
	attempts := 0
	for attempts < opts.MaxAttempts {
		if attempts > 0 && !sleep(wctx, opts.Interval) {
			break
		}
		attempts++
		st, err := getStatus(wctx, client, owner, repo, sarifID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, errkind.Infra(fmt.Errorf("%s: %w", action, ctx.Err()))
			}
			if wctx.Err() != nil {
				break
			}
			if retry, desc := retryable(err); retry {
				last = desc
				continue
			}
			return nil, classify(action, err, permRead)
		}
		switch st.Status {
		case StatusComplete:
			return st, nil
		case StatusFailed:
			msg := "GitHub reported no error details"
			if len(st.Errors) > 0 {
				msg = strings.Join(st.Errors, "; ")
			}
			return st, errkind.Input(fmt.Errorf("%s: GitHub could not process the SARIF file: %s", action, msg))
		default:
			last = fmt.Sprintf("processing status %q", st.Status)
		}
	}
	if ctx.Err() != nil {
		return nil, errkind.Infra(fmt.Errorf("%s: %w", action, ctx.Err()))
	}
	return nil, errkind.Infra(fmt.Errorf("%s: not processed after %d attempts within %s (last answer: %s)", action, attempts, opts.Timeout, last))
}

func getStatus(ctx context.Context, client *github.Client, owner, repo, id string) (*ProcessingStatus, error) {
	// Not CodeScanning.GetSARIF: go-github v60's SARIFUpload has no "errors"
	// field, and the errors are what a failed upload needs to report.
	u := fmt.Sprintf("repos/%s/%s/code-scanning/sarifs/%s", owner, repo, url.PathEscape(id))
	req, err := client.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	st := new(ProcessingStatus)
	_, err = client.Do(ctx, req, st)
	var acc *github.AcceptedError
	if errors.As(err, &acc) {
		// 202: accepted, not processed yet; honour a final status if given.
		var body ProcessingStatus
		if json.Unmarshal(acc.Raw, &body) == nil && (body.Status == StatusComplete || body.Status == StatusFailed) {
			return &body, nil
		}
		return &ProcessingStatus{Status: "202 Accepted"}, nil
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// retryable reports whether a status request error is worth another attempt,
// and describes it.
func retryable(err error) (bool, string) {
	var rle *github.RateLimitError
	var arle *github.AbuseRateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &rle), errors.As(err, &arle):
		return true, "rate limited: " + err.Error()
	case errors.As(err, &er):
		code := statusCode(er)
		switch {
		case code == http.StatusNotFound:
			return true, "404 Not Found (upload not registered yet)"
		case code == http.StatusTooManyRequests || code >= 500:
			return true, err.Error()
		}
		return false, ""
	}
	// Network errors and undecodable bodies.
	return true, err.Error()
}

// classify turns a go-github error into an errkind error saying what to do.
func classify(action string, err error, permission string) error {
	var rle *github.RateLimitError
	var arle *github.AbuseRateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &rle), errors.As(err, &arle):
		return errkind.Infra(fmt.Errorf("%s: GitHub API rate limit: %w", action, err))
	case errors.As(err, &er):
		code := statusCode(er)
		switch {
		case code == http.StatusUnauthorized:
			return errkind.Input(fmt.Errorf("%s: GitHub rejected the token (401 Unauthorized): expected a valid token with %s: %w", action, permission, err))
		case code == http.StatusForbidden:
			return errkind.Input(fmt.Errorf("%s: GitHub refused access (403 Forbidden): the token needs the %q permission (in a workflow: permissions: %s); GitHub also answers 403 when code scanning (GitHub Advanced Security on private repositories) is not enabled or the repository is archived: %w", action, permission, permission, err))
		case code == http.StatusNotFound:
			return errkind.Input(fmt.Errorf("%s: repository not found (404): check owner and name, and that the token can see it (it needs %s): %w", action, permission, err))
		case code == http.StatusRequestEntityTooLarge:
			return errkind.Input(fmt.Errorf("%s: GitHub says the SARIF is too large (413): %w", action, err))
		case code == http.StatusTooManyRequests || code >= 500:
			return errkind.Infra(fmt.Errorf("%s: GitHub is unavailable (HTTP %d): %w", action, code, err))
		case code >= 400:
			return errkind.Input(fmt.Errorf("%s: GitHub rejected the request (HTTP %d): %w", action, code, err))
		}
		return errkind.Infra(fmt.Errorf("%s: unexpected HTTP %d: %w", action, code, err))
	}
	return errkind.Infra(fmt.Errorf("%s: %w", action, err))
}

func statusCode(er *github.ErrorResponse) int {
	if er.Response == nil {
		return 0
	}
	return er.Response.StatusCode
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

package assess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// Bounds on what the organization mode reads through the API: responses are
// untrusted input too.
const (
	// MaxRepositories caps the repositories of one organization.
	MaxRepositories = 5000
	// MaxResponseBytes caps one API response body.
	MaxResponseBytes = 32 << 20
	// MaxAPIFiles caps the files read through the contents API per repository.
	MaxAPIFiles = 300
	// DefaultConcurrency is how many repositories are assessed at once.
	DefaultConcurrency = 4
	// DefaultMaxWait is the longest single rate-limit wait accepted.
	DefaultMaxWait = 65 * time.Minute
	// maxAttempts bounds the retries of one request after rate limiting.
	maxAttempts = 6
)

// apiError is an infrastructure failure talking to the API (network, 5xx,
// rate limit not waited out): the repository is reported as not assessed,
// never scored from missing evidence.
type apiError struct{ err error }

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

// ClientOptions configures the API client of the organization mode.
type ClientOptions struct {
	// BaseURL is the REST API root (GITHUB_API_URL), e.g. https://api.github.com.
	BaseURL string
	// Token authenticates the requests (never logged).
	Token string
	// HTTPClient is the underlying client (default http.DefaultClient's transport).
	HTTPClient *http.Client
	// Sleep waits d or until ctx ends (default a timer); tests inject it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used for X-RateLimit-Reset (default time.Now).
	Now func() time.Time
	// MaxWait is the longest single rate-limit wait (default DefaultMaxWait).
	MaxWait time.Duration
}

// Client reads an organization's repositories through the GitHub REST API,
// waiting out primary (X-RateLimit-Remaining: 0 until X-RateLimit-Reset) and
// secondary (Retry-After) rate limits.
type Client struct {
	gh *github.Client
}

// NewClient returns a client for the API at o.BaseURL.
func NewClient(o ClientOptions) (*Client, error) {
	base := o.BaseURL
	if base == "" {
		base = "https://api.github.com"
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/") + "/")
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("API URL %q is not an http(s) URL", base)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t := &rateTransport{base: rt, sleep: o.Sleep, now: o.Now, maxWait: o.MaxWait}
	if t.sleep == nil {
		t.sleep = netretry.Sleep
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.maxWait <= 0 {
		t.maxWait = DefaultMaxWait
	}
	gh := github.NewClient(&http.Client{Transport: t, Timeout: hc.Timeout, CheckRedirect: sameHostRedirect})
	if o.Token != "" {
		gh = gh.WithAuthToken(o.Token)
	}
	gh.BaseURL = u
	return &Client{gh: gh}, nil
}

// sameHostRedirect refuses redirects to another host, which would carry the
// token elsewhere (Go drops Authorization across hosts; this is belt and braces).
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
	}
	return nil
}

// rateTransport waits out GitHub's rate limits below go-github: a 403 or 429
// with X-RateLimit-Remaining: 0 waits until X-RateLimit-Reset, one with
// Retry-After waits that long (a 429 without either waits a minute, as GitHub
// documents), then the request is retried; a success with Remaining 0 holds
// the next request until the reset. Response bodies are bounded.
type rateTransport struct {
	base    http.RoundTripper
	sleep   func(context.Context, time.Duration) error
	now     func() time.Time
	maxWait time.Duration

	mu    sync.Mutex
	until time.Time // no request before this
}

func (t *rateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		t.mu.Lock()
		wait := t.until.Sub(t.now())
		t.mu.Unlock()
		if wait > 0 {
			if wait > t.maxWait {
				return nil, fmt.Errorf("GitHub API rate limit resets in %s, more than the %s the assessment waits", wait.Round(time.Second), t.maxWait)
			}
			if err := t.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		resp, err := t.base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		resp.Body = &limitedBody{rc: resp.Body, left: MaxResponseBytes}
		wait, limited := t.limit(resp)
		if !limited {
			if resp.Header.Get("X-RateLimit-Remaining") == "0" {
				// Hold the next request until the reset; go-github would
				// otherwise refuse it by the wall clock, not ours.
				resp.Header.Del("X-RateLimit-Remaining")
				resp.Header.Del("X-RateLimit-Reset")
			}
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if attempt >= maxAttempts {
			return nil, fmt.Errorf("GitHub API still rate limited after %d attempts (%s %s)", attempt, req.Method, req.URL.Path)
		}
		if wait > t.maxWait {
			return nil, fmt.Errorf("GitHub API rate limited for %s, more than the %s the assessment waits", wait.Round(time.Second), t.maxWait)
		}
		t.mu.Lock()
		if u := t.now().Add(wait); u.After(t.until) {
			t.until = u
		}
		t.mu.Unlock()
	}
}

// limit reports whether resp is a rate-limit refusal and how long to wait; on
// a success with no requests left it records the reset for the next request.
func (t *rateTransport) limit(resp *http.Response) (time.Duration, bool) {
	now := t.now()
	reset := func() (time.Duration, bool) {
		sec, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil || sec <= 0 {
			return 0, false
		}
		return time.Unix(sec, 0).Sub(now) + time.Second, true
	}
	remaining := resp.Header.Get("X-RateLimit-Remaining")
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests {
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			if sec, err := strconv.Atoi(ra); err == nil && sec >= 0 {
				return max(time.Duration(sec)*time.Second, time.Second), true
			}
		}
		if remaining == "0" {
			if d, ok := reset(); ok {
				return max(d, time.Second), true
			}
			return time.Minute, true
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			return time.Minute, true
		}
		return 0, false
	}
	if remaining == "0" {
		if d, ok := reset(); ok && d > 0 {
			t.mu.Lock()
			if u := now.Add(d); u.After(t.until) {
				t.until = u
			}
			t.mu.Unlock()
		}
	}
	return 0, false
}

// limitedBody fails a read past the response bound instead of truncating silently.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("GitHub API response larger than %d bytes", MaxResponseBytes)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

var (
	repoNameRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	ownerRe    = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	branchRe   = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._/-]{0,254}$`)
)

// ValidOwner reports whether s is a valid organization or user name.
func ValidOwner(s string) bool { return ownerRe.MatchString(s) }

// Repo is one repository of the organization.
type Repo struct {
	Owner, Name, DefaultBranch string
	Archived                   bool
}

// FullName is owner/name.
func (r Repo) FullName() string { return r.Owner + "/" + r.Name }

// ListRepos lists the organization's repositories (GET /orgs/{org}/repos,
// following the Link header), bounded by MaxRepositories. A listing whose next
// page does not advance is an error, not a loop.
func (c *Client) ListRepos(ctx context.Context, org string) ([]Repo, []string, error) {
	if !ValidOwner(org) {
		return nil, nil, fmt.Errorf("organization %q is not a valid GitHub organization name", org)
	}
	var out []Repo
	var notes []string
	seen := map[string]bool{}
	opts := &github.RepositoryListByOrgOptions{Type: "all", ListOptions: github.ListOptions{PerPage: 100}}
	for page := 1; ; {
		opts.Page = page
		repos, resp, err := c.gh.Repositories.ListByOrg(ctx, org, opts)
		if err != nil {
			return nil, nil, classify(fmt.Sprintf("listing the repositories of %s", org), resp, err)
		}
		for _, r := range repos {
			name := r.GetName()
			if !repoNameRe.MatchString(name) || name == "." || name == ".." || seen[name] {
				if !seen[name] {
					notes = append(notes, fmt.Sprintf("the API listed a repository with an invalid name %q: skipped", textclip.Clip(name, 60)))
				}
				continue
			}
			seen[name] = true
			if len(out) >= MaxRepositories {
				notes = append(notes, fmt.Sprintf("the organization has more than %d repositories: the rest were not assessed", MaxRepositories))
				return out, notes, nil
			}
			out = append(out, Repo{Owner: org, Name: name, DefaultBranch: r.GetDefaultBranch(), Archived: r.GetArchived()})
		}
		if resp.NextPage == 0 {
			break
		}
		if resp.NextPage <= page {
			return nil, nil, &apiError{fmt.Errorf("listing the repositories of %s: page %d links back to page %d", org, page, resp.NextPage)}
		}
		page = resp.NextPage
	}
	return out, notes, nil
}

// classify turns an API failure into an error: authentication and permission
// failures name the token; others are infrastructure errors.
func classify(what string, resp *github.Response, err error) error {
	if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound) {
		return fmt.Errorf("%s: %s (check the token's access)", what, resp.Status)
	}
	var er *github.ErrorResponse
	if resp != nil && errors.As(err, &er) {
		// The status and GitHub's message, not the request URL.
		msg := ""
		if er.Message != "" {
			msg = ": " + textclip.Clip(strings.Map(printable, er.Message), 200)
		}
		return &apiError{fmt.Errorf("%s: %s%s", what, resp.Status, msg)}
	}
	return &apiError{fmt.Errorf("%s: %w", what, err)}
}

// printable drops control characters from text an API returned.
func printable(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return ' '
	}
	return r
}

// IsInfra reports whether err is an API infrastructure failure.
func IsInfra(err error) bool {
	var ae *apiError
	return errors.As(err, &ae)
}

// Protection reads the default branch's required checks from branch
// protection and rulesets. Unreadable sources are recorded, not guessed.
func (c *Client) Protection(ctx context.Context, r Repo) (*Protection, error) {
	p := &Protection{Branch: r.DefaultBranch}
	bp, resp, err := c.gh.Repositories.GetBranchProtection(ctx, r.Owner, r.Name, r.DefaultBranch)
	switch {
	case err == nil:
		if rsc := bp.GetRequiredStatusChecks(); rsc != nil {
			if rsc.Contexts != nil {
				p.RequiredChecks = append(p.RequiredChecks, *rsc.Contexts...)
			}
			if rsc.Checks != nil {
				for _, ch := range *rsc.Checks {
					if ch != nil {
						p.RequiredChecks = append(p.RequiredChecks, ch.Context)
					}
				}
			}
		}
		p.Sources = append(p.Sources, "branch protection")
	case resp != nil && resp.StatusCode == http.StatusNotFound:
		p.Sources = append(p.Sources, "branch protection (none)")
	case resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized):
		p.Unreadable = append(p.Unreadable, "branch protection ("+resp.Status+": needs administration read)")
	default:
		return nil, classify("reading branch protection of "+r.FullName(), resp, err)
	}
	// GET /repos/{owner}/{repo}/rules/branches/{branch}, decoded here: go-github
	// v60's RepositoryRule refuses rule types it does not know (code_scanning
	// among them), which would fail the whole repository.
	var rules []struct {
		Type       string          `json:"type"`
		Parameters json.RawMessage `json:"parameters"`
	}
	req, err := c.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/rules/branches/%s", r.Owner, r.Name, r.DefaultBranch), nil)
	if err == nil {
		resp, err = c.gh.Do(ctx, req, &rules)
	}
	switch {
	case err == nil:
		if len(rules) > 1000 {
			rules = rules[:1000]
		}
		for _, rule := range rules {
			switch rule.Type {
			case "required_status_checks":
				var params github.RequiredStatusChecksRuleParameters
				if json.Unmarshal(rule.Parameters, &params) == nil {
					for _, ch := range params.RequiredStatusChecks {
						p.RequiredChecks = append(p.RequiredChecks, ch.Context)
					}
				}
			case "code_scanning":
				p.CodeScanningRequired = true
			}
		}
		p.Sources = append(p.Sources, "rulesets")
	case resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized):
		p.Unreadable = append(p.Unreadable, "rulesets ("+resp.Status+")")
	default:
		return nil, classify("reading the rulesets of "+r.FullName(), resp, err)
	}
	if len(p.RequiredChecks) > 200 {
		p.RequiredChecks = p.RequiredChecks[:200]
	}
	slices.Sort(p.RequiredChecks)
	p.RequiredChecks = slices.Compact(p.RequiredChecks)
	return p, nil
}

// RepoTree is a Tree read through the API: the git trees API lists the
// default branch's files, the contents API reads them.
type RepoTree struct {
	c     *Client
	repo  Repo
	sizes map[string]int
	reads int
}

// Tree returns the repository as a Tree.
func (c *Client) Tree(r Repo) *RepoTree { return &RepoTree{c: c, repo: r} }

// Files lists the default branch's blobs (GET /repos/{owner}/{repo}/git/trees/{branch}?recursive=1).
// Symbolic links and submodules are not listed.
func (t *RepoTree) Files(ctx context.Context) ([]string, bool, error) {
	tree, resp, err := t.c.gh.Git.GetTree(ctx, t.repo.Owner, t.repo.Name, t.repo.DefaultBranch, true)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusConflict {
			return nil, false, nil // an empty repository
		}
		return nil, false, classify("listing the files of "+t.repo.FullName(), resp, err)
	}
	t.sizes = map[string]int{}
	var out []string
	truncated := tree.GetTruncated()
	for _, e := range tree.Entries {
		if e == nil || e.GetType() != "blob" || e.GetMode() == "120000" || e.GetMode() == "160000" {
			continue
		}
		p := e.GetPath()
		if !fs.ValidPath(p) || p == "." || strings.Contains(p, "\\") {
			continue
		}
		if len(out) >= MaxTreeFiles {
			truncated = true
			break
		}
		t.sizes[p] = e.GetSize()
		out = append(out, p)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return out, truncated, nil
}

// ReadFile reads a file through the contents API
// (GET /repos/{owner}/{repo}/contents/{path}?ref={branch}), bounded.
func (t *RepoTree) ReadFile(ctx context.Context, name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("reading %q: not a path inside the repository", name)
	}
	if sz, ok := t.sizes[name]; ok && sz > MaxFileBytes {
		return nil, fmt.Errorf("reading %s: %w (over %d bytes)", name, ErrTooLarge, MaxFileBytes)
	}
	if t.reads >= MaxAPIFiles {
		return nil, fmt.Errorf("reading %s: over the %d files read per repository through the API", name, MaxAPIFiles)
	}
	t.reads++
	fc, _, resp, err := t.c.gh.Repositories.GetContents(ctx, t.repo.Owner, t.repo.Name, name, &github.RepositoryContentGetOptions{Ref: t.repo.DefaultBranch})
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden) {
			return nil, fmt.Errorf("reading %s: %s", name, resp.Status)
		}
		return nil, classify("reading "+name+" of "+t.repo.FullName(), resp, err)
	}
	if fc == nil || fc.GetType() != "file" {
		return nil, fmt.Errorf("reading %s: not a file", name)
	}
	if fc.GetSize() > MaxFileBytes || (fc.Content != nil && len(*fc.Content) > 2*MaxFileBytes) {
		return nil, fmt.Errorf("reading %s: %w (over %d bytes)", name, ErrTooLarge, MaxFileBytes)
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", name, err)
	}
	if len(s) > MaxFileBytes {
		return nil, fmt.Errorf("reading %s: %w (over %d bytes)", name, ErrTooLarge, MaxFileBytes)
	}
	return []byte(s), nil
}

// OrgOptions configures AssessOrg.
type OrgOptions struct {
	// Evaluate is applied to every repository (Protection and Repository are
	// set per repository).
	Evaluate Options
	// Concurrency is how many repositories are assessed at once (default
	// DefaultConcurrency, at most 16).
	Concurrency int
	// IncludeArchived assesses archived repositories too.
	IncludeArchived bool
}

// AssessOrg assesses every repository of org. A repository that cannot be
// read is reported with its error (not scored); an infrastructure failure
// listing the organization is the error.
func AssessOrg(ctx context.Context, c *Client, org string, o OrgOptions) (*OrgReport, error) {
	repos, notes, err := c.ListRepos(ctx, org)
	if err != nil {
		return nil, err
	}
	rep := &OrgReport{Organization: org, Notes: notes}
	var todo []Repo
	for _, r := range repos {
		if r.Archived && !o.IncludeArchived {
			continue
		}
		todo = append(todo, r)
	}
	n := o.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	n = min(n, 16)
	results := make([]*Report, len(todo))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, r := range todo {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = assessRepo(ctx, c, r, o.Evaluate)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, r := range results {
		if r != nil {
			rep.Repositories = append(rep.Repositories, r)
		}
	}
	rep.SortAndCount()
	return rep, nil
}

func assessRepo(ctx context.Context, c *Client, r Repo, opts Options) *Report {
	fail := func(err error) *Report {
		return &Report{Repository: r.FullName(), AssessedAt: opts.Now.UTC().Truncate(time.Second), Error: textclip.Clip(err.Error(), 300)}
	}
	if !branchRe.MatchString(r.DefaultBranch) || strings.Contains(r.DefaultBranch, "..") {
		return fail(fmt.Errorf("default branch %q is not a valid branch name", textclip.Clip(r.DefaultBranch, 60)))
	}
	prot, err := c.Protection(ctx, r)
	if err != nil {
		return fail(err)
	}
	opts.Protection = prot
	opts.Repository = r.FullName()
	rep, err := Evaluate(ctx, c.Tree(r), opts)
	if err != nil {
		return fail(err)
	}
	return rep
}

// Repository reads one repository's default branch (GET /repos/{owner}/{repo}).
func (c *Client) Repository(ctx context.Context, fullName string) (Repo, error) {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || !ValidOwner(owner) || !repoNameRe.MatchString(name) {
		return Repo{}, fmt.Errorf("repository %q is not OWNER/NAME", textclip.Clip(fullName, 100))
	}
	r, resp, err := c.gh.Repositories.Get(ctx, owner, name)
	if err != nil {
		return Repo{}, classify("reading repository "+fullName, resp, err)
	}
	out := Repo{Owner: owner, Name: name, DefaultBranch: r.GetDefaultBranch(), Archived: r.GetArchived()}
	if !branchRe.MatchString(out.DefaultBranch) || strings.Contains(out.DefaultBranch, "..") {
		return Repo{}, &apiError{fmt.Errorf("repository %s: default branch %q is not a valid branch name", fullName, textclip.Clip(out.DefaultBranch, 60))}
	}
	return out, nil
}

package assess

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
)

// fakeClock is the injected clock and sleep of the rate-limit tests: sleeping
// advances the clock and records the wait; nothing waits for real.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

// apiRepo is a repository the double serves.
type apiRepo struct {
	name     string
	archived bool
	files    map[string]string
	// protection: 200 body, or the status to answer.
	protection       string
	protectionStatus int
	rules            string
	treeStatus       int
}

// ghDouble is a GitHub REST API double that checks the documented request
// shapes: GET, the bearer token, the API version header, per_page on the
// listing, ?ref= on contents, ?recursive=1 on trees.
type ghDouble struct {
	t        *testing.T
	org      string
	repos    []apiRepo
	perPage  int
	clock    *fakeClock
	srv      *httptest.Server
	mu       sync.Mutex
	requests []string
	// limits: request path -> responses to give first (rate limiting).
	limited map[string][]func(w http.ResponseWriter)
	// remaining0 is a path whose successful answer says no requests are left.
	remaining0 string
	heldUntil  time.Time
	errors     []string
}

func (d *ghDouble) fail(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errors = append(d.errors, fmt.Sprintf(format, args...))
}

var (
	reposPath    = regexp.MustCompile(`^/orgs/([^/]+)/repos$`)
	protPath     = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/branches/([^/]+)/protection$`)
	rulesPath    = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/rules/branches/([^/]+)$`)
	treePath     = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/git/trees/([^/]+)$`)
	contentsPath = regexp.MustCompile(`^/repos/([^/]+)/([^/]+)/contents/(.+)$`)
)

func (d *ghDouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.requests = append(d.requests, r.URL.Path)
	var first func(http.ResponseWriter)
	if l := d.limited[r.URL.Path]; len(l) > 0 {
		first, d.limited[r.URL.Path] = l[0], l[1:]
	}
	held := d.heldUntil
	d.mu.Unlock()
	if r.Method != http.MethodGet {
		d.fail("%s %s: only GET is expected", r.Method, r.URL.Path)
	}
	if r.Header.Get("Authorization") != "Bearer test-token" {
		d.fail("%s: Authorization %q", r.URL.Path, r.Header.Get("Authorization"))
	}
	if r.Header.Get("X-GitHub-Api-Version") == "" || !strings.Contains(r.Header.Get("Accept"), "application/vnd.github") {
		d.fail("%s: missing API version or Accept header", r.URL.Path)
	}
	if !held.IsZero() && d.clock.Now().Before(held) {
		d.fail("%s: requested at %s, before the rate limit reset at %s", r.URL.Path, d.clock.Now(), held)
	}
	if first != nil {
		first(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4000")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(d.clock.Now().Add(time.Hour).Unix(), 10))
	if r.URL.Path == d.remaining0 {
		reset := d.clock.Now().Add(40 * time.Second)
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		d.mu.Lock()
		d.heldUntil = reset
		d.mu.Unlock()
	}
	q := r.URL.Query()
	switch {
	case reposPath.MatchString(r.URL.Path):
		if q.Get("per_page") != "100" || q.Get("type") != "all" {
			d.fail("repository listing without per_page=100&type=all: %s", r.URL.RawQuery)
		}
		page, _ := strconv.Atoi(q.Get("page"))
		if page == 0 {
			page = 1
		}
		start := (page - 1) * d.perPage
		end := min(start+d.perPage, len(d.repos))
		var out []map[string]any
		for _, rp := range d.repos[min(start, len(d.repos)):end] {
			out = append(out, map[string]any{"name": rp.name, "full_name": d.org + "/" + rp.name, "default_branch": "main", "archived": rp.archived})
		}
		last := (len(d.repos) + d.perPage - 1) / d.perPage
		var links []string
		if page < last {
			links = append(links, fmt.Sprintf(`<%s/orgs/%s/repos?page=%d&per_page=100&type=all>; rel="next"`, d.srv.URL, d.org, page+1))
			links = append(links, fmt.Sprintf(`<%s/orgs/%s/repos?page=%d&per_page=100&type=all>; rel="last"`, d.srv.URL, d.org, last))
		}
		if len(links) > 0 {
			w.Header().Set("Link", strings.Join(links, ", "))
		}
		_ = json.NewEncoder(w).Encode(out)
	case protPath.MatchString(r.URL.Path):
		rp := d.repo(w, protPath.FindStringSubmatch(r.URL.Path))
		if rp == nil {
			return
		}
		switch {
		case rp.protectionStatus != 0:
			w.WriteHeader(rp.protectionStatus)
			fmt.Fprintf(w, `{"message":"%s"}`, http.StatusText(rp.protectionStatus))
		case rp.protection == "":
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Branch not protected"}`)
		default:
			fmt.Fprint(w, rp.protection)
		}
	case rulesPath.MatchString(r.URL.Path):
		rp := d.repo(w, rulesPath.FindStringSubmatch(r.URL.Path))
		if rp == nil {
			return
		}
		fmt.Fprint(w, orDefault(rp.rules, "[]"))
	case treePath.MatchString(r.URL.Path):
		rp := d.repo(w, treePath.FindStringSubmatch(r.URL.Path))
		if rp == nil {
			return
		}
		if q.Get("recursive") != "1" {
			d.fail("%s without recursive=1", r.URL.Path)
		}
		if rp.treeStatus != 0 {
			w.WriteHeader(rp.treeStatus)
			fmt.Fprint(w, `{"message":"boom"}`)
			return
		}
		var entries []map[string]any
		for p, c := range rp.files {
			entries = append(entries, map[string]any{"path": p, "type": "blob", "mode": "100644", "size": len(c), "sha": "0"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"sha": "0", "tree": entries, "truncated": false})
	case contentsPath.MatchString(r.URL.Path):
		m := contentsPath.FindStringSubmatch(r.URL.Path)
		rp := d.repo(w, m)
		if rp == nil {
			return
		}
		if q.Get("ref") != "main" {
			d.fail("%s without ref=main", r.URL.Path)
		}
		c, ok := rp.files[m[3]]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "file", "encoding": "base64", "size": len(c), "path": m[3], "content": base64.StdEncoding.EncodeToString([]byte(c))})
	default:
		d.fail("unexpected request %s", r.URL.String())
		w.WriteHeader(http.StatusNotFound)
	}
}

func (d *ghDouble) repo(w http.ResponseWriter, m []string) *apiRepo {
	if m[1] != d.org || m[3] != "main" && !strings.HasPrefix(m[0], "/repos/"+m[1]+"/"+m[2]+"/contents/") {
		d.fail("request for owner %q branch %q", m[1], m[3])
	}
	for i := range d.repos {
		if d.repos[i].name == m[2] {
			return &d.repos[i]
		}
	}
	w.WriteHeader(http.StatusNotFound)
	return nil
}

func newDouble(t *testing.T, repos []apiRepo) (*ghDouble, *Client) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	d := &ghDouble{t: t, org: "acme", repos: repos, perPage: 2, clock: clock, limited: map[string][]func(http.ResponseWriter){}}
	d.srv = httptest.NewServer(d)
	t.Cleanup(d.srv.Close)
	c, err := NewClient(ClientOptions{BaseURL: d.srv.URL, Token: "test-token", Sleep: clock.Sleep, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return d, c
}

const pavedCaller = `on:
  pull_request:
  push:
    branches: [main]
permissions: {}
jobs:
  secure-gates:
    uses: secure-gates/secure-gates/.github/workflows/secure-gates.yml@0000000000000000000000000000000000000000
    permissions: {contents: read, id-token: write}
    with:
      image: ghcr.io/acme/paved
  codeql:
    name: CodeQL analyze
    runs-on: ubuntu-latest
    steps:
      - uses: github/codeql-action/init@v3
      - uses: github/codeql-action/analyze@v3
`

// An organization of several repositories is assessed through the API double:
// the listing is paginated by Link headers, every request has the documented
// shape, primary and secondary rate limits are waited out (on the injected
// clock), branch protection and rulesets decide the required-check facts, and
// the table is sorted by score with the distribution by tier.
func TestAssessOrg(t *testing.T) {
	t.Parallel()
	repos := []apiRepo{
		{name: "paved", files: map[string]string{".github/workflows/ci.yml": pavedCaller, "Dockerfile": "FROM scratch\nUSER 10001\n"},
			protection: `{"required_status_checks":{"strict":true,"contexts":["CodeQL analyze"]}}`},
		{name: "ruleset", files: map[string]string{".github/workflows/ci.yml": pavedCaller},
			protectionStatus: http.StatusForbidden, rules: `[{"type":"code_scanning","ruleset_id":7,"parameters":{"code_scanning_tools":[{"tool":"CodeQL","alerts_threshold":"errors","security_alerts_threshold":"high_or_higher"}]}}]`},
		{name: "noadmin", files: map[string]string{".github/workflows/ci.yml": pavedCaller}, protectionStatus: http.StatusForbidden,
			rules: `[{"type":"required_status_checks","parameters":{"strict_required_status_checks_policy":false,"required_status_checks":[{"context":"build"}]}}]`},
		{name: "bare", files: map[string]string{}},
		{name: "answered", files: map[string]string{answersFile: answersOK, "Dockerfile": "FROM alpine\n"}},
		{name: "old", archived: true, files: map[string]string{}},
		{name: "broken", files: map[string]string{}, treeStatus: http.StatusInternalServerError},
	}
	d, c := newDouble(t, repos)
	// Page 2 of the listing first answers with the primary limit exhausted;
	// the ruleset repository's workflow first meets a secondary limit (429
	// Retry-After) and then a 403 secondary limit with Retry-After.
	reset := d.clock.now.Add(30 * time.Second).Unix()
	d.limited["/orgs/acme/repos"] = nil
	d.limited["/repos/acme/ruleset/contents/.github/workflows/ci.yml"] = []func(http.ResponseWriter){
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		},
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`)
		},
	}
	d.remaining0 = "/repos/acme/bare/branches/main/protection"
	pageTwo := true
	d.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/orgs/acme/repos" && r.URL.Query().Get("page") == "2" && pageTwo {
			pageTwo = false
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"API rate limit exceeded"}`)
			return
		}
		d.ServeHTTP(w, r)
	})
	rep, err := AssessOrg(context.Background(), c, "acme", OrgOptions{Evaluate: Options{Now: testNow}, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range d.errors {
		t.Error("API double: " + e)
	}
	var order []string
	for _, r := range rep.Repositories {
		order = append(order, fmt.Sprintf("%s=%d", r.Repository, r.Total))
	}
	if got := strings.Join(order, " "); got != "acme/paved=20 acme/ruleset=19 acme/noadmin=18 acme/answered=2 acme/bare=0 acme/broken=0" {
		t.Errorf("repositories by score: %s", got)
	}
	byName := map[string]*Report{}
	for _, r := range rep.Repositories {
		byName[r.Repository] = r
	}
	if q := scoreOf(byName["acme/paved"], 1); q.Score != 2 || q.Source != "api" || !strings.Contains(strings.Join(q.Evidence, "\n"), `API: main requires the check "CodeQL analyze"`) {
		t.Errorf("paved question 1: %+v", q)
	}
	if q := scoreOf(byName["acme/ruleset"], 1); q.Score != 2 || !strings.Contains(strings.Join(q.Evidence, "\n"), "requires code scanning results") {
		t.Errorf("ruleset question 1: %+v", q)
	}
	if q := scoreOf(byName["acme/noadmin"], 1); q.Score != 1 || !strings.Contains(strings.Join(q.Evidence, "\n"), "not required on main (required: build); not readable: branch protection (403") {
		t.Errorf("noadmin question 1: %+v", q)
	}
	if q := scoreOf(byName["acme/answered"], 13); q.Score != 2 || q.Source != "assessment.yaml" {
		t.Errorf("answered question 13: %+v", q)
	}
	if b := byName["acme/broken"]; b.Error == "" || !strings.Contains(b.Error, "500") {
		t.Errorf("broken repository: %+v", b)
	}
	if _, ok := byName["acme/old"]; ok {
		t.Error("an archived repository was assessed")
	}
	if rep.Distribution["1"] != 3 || rep.Distribution["0"] != 2 || rep.Distribution["2"] != 0 {
		t.Errorf("distribution %v", rep.Distribution)
	}
	// The waits: 31s for the primary limit (reset + 1s), 7s and 3s for the
	// secondary ones, 41s holding the request after the Remaining 0 success.
	slices.Sort(d.clock.slept)
	if got := fmt.Sprint(d.clock.slept); got != "[3s 7s 31s 41s]" {
		t.Errorf("waits %s, want [3s 7s 31s 41s]", got)
	}
	pages := 0
	for _, p := range d.requests {
		if p == "/orgs/acme/repos" {
			pages++
		}
	}
	if pages != 4 || pageTwo { // 7 repositories, 2 a page; the refused page-2 request never reached the double
		t.Errorf("%d listing requests reached the double (want 4); page 2 refused: %v", pages, !pageTwo)
	}
	golden.Check(t, filepath.Join("testdata", "org.md"), []byte(rep.Markdown(map[string]*Report{"acme/paved": {Total: 16}, "acme/bare": {Total: 1}})))
}

// The listing cannot loop: a next page that does not advance is an error.
func TestOrgPaginationLoop(t *testing.T) {
	t.Parallel()
	d, c := newDouble(t, []apiRepo{{name: "a"}, {name: "b"}, {name: "c"}})
	d.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", fmt.Sprintf(`<%s/orgs/acme/repos?page=1&per_page=100>; rel="next"`, d.srv.URL))
		fmt.Fprint(w, `[{"name":"a","default_branch":"main","archived":true}]`)
	})
	_, err := AssessOrg(context.Background(), c, "acme", OrgOptions{Evaluate: Options{Now: testNow}})
	if err == nil || !strings.Contains(err.Error(), "links back") || !IsInfra(err) {
		t.Errorf("error %v, want a pagination loop error", err)
	}
}

// An endless listing stops at MaxRepositories.
func TestOrgPaginationBound(t *testing.T) {
	t.Parallel()
	d, c := newDouble(t, nil)
	d.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		w.Header().Set("Link", fmt.Sprintf(`<%s/orgs/acme/repos?page=%d&per_page=100>; rel="next"`, d.srv.URL, page+1))
		var out []string
		for i := range 100 {
			out = append(out, fmt.Sprintf(`{"name":"r%d-%d","default_branch":"main","archived":true}`, page, i))
		}
		fmt.Fprint(w, "["+strings.Join(out, ",")+"]")
	})
	repos, notes, err := c.ListRepos(context.Background(), "acme")
	if err != nil || len(repos) != MaxRepositories || len(notes) != 1 || !strings.Contains(notes[0], "more than 5000 repositories") {
		t.Errorf("%d repositories, notes %q, error %v", len(repos), notes, err)
	}
}

// A rate limit longer than the accepted wait is an infrastructure error, not
// a silent skip; one that never lifts stops after a bounded number of attempts.
func TestRateLimitNotWaitedOut(t *testing.T) {
	t.Parallel()
	d, c := newDouble(t, nil)
	d.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(d.clock.Now().Add(3*time.Hour).Unix(), 10))
		w.WriteHeader(http.StatusForbidden)
	})
	_, err := AssessOrg(context.Background(), c, "acme", OrgOptions{})
	if err == nil || !strings.Contains(err.Error(), "more than the 1h5m0s the assessment waits") {
		t.Errorf("error %v", err)
	}
	d2, c2 := newDouble(t, nil)
	d2.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	_, err = AssessOrg(context.Background(), c2, "acme", OrgOptions{})
	if err == nil || !strings.Contains(err.Error(), "still rate limited after 6 attempts") {
		t.Errorf("error %v", err)
	}
}

// A lying API: paths leaving the tree, symbolic links, sizes that lie, and a
// file over the bound are refused per file; the repository is still assessed.
func TestLyingAPI(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", MaxFileBytes+10)
	d, c := newDouble(t, []apiRepo{{name: "liar", files: map[string]string{".github/workflows/big.yml": big, "Dockerfile": "FROM scratch\nUSER 1000\n"}}})
	inner := d.srv.Config.Handler
	d.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/git/trees/main") {
			fmt.Fprint(w, `{"sha":"0","truncated":false,"tree":[
				{"path":"../../etc/passwd.yaml","type":"blob","mode":"100644","size":10},
				{"path":"/abs.yaml","type":"blob","mode":"100644","size":10},
				{"path":"link.yaml","type":"blob","mode":"120000","size":10},
				{"path":".github/workflows/big.yml","type":"blob","mode":"100644","size":10},
				{"path":"Dockerfile","type":"blob","mode":"100644","size":24}]}`)
			return
		}
		if strings.Contains(r.URL.Path, "passwd") || strings.Contains(r.URL.Path, "abs.yaml") || strings.Contains(r.URL.Path, "link.yaml") {
			d.fail("requested %s", r.URL.Path)
		}
		inner.ServeHTTP(w, r)
	})
	rep, err := AssessOrg(context.Background(), c, "acme", OrgOptions{Evaluate: Options{Now: testNow}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range d.errors {
		t.Error("API double: " + e)
	}
	r := rep.Repositories[0]
	if r.Error != "" || scoreOf(r, 6).Score != 1 || !strings.Contains(strings.Join(r.Notes, "\n"), ".github/workflows/big.yml was not read: over 1048576 bytes") {
		t.Errorf("liar: error %q, q6 %+v, notes %q", r.Error, scoreOf(r, 6), r.Notes)
	}
}

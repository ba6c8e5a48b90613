package sarif

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

const (
	fakeToken   = "ghs_testtoken"
	fakeOwner   = "octo-org"
	fakeRepo    = "app"
	fakeSHA     = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
	fakeRef     = "refs/pull/42/merge"
	fakeCheckok = "file:///home/runner/work/app/app/"
	fakeTool    = "secure-gates"
	fakeSarifID = "47177e22-5596-11eb-80a1-c1e54ef945c6"
)

type answer struct {
	code int
	body string
}

// fakeGitHub implements the documented contract of the code scanning SARIF
// endpoints and fails the test when a request breaks it:
//
//	POST /repos/{owner}/{repo}/code-scanning/sarifs  -> 202 {"id","url"}
//	GET  /repos/{owner}/{repo}/code-scanning/sarifs/{sarif_id}
type fakeGitHub struct {
	t      *testing.T
	srv    *httptest.Server
	client *github.Client

	noCalls bool     // any request fails the test
	upload  answer   // POST answer; zero means 202 with an id
	status  []answer // GET answers in order; the last repeats

	mu       sync.Mutex
	gets     int
	uploaded [][]byte // decompressed SARIF of each upload
	onGet    func(n int)
}

var uploadFields = map[string]bool{"commit_sha": true, "ref": true, "sarif": true, "checkout_uri": true, "started_at": true, "tool_name": true, "validate": true}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.client = github.NewClient(f.srv.Client()).WithAuthToken(fakeToken)
	base, _ := url.Parse(f.srv.URL + "/")
	f.client.BaseURL = base
	return f
}

func (f *fakeGitHub) request(sarif []byte) UploadRequest {
	return UploadRequest{
		Owner: fakeOwner, Repo: fakeRepo, CommitSHA: fakeSHA, Ref: fakeRef,
		CheckoutURI: fakeCheckok, ToolName: fakeTool, SARIF: sarif,
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	t := f.t
	if f.noCalls {
		t.Errorf("unexpected request %s %s: the client should have refused before calling GitHub", r.Method, r.URL.Path)
		http.Error(w, "no", http.StatusTeapot)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+fakeToken {
		t.Errorf("%s %s: Authorization = %q, want the bearer token", r.Method, r.URL.Path, got)
		writeJSON(w, http.StatusUnauthorized, `{"message":"Bad credentials"}`)
		return
	}
	uploadPath := "/repos/" + fakeOwner + "/" + fakeRepo + "/code-scanning/sarifs"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == uploadPath:
		f.serveUpload(w, r)
	case r.Method == http.MethodGet && r.URL.Path == uploadPath+"/"+fakeSarifID:
		f.mu.Lock()
		n := f.gets
		f.gets++
		onGet := f.onGet
		f.mu.Unlock()
		if onGet != nil {
			onGet(n)
		}
		a := f.status[min(n, len(f.status)-1)]
		writeJSON(w, a.code, a.body)
	default:
		t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		writeJSON(w, http.StatusNotFound, `{"message":"Not Found"}`)
	}
}

var (
	hexSHA   = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)
	fullRef  = regexp.MustCompile(`^refs/(heads|tags|pull)/.+$`)
	rfc3339Z = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

func (f *fakeGitHub) serveUpload(w http.ResponseWriter, r *http.Request) {
	t := f.t
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("upload Content-Type = %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 40<<20)).Decode(&body); err != nil {
		t.Errorf("upload body is not JSON: %v", err)
		writeJSON(w, http.StatusBadRequest, `{"message":"Problems parsing JSON"}`)
		return
	}
	bad := func(format string, args ...any) {
		t.Errorf("upload body: "+format, args...)
	}
	for k := range body {
		if !uploadFields[k] {
			bad("unknown field %q", k)
		}
	}
	str := func(k string) string { s, _ := body[k].(string); return s }
	if !hexSHA.MatchString(str("commit_sha")) {
		bad("commit_sha = %q, want 40 hex digits", str("commit_sha"))
	}
	if !fullRef.MatchString(str("ref")) {
		bad("ref = %q, want refs/heads|tags|pull/...", str("ref"))
	}
	if got := str("tool_name"); got != fakeTool {
		bad("tool_name = %q, want %q", got, fakeTool)
	}
	if got := str("checkout_uri"); got != fakeCheckok {
		bad("checkout_uri = %q, want %q", got, fakeCheckok)
	}
	if got := str("started_at"); got != "" && !rfc3339Z.MatchString(got) {
		bad("started_at = %q, want an ISO 8601 UTC time", got)
	}
	gz, err := base64.StdEncoding.DecodeString(str("sarif"))
	if err != nil {
		bad("sarif is not base64: %v", err)
		writeJSON(w, http.StatusBadRequest, `{"message":"Invalid request."}`)
		return
	}
	raw, err := gunzip(gz, 200<<20)
	if err != nil {
		bad("sarif is not gzip data: %v", err)
		writeJSON(w, http.StatusBadRequest, `{"message":"Invalid request."}`)
		return
	}
	if _, err := Read(bytes.NewReader(raw), int64(len(raw))); err != nil {
		bad("sarif does not decompress to SARIF 2.1.0: %v", err)
	}
	if err := schemaError(t, raw); err != nil {
		bad("sarif is not valid against the SARIF schema: %v", err)
	}
	f.mu.Lock()
	f.uploaded = append(f.uploaded, raw)
	f.mu.Unlock()
	if f.upload.code != 0 {
		writeJSON(w, f.upload.code, f.upload.body)
		return
	}
	writeJSON(w, http.StatusAccepted, `{"id":"`+fakeSarifID+`","url":"https://api.github.com/repos/octo-org/app/code-scanning/sarifs/`+fakeSarifID+`"}`)
}

// requests returns how many status requests GitHub received.
func (f *fakeGitHub) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

// received returns the decompressed SARIF of each upload.
func (f *fakeGitHub) received() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.uploaded...)
}

func writeJSON(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func sampleDoc(t *testing.T) []byte {
	t.Helper()
	docs, err := Pack(sampleRuns(), Options{Root: testRoot})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("sample packs into %d documents", len(docs))
	}
	return docs[0].JSON
}

var fastWait = WaitOptions{Interval: time.Millisecond, Timeout: 10 * time.Second}

const (
	pending  = `{"processing_status":"pending","analyses_url":null,"errors":null}`
	complete = `{"processing_status":"complete","analyses_url":"https://api.github.com/repos/octo-org/app/code-scanning/analyses?sarif_id=47177e22-5596-11eb-80a1-c1e54ef945c6","errors":null}`
	notFound = `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/code-scanning/code-scanning#get-information-about-a-sarif-upload"}`
)

func TestUploadAndWait(t *testing.T) {
	f := newFakeGitHub(t)
	f.status = []answer{{404, notFound}, {200, pending}, {200, pending}, {200, complete}}
	doc := sampleDoc(t)

	id, err := Upload(t.Context(), f.client, f.request(doc))
	if err != nil {
		t.Fatal(err)
	}
	if id != fakeSarifID {
		t.Errorf("id = %q, want %q", id, fakeSarifID)
	}
	if got := f.received(); len(got) != 1 || !bytes.Equal(got[0], doc) {
		t.Error("GitHub did not receive the document as given")
	}

	st, err := Wait(t.Context(), f.client, fakeOwner, fakeRepo, id, fastWait)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusComplete || !strings.Contains(st.AnalysesURL, "sarif_id="+fakeSarifID) {
		t.Errorf("status = %+v", st)
	}
	if f.requests() != 4 {
		t.Errorf("Wait asked %d times, want 4 (404, pending, pending, complete)", f.requests())
	}
}

func TestWaitReportsFailedProcessing(t *testing.T) {
	f := newFakeGitHub(t)
	f.status = []answer{{200, pending}, {200, `{"processing_status":"failed","analyses_url":null,"errors":["locationFromSarifResult: expected artifact location","rejecting SARIF, as there are more runs than allowed (21 > 20)"]}`}}
	st, err := Wait(t.Context(), f.client, fakeOwner, fakeRepo, fakeSarifID, fastWait)
	if err == nil {
		t.Fatal("Wait returned no error for a failed upload")
	}
	for _, want := range []string{"expected artifact location", "more runs than allowed (21 > 20)", fakeSarifID} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if st == nil || st.Status != StatusFailed || len(st.Errors) != 2 {
		t.Errorf("status = %+v, want failed with 2 errors", st)
	}
	if errkind.Of(err) != errkind.KindInput {
		t.Errorf("error kind = %v, want input", errkind.Of(err))
	}
}

func TestUploadErrors(t *testing.T) {
	tests := []struct {
		name string
		ans  answer
		kind errkind.Kind
		want string
	}{
		{"missing permission", answer{403, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/code-scanning/code-scanning#upload-an-analysis-as-sarif-data"}`}, errkind.KindInput, `needs the "security-events: write" permission`},
		{"repository not found", answer{404, notFound}, errkind.KindInput, "repository not found"},
		{"too large", answer{413, `{"message":"Payload Too Large"}`}, errkind.KindInput, "too large"},
		{"invalid sarif", answer{400, `{"message":"Invalid request.\n\nInvalid property /sarif"}`}, errkind.KindInput, "rejected the request (HTTP 400)"},
		{"server error", answer{502, `{"message":"Server Error"}`}, errkind.KindInfra, "unavailable (HTTP 502)"},
		{"unavailable", answer{503, `{"message":"Service Unavailable"}`}, errkind.KindInfra, "unavailable (HTTP 503)"},
		{"200 without id", answer{200, `{}`}, errkind.KindInfra, "without a SARIF id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGitHub(t)
			f.upload = tt.ans
			_, err := Upload(t.Context(), f.client, f.request(sampleDoc(t)))
			if err == nil {
				t.Fatal("Upload succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if errkind.Of(err) != tt.kind {
				t.Errorf("error kind = %v, want %v", errkind.Of(err), tt.kind)
			}
		})
	}
}

func TestUploadNetworkErrorIsInfra(t *testing.T) {
	f := newFakeGitHub(t)
	f.srv.Close()
	_, err := Upload(t.Context(), f.client, f.request(sampleDoc(t)))
	if err == nil || errkind.Of(err) != errkind.KindInfra {
		t.Fatalf("err = %v (kind %v), want an infrastructure error", err, errkind.Of(err))
	}
}

func TestUploadRefusesBadRequests(t *testing.T) {
	doc := sampleDoc(t)
	var twentyOne []Run
	for i := range 21 {
		twentyOne = append(twentyOne, manyResults("t", string(rune('a'+i)), 1))
	}
	rep, err := Build(twentyOne, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tooMany, err := Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*UploadRequest)
		want   string
	}{
		{"short sha", func(r *UploadRequest) { r.CommitSHA = "4b825dc" }, "expected 40 hexadecimal digits"},
		{"branch name as ref", func(r *UploadRequest) { r.Ref = "main" }, "expected refs/heads/<branch>"},
		{"owner with slash", func(r *UploadRequest) { r.Owner = "a/b" }, "owner"},
		{"relative checkout uri", func(r *UploadRequest) { r.CheckoutURI = "workspace" }, "checkout URI"},
		{"empty sarif", func(r *UploadRequest) { r.SARIF = nil }, "empty"},
		{"not json", func(r *UploadRequest) { r.SARIF = []byte("<xml/>") }, "malformed JSON"},
		{"sarif 2.0", func(r *UploadRequest) { r.SARIF = []byte(`{"version":"2.0.0","runs":[]}`) }, `version "2.0.0" is not supported`},
		{"21 runs", func(r *UploadRequest) { r.SARIF = tooMany }, "21 runs: GitHub accepts at most 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGitHub(t)
			f.noCalls = true
			req := f.request(doc)
			tt.mutate(&req)
			_, err := Upload(t.Context(), f.client, req)
			wantInputError(t, err, "Upload", tt.want)
		})
	}
}

func TestWaitIsBounded(t *testing.T) {
	t.Run("attempts", func(t *testing.T) {
		f := newFakeGitHub(t)
		f.status = []answer{{200, pending}}
		_, err := Wait(t.Context(), f.client, fakeOwner, fakeRepo, fakeSarifID, WaitOptions{Interval: time.Millisecond, MaxAttempts: 3, Timeout: time.Minute})
		if err == nil || !strings.Contains(err.Error(), "not processed after 3 attempts") || !strings.Contains(err.Error(), `"pending"`) {
			t.Fatalf("err = %v, want a bound error naming 3 attempts and the pending status", err)
		}
		if errkind.Of(err) != errkind.KindInfra {
			t.Errorf("error kind = %v, want infrastructure", errkind.Of(err))
		}
		if f.requests() != 3 {
			t.Errorf("Wait asked %d times, want 3", f.requests())
		}
	})
	t.Run("timeout", func(t *testing.T) {
		f := newFakeGitHub(t)
		f.status = []answer{{404, notFound}}
		start := time.Now()
		_, err := Wait(t.Context(), f.client, fakeOwner, fakeRepo, fakeSarifID, WaitOptions{Interval: 5 * time.Millisecond, MaxAttempts: 1_000_000, Timeout: 100 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), "404 Not Found") {
			t.Fatalf("err = %v, want a timeout naming the last 404", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Wait took %v with a 100ms timeout", d)
		}
		if errkind.Of(err) != errkind.KindInfra {
			t.Errorf("error kind = %v, want infrastructure", errkind.Of(err))
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		f := newFakeGitHub(t)
		f.status = []answer{{200, pending}}
		ctx, cancel := context.WithCancel(t.Context())
		f.onGet = func(n int) {
			if n == 1 {
				cancel()
			}
		}
		_, err := Wait(ctx, f.client, fakeOwner, fakeRepo, fakeSarifID, WaitOptions{Interval: time.Millisecond, Timeout: time.Minute})
		if err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
			t.Fatalf("err = %v, want the context's cancellation", err)
		}
		if f.requests() > 3 {
			t.Errorf("Wait kept polling (%d requests) after the context was cancelled", f.requests())
		}
	})
}

func TestWaitRetriesTransientFailures(t *testing.T) {
	f := newFakeGitHub(t)
	f.status = []answer{{503, `{"message":"Service Unavailable"}`}, {202, `{"processing_status":"pending"}`}, {200, complete}}
	st, err := Wait(t.Context(), f.client, fakeOwner, fakeRepo, fakeSarifID, fastWait)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusComplete || f.requests() != 3 {
		t.Errorf("status %q after %d requests, want complete after 3", st.Status, f.requests())
	}
}

func TestWaitForbidden(t *testing.T) {
	f := newFakeGitHub(t)
	f.status = []answer{{403, `{"message":"Resource not accessible by integration"}`}}
	_, err := Wait(t.Context(), f.client, fakeOwner, fakeRepo, fakeSarifID, fastWait)
	wantInputError(t, err, "Wait without the read permission", `"security-events: read"`)
	if f.requests() != 1 {
		t.Errorf("Wait asked %d times after a 403, want 1", f.requests())
	}
}

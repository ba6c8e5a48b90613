package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// Caps of what the recorder keeps of one verification's registry reads.
const (
	// MaxRecordedBytes bounds the bytes of all recorded responses.
	MaxRecordedBytes = 128 << 20
	// MaxRecordedResponses bounds their number.
	MaxRecordedResponses = 4096
	// MaxRecordedResponseBytes bounds one response: pkg/verify reads no
	// envelope or bundle larger than attestation.DefaultMaxEnvelopeBytes, and
	// manifests are far smaller.
	MaxRecordedResponseBytes = attestation.DefaultMaxEnvelopeBytes + 1<<20
)

// Exchange is one registry response the verifier read, as recorded: the
// request (method, host, path) and the response's status, media type and
// body (by sha256; the body itself is a file of the bundle).
type Exchange struct {
	Method      string `json:"method"`
	Host        string `json:"host"`
	Path        string `json:"path"`
	Status      int    `json:"status"`
	ContentType string `json:"contentType,omitempty"`
	// Digest is the sha256 of the body ("" for a HEAD).
	Digest string `json:"digest,omitempty"`
	// File is the bundle file holding the body.
	File string `json:"file,omitempty"`

	body []byte
}

// recorder is an http.RoundTripper that keeps a copy of every successful
// registry read (GET and HEAD of /v2/<name>/manifests|blobs|referrers/…)
// going through it: what pkg/verify read, byte for byte, so the bundle holds
// exactly the evidence that was verified and not a second download a lying
// registry could make differ.
type recorder struct {
	base http.RoundTripper

	mu    sync.Mutex
	list  []*Exchange
	bytes int64
	err   error
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil || !recordable(req) || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	ex := &Exchange{Method: req.Method, Host: req.URL.Host, Path: req.URL.Path, Status: resp.StatusCode,
		ContentType: resp.Header.Get("Content-Type")}
	if req.Method == http.MethodHead {
		r.add(ex)
		return resp, nil
	}
	resp.Body = &teeBody{rc: resp.Body, r: r, ex: ex, want: resp.ContentLength}
	return resp, nil
}

// recordable is a registry read of a manifest, blob or referrers list.
func recordable(req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	p := req.URL.Path
	return strings.HasPrefix(p, "/v2/") &&
		(strings.Contains(p, "/manifests/") || strings.Contains(p, "/blobs/") || strings.Contains(p, "/referrers/"))
}

func (r *recorder) add(ex *Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	if len(r.list) >= MaxRecordedResponses {
		r.err = fmt.Errorf("the verification read more than %d registry objects: too many to record as evidence", MaxRecordedResponses)
		return
	}
	for _, old := range r.list {
		if old.Method == ex.Method && old.Host == ex.Host && old.Path == ex.Path && old.Digest != ex.Digest {
			r.err = fmt.Errorf("the registry answered %s %s%s with different content on two reads (sha256 %s, then %s): it cannot be recorded as one piece of evidence",
				ex.Method, ex.Host, ex.Path, hexOf(old.Digest), hexOf(ex.Digest))
			return
		}
	}
	r.bytes += int64(len(ex.body))
	if r.bytes > MaxRecordedBytes {
		r.err = fmt.Errorf("the verification read more than %d bytes from the registry: too much to record as evidence", MaxRecordedBytes)
		return
	}
	r.list = append(r.list, ex)
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// exchanges returns what was recorded, the last of each request kept, in a
// stable order; an error when the recording was cut by a cap.
func (r *recorder) exchanges() ([]*Exchange, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	last := map[string]*Exchange{}
	for _, ex := range r.list {
		last[ex.Method+" "+ex.Host+ex.Path] = ex
	}
	out := make([]*Exchange, 0, len(last))
	for _, ex := range last {
		out = append(out, ex)
	}
	sortExchanges(out)
	return out, nil
}

func sortExchanges(l []*Exchange) {
	sort.Slice(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Host+a.Path != b.Host+b.Path {
			return a.Host+a.Path < b.Host+b.Path
		}
		return a.Method < b.Method
	})
}

// teeBody copies what the verifier reads; the exchange is recorded when the
// body was read whole (to EOF, or as many bytes as announced).
type teeBody struct {
	rc   io.ReadCloser
	r    *recorder
	ex   *Exchange
	buf  bytes.Buffer
	want int64
	done bool
	over bool
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if n > 0 && !t.over {
		if int64(t.buf.Len()+n) > MaxRecordedResponseBytes {
			t.over = true
			t.buf = bytes.Buffer{}
			t.r.fail(fmt.Errorf("a registry response of %s%s is larger than %d bytes: too large to record as evidence", t.ex.Host, t.ex.Path, MaxRecordedResponseBytes))
		} else {
			t.buf.Write(p[:n])
		}
	}
	if errors.Is(err, io.EOF) {
		t.commit()
	}
	return n, err
}

func (t *teeBody) Close() error {
	if t.want >= 0 && int64(t.buf.Len()) == t.want {
		t.commit()
	}
	return t.rc.Close()
}

func (t *teeBody) commit() {
	if t.done || t.over {
		return
	}
	t.done = true
	t.ex.body = append([]byte(nil), t.buf.Bytes()...)
	t.ex.Digest = sha256Hex(t.ex.body)
	t.r.add(t.ex)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// replay is an http.RoundTripper answering from recorded exchanges only: the
// registry as the verifier saw it, with no network. /v2/ answers 200 (no
// authentication); anything not recorded is 404.
type replay struct {
	byKey map[string]*Exchange
}

func newReplay(list []*Exchange) *replay {
	r := &replay{byKey: map[string]*Exchange{}}
	for _, ex := range list {
		r.byKey[ex.Method+" "+ex.Host+ex.Path] = ex
	}
	return r
}

func (r *replay) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	resp := &http.Response{Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}}
	if req.URL.Path == "/v2/" || req.URL.Path == "/v2" {
		resp.StatusCode = http.StatusOK
		resp.Body = io.NopCloser(strings.NewReader("{}"))
		return resp, nil
	}
	ex := r.byKey[req.Method+" "+req.URL.Host+req.URL.Path]
	if ex == nil && req.Method == http.MethodHead {
		ex = r.byKey[http.MethodGet+" "+req.URL.Host+req.URL.Path]
	}
	if ex == nil || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
		resp.StatusCode = http.StatusNotFound
		resp.Header.Set("Content-Type", "application/json")
		resp.Body = io.NopCloser(strings.NewReader(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not in the evidence bundle"}]}`))
		return resp, nil
	}
	resp.StatusCode = ex.Status
	if ex.ContentType != "" {
		resp.Header.Set("Content-Type", ex.ContentType)
	}
	if ex.body != nil {
		resp.Header.Set("Docker-Content-Digest", ex.Digest)
		resp.Header.Set("Content-Length", strconv.Itoa(len(ex.body)))
		resp.ContentLength = int64(len(ex.body))
	}
	if req.Method == http.MethodHead || ex.body == nil {
		resp.Body = http.NoBody
	} else {
		resp.Body = io.NopCloser(bytes.NewReader(ex.body))
	}
	return resp, nil
}

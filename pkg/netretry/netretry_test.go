package netretry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// sleeps records the waits the transport asks for, without waiting.
type sleeps struct {
	mu  sync.Mutex
	got []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.got = append(s.got, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) list() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.got...)
}

// answer is one scripted answer of the test server.
type answer struct {
	code       int
	retryAfter string
}

func TestRetries(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	tests := []struct {
		name      string
		answers   []answer // the last repeats
		attempts  int
		maxDelay  time.Duration
		ctxFor    time.Duration // 0: no deadline
		wantCode  int
		wantCalls int
		wantWaits []time.Duration
	}{
		{name: "503 twice then OK", answers: []answer{{503, ""}, {503, ""}, {200, ""}},
			wantCode: 200, wantCalls: 3, wantWaits: []time.Duration{time.Second, 2 * time.Second}},
		{name: "429 with Retry-After seconds is honoured", answers: []answer{{429, "7"}, {200, ""}},
			wantCode: 200, wantCalls: 2, wantWaits: []time.Duration{7 * time.Second}},
		{name: "429 with Retry-After HTTP date", answers: []answer{{429, now.Add(12 * time.Second).Format(http.TimeFormat)}, {200, ""}},
			wantCode: 200, wantCalls: 2, wantWaits: []time.Duration{12 * time.Second}},
		{name: "Retry-After shorter than the backoff: the backoff", answers: []answer{{503, ""}, {503, "1"}, {200, ""}},
			wantCode: 200, wantCalls: 3, wantWaits: []time.Duration{time.Second, 2 * time.Second}},
		{name: "Retry-After in the past means now, after the backoff", answers: []answer{{429, now.Add(-time.Hour).Format(http.TimeFormat)}, {200, ""}},
			wantCode: 200, wantCalls: 2, wantWaits: []time.Duration{time.Second}},
		{name: "negative Retry-After", answers: []answer{{429, "-5"}, {200, ""}},
			wantCode: 200, wantCalls: 2, wantWaits: []time.Duration{time.Second}},
		{name: "garbage Retry-After is ignored", answers: []answer{{503, "soon"}, {200, ""}},
			wantCode: 200, wantCalls: 2, wantWaits: []time.Duration{time.Second}},
		{name: "Retry-After beyond the cap: the answer stands, no retry", answers: []answer{{429, "999999"}},
			wantCode: 429, wantCalls: 1},
		{name: "Retry-After of years: no overflow, no retry", answers: []answer{{503, "99999999999999999"}},
			wantCode: 503, wantCalls: 1},
		{name: "permanent 500: bounded retries, then the 500", answers: []answer{{500, ""}},
			wantCode: 500, wantCalls: 4, wantWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{name: "backoff is capped", answers: []answer{{502, ""}}, attempts: 6, maxDelay: 3 * time.Second,
			wantCode: 502, wantCalls: 6, wantWaits: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}},
		{name: "a wait past the deadline is not started", answers: []answer{{503, "120"}}, maxDelay: time.Hour, ctxFor: time.Minute,
			wantCode: 503, wantCalls: 1},
		{name: "501 is not retried", answers: []answer{{501, ""}}, wantCode: 501, wantCalls: 1},
		{name: "404 is not retried", answers: []answer{{404, ""}}, wantCode: 404, wantCalls: 1},
		{name: "408 is retried", answers: []answer{{408, ""}, {200, ""}}, wantCode: 200, wantCalls: 2, wantWaits: []time.Duration{time.Second}},
		{name: "attempts 1 disables retries", answers: []answer{{503, ""}}, attempts: 1, wantCode: 503, wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				a := tc.answers[min(n, len(tc.answers)-1)]
				if a.retryAfter != "" {
					w.Header().Set("Retry-After", a.retryAfter)
				}
				w.WriteHeader(a.code)
				_, _ = io.WriteString(w, "answer body")
			}))
			defer srv.Close()
			var s sleeps
			c := Client(Options{Attempts: tc.attempts, MaxDelay: tc.maxDelay, Sleep: s.sleep, Now: func() time.Time { return now }})
			ctx := context.Background()
			if tc.ctxFor > 0 {
				var cancel context.CancelFunc
				// The transport measures the deadline with the injected clock.
				ctx, cancel = context.WithDeadline(ctx, now.Add(tc.ctxFor))
				defer cancel()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || string(b) != "answer body" {
				t.Errorf("answer %d %q, want %d %q", resp.StatusCode, b, tc.wantCode, "answer body")
			}
			if got := int(calls.Load()); got != tc.wantCalls {
				t.Errorf("server got %d requests, want %d", got, tc.wantCalls)
			}
			if got := s.list(); !equalDurations(got, tc.wantWaits) {
				t.Errorf("waits %v, want %v", got, tc.wantWaits)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRetryReplaysTheBody(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var bodies sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		bodies.Store(n, string(b))
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	var s sleeps
	c := Client(Options{Sleep: s.sleep})
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte(`{"entry":1}`)))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || calls.Load() != 3 {
		t.Fatalf("status %d after %d requests, want 201 after 3", resp.StatusCode, calls.Load())
	}
	for i := int32(1); i <= 3; i++ {
		if b, _ := bodies.Load(i); b != `{"entry":1}` {
			t.Errorf("request %d carried %q", i, b)
		}
	}
}

func TestStreamingBodyIsNotRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var s sleeps
	c := Client(Options{Sleep: s.sleep})
	req, _ := http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(strings.NewReader("layer bytes")))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if calls.Load() != 1 || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%d requests, status %d; a body that cannot be rewound is sent once", calls.Load(), resp.StatusCode)
	}
}

func TestNoAnswer(t *testing.T) {
	t.Parallel()
	hung := testinfra.SilentServer(t)
	trickle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(trickle.Close)
	tests := []struct {
		name     string
		url      string
		opts     Options
		timeout  time.Duration
		want     string
		deadline bool
	}{
		{name: "hung server, cut by the caller's timeout", url: "http://" + hung + "/v2/", timeout: time.Second,
			want: hung + ": no answer within the 1s timeout", deadline: true},
		{name: "hung server, cut by the response header timeout", url: "http://" + hung + "/v2/",
			opts: Options{ResponseHeaderTimeout: 300 * time.Millisecond, Attempts: 2},
			want: hung + ": no answer within 300ms (response header timeout)"},
		{name: "TLS that never completes the handshake", url: "https://" + hung + "/v2/",
			opts: Options{TLSHandshakeTimeout: 300 * time.Millisecond, Attempts: 2},
			want: hung + ": TLS handshake not completed within 300ms"},
		{name: "a body trickled forever is cut by the timeout", url: trickle.URL + "/blob", timeout: time.Second,
			want: strings.TrimPrefix(trickle.URL, "http://") + ": answer not complete within the 1s timeout: reading the answer", deadline: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s sleeps
			tc.opts.Sleep = s.sleep
			c := Client(tc.opts)
			ctx, cancel := WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			// A generous guard: the test fails rather than hangs.
			guard, stop := context.WithTimeout(ctx, 30*time.Second)
			defer stop()
			req, _ := http.NewRequestWithContext(guard, http.MethodGet, tc.url, nil)
			resp, err := c.Do(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("error %v is not a net.Error timeout", err)
			}
			if tc.deadline && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v: errors.Is(err, context.DeadlineExceeded) is false", err)
			}
		})
	}
}

func TestWithTimeoutZeroKeepsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := WithTimeout(context.Background(), 0)
	defer cancel()
	if _, ok := ctx.Deadline(); ok {
		t.Fatal("a zero timeout set a deadline")
	}
}

// joined is an error list searched only through As, as go-containerregistry's
// ping keeps the errors of its https and http attempts.
type joined []error

func (j joined) Error() string { return "several" }
func (j joined) As(target any) bool {
	for _, e := range j {
		if errors.As(e, target) {
			return true
		}
	}
	return false
}

func TestExplain(t *testing.T) {
	t.Parallel()
	ctx, cancel := WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	refused := &Error{Host: "a:1", What: "unreachable (no connection)", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	header := &Error{Host: "b:2", What: "no answer within 60s (response header timeout)", Err: &net.OpError{Op: "read", Err: timeoutErr{}}}
	cut := &Error{Host: "c:3", What: "no answer " + timeoutOf(ctx), Err: context.DeadlineExceeded}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"a refused connection is left to the caller", fmt.Errorf("get: %w", refused), ""},
		{"a response header timeout", fmt.Errorf("get: %w", header), "resolving x from b:2: no answer within 60s (response header timeout)"},
		{"the deadline behind a list searched with As", joined{refused, fmt.Errorf("get: %w", cut)}, "resolving x from c:3: no answer within the 1ns timeout"},
		{"the deadline before another timeout", joined{header, cut}, "resolving x from c:3: no answer within the 1ns timeout"},
		{"no netretry error", errors.New("boom"), ""},
	} {
		got := Explain("resolving x", tc.err)
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%s: Explain = %q, want nil", tc.name, got)
		case tc.want != "" && (got == nil || got.Error() != tc.want):
			t.Errorf("%s: Explain = %v, want %q", tc.name, got, tc.want)
		case got != nil && !errors.Is(got, tc.err) && !errors.Is(got, context.DeadlineExceeded) && !errors.As(got, new(*Error)):
			t.Errorf("%s: the chain is lost", tc.name)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// Package netretry is the one HTTP transport every secure-gates client uses
// (registry, Sigstore services, GitHub API, Dependency-Track, the vulnerability
// DB), so that every network call ends and fails the same way:
//
//   - connection-level timeouts (dial, TLS handshake, response headers), so a
//     server that accepts and never answers is detected even within a long
//     overall deadline;
//   - bounded retries of 5xx (except 501 and 505), 408 and 429 answers and of
//     connection failures, with exponential backoff that honours Retry-After
//     (seconds or an HTTP date), capped, and never waiting past the request's
//     deadline;
//   - errors that name the host and say what happened ("127.0.0.1:5000: no
//     answer within the 30s timeout").
//
// The overall deadline is the caller's context: a gate wraps its run in
// WithTimeout, and the transport reports a request cut by it with the timeout's
// length. Clients that retry on their own (go-containerregistry, sigstore-go) are
// configured with their retries off, so nothing retries twice.
package netretry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/bounds"
)

// Defaults of Options.
const (
	DefaultAttempts              = 4
	DefaultBackoff               = time.Second
	DefaultMaxDelay              = 30 * time.Second
	DefaultDialTimeout           = 30 * time.Second
	DefaultTLSHandshakeTimeout   = 30 * time.Second
	DefaultResponseHeaderTimeout = 60 * time.Second
)

// drainLimit bounds what is read from a discarded answer before it is closed.
const drainLimit = 64 << 10

// Options configure a Transport. The zero value uses the defaults above.
type Options struct {
	// Attempts is the most requests sent for one call, the first included
	// (default DefaultAttempts; 1 disables retries).
	Attempts int
	// Backoff is the wait before the first retry, doubled for each further one
	// (default DefaultBackoff).
	Backoff time.Duration
	// MaxDelay caps one wait (default DefaultMaxDelay). A Retry-After asking for
	// more ends the call with the answer received: retrying sooner than asked
	// would not honour it.
	MaxDelay time.Duration
	// DialTimeout, TLSHandshakeTimeout and ResponseHeaderTimeout bound the
	// phases of one request (defaults above). They apply to the transport New
	// builds when Base is nil.
	DialTimeout, TLSHandshakeTimeout, ResponseHeaderTimeout time.Duration
	// TLSConfig is the TLS configuration of the built transport (nil: Go's).
	TLSConfig *tls.Config
	// Base is the transport requests go through (default one built from the
	// options above with the proxy settings of the environment).
	Base http.RoundTripper
	// Sleep waits d or until ctx is done (default a timer); tests inject it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used for HTTP-date Retry-After values and deadlines
	// (default time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	o.Attempts = bounds.Or(o.Attempts, DefaultAttempts)
	o.Backoff = bounds.Or(o.Backoff, DefaultBackoff)
	o.MaxDelay = bounds.Or(o.MaxDelay, DefaultMaxDelay)
	o.DialTimeout = bounds.Or(o.DialTimeout, DefaultDialTimeout)
	o.TLSHandshakeTimeout = bounds.Or(o.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
	o.ResponseHeaderTimeout = bounds.Or(o.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	if o.Sleep == nil {
		o.Sleep = Sleep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Transport is an http.RoundTripper with retries, timeouts and errors naming the
// host. Build it with New.
type Transport struct {
	o    Options
	base http.RoundTripper
}

// New returns a Transport over o.Base, or over a fresh http.Transport with the
// connection-level timeouts of o.
func New(o Options) *Transport {
	o = o.withDefaults()
	base := o.Base
	if base == nil {
		base = BaseTransport(o)
	}
	return &Transport{o: o, base: base}
}

// BaseTransport returns an http.Transport with the connection-level timeouts of
// o (defaults filled in) and the environment's proxy settings.
func BaseTransport(o Options) *http.Transport {
	o = o.withDefaults()
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   o.DialTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       o.TLSConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   50,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// Client returns an http.Client over New(o). It has no overall Timeout: the
// request's context is the deadline.
func Client(o Options) *http.Client {
	return &http.Client{Transport: New(o)}
}

// Default is the transport of DefaultClient, shared by the clients that do not
// take options of their own.
var Default = New(Options{})

// DefaultClient is an http.Client over Default.
var DefaultClient = &http.Client{Transport: Default}

type timeoutKey struct{}

// timeout is what WithTimeout set: the duration asked for and the deadline.
type timeout struct {
	d  time.Duration
	at time.Time
}

// WithTimeout returns ctx with a deadline d from now, remembering d so that a
// request the deadline cuts is reported as "no answer within the <d> timeout".
// A d of zero or less returns ctx unchanged (and a no-op cancel).
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	at, _ := ctx.Deadline()
	return context.WithValue(ctx, timeoutKey{}, timeout{d: d, at: at}), cancel
}

// timeoutOf says how the deadline of ctx was set, for messages.
func timeoutOf(ctx context.Context) string {
	v, ok := ctx.Value(timeoutKey{}).(timeout)
	if dl, has := ctx.Deadline(); ok && has && !dl.Before(v.at) {
		return "within the " + v.d.String() + " timeout"
	}
	return "before the deadline"
}

// Bind returns rt sending every request under ctx as well as under its own
// context: for clients that build requests without one (sigstore-go's Fulcio
// and timestamp clients, go-tuf's fetcher), so the caller's deadline and
// cancellation still end them.
func Bind(ctx context.Context, rt http.RoundTripper) http.RoundTripper {
	return &bound{ctx: ctx, rt: rt}
}

type bound struct {
	ctx context.Context
	rt  http.RoundTripper
}

func (b *bound) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	if dl, ok := b.ctx.Deadline(); ok {
		ctx, cancel = context.WithDeadline(req.Context(), dl)
	}
	if v, ok := b.ctx.Value(timeoutKey{}).(timeout); ok && ctx.Value(timeoutKey{}) == nil {
		ctx = context.WithValue(ctx, timeoutKey{}, v)
	}
	// The deadline itself is the derived context's; a cancellation of b.ctx
	// (a signal) cancels too.
	stop := context.AfterFunc(b.ctx, func() {
		if !errors.Is(b.ctx.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	done := func() { stop(); cancel() }
	resp, err := b.rt.RoundTrip(req.WithContext(ctx))
	if err != nil || resp.Body == nil {
		done()
		return resp, err
	}
	resp.Body = &closeHook{ReadCloser: resp.Body, done: done}
	return resp, nil
}

// closeHook runs done when the body is closed.
type closeHook struct {
	io.ReadCloser
	done func()
}

func (c *closeHook) Close() error {
	err := c.ReadCloser.Close()
	c.done()
	return err
}

// Error is a request that did not get an answer: the host, what happened, and
// the underlying error (errors.Is(err, context.DeadlineExceeded) holds for a
// request cut by its deadline).
type Error struct {
	// Host is host[:port] of the request.
	Host string
	// What says what happened, e.g. "no answer within the 30s timeout".
	What string
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string { return e.Host + ": " + e.What + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the request ended by a timeout or deadline, so that
// callers that classify net.Error keep working.
func (e *Error) Timeout() bool {
	var ne net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout())
}

// Temporary is false: the transport has already retried.
func (e *Error) Temporary() bool { return false }

var _ net.Error = (*Error)(nil)

// RoundTrip sends req, retrying as the package doc says. After the last attempt
// the last answer is returned as it is (a 503 stays a 503 for the caller to
// classify); a request that got no answer returns an *Error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, &Error{Host: req.URL.Host, What: "rewinding the request body for a retry", Err: err}
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.base.RoundTrip(r)
		last := attempt >= t.o.Attempts || !replayable
		if err != nil {
			err = t.describe(ctx, req, err)
			if last || ctx.Err() != nil || !retryableErr(err) {
				return nil, err
			}
			if werr := t.wait(ctx, t.backoff(attempt)); werr != nil {
				return nil, err
			}
			continue
		}
		if !retryableStatus(resp.StatusCode) || last {
			return t.watchBody(ctx, req, resp), nil
		}
		d := t.backoff(attempt)
		if ra, ok := t.retryAfter(resp); ok {
			if ra > t.o.MaxDelay {
				// Asked to wait longer than we would: the answer stands.
				return t.watchBody(ctx, req, resp), nil
			}
			d = max(d, ra)
		}
		if dl, ok := ctx.Deadline(); ok && t.o.Now().Add(d).After(dl) {
			return t.watchBody(ctx, req, resp), nil
		}
		discard(resp)
		if werr := t.wait(ctx, d); werr != nil {
			return nil, t.describe(ctx, req, werr)
		}
	}
}

// backoff is the wait after attempt n (1-based): Backoff·2^(n-1), capped.
func (t *Transport) backoff(n int) time.Duration {
	d := t.o.Backoff
	for i := 1; i < n && d < t.o.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.o.MaxDelay)
}

func (t *Transport) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	return t.o.Sleep(ctx, d)
}

// retryAfter parses the Retry-After header: delay-seconds or an HTTP date. A
// date in the past, or a negative number, means now.
func (t *Transport) retryAfter(resp *http.Response) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0, true
		}
		if n > int64(365*24*time.Hour/time.Second) {
			n = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	if when, err := http.ParseTime(v); err == nil {
		return max(when.Sub(t.o.Now()), 0), true
	}
	return 0, false
}

func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented, code == http.StatusHTTPVersionNotSupported:
		return false
	default:
		return code >= 500 && code <= 599
	}
}

// retryableErr: connection failures and timeouts are retried; TLS verification
// failures and malformed answers are not (they do not heal).
func retryableErr(err error) bool {
	var (
		cv  *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
		ne  net.Error
	)
	switch {
	case errors.As(err, &cv), errors.As(err, &rhe):
		return false
	case errors.As(err, &ne):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return false
}

// describe wraps err with the host and what happened.
func (t *Transport) describe(ctx context.Context, req *http.Request, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	host := req.URL.Host
	var ne net.Error
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Error{Host: host, What: "no answer " + timeoutOf(ctx), Err: err}
	case ctx.Err() != nil:
		return &Error{Host: host, What: "cancelled", Err: err}
	case strings.Contains(err.Error(), "timeout awaiting response headers"):
		return &Error{Host: host, What: fmt.Sprintf("no answer within %s (response header timeout)", t.o.ResponseHeaderTimeout), Err: err}
	case strings.Contains(err.Error(), "TLS handshake timeout"):
		return &Error{Host: host, What: fmt.Sprintf("TLS handshake not completed within %s", t.o.TLSHandshakeTimeout), Err: err}
	case errors.As(err, &ne) && ne.Timeout():
		return &Error{Host: host, What: "timed out", Err: err}
	}
	var (
		dns *net.DNSError
		op  *net.OpError
	)
	switch {
	case errors.As(err, &dns):
		return &Error{Host: host, What: "unreachable (the name does not resolve)", Err: err}
	case errors.As(err, &op) && op.Op == "dial":
		return &Error{Host: host, What: "unreachable (no connection)", Err: err}
	}
	return &Error{Host: host, What: "the connection failed", Err: err}
}

// watchBody makes an error while reading the body name the host too.
func (t *Transport) watchBody(ctx context.Context, req *http.Request, resp *http.Response) *http.Response {
	if resp.Body != nil && resp.Body != http.NoBody {
		resp.Body = &body{ReadCloser: resp.Body, t: t, ctx: ctx, req: req}
	}
	return resp
}

type body struct {
	io.ReadCloser
	t   *Transport
	ctx context.Context
	req *http.Request
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		e := b.t.describe(b.ctx, b.req, fmt.Errorf("reading the answer: %w", err))
		if ne, ok := e.(*Error); ok && b.ctx.Err() != nil {
			ne.What = "answer not complete " + timeoutOf(b.ctx)
		}
		err = e
	}
	return n, err
}

func discard(resp *http.Response) {
	if resp.Body != nil {
		_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
		_ = resp.Body.Close()
	}
}

// Sleep waits d or until ctx ends, whichever is first, and returns ctx's
// error when it ended first: the wait between attempts (Options.Sleep's
// default), for every retry loop of the suite.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Explain returns err as "<doing> from <host>: <what happened>" when a request in
// it got no answer in time (an *Error that timed out, anywhere errors.As looks;
// one cut by the caller's deadline first), keeping err's chain for errors.Is and
// errors.As. Otherwise it returns nil, for the caller to describe err its own
// way with the full text (a refused connection, a TLS or redirect failure).
func Explain(doing string, err error) error {
	var e *Error
	var dl *deadlineHit
	var to *timedOut
	switch {
	case errors.As(err, &dl):
		e = dl.e
	case errors.As(err, &to):
		e = to.e
	default:
		return nil
	}
	return &explained{msg: doing + " from " + e.Host + ": " + e.What, err: err}
}

// deadlineHit and timedOut are errors.As targets that only an *Error cut by its
// context's deadline, or by any timeout, matches: errors.As then finds it even
// behind an error list that is searched with As only (go-containerregistry's
// ping tries https and http and keeps both errors).
type (
	deadlineHit struct{ e *Error }
	timedOut    struct{ e *Error }
)

func (*deadlineHit) Error() string { return "deadline" }
func (*timedOut) Error() string    { return "timed out" }

// As lets errors.As find e as a *deadlineHit or *timedOut when it is one.
func (e *Error) As(target any) bool {
	switch t := target.(type) {
	case **deadlineHit:
		if errors.Is(e.Err, context.DeadlineExceeded) {
			*t = &deadlineHit{e}
			return true
		}
	case **timedOut:
		if e.Timeout() {
			*t = &timedOut{e}
			return true
		}
	}
	return false
}

type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// Within says how ctx's deadline was set, for messages: "within the 2s timeout"
// when it came from WithTimeout, else "before the deadline".
func Within(ctx context.Context) string { return timeoutOf(ctx) }

// Package page pages on-call when a gate fails: PagerDuty's Events API v2 and
// a generic webhook signed with HMAC-SHA256 over its body.
//
// Notify turns one gate run's outcome into alerts. Each failing finding at or
// above the page-on severity (default high) and each scanner outage is a
// "trigger" with a dedup key derived from the subject's digest and the
// finding id (or the scanner), so a rerun on the same digest updates the open
// alert instead of paging again. Every finding the run saw at or above page-on
// that does not fail any more (waived by an exception, or gone below the
// cutoff), and the outage of every scanner that ran, is a "resolve" of its
// key: a later passing run closes what an earlier one opened. A finding that
// disappears from the subject altogether (an advisory withdrawn) is not seen,
// so its alert is closed by the responder or PagerDuty's auto-resolve.
//
// Failing to page is never fatal and never silent: Notify returns every
// delivery failure in Result.Failures for the caller to report (a warning
// annotation and an output). Secrets (the routing key, the webhook secret
// and the webhook URL's path and query) never appear in errors.
package page

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// PagerDutyURL is the Events API v2 endpoint (US service region; the EU one is
// https://events.eu.pagerduty.com/v2/enqueue).
const PagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// SignatureHeader carries the webhook body's HMAC-SHA256, as "sha256=<hex>".
const SignatureHeader = "X-Secure-Gates-Signature-256"

// WebhookVersion is the webhook payload's version field.
const WebhookVersion = "secure-gates.page/v1"

// Defaults and bounds.
const (
	// DefaultMaxAlerts bounds the alerts of one run: past it, the remaining
	// failing findings are one alert ("and N more").
	DefaultMaxAlerts = 20
	// maxSummary is PagerDuty's payload.summary limit.
	maxSummary = 1024
	// maxReason bounds a sink's error answer quoted in a failure.
	maxReason = 300
	// maxAnswer bounds what is read of an endpoint's answer.
	maxAnswer = 64 << 10
)

// Finding is a finding of the gate run.
type Finding struct {
	// ID is the CVE, GHSA or rule id.
	ID string
	// Severity is critical, high, medium, low, info or unknown.
	Severity finding.Severity
	// Summary says what it is (package and version, file and line).
	Summary string
}

// Outcome is what one gate run decided about one subject.
type Outcome struct {
	// Gate names the gate (scan, sbom, dast, verify-and-deploy).
	Gate string
	// Subject names what was judged: repo@sha256:… or repository@commit.
	Subject string
	// Key is the stable part of the dedup keys: the image digest, or the
	// commit (default Subject).
	Key string
	// Failing are the findings that fail the gate (not waived).
	Failing []Finding
	// Seen are the other findings the run recorded (waived, below the
	// cutoff): their alerts, if any, are resolved.
	Seen []Finding
	// Outages are the scanners that did not run (an infrastructure failure).
	Outages []string
	// OutageDetail, when set, is added to the outage alerts' summary (the
	// error that stopped the scanner).
	OutageDetail string
	// Ran are the scanners that ran: their outage alerts are resolved.
	Ran []string
	// Failed is the gate's verdict. With FailedSummary, a failure that is not
	// a finding (a requirement of verify-and-deploy) is paged as FailedSeverity
	// with that summary, dedup key per subject and gate; when Failed is false
	// the gate's alert is resolved.
	Failed         bool
	FailedSeverity finding.Severity
	FailedSummary  string
	// RunURL links to the run.
	RunURL string
	// Source is where the alert comes from (the repository; default Gate).
	Source string
}

// PagerDuty configures the Events API v2 sink.
type PagerDuty struct {
	// RoutingKey is the integration key (32 characters). Secret.
	RoutingKey string
	// URL is the endpoint (default PagerDutyURL).
	URL string
}

// Webhook configures the generic signed webhook.
type Webhook struct {
	// URL receives a POST per alert. https, or http on loopback.
	URL string
	// Secret keys the HMAC-SHA256 of each body (SignatureHeader). Secret.
	Secret string
}

// Config is where and when to page.
type Config struct {
	// PageOn is the lowest failing severity that pages (default high).
	PageOn finding.Severity
	// PagerDuty and Webhook are the sinks (nil: not used).
	PagerDuty *PagerDuty
	Webhook   *Webhook
	// MaxAlerts bounds the triggers of one run (default DefaultMaxAlerts).
	MaxAlerts int
	// Transport is the HTTP transport under the retries (default netretry's).
	Transport http.RoundTripper
	// Attempts bounds the requests per alert (default 3).
	Attempts int
	// Backoff is the first retry's wait (default netretry's).
	Backoff time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Enabled reports whether any sink is configured.
func (c Config) Enabled() bool { return c.PagerDuty != nil || c.Webhook != nil }

// ParsePageOn parses the page-on input: critical, high, medium or low; empty
// means high.
func ParsePageOn(s string) (finding.Severity, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "":
		return finding.High, nil
	case "critical", "high", "medium", "low":
		return finding.Severity(v), nil
	}
	return "", fmt.Errorf("page-on %q: expected critical, high, medium or low", s)
}

// Check validates the configuration: the routing key's shape, the URLs. It
// names the input and never the secret.
func (c Config) Check() error {
	if c.PagerDuty != nil {
		k := c.PagerDuty.RoutingKey
		if len(k) != 32 || strings.Trim(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			return fmt.Errorf("pagerduty-routing-key: an Events API v2 integration key is 32 letters and digits (this one is %d characters; the value is not shown)", len(k))
		}
		if c.PagerDuty.URL != "" {
			if err := checkURL("pagerduty-url", c.PagerDuty.URL); err != nil {
				return err
			}
		}
	}
	if c.Webhook != nil {
		if err := checkURL("page-webhook-url", c.Webhook.URL); err != nil {
			return err
		}
		if len(c.Webhook.Secret) < 16 {
			return errors.New("page-webhook-secret: a webhook needs a secret of at least 16 characters to sign its body (HMAC-SHA256)")
		}
	}
	return nil
}

func checkURL(input, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s: not an absolute URL (the value is not shown: it may hold a token)", input)
	}
	if u.User != nil {
		return fmt.Errorf("%s: credentials in the URL are refused (%s://%s/…)", input, u.Scheme, u.Host)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("%s: %s://%s/… must be https (http only on loopback)", input, u.Scheme, u.Host)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redact shows only scheme and host of a URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// Alert is one event sent to every sink.
type Alert struct {
	// Action is "trigger" or "resolve".
	Action string `json:"action"`
	// DedupKey identifies the alert across runs.
	DedupKey string `json:"dedupKey"`
	// Gate, Subject and Finding say what it is about (Finding: a finding id,
	// "outage:<scanner>" or "gate").
	Gate    string `json:"gate"`
	Subject string `json:"subject"`
	Finding string `json:"finding"`
	// Severity is the finding's (critical … low) or "high" for an outage.
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Source   string `json:"source"`
	RunURL   string `json:"runUrl,omitempty"`
}

// Sent is one delivered alert.
type Sent struct {
	Sink     string `json:"sink"`
	Action   string `json:"action"`
	DedupKey string `json:"dedupKey"`
}

// Result is what Notify did: what was delivered, and every failure to
// deliver (empty when all went through).
type Result struct {
	Alerts   []Alert  `json:"alerts"`
	Sent     []Sent   `json:"sent"`
	Failures []string `json:"failures,omitempty"`
}

// DedupKey is the dedup key of a finding (or "outage:<scanner>", "gate") of a
// subject: "sg-" and the hex sha256 of key, NUL, finding — the same on every
// run over the same digest, 67 characters (PagerDuty allows 255).
func DedupKey(key, findingID string) string {
	s := sha256.Sum256([]byte(key + "\x00" + strings.ToLower(findingID)))
	return "sg-" + hex.EncodeToString(s[:])
}

// Alerts computes the alerts of an outcome (see the package doc).
func Alerts(c Config, o Outcome) []Alert {
	pageOn := c.PageOn
	if pageOn == "" {
		pageOn = finding.High
	}
	max := c.MaxAlerts
	if max <= 0 {
		max = DefaultMaxAlerts
	}
	key := o.Key
	if key == "" {
		key = o.Subject
	}
	source := o.Source
	if source == "" {
		source = o.Gate
	}
	mk := func(action, id, sev, summary string) Alert {
		return Alert{Action: action, DedupKey: DedupKey(key, id), Gate: o.Gate, Subject: o.Subject, Finding: id,
			Severity: sev, Summary: textclip.Clip(summary, maxSummary), Source: source, RunURL: o.RunURL}
	}
	var out []Alert
	triggered := map[string]bool{}
	failing := append([]Finding(nil), o.Failing...)
	sort.SliceStable(failing, func(i, j int) bool {
		if failing[i].Severity.Rank() != failing[j].Severity.Rank() {
			return failing[i].Severity.Rank() > failing[j].Severity.Rank()
		}
		return failing[i].ID < failing[j].ID
	})
	var eligible, rest []Finding
	for _, f := range failing {
		if !f.Severity.AtLeast(pageOn) || triggered[strings.ToLower(f.ID)] {
			continue
		}
		triggered[strings.ToLower(f.ID)] = true
		eligible = append(eligible, f)
	}
	if len(eligible) > max {
		eligible, rest = eligible[:max-1], eligible[max-1:]
	}
	for _, f := range eligible {
		out = append(out, mk("trigger", f.ID, string(f.Severity),
			fmt.Sprintf("%s: %s %s in %s%s", o.Gate, strings.ToUpper(string(f.Severity)), f.ID, o.Subject, prefixed(f.Summary))))
	}
	if len(rest) > 0 {
		ids := make([]string, 0, len(rest))
		for _, f := range rest {
			ids = append(ids, f.ID)
		}
		out = append(out, mk("trigger", "others", string(rest[0].Severity),
			fmt.Sprintf("%s: %d more findings at or above %s in %s: %s", o.Gate, len(rest), pageOn, o.Subject, strings.Join(ids, ", "))))
	}
	for _, s := range o.Outages {
		id := "outage:" + s
		triggered[strings.ToLower(id)] = true
		out = append(out, mk("trigger", id, string(finding.High),
			fmt.Sprintf("%s: SCANNER OUTAGE: %s did not run on %s (an outage is not a pass)%s", o.Gate, s, o.Subject, prefixed(o.OutageDetail))))
	}
	if o.Failed && o.FailedSummary != "" {
		sev := o.FailedSeverity
		if sev == "" {
			sev = finding.High
		}
		if sev.AtLeast(pageOn) {
			triggered["gate"] = true
			out = append(out, mk("trigger", "gate", string(sev), fmt.Sprintf("%s: %s failed: %s", o.Gate, o.Subject, o.FailedSummary)))
		}
	}
	// Resolves: what could have paged and does not any more.
	resolved := 0
	resolve := func(id, sev, why string) {
		if triggered[strings.ToLower(id)] || resolved >= 2*max {
			return
		}
		triggered[strings.ToLower(id)] = true
		resolved++
		out = append(out, mk("resolve", id, sev, fmt.Sprintf("%s: %s %s", o.Gate, id, why)))
	}
	for _, s := range o.Ran {
		resolve("outage:"+s, string(finding.High), "ran on "+o.Subject)
	}
	if !o.Failed {
		resolve("gate", string(finding.High), "passed on "+o.Subject)
	}
	// A run with an outage did not see every finding: it clears no roll-up.
	if len(rest) == 0 && len(o.Outages) == 0 {
		resolve("others", string(finding.High), "no further findings on "+o.Subject)
	}
	for _, f := range append(append([]Finding(nil), o.Failing...), o.Seen...) {
		if f.Severity.AtLeast(pageOn) {
			resolve(f.ID, string(f.Severity), "no longer fails on "+o.Subject)
		}
	}
	return out
}

func prefixed(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// Notify sends the outcome's alerts to every configured sink. It never fails:
// delivery failures are in Result.Failures.
func Notify(ctx context.Context, c Config, o Outcome) Result {
	res := Result{Alerts: Alerts(c, o)}
	if !c.Enabled() || len(res.Alerts) == 0 {
		return res
	}
	if err := c.Check(); err != nil {
		res.Failures = append(res.Failures, "not paged: "+err.Error())
		return res
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	client := &http.Client{Transport: netretry.New(netretry.Options{Attempts: attempts, Backoff: c.Backoff, Base: c.Transport}), Timeout: 30 * time.Second}
	// A sink that is down (no connection, 5xx or 429 after the retries) is
	// not tried again in this run: its remaining alerts are counted instead.
	type sink struct {
		name    string
		send    func(Alert) error
		down    bool
		skipped int
	}
	var sinks []*sink
	if c.PagerDuty != nil {
		sinks = append(sinks, &sink{name: "pagerduty", send: func(a Alert) error { return sendPagerDuty(ctx, client, c.PagerDuty, a, now()) }})
	}
	if c.Webhook != nil {
		sinks = append(sinks, &sink{name: "webhook", send: func(a Alert) error { return sendWebhook(ctx, client, c.Webhook, a, now()) }})
	}
	for _, a := range res.Alerts {
		for _, s := range sinks {
			if s.down {
				s.skipped++
				continue
			}
			err := s.send(a)
			if err == nil {
				res.Sent = append(res.Sent, Sent{Sink: s.name, Action: a.Action, DedupKey: a.DedupKey})
				continue
			}
			var de *deliveryError
			s.down = !errors.As(err, &de) || de.status >= 500 || de.status == http.StatusTooManyRequests
			res.Failures = append(res.Failures, fmt.Sprintf("%s %s %s (%s): %v", sinkName(s.name, c), a.Action, a.DedupKey, a.Finding, err))
		}
	}
	for _, s := range sinks {
		if s.skipped > 0 {
			res.Failures = append(res.Failures, fmt.Sprintf("%s: %d more alert(s) not sent: the endpoint failed above", sinkName(s.name, c), s.skipped))
		}
	}
	return res
}

// deliveryError is an endpoint's answer other than success.
type deliveryError struct {
	status int
	msg    string
}

func (e *deliveryError) Error() string { return e.msg }

func sinkName(name string, c Config) string {
	if name == "webhook" && c.Webhook != nil {
		return "webhook " + redact(c.Webhook.URL)
	}
	return "PagerDuty"
}

// pdSeverity maps a finding severity to PagerDuty's (critical, error,
// warning, info).
func pdSeverity(s string) string {
	switch finding.Severity(s) {
	case finding.Critical:
		return "critical"
	case finding.High:
		return "error"
	case finding.Medium:
		return "warning"
	}
	return "info"
}

type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"`
	Client      string     `json:"client,omitempty"`
	ClientURL   string     `json:"client_url,omitempty"`
	Links       []pdLink   `json:"links,omitempty"`
}

type pdPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

func sendPagerDuty(ctx context.Context, client *http.Client, pd *PagerDuty, a Alert, now time.Time) error {
	ev := pdEvent{RoutingKey: pd.RoutingKey, EventAction: a.Action, DedupKey: a.DedupKey, Client: "secure-gates"}
	if a.Action == "trigger" {
		ev.Payload = &pdPayload{Summary: a.Summary, Source: a.Source, Severity: pdSeverity(a.Severity),
			Timestamp: now.UTC().Format(time.RFC3339), Component: a.Subject, Group: a.Gate, Class: a.Finding,
			CustomDetails: map[string]any{"gate": a.Gate, "subject": a.Subject, "finding": a.Finding, "severity": a.Severity}}
		if a.RunURL != "" {
			ev.ClientURL = a.RunURL
			ev.Links = []pdLink{{Href: a.RunURL, Text: "gate run"}}
		}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	u := pd.URL
	if u == "" {
		u = PagerDutyURL
	}
	answer, status, err := post(ctx, client, u, body, nil)
	if err != nil {
		return err
	}
	if status != http.StatusAccepted {
		var e struct {
			Message string   `json:"message"`
			Errors  []string `json:"errors"`
		}
		_ = json.Unmarshal(answer, &e)
		msg := fmt.Sprintf("HTTP %d from %s", status, redact(u))
		if why := textclip.Line(e.Message+" "+strings.Join(e.Errors, "; "), maxReason); why != "" {
			msg += ": " + why
		}
		return &deliveryError{status: status, msg: msg}
	}
	return nil
}

// WebhookPayload is the JSON body POSTed to the webhook (see the docs page).
type WebhookPayload struct {
	Version string `json:"version"`
	// ID is unique per delivery (a receiver can drop replays by it).
	ID     string    `json:"id"`
	SentAt time.Time `json:"sentAt"`
	Alert
}

func sendWebhook(ctx context.Context, client *http.Client, w *Webhook, a Alert, now time.Time) error {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	body, err := json.Marshal(WebhookPayload{Version: WebhookVersion, ID: hex.EncodeToString(id[:]), SentAt: now.UTC().Truncate(time.Second), Alert: a})
	if err != nil {
		return err
	}
	_, status, err := post(ctx, client, w.URL, body, map[string]string{SignatureHeader: Sign(w.Secret, body)})
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return &deliveryError{status: status, msg: fmt.Sprintf("HTTP %d", status)}
	}
	return nil
}

// Sign is the SignatureHeader value of body: "sha256=" and the hex
// HMAC-SHA256 of the body keyed by secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a SignatureHeader value in constant time (for
// receivers written in Go).
func VerifySignature(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

func post(ctx context.Context, client *http.Client, u string, body []byte, headers map[string]string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("building the request to %s", redact(u))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "secure-gates")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, scrub(err, u)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return answer, resp.StatusCode, nil
}

// scrub drops the URL (its path or query may hold a token) from a client error.
func scrub(err error, u string) error {
	msg := strings.ReplaceAll(err.Error(), u, redact(u))
	if pu, perr := url.Parse(u); perr == nil {
		if pu.RawQuery != "" {
			msg = strings.ReplaceAll(msg, pu.RawQuery, "…")
		}
		if pu.Path != "" && pu.Path != "/" {
			msg = strings.ReplaceAll(msg, pu.Path, "/…")
		}
	}
	return errors.New(textclip.Line(msg, maxReason))
}

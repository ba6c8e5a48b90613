package page_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/page"
)

const routingKey = "R0123456789abcdefABCDEF012345678"

// pagerDuty is a double of PagerDuty's Events API v2 that checks every event
// against the documented contract
// (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/) and
// deduplicates like PagerDuty: a trigger with the dedup key of an open alert
// does not page again; a resolve closes it.
type pagerDuty struct {
	t        *testing.T
	mu       sync.Mutex
	open     map[string]string // dedup key → summary
	pages    int               // incidents opened
	resolves int
	events   []map[string]any
	fail     int // answer 500 to this many requests first
}

func newPagerDuty(t *testing.T) (*pagerDuty, *httptest.Server) {
	pd := &pagerDuty{t: t, open: map[string]string{}}
	srv := httptest.NewServer(pd)
	t.Cleanup(srv.Close)
	return pd, srv
}

func (pd *pagerDuty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	if pd.fail > 0 {
		pd.fail--
		http.Error(w, "upstream down", http.StatusInternalServerError)
		return
	}
	invalid := func(errs ...string) {
		pd.t.Errorf("PagerDuty double: invalid event: %v", errs)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/enqueue" {
		invalid("POST /v2/enqueue expected, got " + r.Method + " " + r.URL.Path)
		return
	}
	if r.Header.Get("Content-Type") != "application/json" {
		invalid("Content-Type must be application/json")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 512<<10))
	var ev struct {
		RoutingKey  string `json:"routing_key"`
		EventAction string `json:"event_action"`
		DedupKey    string `json:"dedup_key"`
		Payload     *struct {
			Summary       string         `json:"summary"`
			Source        string         `json:"source"`
			Severity      string         `json:"severity"`
			Timestamp     string         `json:"timestamp"`
			Component     string         `json:"component"`
			Group         string         `json:"group"`
			Class         string         `json:"class"`
			CustomDetails map[string]any `json:"custom_details"`
		} `json:"payload"`
		Client    string `json:"client"`
		ClientURL string `json:"client_url"`
		Links     []struct {
			Href string `json:"href"`
			Text string `json:"text"`
		} `json:"links"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		invalid("body: " + err.Error())
		return
	}
	var raw map[string]any
	json.Unmarshal(body, &raw)
	pd.events = append(pd.events, raw)
	if len(ev.RoutingKey) != 32 {
		invalid("routing_key must be 32 characters")
		return
	}
	if ev.DedupKey == "" || len(ev.DedupKey) > 255 {
		invalid("dedup_key must be 1–255 characters")
		return
	}
	switch ev.EventAction {
	case "trigger":
		p := ev.Payload
		if p == nil || p.Summary == "" || len(p.Summary) > 1024 || p.Source == "" {
			invalid("payload.summary (1–1024) and payload.source are required for trigger")
			return
		}
		switch p.Severity {
		case "critical", "error", "warning", "info":
		default:
			invalid("payload.severity must be critical, error, warning or info, got " + p.Severity)
			return
		}
		if p.Timestamp != "" {
			if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
				invalid("payload.timestamp must be ISO 8601")
				return
			}
		}
		if _, open := pd.open[ev.DedupKey]; !open {
			pd.pages++
		}
		pd.open[ev.DedupKey] = p.Summary
	case "resolve", "acknowledge":
		if _, open := pd.open[ev.DedupKey]; open && ev.EventAction == "resolve" {
			delete(pd.open, ev.DedupKey)
			pd.resolves++
		}
	default:
		invalid("event_action must be trigger, acknowledge or resolve")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

func (pd *pagerDuty) state() (pages, open, resolves int) {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	return pd.pages, len(pd.open), pd.resolves
}

// webhook is a receiver that checks the documented payload and the
// HMAC-SHA256 signature header, as a receiver would.
type webhook struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	got    []page.WebhookPayload
	status int
}

func (wh *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !page.VerifySignature(wh.secret, body, r.Header.Get(page.SignatureHeader)) {
		wh.t.Errorf("webhook: bad signature %q", r.Header.Get(page.SignatureHeader))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p page.WebhookPayload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || p.Version != page.WebhookVersion || p.ID == "" || p.SentAt.IsZero() ||
		(p.Action != "trigger" && p.Action != "resolve") || p.DedupKey == "" || p.Gate == "" || p.Subject == "" || p.Summary == "" {
		wh.t.Errorf("webhook: payload %s: %v", body, err)
	}
	wh.mu.Lock()
	wh.got = append(wh.got, p)
	status := wh.status
	wh.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

const digest = "registry.example/acme/widgets@sha256:1111111111111111111111111111111111111111111111111111111111111111"

func config(pdURL, whURL, secret string) page.Config {
	c := page.Config{Attempts: 2, Backoff: time.Millisecond}
	if pdURL != "" {
		c.PagerDuty = &page.PagerDuty{RoutingKey: routingKey, URL: pdURL + "/v2/enqueue"}
	}
	if whURL != "" {
		c.Webhook = &page.Webhook{URL: whURL + "/hooks/T0KEN-in-path?token=query-secret", Secret: secret}
	}
	return c
}

func TestPagesOnceAndResolves(t *testing.T) {
	t.Parallel()
	pd, pdSrv := newPagerDuty(t)
	wh := &webhook{t: t, secret: "0123456789abcdef-secret"}
	whSrv := httptest.NewServer(wh)
	defer whSrv.Close()
	c := config(pdSrv.URL, whSrv.URL, wh.secret)
	ctx := context.Background()
	log4j := page.Finding{ID: "CVE-2021-44228", Severity: finding.Critical, Summary: "log4j-core 2.14.1"}
	medium := page.Finding{ID: "CVE-2022-0001", Severity: finding.Medium}
	failing := page.Outcome{Gate: "sbom", Subject: digest, Failing: []page.Finding{log4j, medium}, Ran: []string{"grype"}, Failed: true, FailedSeverity: finding.Critical, FailedSummary: "1 critical"}

	res := page.Notify(ctx, c, failing)
	if len(res.Failures) != 0 {
		t.Fatal(res.Failures)
	}
	if pages, open, _ := pd.state(); pages != 2 || open != 2 {
		t.Fatalf("first run: %d pages, %d open, want the critical finding and the gate (the medium one is under page-on high)", pages, open)
	}
	// A rerun on the same digest pages nobody again.
	page.Notify(ctx, c, failing)
	if pages, open, _ := pd.state(); pages != 2 || open != 2 {
		t.Fatalf("rerun: %d pages, %d open", pages, open)
	}
	// A later run passes (an exception waives the CVE): both alerts resolve.
	passing := page.Outcome{Gate: "sbom", Subject: digest, Seen: []page.Finding{log4j, medium}, Ran: []string{"grype"}}
	if res := page.Notify(ctx, c, passing); len(res.Failures) != 0 {
		t.Fatal(res.Failures)
	}
	if pages, open, resolves := pd.state(); pages != 2 || open != 0 || resolves != 2 {
		t.Fatalf("passing run: %d pages, %d open, %d resolved", pages, open, resolves)
	}
	// A scanner outage pages; the next run where it ran resolves it.
	page.Notify(ctx, c, page.Outcome{Gate: "scan", Subject: digest, Outages: []string{"grype"}, Ran: []string{"gitleaks"}, Failed: true, FailedSummary: "scanner outage"})
	if pages, open, _ := pd.state(); pages != 4 || open != 2 {
		t.Fatalf("outage: %d pages, %d open", pages, open)
	}
	page.Notify(ctx, c, page.Outcome{Gate: "scan", Subject: digest, Ran: []string{"grype", "gitleaks"}})
	if _, open, _ := pd.state(); open != 0 {
		t.Fatalf("after the scanner ran again: %d open", open)
	}
	// The webhook received the same alerts, signed.
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if len(wh.got) != len(pd.events) {
		t.Errorf("webhook got %d alerts, PagerDuty %d", len(wh.got), len(pd.events))
	}
	if wh.got[0].Action != "trigger" || wh.got[0].Finding != "CVE-2021-44228" || wh.got[0].Severity != "critical" ||
		wh.got[0].DedupKey != page.DedupKey(digest, "CVE-2021-44228") {
		t.Errorf("first webhook alert: %+v", wh.got[0])
	}
}

func TestFailuresToPageAreReportedNotFatal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	out := page.Outcome{Gate: "scan", Subject: digest, Failing: []page.Finding{{ID: "CVE-1", Severity: finding.High}}}

	// A 500 then success: retried, delivered.
	pd, srv := newPagerDuty(t)
	pd.fail = 1
	c := config(srv.URL, "", "")
	if res := page.Notify(ctx, c, out); len(res.Failures) != 0 || len(res.Sent) == 0 {
		t.Errorf("one 500: %+v", res)
	}
	// Down for good, and a webhook answering 403: every failure is reported,
	// naming the sink, never the routing key, the secret or the URL's token.
	pd.fail = 100
	wh := &webhook{t: t, secret: "0123456789abcdef-secret", status: http.StatusForbidden}
	whSrv := httptest.NewServer(wh)
	defer whSrv.Close()
	c = config(srv.URL, whSrv.URL, wh.secret)
	res := page.Notify(ctx, c, out)
	if len(res.Failures) == 0 {
		t.Fatal("no failure reported")
	}
	all := strings.Join(res.Failures, "\n")
	if !strings.Contains(all, "PagerDuty trigger") || !strings.Contains(all, "webhook") || !strings.Contains(all, "HTTP 403") {
		t.Errorf("failures: %s", all)
	}
	for _, secret := range []string{routingKey, wh.secret, "T0KEN-in-path", "query-secret"} {
		if strings.Contains(all, secret) {
			t.Errorf("a failure shows a secret (%s): %s", secret, all)
		}
	}
	// Nothing listening at all.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	res = page.Notify(ctx, config(dead.URL, dead.URL, wh.secret), out)
	if len(res.Failures) != 4 || !strings.Contains(res.Failures[3], "2 more alert(s) not sent") {
		t.Errorf("unreachable: %v", res.Failures)
	}
	for _, secret := range []string{routingKey, "T0KEN-in-path", "query-secret"} {
		if strings.Contains(strings.Join(res.Failures, "\n"), secret) {
			t.Errorf("a failure shows a secret (%s): %v", secret, res.Failures)
		}
	}
	// A bad configuration is reported, not fatal, and shows no secret.
	bad := page.Config{PagerDuty: &page.PagerDuty{RoutingKey: "short-secret-key"}}
	res = page.Notify(ctx, bad, out)
	if len(res.Failures) != 1 || strings.Contains(res.Failures[0], "short-secret-key") {
		t.Errorf("bad key: %v", res.Failures)
	}
}

func TestAlertsAreBounded(t *testing.T) {
	t.Parallel()
	var many []page.Finding
	for i := 0; i < 100; i++ {
		many = append(many, page.Finding{ID: "CVE-2024-" + string(rune('A'+i%26)) + strings.Repeat("x", i/26), Severity: finding.Critical})
	}
	alerts := page.Alerts(page.Config{}, page.Outcome{Gate: "sbom", Subject: digest, Failing: many})
	triggers := 0
	for _, a := range alerts {
		if a.Action == "trigger" {
			triggers++
		}
	}
	if triggers != page.DefaultMaxAlerts {
		t.Errorf("%d triggers for 100 findings, want %d (the last one rolling up the rest)", triggers, page.DefaultMaxAlerts)
	}
	// page-on critical leaves a high finding alone.
	a := page.Alerts(page.Config{PageOn: finding.Critical}, page.Outcome{Gate: "scan", Subject: digest, Failing: []page.Finding{{ID: "X", Severity: finding.High}}})
	for _, x := range a {
		if x.Action == "trigger" {
			t.Errorf("page-on critical triggered %+v", x)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  page.Config
		want string
	}{
		{page.Config{Webhook: &page.Webhook{URL: "http://hooks.example/x", Secret: strings.Repeat("s", 16)}}, "must be https"},
		{page.Config{Webhook: &page.Webhook{URL: "https://user:pw@hooks.example/x", Secret: strings.Repeat("s", 16)}}, "credentials"},
		{page.Config{Webhook: &page.Webhook{URL: "https://hooks.example/x", Secret: "short"}}, "at least 16"},
		{page.Config{PagerDuty: &page.PagerDuty{RoutingKey: strings.Repeat("k", 31) + "!"}}, "32 letters"},
	} {
		err := c.cfg.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if _, err := page.ParsePageOn("urgent"); err == nil {
		t.Error("page-on urgent accepted")
	}
}

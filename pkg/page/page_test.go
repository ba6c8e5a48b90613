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
	"unicode/utf8"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/page"
)

const routingKey = "R0123456789abcdefABCDEF012345678"

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
		c.PagerDuty = &page.PagerDuty{RoutingKey: routingKey, URL: pdURL}
	}
	if whURL != "" {
		c.Webhook = &page.Webhook{URL: whURL + "/hooks/T0KEN-in-path?token=query-secret", Secret: secret}
	}
	return c
}

func TestPagesOnceAndResolves(t *testing.T) {
	t.Parallel()
	pd := testinfra.StartPagerDuty(t)
	wh := &webhook{t: t, secret: "0123456789abcdef-secret"}
	whSrv := httptest.NewServer(wh)
	defer whSrv.Close()
	c := config(pd.URL, whSrv.URL, wh.secret)
	ctx := context.Background()
	log4j := page.Finding{ID: "CVE-2021-44228", Severity: finding.Critical, Summary: "log4j-core 2.14.1"}
	medium := page.Finding{ID: "CVE-2022-0001", Severity: finding.Medium}
	failing := page.Outcome{Gate: "sbom", Subject: digest, Failing: []page.Finding{log4j, medium}, Ran: []string{"grype"}, Failed: true, FailedSeverity: finding.Critical, FailedSummary: "1 critical"}

	res := page.Notify(ctx, c, failing)
	if len(res.Failures) != 0 {
		t.Fatal(res.Failures)
	}
	if pages, open, _ := pd.State(); pages != 2 || open != 2 {
		t.Fatalf("first run: %d pages, %d open, want the critical finding and the gate (the medium one is under page-on high)", pages, open)
	}
	// A rerun on the same digest pages nobody again.
	page.Notify(ctx, c, failing)
	if pages, open, _ := pd.State(); pages != 2 || open != 2 {
		t.Fatalf("rerun: %d pages, %d open", pages, open)
	}
	// A later run passes (an exception waives the CVE): both alerts resolve.
	passing := page.Outcome{Gate: "sbom", Subject: digest, Seen: []page.Finding{log4j, medium}, Ran: []string{"grype"}}
	if res := page.Notify(ctx, c, passing); len(res.Failures) != 0 {
		t.Fatal(res.Failures)
	}
	if pages, open, resolves := pd.State(); pages != 2 || open != 0 || resolves != 2 {
		t.Fatalf("passing run: %d pages, %d open, %d resolved", pages, open, resolves)
	}
	// A scanner outage pages; the next run where it ran resolves it.
	page.Notify(ctx, c, page.Outcome{Gate: "scan", Subject: digest, Outages: []string{"grype"}, Ran: []string{"gitleaks"}, Failed: true, FailedSummary: "scanner outage"})
	if pages, open, _ := pd.State(); pages != 4 || open != 2 {
		t.Fatalf("outage: %d pages, %d open", pages, open)
	}
	page.Notify(ctx, c, page.Outcome{Gate: "scan", Subject: digest, Ran: []string{"grype", "gitleaks"}})
	if _, open, _ := pd.State(); open != 0 {
		t.Fatalf("after the scanner ran again: %d open", open)
	}
	// The webhook received the same alerts, signed.
	wh.mu.Lock()
	defer wh.mu.Unlock()
	if len(wh.got) != len(pd.Events()) {
		t.Errorf("webhook got %d alerts, PagerDuty %d", len(wh.got), len(pd.Events()))
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
	pd := testinfra.StartPagerDuty(t)
	pd.FailNext(1)
	c := config(pd.URL, "", "")
	if res := page.Notify(ctx, c, out); len(res.Failures) != 0 || len(res.Sent) == 0 {
		t.Errorf("one 500: %+v", res)
	}
	// Down for good, and a webhook answering 403: every failure is reported,
	// naming the sink, never the routing key, the secret or the URL's token.
	pd.FailNext(100)
	wh := &webhook{t: t, secret: "0123456789abcdef-secret", status: http.StatusForbidden}
	whSrv := httptest.NewServer(wh)
	defer whSrv.Close()
	c = config(pd.URL, whSrv.URL, wh.secret)
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
	res = page.Notify(ctx, config(dead.URL+"/v2/enqueue", dead.URL, wh.secret), out)
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

// TestOutageResolvesNothingItDidNotCheck: a run with a scanner outage did not
// see every finding, so it pages the outage and never resolves the roll-up
// alert of the findings beyond the per-run limit ("others"), which only a run
// that checked everything may clear.
func TestOutageResolvesNothingItDidNotCheck(t *testing.T) {
	t.Parallel()
	for _, o := range []page.Outcome{
		{Gate: "verify-and-deploy", Subject: digest, Outages: []string{"verify-and-deploy"}, Failed: true},
		{Gate: "scan", Subject: digest, Outages: []string{"deps"}, Ran: []string{"secrets"}, Failed: false},
	} {
		for _, a := range page.Alerts(page.Config{}, o) {
			if a.Action == "resolve" && a.Finding == "others" {
				t.Errorf("%s with outage %v resolved %q: %s", o.Gate, o.Outages, a.Finding, a.Summary)
			}
		}
	}
}

// TestDeliveryErrorIsValidUTF8: a sink's error answer is quoted in the
// failures on one bounded line, and the cut never splits a multi-byte
// character (it used to cut at byte 300 and write invalid UTF-8 into the log).
func TestDeliveryErrorIsValidUTF8(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "x" + strings.Repeat("é", 400), "errors": []string{"line\nbreak"}})
	}))
	defer srv.Close()
	out := page.Outcome{Gate: "scan", Subject: digest, Failing: []page.Finding{{ID: "CVE-1", Severity: finding.High}}}
	res := page.Notify(context.Background(), config(srv.URL, "", ""), out)
	if len(res.Failures) == 0 {
		t.Fatal("no failure reported")
	}
	for _, f := range res.Failures {
		if !utf8.ValidString(f) || strings.Contains(f, "\n") || len(f) > 600 {
			t.Errorf("failure is not one bounded line of valid UTF-8: %q", f)
		}
	}
	if !strings.Contains(res.Failures[0], "HTTP 400") || !strings.Contains(res.Failures[0], "éé…") {
		t.Errorf("failure does not quote the clipped answer: %q", res.Failures[0])
	}
}

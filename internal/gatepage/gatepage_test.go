package gatepage

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/page"
)

const key = "R0123456789abcdefABCDEF012345678"

func TestConfig(t *testing.T) {
	t.Parallel()
	rt := gha.New(gha.Options{Stdout: &bytes.Buffer{}})
	for _, c := range []struct {
		in   Inputs
		want string // "" for no error
	}{
		{Inputs{}, ""},
		{Inputs{PageOn: "critical", PagerDutyRoutingKey: key}, ""},
		{Inputs{PageOn: "urgent"}, "page-on"},
		{Inputs{PagerDutyURL: "https://events.eu.pagerduty.com/v2/enqueue"}, "without pagerduty-routing-key"},
		{Inputs{WebhookURL: "https://hooks.example/x"}, "go together"},
		{Inputs{PagerDutyRoutingKey: "not-a-key"}, "32 letters"},
	} {
		_, err := Config(rt, c.in)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.in, err)
		case c.want != "" && (err == nil || errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: %v, want an input error with %q", c.in, err, c.want)
		case err != nil && strings.Contains(err.Error(), "not-a-key"):
			t.Errorf("the error shows the key: %v", err)
		}
	}
}

// TestNotifyReportsFailures: a PagerDuty that is down fails nothing; it is a
// warning annotation and the page-failures output, with the key masked.
func TestNotifyReportsFailures(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var out bytes.Buffer
	rt := gha.New(gha.Options{Stdout: &out, Getenv: func(k string) string {
		return map[string]string{"GITHUB_ACTIONS": "true"}[k]
	}})
	c, err := Config(rt, Inputs{PagerDutyRoutingKey: key, PagerDutyURL: srv.URL + "/v2/enqueue"})
	if err != nil {
		t.Fatal(err)
	}
	c.Attempts, c.Backoff = 1, 1
	res, err := Notify(context.Background(), rt, c, page.Outcome{Gate: "sbom", Subject: "r@sha256:aa",
		Failing: Findings([]finding.Finding{{RuleID: "CVE-2021-44228", Severity: finding.Critical, Package: "log4j-core", Version: "2.14.1"}})})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) == 0 {
		t.Fatal("no failure")
	}
	log := strings.Replace(out.String(), "::add-mask::"+key, "", 1)
	if !strings.Contains(log, "::warning title=paging on-call failed::") || strings.Contains(log, key) {
		t.Errorf("log:\n%s", log)
	}
	outs := map[string]string{}
	for _, kv := range rt.LocalOutputs() {
		outs[kv.Name] = kv.Value
	}
	if outs[OutputPaged] != "0" || outs[OutputPageFailures] == "0" || outs[OutputPageFailures] == "" {
		t.Errorf("outputs: %v", outs)
	}
}

func TestFindingsIDs(t *testing.T) {
	t.Parallel()
	got := Findings([]finding.Finding{
		{RuleID: "CVE-1", Severity: finding.High, Package: "lodash", Version: "4.17.20", Title: "prototype pollution"},
		{RuleID: "aws-access-key", Severity: finding.Critical, Path: "config/prod.env", StartLine: 3, Fingerprint: "0123456789abcdef", Title: "AWS key", Message: "AKIA… (redacted)"},
	})
	if got[0].ID != "CVE-1" || got[0].Summary != "lodash 4.17.20 prototype pollution" || got[1].ID != "aws-access-key#0123456789ab" ||
		got[1].Summary != "config/prod.env:3 AWS key" {
		t.Errorf("%+v", got)
	}
}

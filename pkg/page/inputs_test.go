package page_test

import (
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/page"
)

func TestPagingInputs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   page.PagingInputs
		want string // "" for no error
	}{
		{page.PagingInputs{}, ""},
		{page.PagingInputs{PageOn: "critical", PagerDutyRoutingKey: routingKey}, ""},
		{page.PagingInputs{PageWebhookURL: "https://hooks.example/x", PageWebhookSecret: strings.Repeat("s", 16)}, ""},
		{page.PagingInputs{PageOn: "urgent"}, "page-on"},
		{page.PagingInputs{PagerDutyURL: "https://events.eu.pagerduty.com/v2/enqueue"}, "without pagerduty-routing-key"},
		{page.PagingInputs{PageWebhookURL: "https://hooks.example/x"}, "go together"},
		{page.PagingInputs{PagerDutyRoutingKey: "not-a-key"}, "32 letters"},
	} {
		err := c.in.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.in, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: %v, want %q", c.in, err, c.want)
		case err != nil && strings.Contains(err.Error(), "not-a-key"):
			t.Errorf("the error shows the key: %v", err)
		}
	}
}

func TestFromFindings(t *testing.T) {
	t.Parallel()
	got := page.FromFindings([]finding.Finding{
		{RuleID: "CVE-1", Severity: finding.High, Package: "lodash", Version: "4.17.20", Title: "prototype pollution"},
		{RuleID: "aws-access-key", Severity: finding.Critical, Path: "config/prod.env", StartLine: 3, Fingerprint: "0123456789abcdef", Title: "AWS key", Message: "AKIA… (redacted)"},
	})
	if got[0].ID != "CVE-1" || got[0].Summary != "lodash 4.17.20 prototype pollution" || got[1].ID != "aws-access-key#0123456789ab" ||
		got[1].Summary != "config/prod.env:3 AWS key" {
		t.Errorf("%+v", got)
	}
}

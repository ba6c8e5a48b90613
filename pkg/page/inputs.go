package page

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/finding"
)

// Input names, the same in every deciding gate's action.yml.
const (
	InputPageOn              = "page-on"
	InputPagerDutyRoutingKey = "pagerduty-routing-key"
	InputPagerDutyURL        = "pagerduty-url"
	InputWebhookURL          = "page-webhook-url"
	InputWebhookSecret       = "page-webhook-secret"
)

// PagingInputs are the paging inputs of the deciding gates (scan, sbom, dast,
// verify-and-deploy); a gate embeds them in its Inputs (gha.Decode tags). The
// routing key, the webhook secret and the webhook URL (which may carry a
// token) are masked before anything runs.
type PagingInputs struct {
	PageOn              string `input:"page-on"`
	PagerDutyRoutingKey string `input:"pagerduty-routing-key,secret"`
	PagerDutyURL        string `input:"pagerduty-url"`
	PageWebhookURL      string `input:"page-webhook-url,secret"`
	PageWebhookSecret   string `input:"page-webhook-secret,secret"`
}

// Paging returns the paging inputs (promoted to the gate's Inputs that
// embeds them, so the gate frame finds them).
func (in PagingInputs) Paging() PagingInputs { return in }

// Validate checks the paging inputs (see Config).
func (in PagingInputs) Validate() error {
	_, err := in.Config()
	return err
}

// Config is the paging configuration of the inputs: no sink, paging off. A
// bad value is an error naming the input, never the secret.
func (in PagingInputs) Config() (Config, error) {
	var c Config
	sev, err := ParsePageOn(in.PageOn)
	if err != nil {
		return c, err
	}
	c.PageOn = sev
	if in.PagerDutyRoutingKey != "" {
		c.PagerDuty = &PagerDuty{RoutingKey: in.PagerDutyRoutingKey, URL: in.PagerDutyURL}
	} else if in.PagerDutyURL != "" {
		return c, fmt.Errorf("%s is set without %s: give the integration key too, or neither", InputPagerDutyURL, InputPagerDutyRoutingKey)
	}
	switch {
	case in.PageWebhookURL != "" && in.PageWebhookSecret != "":
		c.Webhook = &Webhook{URL: in.PageWebhookURL, Secret: in.PageWebhookSecret}
	case in.PageWebhookURL != "" || in.PageWebhookSecret != "":
		return c, fmt.Errorf("%s and %s go together: the webhook's body is signed with the secret", InputWebhookURL, InputWebhookSecret)
	}
	if err := c.Check(); err != nil {
		return c, err
	}
	return c, nil
}

// PagingOutputs are the paging outputs of a deciding gate; a gate embeds them in
// its Outputs (gha.Outputs tags) and the gate frame fills them.
type PagingOutputs struct {
	// Paged is the number of alerts delivered (triggers and resolves, to every
	// sink); 0 when paging is off.
	Paged int `output:"paged"`
	// PageFailures is the number of alerts that could not be delivered.
	PageFailures int `output:"page-failures"`
}

// SetPageResult records what paging did.
func (o *PagingOutputs) SetPageResult(r Result) {
	o.Paged, o.PageFailures = len(r.Sent), len(r.Failures)
}

// FromFindings converts a gate's findings for paging. A dependency finding
// is named by its advisory id (one alert per advisory per subject, whatever
// the package); any other by its rule id and fingerprint (one per
// occurrence). The summary names the package or the file and line and the
// title, never the message (which may quote what was found).
func FromFindings(fs []finding.Finding) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		id, where := f.RuleID, f.Path
		switch {
		case f.Package != "":
			where = f.Package + " " + f.Version
		case f.Fingerprint != "":
			fp := f.Fingerprint
			if len(fp) > 12 {
				fp = fp[:12]
			}
			id = f.RuleID + "#" + fp
		}
		if f.StartLine > 0 && f.Package == "" {
			where += ":" + strconv.Itoa(f.StartLine)
		}
		out = append(out, Finding{ID: id, Severity: f.Severity, Summary: strings.TrimSpace(where + " " + f.Title)})
	}
	return out
}

// Others returns the findings of all whose id is not among failing.
func Others(all, failing []Finding) []Finding {
	f := map[string]bool{}
	for _, x := range failing {
		f[x.ID] = true
	}
	var out []Finding
	for _, x := range all {
		if !f[x.ID] {
			out = append(out, x)
		}
	}
	return out
}

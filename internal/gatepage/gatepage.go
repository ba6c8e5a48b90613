// Package gatepage is the paging hook shared by the deciding gates (scan,
// sbom, dast, verify-and-deploy): their page-* inputs, turned into a
// pkg/page configuration, and the reporting of what paging did — a warning
// annotation per delivery failure and the outputs — so that a failure to page
// is never fatal and never silent.
package gatepage

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/page"
)

// Input names, the same in every deciding gate's action.yml.
const (
	InputPageOn              = "page-on"
	InputPagerDutyRoutingKey = "pagerduty-routing-key"
	InputPagerDutyURL        = "pagerduty-url"
	InputWebhookURL          = "page-webhook-url"
	InputWebhookSecret       = "page-webhook-secret"
)

// Output names.
const (
	// OutputPaged is the number of alerts delivered (triggers and resolves, to
	// every sink).
	OutputPaged = "paged"
	// OutputPageFailures is the number of delivery failures ("0" when none).
	OutputPageFailures = "page-failures"
)

// Inputs are the paging inputs of a gate.
type Inputs struct {
	PageOn              string
	PagerDutyRoutingKey string
	PagerDutyURL        string
	WebhookURL          string
	WebhookSecret       string
}

// Config masks the secrets and builds the paging configuration. A bad value
// is an input error naming the input (never the secret); no sink is a
// disabled configuration.
func Config(rt *gha.Runtime, in Inputs) (page.Config, error) {
	for _, s := range []string{in.PagerDutyRoutingKey, in.WebhookSecret, in.WebhookURL} {
		if s != "" && !strings.HasPrefix(s, "${{") {
			rt.AddMask(s)
		}
	}
	var c page.Config
	sev, err := page.ParsePageOn(in.PageOn)
	if err != nil {
		return c, errkind.Input(err)
	}
	c.PageOn = sev
	if in.PagerDutyRoutingKey != "" {
		c.PagerDuty = &page.PagerDuty{RoutingKey: in.PagerDutyRoutingKey, URL: in.PagerDutyURL}
	} else if in.PagerDutyURL != "" {
		return c, errkind.Input(fmt.Errorf("%s is set without %s: give the integration key too, or neither", InputPagerDutyURL, InputPagerDutyRoutingKey))
	}
	switch {
	case in.WebhookURL != "" && in.WebhookSecret != "":
		c.Webhook = &page.Webhook{URL: in.WebhookURL, Secret: in.WebhookSecret}
	case in.WebhookURL != "" || in.WebhookSecret != "":
		return c, errkind.Input(fmt.Errorf("%s and %s go together: the webhook's body is signed with the secret", InputWebhookURL, InputWebhookSecret))
	}
	if err := c.Check(); err != nil {
		return c, errkind.Input(err)
	}
	return c, nil
}

// Notify pages for the outcome when c has a sink, reports every delivery
// failure as a warning annotation, and sets the outputs. It never fails the
// gate: the error is only for writing the outputs.
func Notify(ctx context.Context, rt *gha.Runtime, c page.Config, o page.Outcome) (page.Result, error) {
	if !c.Enabled() {
		return page.Result{}, setOutputs(rt, page.Result{})
	}
	if o.RunURL == "" {
		gc := rt.Context()
		if gc.ServerURL != "" && gc.Repository != "" && gc.RunID != "" {
			o.RunURL = gc.ServerURL + "/" + gc.Repository + "/actions/runs/" + gc.RunID
		}
		if o.Source == "" {
			o.Source = gc.Repository
		}
	}
	res := page.Notify(ctx, c, o)
	for _, f := range res.Failures {
		rt.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "paging on-call failed", Message: rt.Redact(f)})
	}
	triggers := 0
	for _, s := range res.Sent {
		if s.Action == "trigger" {
			triggers++
		}
	}
	if triggers > 0 {
		rt.Infof("paged on-call: %d alert(s) triggered", triggers)
	}
	return res, setOutputs(rt, res)
}

func setOutputs(rt *gha.Runtime, res page.Result) error {
	if err := rt.SetOutput(OutputPaged, strconv.Itoa(len(res.Sent))); err != nil {
		return err
	}
	return rt.SetOutput(OutputPageFailures, strconv.Itoa(len(res.Failures)))
}

// Findings converts a gate's findings for paging. A dependency finding is
// named by its advisory id (one alert per advisory per subject, whatever the
// package); any other by its rule id and fingerprint (one per occurrence).
func Findings(fs []finding.Finding) []page.Finding {
	out := make([]page.Finding, 0, len(fs))
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
		summary := strings.TrimSpace(where + " " + f.Title)
		out = append(out, page.Finding{ID: id, Severity: f.Severity, Summary: summary})
	}
	return out
}

package gate

import (
	"context"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/page"
)

// Pager is implemented by the Outputs of a deciding gate (scan, sbom, dast):
// what the run decided, for paging on-call (pkg/page, docs/paging.md). ok is
// false when the run judged nothing to page about. A gate pages when its
// Inputs embed page.PagingInputs and its Outputs embed page.PagingOutputs
// and implement Pager: the frame sends the alerts after the gate's function returns, reports
// every delivery failure as a warning annotation and fills the paged and
// page-failures outputs. Paging never changes the gate's exit code.
type Pager interface {
	PageOutcome() (o page.Outcome, ok bool)
}

// pageable is implemented by an Inputs that embeds page.PagingInputs.
type pageable interface{ Paging() page.PagingInputs }

// pageResulter is implemented by a *Outputs that embeds page.PagingOutputs.
type pageResulter interface{ SetPageResult(page.Result) }

// NotifyTimeout bounds the paging of one run, whatever the gate's own timeout
// left (the hook runs as the gate returns, when its deadline may be over).
const NotifyTimeout = 60 * time.Second

// pageRun is Define's paging hook: out points at the gate's Outputs, empty
// says the function returned none (it failed before deciding).
func pageRun(ctx context.Context, rt *gha.Runtime, gateName string, in any, out any, empty bool, err error) {
	p, ok := in.(pageable)
	if !ok {
		return
	}
	c, cerr := p.Paging().Config()
	if cerr != nil || !c.Enabled() {
		return // Validate refused a bad configuration before the run
	}
	var res page.Result
	switch {
	case empty:
		res = PageInfra(ctx, rt, c, gateName, rt.Context().Repository, err)
	default:
		pg, ok := out.(Pager)
		if !ok {
			return
		}
		o, ok := pg.PageOutcome()
		if !ok {
			return
		}
		res = Page(ctx, rt, c, o)
	}
	if r, ok := out.(pageResulter); ok {
		r.SetPageResult(res)
	}
}

// Page sends the outcome's alerts, reports each delivery failure as a
// warning annotation, and returns what was done. It never fails: paging is
// bounded by NotifyTimeout on a context the gate's deadline does not end.
// Hand-run gates call it directly.
func Page(ctx context.Context, rt *gha.Runtime, c page.Config, o page.Outcome) page.Result {
	if !c.Enabled() {
		return page.Result{}
	}
	gc := rt.Context()
	if o.RunURL == "" && gc.ServerURL != "" && gc.Repository != "" && gc.RunID != "" {
		o.RunURL = gc.ServerURL + "/" + gc.Repository + "/actions/runs/" + gc.RunID
	}
	if o.Source == "" {
		o.Source = gc.Repository
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), NotifyTimeout)
	defer cancel()
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
	return res
}

// PageInfra pages for a gate that could not decide because a service it
// needs failed (err of kind errkind.Infra: a scanner, DB or registry outage):
// an outage alert "outage:<gate>" on the subject. Other errors page nothing.
func PageInfra(ctx context.Context, rt *gha.Runtime, c page.Config, gateName, subject string, err error) page.Result {
	if err == nil || errkind.Of(err) != errkind.KindInfra {
		return page.Result{}
	}
	if subject == "" {
		subject = gateName
	}
	return Page(ctx, rt, c, page.Outcome{Gate: gateName, Subject: subject, Outages: []string{gateName}, Failed: true,
		OutageDetail: rt.Redact(err.Error())})
}

package gate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/page"
)

const pagingAction = `name: paging gate
description: a deciding gate for the paging hook's tests
inputs:
  verdict:
    description: pass, fail or outage
  page-on:
    description: p
    default: high
  pagerduty-routing-key:
    description: p
  pagerduty-url:
    description: p
  page-webhook-url:
    description: p
  page-webhook-secret:
    description: p
  timeout:
    description: bound
    default: 1m
outputs:
  verdict:
    description: the verdict
  paged:
    description: p
  page-failures:
    description: p
`

type pagingInputs struct {
	Verdict string `input:"verdict"`
	page.PagingInputs
	gate.Timeout
}

type pagingOutputs struct {
	Verdict string `output:"verdict"`
	page.PagingOutputs
}

func (o pagingOutputs) PageOutcome() (page.Outcome, bool) {
	po := page.Outcome{Gate: "paging", Subject: "acme/widgets@sha256:" + strings.Repeat("a", 64), Ran: []string{"grype"}}
	log4j := []page.Finding{{ID: "CVE-2021-44228", Severity: finding.Critical}}
	if o.Verdict == "fail" {
		po.Failed, po.Failing = true, log4j
	} else {
		po.Seen = log4j // waived by an exception since
	}
	return po, true
}

var pagingGate = gate.Define(gate.Spec{Name: "paging", ActionYAML: []byte(pagingAction)},
	func(ctx context.Context, run *gate.Run, in pagingInputs) (pagingOutputs, error) {
		switch in.Verdict {
		case "fail":
			return pagingOutputs{Verdict: "fail"}, errkind.Policy(errors.New("1 critical"))
		case "outage":
			return pagingOutputs{}, errkind.Infra(errors.New("vulnerability DB unreachable"))
		}
		return pagingOutputs{Verdict: "pass"}, nil
	})

// TestDefinePages: a gate whose Inputs embed page.PagingInputs and whose
// Outputs implement gate.Pager pages through the frame; the exit code is
// the gate's, the outputs say what paging did, and a bad configuration is an
// input error before the run.
func TestDefinePages(t *testing.T) {
	if err := pagingGate.Check(); err != nil {
		t.Fatal(err)
	}
	pd := testinfra.StartPagerDuty(t)
	const key = "R0123456789abcdefABCDEF012345678"
	args := func(verdict string) []string {
		return []string{"--verdict", verdict, "--pagerduty-routing-key", key, "--pagerduty-url", pd.URL}
	}
	res := gatetest.Run(t, pagingGate, nil, args("fail")...)
	if res.Code != 1 || res.Outputs["paged"] == "0" || res.Outputs["page-failures"] != "0" {
		t.Fatalf("fail: code %d, outputs %v\n%s", res.Code, res.Outputs, res.Log)
	}
	if pages, open, _ := pd.State(); pages != 1 || open != 1 {
		t.Fatalf("fail: %d pages, %d open", pages, open)
	}
	if res := gatetest.Run(t, pagingGate, nil, args("pass")...); res.Code != 0 {
		t.Fatalf("pass: %d", res.Code)
	}
	if _, open, resolves := pd.State(); open != 0 || resolves != 1 {
		t.Fatalf("pass: %d open, %d resolved", open, resolves)
	}
	// An outage (the gate returned no outputs): exit 3 stands, the outage pages.
	if res := gatetest.Run(t, pagingGate, nil, args("outage")...); res.Code != 3 {
		t.Fatalf("outage: %d", res.Code)
	}
	if _, open, _ := pd.State(); open != 1 {
		t.Fatalf("outage: %d open", open)
	}
	// No sink: nothing sent, outputs 0.
	res = gatetest.Run(t, pagingGate, nil, "--verdict", "fail")
	if res.Code != 1 || res.Outputs["paged"] != "0" || res.Outputs["page-failures"] != "0" {
		t.Fatalf("no sink: code %d, outputs %v", res.Code, res.Outputs)
	}
	// A bad key: exit 2 before the run, the key never shown.
	res = gatetest.Run(t, pagingGate, nil, "--verdict", "pass", "--pagerduty-routing-key", "not-a-valid-key-value")
	if res.Code != 2 || strings.Contains(res.Log+res.Stderr, "not-a-valid-key-value") && !strings.Contains(res.Log, "::add-mask::not-a-valid-key-value") {
		t.Fatalf("bad key: code %d\n%s%s", res.Code, res.Log, res.Stderr)
	}
}

// TestPageOutlivesTheGatesDeadline: the hook runs as the gate returns, when
// its timeout context may be over; the page still goes out. A sink that is
// down is a warning annotation, the key masked.
func TestPageOutlivesTheGatesDeadline(t *testing.T) {
	pd := testinfra.StartPagerDuty(t)
	const key = "R0123456789abcdefABCDEF012345678"
	var log strings.Builder
	rt := gha.New(gha.Options{Stdout: &log, Getenv: func(k string) string { return map[string]string{"GITHUB_ACTIONS": "true"}[k] }})
	c, err := page.PagingInputs{PagerDutyRoutingKey: key, PagerDutyURL: pd.URL}.Config()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := page.Outcome{Gate: "scan", Subject: "acme/widgets@" + strings.Repeat("c", 40), Failing: []page.Finding{{ID: "CVE-1", Severity: finding.Critical}}, Failed: true}
	if res := gate.Page(ctx, rt, c, o); len(res.Failures) != 0 || len(res.Sent) == 0 {
		t.Fatalf("after the deadline: sent %v, failures %v", res.Sent, res.Failures)
	}
	pd.FailNext(100)
	c.Attempts, c.Backoff = 1, 1
	rt.AddMask(key)
	if res := gate.Page(context.Background(), rt, c, o); len(res.Failures) == 0 {
		t.Fatal("no failure reported")
	}
	out := strings.Replace(log.String(), "::add-mask::"+key, "", 1)
	if !strings.Contains(out, "::warning title=paging on-call failed::") || strings.Contains(out, key) {
		t.Errorf("log:\n%s", out)
	}
}

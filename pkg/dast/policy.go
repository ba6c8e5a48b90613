package dast

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
)

// Rule actions of ZAP's rules file, with the meaning of zaproxy's actions:
// IGNORE drops the alert, WARN reports it and never fails, FAIL fails
// whatever the alert's risk. INFO (ZAP's "report as informational") is read
// as WARN.
const (
	ActionIgnore = "IGNORE"
	ActionWarn   = "WARN"
	ActionFail   = "FAIL"
	ActionInfo   = "INFO"
)

// MaxRulesBytes bounds a rules file; MaxRules its entries.
const (
	MaxRulesBytes = 1 << 20
	MaxRules      = 10_000
)

// Rules is ZAP's rules file (.zap/rules.tsv): plugin id → action.
type Rules map[string]string

// ParseRules reads a rules file: one "<pluginid>\t<IGNORE|WARN|FAIL|INFO>\t<name>"
// per line; blank lines and lines starting with # are skipped. Any other line
// is an errkind.Input error naming the line.
func ParseRules(name string, data []byte) (Rules, error) {
	if len(data) > MaxRulesBytes {
		return nil, errkind.Input(fmt.Errorf("reading rules file %s: larger than the %d-byte limit", name, MaxRulesBytes))
	}
	rules := Rules{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), MaxRulesBytes)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			return nil, errkind.Input(fmt.Errorf("rules file %s line %d: expected <pluginid><TAB><IGNORE|WARN|FAIL><TAB><name>", name, n))
		}
		id, action := strings.TrimSpace(f[0]), strings.ToUpper(strings.TrimSpace(f[1]))
		if id == "" {
			return nil, errkind.Input(fmt.Errorf("rules file %s line %d: empty plugin id", name, n))
		}
		switch action {
		case ActionIgnore, ActionWarn, ActionFail, ActionInfo:
		case "OUTOFSCOPE":
			return nil, errkind.Input(fmt.Errorf("rules file %s line %d: OUTOFSCOPE is not supported by the dast gate: scope the scan itself, or waive the alert with an exception scoped to the URL", name, n))
		default:
			return nil, errkind.Input(fmt.Errorf("rules file %s line %d: action %q: expected IGNORE, WARN or FAIL", name, n, clip(f[1])))
		}
		if len(rules) >= MaxRules {
			return nil, errkind.Input(fmt.Errorf("rules file %s: more than %d rules", name, MaxRules))
		}
		rules[id] = action
	}
	if err := sc.Err(); err != nil {
		return nil, errkind.Input(fmt.Errorf("reading rules file %s: %w", name, err))
	}
	return rules, nil
}

// Policy is what Evaluate applies.
type Policy struct {
	// FailOn is the lowest risk that fails the gate; nil fails on nothing
	// (only FAIL rules and outages fail).
	FailOn *Risk
	// OutageFails makes an incomplete scan fail the gate.
	OutageFails bool
	Rules       Rules
	// RulesDigest identifies the rules file read (zero if none).
	RulesDigest attestation.Digest
	// Exceptions waive alerts by id (ZAP pluginid, SARIF rule id, wapiti
	// category), limited to the URLs their scope matches. Their lifetimes are
	// bounded when the file is loaded (pkg/exceptions).
	Exceptions *exceptions.Set
	Now        time.Time
}

// Waived is one exception and the alerts it waived.
type Waived struct {
	Entry  exceptions.Entry
	Alerts int
}

// Decision is the result of Evaluate.
type Decision struct {
	Predicate attestation.DAST
	// Alerts are every alert with its disposition, in report order.
	Alerts []DecidedAlert
	// Failing explains each reason the gate fails.
	Failing []string
	Waived  []Waived
	// Expired are exceptions that matched nothing because they expired.
	Expired []exceptions.Entry
	Pass    bool
}

// DecidedAlert is an alert and what the gate made of it.
type DecidedAlert struct {
	Alert
	Disposition string
	Tool        string
	// WaivedBy is the exception's id when Disposition is waived.
	WaivedBy string
}

// Input is one report read, with its digest.
type Input struct {
	Name   string
	Digest attestation.Digest
	Report *Report
}

// Evaluate decides on the reports. target and environment go into the
// predicate; target "" takes the first report's.
func Evaluate(in []Input, p Policy, target, environment string) (*Decision, error) {
	if len(in) == 0 {
		return nil, errkind.Input(fmt.Errorf("no DAST report: %s", expected))
	}
	ev := newEvaluation(p, target, environment)
	for _, r := range in {
		tool := ev.report(r)
		for _, a := range r.Report.Alerts {
			ev.alert(tool, a)
		}
	}
	d, pred := ev.d, &ev.d.Predicate
	if err := checkTarget(pred.Target); err != nil {
		return nil, err
	}
	ev.exceptions()
	countAlerts(d)
	d.Pass = len(d.Failing) == 0
	pred.Decision = attestation.DecisionFail
	if d.Pass {
		pred.Decision = attestation.DecisionPass
	}
	return d, nil
}

// evaluation is a Decision being made.
type evaluation struct {
	p       Policy
	d       *Decision
	entries []exceptions.Entry
	tools   map[attestation.Tool]bool
	// waivedBy counts the alerts each exception waived (by key).
	waivedBy map[string]int
}

func newEvaluation(p Policy, target, environment string) *evaluation {
	ev := &evaluation{p: p, d: &Decision{}, tools: map[attestation.Tool]bool{}, waivedBy: map[string]int{}}
	pred := &ev.d.Predicate
	pred.Environment = environment
	pred.Target = target
	pred.EvaluatedOn = p.Now.UTC()
	pred.Policy = attestation.DASTPolicy{FailOn: "none", OnScannerOutage: attestation.OutageContinue, RulesFile: p.RulesDigest}
	if p.FailOn != nil {
		pred.Policy.FailOn = p.FailOn.String()
	}
	if p.OutageFails {
		pred.Policy.OnScannerOutage = attestation.OutageFail
	}
	if p.Exceptions != nil {
		ev.entries = p.Exceptions.Entries
	}
	return ev
}

// report records a report's tool, digest, target, scan times and outage
// (failing under on-scanner-outage fail), and returns its tool.
func (ev *evaluation) report(r Input) attestation.Tool {
	pred, rep := &ev.d.Predicate, r.Report
	tool := attestation.Tool{Name: orUnknown(rep.ToolName), Version: orUnknown(rep.ToolVersion)}
	if !ev.tools[tool] {
		ev.tools[tool] = true
		pred.Tools = append(pred.Tools, tool)
	}
	format := rep.Format
	if format == "" {
		format = FormatZAP // an empty file: the format the actions write
	}
	pred.Reports = append(pred.Reports, attestation.DASTReport{Format: format, Digest: r.Digest})
	if pred.Target == "" {
		pred.Target = rep.Target
	}
	if !rep.StartedOn.IsZero() && (pred.ScanStartedOn.IsZero() || rep.StartedOn.Before(pred.ScanStartedOn)) {
		pred.ScanStartedOn = rep.StartedOn
	}
	if rep.FinishedOn.After(pred.ScanFinishedOn) {
		pred.ScanFinishedOn = rep.FinishedOn
	}
	if rep.Incomplete != "" {
		pred.Outages = append(pred.Outages, attestation.Outage{Scanner: tool.Name, Reason: r.Name + ": " + rep.Incomplete, At: ev.p.Now.UTC(), Policy: pred.Policy.OnScannerOutage})
		if ev.p.OutageFails {
			ev.d.Failing = append(ev.d.Failing, fmt.Sprintf("scanner outage: %s: %s (on-scanner-outage: fail)", r.Name, rep.Incomplete))
		}
	}
	return tool
}

// ruleDisposition is what the rules file makes of an alert (counted when
// it does not name it).
func ruleDisposition(a string) string {
	switch a {
	case ActionIgnore:
		return attestation.DispositionIgnored
	case ActionWarn, ActionInfo:
		return attestation.DispositionWarn
	case ActionFail:
		return attestation.DispositionFail
	}
	return attestation.DispositionCounted
}

// alert decides one alert: the rules file's action, then an exception
// (unless ignored), then the fail-on risk for a counted alert.
func (ev *evaluation) alert(tool attestation.Tool, a Alert) {
	p, d := ev.p, ev.d
	da := DecidedAlert{Alert: a, Tool: tool.Name, Disposition: ruleDisposition(p.Rules[a.ID])}
	if da.Disposition != attestation.DispositionIgnored {
		for _, e := range ev.entries {
			if e.Expired(p.Now) || !exceptionMatches(e, a) {
				continue
			}
			da.Disposition = attestation.DispositionWaived
			da.WaivedBy = e.ID
			ev.waivedBy[key(e)]++
			break
		}
	}
	switch da.Disposition {
	case attestation.DispositionFail:
		d.Failing = append(d.Failing, fmt.Sprintf("alert %s %q (%s, %d instance(s)): the rules file says FAIL", a.ID, a.Name, a.Risk, a.Count))
	case attestation.DispositionCounted:
		if p.FailOn != nil && a.Risk >= *p.FailOn {
			d.Failing = append(d.Failing, fmt.Sprintf("alert %s %q: risk %s (fail-on %s), %d instance(s)", a.ID, a.Name, a.Risk, *p.FailOn, a.Count))
		}
	}
	d.Alerts = append(d.Alerts, da)
}

// checkTarget refuses a target that is not the http(s) URL scanned.
func checkTarget(target string) error {
	if target == "" {
		return errkind.Input(fmt.Errorf("no target: the reports name none; set the target input to the URL scanned"))
	}
	if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errkind.Input(fmt.Errorf("target %q: expected the http(s) URL scanned", clip(target)))
	}
	return nil
}

// exceptions lists the expired exceptions and those that waived alerts.
func (ev *evaluation) exceptions() {
	d, pred := ev.d, &ev.d.Predicate
	for _, e := range ev.entries {
		if e.Expired(ev.p.Now) {
			d.Expired = append(d.Expired, e)
		} else if n := ev.waivedBy[key(e)]; n > 0 {
			d.Waived = append(d.Waived, Waived{Entry: e, Alerts: n})
			pred.ExceptionsApplied = append(pred.ExceptionsApplied, attestation.AppliedException{ID: e.ID, Scope: e.Scope, Reason: e.Reason, Ticket: e.Ticket, Expires: e.Expires, FindingsWaived: n})
		}
	}
}

// countAlerts lists the decided alerts in the predicate (the first 1000) and
// counts the instances of those neither ignored nor waived by risk.
func countAlerts(d *Decision) {
	pred := &d.Predicate
	for i, a := range d.Alerts {
		if i < 1000 {
			pred.Alerts = append(pred.Alerts, attestation.DASTAlert{ID: a.ID, Name: a.Name, Risk: a.Risk.String(), Confidence: a.Confidence, Count: a.Count, URLs: a.URLs, Disposition: a.Disposition})
		} else {
			pred.AlertsOmitted++
		}
		if a.Disposition == attestation.DispositionIgnored || a.Disposition == attestation.DispositionWaived {
			continue
		}
		switch a.Risk {
		case Critical:
			pred.Counts.Critical += a.Count
		case High:
			pred.Counts.High += a.Count
		case Medium:
			pred.Counts.Medium += a.Count
		case Low:
			pred.Counts.Low += a.Count
		default:
			pred.Counts.Informational += a.Count
		}
	}
	if pred.Alerts == nil {
		pred.Alerts = []attestation.DASTAlert{}
	}
}

func key(e exceptions.Entry) string { return fmt.Sprint(e.Index) }

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return s
}

// exceptionMatches: the id equals the alert's id (case-insensitive); a scope,
// when set, is a URL pattern ("*" matches any run of characters) that must
// match every instance of the alert, so an alert whose instances are not all
// listed is never waived by a scoped exception.
func exceptionMatches(e exceptions.Entry, a Alert) bool {
	if !strings.EqualFold(e.ID, a.ID) {
		return false
	}
	if e.Scope == "" {
		return true
	}
	if !a.URLsComplete || len(a.URLs) == 0 {
		return false
	}
	for _, u := range a.URLs {
		if !urlMatch(e.Scope, u) {
			return false
		}
	}
	return true
}

// urlMatch matches a URL against a pattern where "*" matches any run of
// characters (including "/") and everything else is literal.
func urlMatch(pattern, u string) bool {

	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == u
	}
	if !strings.HasPrefix(u, parts[0]) {
		return false
	}
	rest := u[len(parts[0]):]
	for i := 1; i < len(parts)-1; i++ {
		j := strings.Index(rest, parts[i])
		if j < 0 {
			return false
		}
		rest = rest[j+len(parts[i]):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}

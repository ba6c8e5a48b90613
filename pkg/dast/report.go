// Package dast reads the reports of dynamic application security testing (DAST)
// tools run against a deployed environment and decides on them: OWASP ZAP's
// traditional JSON report (report_json.json of zaproxy/action-baseline,
// action-full-scan and action-api-scan), SARIF 2.1.0 (ZAP's SARIF report or any
// other DAST tool's) and wapiti's JSON report.
//
// Reports are untrusted input: they are bounded in size, nesting depth and
// counts, decoded defensively, and never executed. A report of a scan that did
// not complete (no sites, no scan information, a tool error) is an outage, never
// a clean result.
package dast

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	gosarif "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// Report formats.
const (
	FormatZAP    = "zap-json"
	FormatSARIF  = "sarif"
	FormatWapiti = "wapiti-json"
)

// Limits on one report.
const (
	// MaxReportBytes bounds one report file.
	MaxReportBytes = 64 << 20
	// MaxDepth bounds the JSON nesting depth of a report.
	MaxDepth = 64
	// MaxAlerts bounds the alerts of one report.
	MaxAlerts = 10_000
	// MaxInstances bounds the instances (URLs) read over one report.
	MaxInstances = 200_000
	// MaxURLsPerAlert is how many URLs an alert keeps.
	MaxURLsPerAlert = 10
	// maxCount bounds one alert's instance count, so sums cannot overflow.
	maxCount = 1_000_000
	// maxText bounds names, ids and URLs kept from a report.
	maxText = 2048
)

// Risk is an alert's risk, ordered: Informational < Low < Medium < High < Critical.
type Risk int

// The risks.
const (
	Informational Risk = iota
	Low
	Medium
	High
	Critical
)

var riskNames = []string{"informational", "low", "medium", "high", "critical"}

// String returns the risk's lowercase name.
func (r Risk) String() string {
	if r < 0 || int(r) >= len(riskNames) {
		return "unknown"
	}
	return riskNames[r]
}

// ParseRisk parses a risk name (case-insensitive; "info" is informational).
func ParseRisk(s string) (Risk, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "info" {
		return Informational, nil
	}
	for i, n := range riskNames {
		if v == n {
			return Risk(i), nil
		}
	}
	return 0, fmt.Errorf("risk %q: expected one of critical, high, medium, low, informational", s)
}

// Alert is one rule's findings in a report.
type Alert struct {
	// ID is ZAP's pluginid, a SARIF ruleId, or wapiti's category name.
	ID   string
	Name string
	Risk Risk
	// Confidence is the tool's confidence, as it wrote it ("" when none).
	Confidence string
	// Count is the number of instances (at least 1).
	Count int
	// URLs are the instances' URLs, at most MaxURLsPerAlert, deduplicated.
	URLs []string
	// URLsComplete is true when URLs lists every instance's URL.
	URLsComplete bool
}

// Report is what one report file says.
type Report struct {
	Format      string
	ToolName    string
	ToolVersion string
	// Target is the scanned site or URL the report names ("" if none).
	Target     string
	StartedOn  time.Time
	FinishedOn time.Time
	Alerts     []Alert
	// Incomplete says why the scan did not complete ("" when it did): the
	// report is then an outage, whatever its alerts.
	Incomplete string
}

// Parse detects the format of one report and reads it. name names the report
// in errors. Anything that is not one of the formats is an errkind.Input error
// naming the expected formats. An empty report is not an error: it is a
// Report whose Incomplete says so.
func Parse(name string, r io.Reader) (*Report, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading DAST report %s: %w", name, err)
	}
	if len(data) > MaxReportBytes {
		return nil, errkind.Input(fmt.Errorf("reading DAST report %s: larger than the %d-byte limit", name, MaxReportBytes))
	}
	rep, err := parse(data)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("reading DAST report %s: %w", name, err))
	}
	return rep, nil
}

const expected = "expected OWASP ZAP's JSON report (report_json.json), a SARIF 2.1.0 log, or wapiti's JSON report (-f json)"

func parse(data []byte) (*Report, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return &Report{Incomplete: "the report is empty"}, nil
	}
	if err := checkDepth(data); err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := decodeOne(data, &top); err != nil {
		return nil, fmt.Errorf("%w; %s", err, expected)
	}
	_, hasSite := top["site"]
	_, hasZAPVersion := top["@version"]
	_, hasRuns := top["runs"]
	_, hasVulns := top["vulnerabilities"]
	_, hasInfos := top["infos"]
	switch {
	case hasSite || hasZAPVersion:
		return parseZAP(data)
	case hasRuns:
		return parseSARIF(data)
	case hasVulns || hasInfos:
		return parseWapiti(data)
	}
	return nil, errors.New("unknown report format: " + expected)
}

// checkDepth refuses JSON nested deeper than MaxDepth, before any decoding
// into structures.
func checkDepth(data []byte) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > MaxDepth {
				return fmt.Errorf("JSON nested deeper than %d levels; %s", MaxDepth, expected)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

func decodeOne(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return fmt.Errorf("malformed JSON at byte %d", syn.Offset)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("malformed JSON: the document is truncated")
		}
		return fmt.Errorf("malformed report: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("malformed JSON: data after the document at byte %d", dec.InputOffset())
	}
	return nil
}

// flexString accepts a JSON string or number (ZAP writes numbers as strings;
// other producers of the same shape do not).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("expected a string or a number")
	}
	*f = flexString(n.String())
	return nil
}

type zapReport struct {
	Version   *string   `json:"@version"`
	Generated string    `json:"@generated"`
	Created   string    `json:"created"`
	Site      []zapSite `json:"site"`
}

type zapSite struct {
	Name   string     `json:"@name"`
	Alerts []zapAlert `json:"alerts"`
}

type zapAlert struct {
	PluginID   flexString    `json:"pluginid"`
	AlertRef   flexString    `json:"alertRef"`
	Alert      string        `json:"alert"`
	Name       string        `json:"name"`
	RiskCode   *flexString   `json:"riskcode"`
	Confidence flexString    `json:"confidence"`
	RiskDesc   string        `json:"riskdesc"`
	Count      flexString    `json:"count"`
	Instances  []zapInstance `json:"instances"`
}

type zapInstance struct {
	URI    string `json:"uri"`
	Method string `json:"method"`
}

// zapConfidence names ZAP's confidence codes (0 false positive … 4 user
// confirmed).
var zapConfidence = map[string]string{"0": "false positive", "1": "low", "2": "medium", "3": "high", "4": "confirmed"}

func parseZAP(data []byte) (*Report, error) {
	var z zapReport
	if err := json.Unmarshal(data, &z); err != nil {
		return nil, fmt.Errorf("reading ZAP JSON report: %w", err)
	}
	rep := &Report{Format: FormatZAP, ToolName: "ZAP"}
	if z.Version != nil {
		rep.ToolVersion = clip(*z.Version)
	}
	if t, err := time.Parse(time.RFC3339Nano, z.Created); err == nil {
		rep.FinishedOn = t.UTC()
	} else if t, err := parseZAPGenerated(z.Generated); err == nil {
		rep.FinishedOn = t
	}
	if len(z.Site) == 0 {
		rep.Incomplete = "the ZAP report has no site: the scan reached nothing"
		return rep, nil
	}
	instances := 0
	for i, s := range z.Site {
		if i == 0 {
			rep.Target = clip(s.Name)
		}
		for j, a := range s.Alerts {
			where := fmt.Sprintf("site[%d].alerts[%d]", i, j)
			if len(rep.Alerts) >= MaxAlerts {
				return nil, fmt.Errorf("more than %d alerts", MaxAlerts)
			}
			id := string(a.PluginID)
			if id == "" {
				id = string(a.AlertRef)
			}
			if strings.TrimSpace(id) == "" {
				return nil, fmt.Errorf("%s has no pluginid", where)
			}
			if a.RiskCode == nil {
				return nil, fmt.Errorf("%s (pluginid %q) has no riskcode: expected \"0\" to \"3\"", where, clip(id))
			}
			var risk Risk
			switch *a.RiskCode {
			case "0", "1", "2", "3":
				risk = Risk((*a.RiskCode)[0] - '0')
			default:
				return nil, fmt.Errorf("%s (pluginid %q): riskcode %s: expected \"0\" (informational) to \"3\" (high)", where, clip(id), quoted(string(*a.RiskCode)))
			}
			name := a.Name
			if name == "" {
				name = a.Alert
			}
			if name == "" {
				name = id
			}
			conf := string(a.Confidence)
			if n, ok := zapConfidence[conf]; ok {
				conf = n
			}
			instances += len(a.Instances)
			if instances > MaxInstances {
				return nil, fmt.Errorf("more than %d alert instances", MaxInstances)
			}
			urls := make([]string, 0, len(a.Instances))
			for _, in := range a.Instances {
				urls = append(urls, in.URI)
			}
			rep.Alerts = append(rep.Alerts, newAlert(id, name, risk, conf, string(a.Count), urls))
		}
	}
	return rep, nil
}

// parseZAPGenerated reads ZAP's "@generated" ("Fri, 4 Feb 2022 17:42:18"),
// which has no zone: ZAP writes the local time of the scanning host, so it is
// only used when "created" is absent, and read as UTC (the actions run in UTC).
func parseZAPGenerated(s string) (time.Time, error) {
	for _, layout := range []string{"Mon, 2 Jan 2006 15:04:05", time.RFC1123Z, time.RFC1123} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("unknown time")
}

// newAlert builds an alert: the count is the larger of the claimed count and
// the instances listed (a report cannot hide listed instances by lying about
// the count), at least 1, at most maxCount.
func newAlert(id, name string, risk Risk, conf, claimed string, urls []string) Alert {
	count := len(urls)
	if n, err := strconv.Atoi(strings.TrimSpace(claimed)); err == nil && n > count {
		count = n
	}
	count = max(1, min(count, maxCount))
	a := Alert{ID: clip(id), Name: clip(name), Risk: risk, Confidence: clip(conf), Count: count}
	seen := map[string]bool{}
	for _, u := range urls {
		u = clip(u)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		if len(a.URLs) < MaxURLsPerAlert {
			a.URLs = append(a.URLs, u)
		}
	}
	a.URLsComplete = len(urls) == count && len(seen) <= MaxURLsPerAlert && !seen[""]
	for _, u := range urls {
		if strings.TrimSpace(u) == "" {
			a.URLsComplete = false
		}
	}
	return a
}

// clip keeps at most maxText bytes of valid UTF-8, without control characters.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return textclip.Clip(strings.TrimSpace(s), maxText)
}

// quoted quotes a report's value for an error message, as it is (spaces
// kept), at most 64 bytes.
func quoted(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

func parseSARIF(data []byte) (*Report, error) {
	log, err := sarif.Read(bytes.NewReader(data), MaxReportBytes)
	if err != nil {
		return nil, err
	}
	rep := &Report{Format: FormatSARIF}
	if len(log.Runs) == 0 {
		rep.Incomplete = "the SARIF log has no runs"
		return rep, nil
	}
	instances := 0
	for i, run := range log.Runs {
		d := run.Tool.Driver
		if i == 0 {
			rep.ToolName = clip(d.Name)
			if d.Version != nil {
				rep.ToolVersion = clip(*d.Version)
			} else if d.SemanticVersion != nil {
				rep.ToolVersion = clip(*d.SemanticVersion)
			}
		}
		for _, inv := range run.Invocations {
			if inv == nil {
				continue
			}
			if inv.ExecutionSuccessful != nil && !*inv.ExecutionSuccessful {
				rep.Incomplete = fmt.Sprintf("run %d of %s: invocation executionSuccessful is false", i, clip(d.Name))
			}
			if inv.StartTimeUTC != nil && (rep.StartedOn.IsZero() || inv.StartTimeUTC.Before(rep.StartedOn)) {
				rep.StartedOn = inv.StartTimeUTC.UTC()
			}
			if inv.EndTimeUTC != nil && inv.EndTimeUTC.After(rep.FinishedOn) {
				rep.FinishedOn = inv.EndTimeUTC.UTC()
			}
		}
		rules := map[string]ruleInfo{}
		for _, r := range d.Rules {
			rules[r.ID] = sarifRule(r.Name, r.ShortDescription, r.DefaultConfiguration, r.Properties)
		}
		// One alert per rule, in order of first appearance.
		byRule := map[string]int{}
		var order []string
		urls := map[string][]string{}
		worst := map[string]Risk{}
		for j, res := range run.Results {
			id := ""
			if res.RuleID != nil {
				id = *res.RuleID
			} else if res.Rule != nil && res.Rule.Id != nil {
				id = *res.Rule.Id
			}
			if strings.TrimSpace(id) == "" {
				return nil, fmt.Errorf("runs[%d].results[%d] has no ruleId", i, j)
			}
			// A suppression inside the report is the tool's word, not a
			// waiver: the alert still counts; the gate's own waivers decide.
			if _, ok := byRule[id]; !ok {
				if len(rep.Alerts)+len(order) >= MaxAlerts {
					return nil, fmt.Errorf("more than %d alerts", MaxAlerts)
				}
				byRule[id] = 0
				order = append(order, id)
			}
			byRule[id]++
			r := resultRisk(rules[id], res.Level, res.Properties)
			if r > worst[id] {
				worst[id] = r
			}
			for _, loc := range res.Locations {
				instances++
				if instances > MaxInstances {
					return nil, fmt.Errorf("more than %d result locations", MaxInstances)
				}
				if loc.PhysicalLocation != nil && loc.PhysicalLocation.ArtifactLocation != nil && loc.PhysicalLocation.ArtifactLocation.URI != nil {
					urls[id] = append(urls[id], *loc.PhysicalLocation.ArtifactLocation.URI)
				}
			}
		}
		for _, id := range order {
			info := rules[id]
			name := info.name
			if name == "" {
				name = id
			}
			a := newAlert(id, name, worst[id], info.confidence, strconv.Itoa(byRule[id]), urls[id])
			a.URLsComplete = a.URLsComplete && len(urls[id]) == byRule[id]
			rep.Alerts = append(rep.Alerts, a)
		}
	}
	if rep.Target == "" {
		for _, a := range rep.Alerts {
			if len(a.URLs) > 0 {
				rep.Target = a.URLs[0]
				break
			}
		}
	}
	return rep, nil
}

type ruleInfo struct {
	name       string
	level      string
	risk       *Risk
	confidence string
}

func sarifRule(name *string, short *gosarif.MultiformatMessageString, conf *gosarif.ReportingConfiguration, props map[string]any) ruleInfo {
	info := ruleInfo{}
	if name != nil {
		info.name = *name
	}
	if info.name == "" && short != nil && short.Text != nil {
		info.name = *short.Text
	}
	if conf != nil {
		info.level = conf.Level
	}
	info.risk = propsRisk(props)
	if c, ok := props["confidence"].(string); ok {
		info.confidence = c
	}
	return info
}

// propsRisk reads a risk from SARIF properties: GitHub's security-severity
// (a CVSS-like score) first, then ZAP-style "risk" names.
func propsRisk(props map[string]any) *Risk {
	if props == nil {
		return nil
	}
	if v, ok := props["security-severity"]; ok {
		var f float64
		switch s := v.(type) {
		case string:
			f, _ = strconv.ParseFloat(s, 64)
		case float64:
			f = s
		}
		var r Risk
		switch {
		case f >= 9:
			r = Critical
		case f >= 7:
			r = High
		case f >= 4:
			r = Medium
		case f > 0:
			r = Low
		default:
			r = Informational
		}
		return &r
	}
	return nil
}

// resultRisk is the risk of one SARIF result: the rule's security-severity,
// else the result's or the rule's level (error high, warning medium, note
// low, none informational; SARIF's default level is warning).
func resultRisk(rule ruleInfo, level *string, props map[string]any) Risk {
	if r := propsRisk(props); r != nil {
		return *r
	}
	if rule.risk != nil {
		return *rule.risk
	}
	l := rule.level
	if level != nil && *level != "" {
		l = *level
	}
	switch l {
	case "error":
		return High
	case "note":
		return Low
	case "none":
		return Informational
	}
	return Medium
}

type wapitiReport struct {
	Vulnerabilities map[string][]wapitiEntry `json:"vulnerabilities"`
	Anomalies       map[string][]wapitiEntry `json:"anomalies"`
	Additionals     map[string][]wapitiEntry `json:"additionals"`
	Infos           *struct {
		Target  string `json:"target"`
		Version string `json:"version"`
		Date    string `json:"date"`
		Scope   string `json:"scope"`
	} `json:"infos"`
}

type wapitiEntry struct {
	Method    string     `json:"method"`
	Path      string     `json:"path"`
	Info      string     `json:"info"`
	Level     flexString `json:"level"`
	Parameter string     `json:"parameter"`
}

func parseWapiti(data []byte) (*Report, error) {
	var w wapitiReport
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("reading wapiti JSON report: %w", err)
	}
	rep := &Report{Format: FormatWapiti, ToolName: "wapiti"}
	if w.Infos == nil {
		rep.Incomplete = "the wapiti report has no infos: the scan did not complete"
		return rep, nil
	}
	rep.Target = clip(w.Infos.Target)
	rep.ToolVersion = clip(strings.TrimPrefix(w.Infos.Version, "Wapiti "))
	if t, err := time.Parse(time.RFC1123Z, w.Infos.Date); err == nil {
		rep.FinishedOn = t.UTC()
	}
	if w.Vulnerabilities == nil {
		rep.Incomplete = "the wapiti report has no vulnerabilities section: the scan did not complete"
		return rep, nil
	}
	base := rep.Target
	instances := 0
	for _, section := range []map[string][]wapitiEntry{w.Vulnerabilities, w.Anomalies, w.Additionals} {
		for _, cat := range slices.Sorted(maps.Keys(section)) {
			entries := section[cat]
			// One alert per category and level.
			byLevel := map[Risk][]string{}
			for k, e := range entries {
				instances++
				if instances > MaxInstances {
					return nil, fmt.Errorf("more than %d findings", MaxInstances)
				}
				var risk Risk
				switch e.Level {
				case "0", "1", "2", "3", "4":
					risk = Risk(e.Level[0] - '0')
				default:
					return nil, fmt.Errorf("%q[%d]: level %s: expected 0 (info) to 4 (critical)", clip(cat), k, quoted(string(e.Level)))
				}
				byLevel[risk] = append(byLevel[risk], joinURL(base, e.Path))
			}
			for r := Critical; r >= Informational; r-- {
				urls, ok := byLevel[r]
				if !ok {
					continue
				}
				if len(rep.Alerts) >= MaxAlerts {
					return nil, fmt.Errorf("more than %d alerts", MaxAlerts)
				}
				rep.Alerts = append(rep.Alerts, newAlert(cat, cat, r, "", "", urls))
			}
		}
	}
	return rep, nil
}

// joinURL makes wapiti's path absolute against the target's origin.
func joinURL(target, p string) string {
	if strings.Contains(p, "://") || target == "" {
		return p
	}
	origin := target
	if i := strings.Index(target, "://"); i >= 0 {
		if j := strings.IndexByte(target[i+3:], '/'); j >= 0 {
			origin = target[:i+3+j]
		}
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return origin + p
}

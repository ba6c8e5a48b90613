package dast

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
)

func read(t *testing.T, name string) *Report {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Parse(name, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return rep
}

func TestParseFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file       string
		format     string
		tool       string
		target     string
		alerts     int
		worst      Risk
		incomplete string
	}{
		{"zap-report.json", FormatZAP, "ZAP 2.16.1", "https://staging.widgets.example.com", 4, High, ""},
		{"zap-clean.json", FormatZAP, "ZAP 2.16.1", "https://staging.widgets.example.com", 3, Medium, ""},
		{"zap-no-site.json", FormatZAP, "ZAP 2.16.1", "", 0, Informational, "no site"},
		{"zap.sarif", FormatSARIF, "ZAP 2.16.1", "https://staging.widgets.example.com/search?q=x", 2, High, ""},
		{"sarif-failed-invocation.sarif", FormatSARIF, "ZAP 2.16.1", "https://staging.widgets.example.com/search?q=x", 2, High, "executionSuccessful is false"},
		{"wapiti-xss.json", FormatWapiti, "wapiti 3.0.4", "http://127.0.0.1:18917/search?q=hello", 1, Medium, ""},
		{"wapiti-clean.json", FormatWapiti, "wapiti 3.0.4", "http://127.0.0.1:18917/search?q=hello", 0, Informational, ""},
		{"wapiti-no-infos.json", FormatWapiti, "wapiti ", "", 0, Informational, "no infos"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rep := read(t, tt.file)
			if rep.Format != tt.format || rep.ToolName+" "+rep.ToolVersion != tt.tool || rep.Target != tt.target {
				t.Errorf("format %q tool %q %q target %q", rep.Format, rep.ToolName, rep.ToolVersion, rep.Target)
			}
			if len(rep.Alerts) != tt.alerts {
				t.Errorf("%d alerts, want %d: %+v", len(rep.Alerts), tt.alerts, rep.Alerts)
			}
			worst := Informational
			for _, a := range rep.Alerts {
				worst = max(worst, a.Risk)
			}
			if worst != tt.worst {
				t.Errorf("worst risk %s, want %s", worst, tt.worst)
			}
			if (tt.incomplete == "") != (rep.Incomplete == "") || !strings.Contains(rep.Incomplete, tt.incomplete) {
				t.Errorf("incomplete %q, want %q", rep.Incomplete, tt.incomplete)
			}
		})
	}
}

func TestParseZAPFields(t *testing.T) {
	t.Parallel()
	rep := read(t, "zap-report.json")
	a := rep.Alerts[0]
	if a.ID != "40012" || a.Name != "Cross Site Scripting (Reflected)" || a.Confidence != "medium" || a.Count != 1 || !a.URLsComplete {
		t.Errorf("alert %+v", a)
	}
	if ts := rep.Alerts[3]; ts.Count != 3 || ts.URLsComplete {
		t.Errorf("count 3 with one instance listed: %+v (URLs are not complete)", ts)
	}
	if !rep.FinishedOn.Equal(time.Date(2026, 11, 20, 10, 14, 40, 123456789, time.UTC)) {
		t.Errorf("finished %v", rep.FinishedOn)
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"site":[`, 40) + strings.Repeat(`]}`, 40)
	many := `{"@version":"2","site":[{"@name":"https://x","alerts":[` + strings.Repeat(`{"pluginid":"1","riskcode":"1","instances":[]},`, MaxAlerts) + `{"pluginid":"1","riskcode":"1"}]}]}`
	tests := []struct {
		name, data, want string
	}{
		{"other JSON", `{"bomFormat":"CycloneDX"}`, "unknown report format: expected OWASP ZAP's JSON report"},
		{"not JSON", `<html>`, "malformed JSON"},
		{"an array", `[]`, "malformed report"},
		{"two documents", `{"site":[]} {}`, "data after the document"},
		{"too deep", deep, "nested deeper than 64"},
		{"riskcode out of range", `{"@version":"2","site":[{"@name":"https://x","alerts":[{"pluginid":"1","riskcode":"9"}]}]}`, `riskcode "9"`},
		{"riskcode missing", `{"@version":"2","site":[{"@name":"https://x","alerts":[{"pluginid":"1"}]}]}`, "has no riskcode"},
		{"no pluginid", `{"@version":"2","site":[{"@name":"https://x","alerts":[{"riskcode":"3"}]}]}`, "has no pluginid"},
		{"too many alerts", many, "more than 10000 alerts"},
		{"wapiti level out of range", `{"infos":{"target":"http://x/"},"vulnerabilities":{"XSS":[{"level":7,"path":"/"}]}}`, `level "7"`},
		{"SARIF 2.0", `{"version":"2.0.0","runs":[]}`, `version "2.0.0" is not supported`},
		{"SARIF result without rule", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"}}]}]}`, "has no ruleId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("r.json", strings.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if errkind.ExitCode(err) != errkind.ExitInput {
				t.Errorf("exit %d, want 2", errkind.ExitCode(err))
			}
		})
	}
}

func TestParseHuge(t *testing.T) {
	t.Parallel()
	_, err := Parse("huge.json", io0{n: MaxReportBytes + 10})
	if err == nil || !strings.Contains(err.Error(), "larger than") || errkind.ExitCode(err) != errkind.ExitInput {
		t.Fatalf("err = %v", err)
	}
}

// io0 is a reader of n spaces.
type io0 struct{ n int }

func (r io0) Read(p []byte) (int, error) { return len(p), nil }

// A count that lies low cannot hide listed instances; one that lies high is
// capped, so sums cannot overflow.
func TestLyingCounts(t *testing.T) {
	t.Parallel()
	rep, err := Parse("r.json", strings.NewReader(`{"@version":"2","site":[{"@name":"https://x","alerts":[
		{"pluginid":"1","riskcode":"3","count":"0","instances":[{"uri":"https://x/a"},{"uri":"https://x/b"}]},
		{"pluginid":"2","riskcode":"3","count":"99999999999999999999"},
		{"pluginid":"3","riskcode":"3","count":"-5"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{rep.Alerts[0].Count, rep.Alerts[1].Count, rep.Alerts[2].Count}; got[0] != 2 || got[1] != 1 || got[2] != 1 {
		t.Errorf("counts %v, want [2 1 1] (an unparsable count falls back to the instances, at least 1)", got)
	}
}

func policy(t *testing.T, failOn string, rules, exc string) Policy {
	t.Helper()
	now := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	p := Policy{OutageFails: true, Now: now}
	if failOn != "none" {
		r, err := ParseRisk(failOn)
		if err != nil {
			t.Fatal(err)
		}
		p.FailOn = &r
	}
	if rules != "" {
		rs, err := ParseRules("rules.tsv", []byte(rules))
		if err != nil {
			t.Fatal(err)
		}
		p.Rules = rs
	}
	if exc != "" {
		s, err := exceptions.Parse([]byte(exc), now)
		if err != nil {
			t.Fatal(err)
		}
		p.Exceptions = s
	}
	return p
}

func decide(t *testing.T, file string, p Policy) *Decision {
	t.Helper()
	d, err := Evaluate([]Input{{Name: file, Digest: attestation.DigestOf([]byte(file)), Report: read(t, file)}}, p, "", "staging")
	if err != nil {
		t.Fatal(err)
	}
	data, err := jsonOf(d.Predicate)
	if err != nil {
		t.Fatal(err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateDAST, data, attestation.Options{}); err != nil {
		t.Fatalf("the predicate the gate writes is invalid: %v\n%s", err, data)
	}
	return d
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	rulesFile, _ := os.ReadFile("testdata/rules.tsv")
	const xssException = `exceptions:
  - id: "40012"
    scope: https://staging.widgets.example.com/search*
    reason: WAF rule until the fix ships
    ticket: SEC-2210
    approver: alice
    expires: 2026-12-15
`
	tests := []struct {
		name    string
		file    string
		policy  Policy
		pass    bool
		failing string
		counts  attestation.DASTCounts
	}{
		{"clean ZAP report passes", "zap-clean.json", policy(t, "high", "", ""), true, "", attestation.DASTCounts{Medium: 2, Low: 1, Informational: 3}},
		{"High alert fails", "zap-report.json", policy(t, "high", "", ""), false, `alert 40012 "Cross Site Scripting (Reflected)": risk high`, attestation.DASTCounts{High: 1, Medium: 2, Low: 1, Informational: 3}},
		{"fail-on medium fails the clean report", "zap-clean.json", policy(t, "medium", "", ""), false, "alert 10038", attestation.DASTCounts{Medium: 2, Low: 1, Informational: 3}},
		{"rules: WARN never fails, IGNORE drops, FAIL fails a Low", "zap-clean.json", policy(t, "medium", string(rulesFile), ""), false, "alert 10021 \"X-Content-Type-Options Header Missing\" (low, 1 instance(s)): the rules file says FAIL", attestation.DASTCounts{Medium: 2, Low: 1}},
		{"rules: WARN on the only failing alert passes", "zap-clean.json", policy(t, "medium", "10038\tWARN\tCSP\n10021\tWARN\tXCTO\n", ""), true, "", attestation.DASTCounts{Medium: 2, Low: 1, Informational: 3}},
		{"rules: IGNORE a High passes", "zap-report.json", policy(t, "high", "40012\tIGNORE\tXSS\n", ""), true, "", attestation.DASTCounts{Medium: 2, Low: 1, Informational: 3}},
		{"exception scoped to the URL waives the XSS", "zap-report.json", policy(t, "high", "", xssException), true, "", attestation.DASTCounts{Medium: 2, Low: 1, Informational: 3}},
		{"exception scoped elsewhere waives nothing", "zap-report.json", policy(t, "high", "", strings.ReplaceAll(xssException, "/search*", "/admin*")), false, "alert 40012", attestation.DASTCounts{High: 1, Medium: 2, Low: 1, Informational: 3}},
		{"expired exception waives nothing", "zap-report.json", policy(t, "high", "", strings.ReplaceAll(xssException, "2026-12-15", "2026-11-01")), false, "alert 40012", attestation.DASTCounts{High: 1, Medium: 2, Low: 1, Informational: 3}},
		{"ZAP SARIF with an error-level XSS fails", "zap.sarif", policy(t, "high", "", ""), false, "alert 40012", attestation.DASTCounts{High: 1, Medium: 1}},
		{"empty site list is an outage", "zap-no-site.json", policy(t, "high", "", ""), false, "scanner outage", attestation.DASTCounts{}},
		{"failed SARIF invocation is an outage", "sarif-failed-invocation.sarif", policy(t, "none", "", ""), false, "executionSuccessful is false", attestation.DASTCounts{High: 1, Medium: 1}},
		{"wapiti without infos is an outage", "wapiti-no-infos.json", policy(t, "high", "", ""), false, "no infos", attestation.DASTCounts{}},
		{"wapiti reflected XSS (medium) fails fail-on medium", "wapiti-xss.json", policy(t, "medium", "", ""), false, `alert Cross Site Scripting "Cross Site Scripting": risk medium`, attestation.DASTCounts{Medium: 1}},
		{"wapiti clean passes", "wapiti-clean.json", policy(t, "medium", "", ""), true, "", attestation.DASTCounts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "empty site list is an outage" || tt.name == "wapiti without infos is an outage" {
				// No target in the report: the gate's target input names it.
				d, err := Evaluate([]Input{{Name: tt.file, Digest: attestation.DigestOf(nil), Report: read(t, tt.file)}}, tt.policy, "https://staging.widgets.example.com/", "staging")
				if err != nil {
					t.Fatal(err)
				}
				if d.Pass || !strings.Contains(strings.Join(d.Failing, "\n"), tt.failing) || len(d.Predicate.Outages) != 1 {
					t.Fatalf("pass %v failing %q outages %v", d.Pass, d.Failing, d.Predicate.Outages)
				}
				p := tt.policy
				p.OutageFails = false
				d, err = Evaluate([]Input{{Name: tt.file, Report: read(t, tt.file)}}, p, "https://staging.widgets.example.com/", "staging")
				if err != nil || !d.Pass || d.Predicate.Outages[0].Policy != "continue" {
					t.Fatalf("on-scanner-outage continue: %v %+v", err, d)
				}
				return
			}
			d := decide(t, tt.file, tt.policy)
			if d.Pass != tt.pass {
				t.Errorf("pass = %v, failing %q", d.Pass, d.Failing)
			}
			if !strings.Contains(strings.Join(d.Failing, "\n"), tt.failing) {
				t.Errorf("failing %q, want %q", d.Failing, tt.failing)
			}
			if d.Predicate.Counts != tt.counts {
				t.Errorf("counts %+v, want %+v", d.Predicate.Counts, tt.counts)
			}
		})
	}
}

// A scoped exception never waives an alert whose instances are not all listed:
// an unlisted instance could be anywhere.
func TestScopedExceptionNeedsEveryURL(t *testing.T) {
	t.Parallel()
	d := decide(t, "zap-report.json", policy(t, "none", "", `exceptions:
  - id: "10096"
    scope: https://staging.widgets.example.com/static/*
    reason: build timestamps
    ticket: SEC-1
    approver: bob
    expires: 2026-12-01
`))
	for _, a := range d.Alerts {
		if a.ID == "10096" && a.Disposition == "waived" {
			t.Fatal("count 3 with 1 URL listed was waived by a scoped exception")
		}
	}
}

func TestParseRules(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, data, want string }{
		{"unknown action", "10038\tBLOCK\tx\n", `line 1: action "BLOCK": expected IGNORE, WARN or FAIL`},
		{"no tab", "# c\n10038 WARN x\n", "line 2: expected <pluginid><TAB>"},
		{"OUTOFSCOPE", "*\tOUTOFSCOPE\thttps://x/.*\n", "OUTOFSCOPE is not supported"},
	}
	for _, tt := range tests {
		_, err := ParseRules("rules.tsv", []byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) || errkind.ExitCode(err) != errkind.ExitInput {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	r, err := ParseRules("rules.tsv", []byte("# comment\n\n10038\twarn\tCSP\r\n"))
	if err != nil || r["10038"] != ActionWarn {
		t.Errorf("rules %v, %v", r, err)
	}
}

func TestOutputs(t *testing.T) {
	t.Parallel()
	d := decide(t, "zap-report.json", policy(t, "high", "", ""))
	s, err := d.SARIF()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"uri": "https://staging.widgets.example.com/search?q=%3CscrIpt`, `"id": "secure-gates-dast/zap/"`, `"ruleId": "40012"`} {
		if !bytes.Contains(s, []byte(want)) {
			t.Errorf("SARIF lacks %s", want)
		}
	}
	sum := d.Summary()
	for _, want := range []string{"## DAST: ❌ fail", "| high | 40012 | Cross Site Scripting (Reflected) | 1 |"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
}

var _ = errors.New

// The error names the value as the report has it, spaces included.
func TestRiskcodeErrorQuotesTheValue(t *testing.T) {
	t.Parallel()
	_, err := Parse("r.json", strings.NewReader(`{"@version":"2","site":[{"@name":"https://x","alerts":[{"pluginid":"1","riskcode":"3 "}]}]}`))
	if err == nil || !strings.Contains(err.Error(), `riskcode "3 "`) {
		t.Fatalf("err = %v", err)
	}
}

// TestCheckTarget checks that the predicate's target must be the http(s)
// URL scanned: anything else is an input error.
func TestCheckTarget(t *testing.T) {
	t.Parallel()
	for target, ok := range map[string]bool{
		"https://staging.example.com/": true,
		"http://127.0.0.1:8080":        true,
		"":                             false,
		"staging.example.com":          false,
		"ftp://staging.example.com/":   false,
		"https://":                     false,
		"https://%zz":                  false,
	} {
		err := checkTarget(target)
		if (err == nil) != ok || (err != nil && errkind.Of(err) != errkind.KindInput) {
			t.Errorf("checkTarget(%q) = %v, want ok %v (or an input error)", target, err, ok)
		}
	}
}

// TestRuleDisposition checks the rules file's actions: IGNORE ignores,
// WARN and INFO warn, FAIL fails, an alert it does not name is counted.
func TestRuleDisposition(t *testing.T) {
	t.Parallel()
	for action, want := range map[string]string{
		ActionIgnore: attestation.DispositionIgnored,
		ActionWarn:   attestation.DispositionWarn,
		ActionInfo:   attestation.DispositionWarn,
		ActionFail:   attestation.DispositionFail,
		"":           attestation.DispositionCounted,
	} {
		if got := ruleDisposition(action); got != want {
			t.Errorf("ruleDisposition(%q) = %q, want %q", action, got, want)
		}
	}
}

package actiontest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/page"
)

const pageKey = "R0123456789abcdefABCDEF012345678"

// TestGatePagesOnCall runs the dast action the way the runner does with the
// page inputs set: a failing DAST pages PagerDuty and the signed webhook
// once (a rerun pages nobody again), a passing run resolves, and a PagerDuty
// that is down changes nothing about the verdict: a warning, the
// page-failures output, the key never in the log.
func TestGatePagesOnCall(t *testing.T) {
	t.Parallel()
	pd := testinfra.StartPagerDuty(t)
	const secret = "0123456789abcdef-secret"
	var mu sync.Mutex
	var hooks []string
	wh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !page.VerifySignature(secret, body, r.Header.Get(page.SignatureHeader)) {
			t.Errorf("webhook: bad signature")
		}
		mu.Lock()
		hooks = append(hooks, string(body))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer wh.Close()
	step := func(fixture, url string) *Result {
		return run(t, Step{Action: "dast", Workspace: dastWorkspace(t, []string{fixture}, nil), Token: "ghs_faketoken",
			With: map[string]string{"environment": "staging", "report": fixture, "image": "ghcr.io/acme/widgets@sha256:" + strings.Repeat("a", 64),
				"pagerduty-routing-key": pageKey, "pagerduty-url": url, "page-webhook-url": wh.URL + "/hook", "page-webhook-secret": secret}})
	}

	res := step("zap-report.json", pd.URL)
	if res.ExitCode != 1 {
		t.Fatalf("exit %d\n%s%s", res.ExitCode, res.Log, res.Stderr)
	}
	if pages, open, _ := pd.State(); pages != 1 || open != 1 {
		t.Fatalf("failing DAST: %d pages, %d open\n%s\n%v", pages, open, res.Log, res.Outputs)
	}
	if res.Outputs["paged"] == "0" || res.Outputs["page-failures"] != "0" {
		t.Errorf("outputs: %v", res.Outputs)
	}
	ev := pd.Events()[0]
	if ev["event_action"] != "trigger" || ev["payload"].(map[string]any)["severity"] != "error" ||
		!strings.Contains(ev["payload"].(map[string]any)["summary"].(string), "Cross Site Scripting") {
		t.Errorf("event: %v", ev)
	}
	step("zap-report.json", pd.URL)
	if pages, _, _ := pd.State(); pages != 1 {
		t.Errorf("a rerun paged again: %d pages", pages)
	}
	res = step("zap-clean.json", pd.URL)
	if pages, open, resolves := pd.State(); res.ExitCode != 0 || pages != 1 || open != 0 || resolves != 1 {
		t.Errorf("passing DAST: exit %d, %d pages, %d open, %d resolved", res.ExitCode, pages, open, resolves)
	}
	mu.Lock()
	if len(hooks) == 0 || !strings.Contains(hooks[0], `"action":"trigger"`) {
		t.Errorf("webhook: %v", hooks)
	}
	mu.Unlock()

	// PagerDuty down: the verdict stands, the failure is reported.
	pd.FailNext(100)
	res = step("zap-report.json", pd.URL)
	if res.ExitCode != 1 || res.Outputs["page-failures"] == "0" {
		t.Fatalf("exit %d, outputs %v\n%s", res.ExitCode, res.Outputs, res.Log)
	}
	warned := false
	for _, a := range res.Annotations() {
		warned = warned || (a.Name == "warning" && strings.Contains(a.Properties["title"], "paging on-call failed"))
	}
	if !warned {
		t.Errorf("no warning annotation:\n%s", res.Log)
	}
	if strings.Contains(res.Log+res.Stderr, pageKey) && !strings.Contains(res.Log, "::add-mask::"+pageKey) {
		t.Errorf("the routing key is in the log")
	}
}

package threatmodel

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	tm "github.com/secure-gates/secure-gates/pkg/threatmodel"
)

func body(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func prEnv(t *testing.T, file string) map[string]string {
	t.Helper()
	env := gatetest.Event(t, "pull_request", map[string]any{
		"number":       42,
		"pull_request": map[string]any{"number": 42, "body": body(t, file), "html_url": "https://github.com/acme/widgets/pull/42"},
		"repository":   map[string]any{"full_name": "acme/widgets"},
	})
	env["RUNNER_TEMP"] = t.TempDir()
	return env
}

// The gate in process on a pull_request event: verdict, exit code, outputs, the
// predicate for attest, the summary and annotations.
func TestThreatModelGate(t *testing.T) {
	t.Parallel()
	all := "What are we working on?,What can go wrong?,What are we going to do about it?,Did we do a good job?"
	tests := []struct {
		name, file  string
		args        []string
		wantCode    int
		wantResult  string
		wantMissing string
		wantLevel   string
	}{
		{"four real answers pass", "good.md", nil, 0, "pass", "", ""},
		{"unfilled template fails", "template.md", nil, 1, "fail", all, "::error"},
		{"fail-on-missing false warns and passes the step", "template.md", []string{"--fail-on-missing=false"}, 0, "fail", all, "::warning"},
		{"min-words raised", "good.md", []string{"--min-words", "40"}, 1, "fail", "", "::error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := prEnv(t, tt.file)
			env["GITHUB_ACTIONS"] = "true"
			res := gatetest.Run(t, Gate, env, tt.args...)
			if res.Code != tt.wantCode || res.Outputs["result"] != tt.wantResult {
				t.Fatalf("exit %d, result %q; want %d, %q\nlog:\n%s", res.Code, res.Outputs["result"], tt.wantCode, tt.wantResult, res.Log)
			}
			if tt.wantMissing != "" && res.Outputs["missing"] != tt.wantMissing {
				t.Errorf("missing = %q, want %q", res.Outputs["missing"], tt.wantMissing)
			}
			if len(res.Outputs) != 4 || !strings.HasPrefix(res.Outputs["answers-digest"], "sha256:") {
				t.Errorf("outputs %v", res.Outputs)
			}
			data, err := os.ReadFile(res.Outputs["predicate"])
			if err != nil {
				t.Fatal(err)
			}
			var p attestation.ThreatModel
			if err := json.Unmarshal(data, &p); err != nil || string(p.Result) != tt.wantResult || p.PullRequest.Number != 42 ||
				p.PullRequest.Repository != "acme/widgets" || p.AnswersDigest.String() != res.Outputs["answers-digest"] {
				t.Errorf("predicate %s (%v)", data, err)
			}
			if !strings.Contains(res.Summary, "## Threat model: "+tt.wantResult) {
				t.Errorf("summary:\n%s", res.Summary)
			}
			if tt.wantLevel != "" && !strings.Contains(res.Log, tt.wantLevel+" title=Threat model::") {
				t.Errorf("no %s annotation:\n%s", tt.wantLevel, res.Log)
			}
		})
	}
}

// The body input needs no event and writes no predicate; the token's
// unevaluated default is not masked or sent.
func TestThreatModelBodyInput(t *testing.T) {
	t.Parallel()
	res := gatetest.Run(t, Gate, map[string]string{"GITHUB_ACTIONS": "true"}, body(t, "good.md"))
	if res.Code != 0 || res.Outputs["result"] != "pass" {
		t.Fatalf("exit %d, outputs %v\n%s", res.Code, res.Outputs, res.Log)
	}
	if _, ok := res.Outputs["predicate"]; ok || strings.Contains(res.Log, "add-mask") {
		t.Errorf("outputs %v, log:\n%s", res.Outputs, res.Log)
	}
	res = gatetest.Run(t, Gate, nil)
	if res.Code != 2 || !strings.Contains(res.Stderr, "no body to check") {
		t.Errorf("no body: exit %d, %s", res.Code, res.Stderr)
	}
}

func mergeGroupEnv(t *testing.T, api string) map[string]string {
	env := gatetest.Event(t, "merge_group", map[string]any{
		"merge_group": map[string]any{"head_ref": "refs/heads/gh-readonly-queue/main/pr-77-" + strings.Repeat("e", 40)},
		"repository":  map[string]any{"full_name": "acme/widgets"},
	})
	env["GITHUB_API_URL"], env["GITHUB_REPOSITORY"], env["RUNNER_TEMP"] = api, "acme/widgets", t.TempDir()
	return env
}

// On merge_group the body is read through the pulls API with the token; bad
// inputs are refused before the API is called (they used to be found only
// after the body was fetched).
func TestThreatModelMergeGroup(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	good := body(t, "good.md")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/repos/acme/widgets/pulls/77" || r.Header.Get("Authorization") != "Bearer ghs_merge" {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"number": 77, "body": good})
	}))
	defer srv.Close()
	res := gatetest.Run(t, Gate, mergeGroupEnv(t, srv.URL), "--token", "ghs_merge")
	if res.Code != 0 || res.Outputs["result"] != "pass" || calls.Load() != 1 {
		t.Fatalf("exit %d, outputs %v, calls %d\n%s%s", res.Code, res.Outputs, calls.Load(), res.Log, res.Stderr)
	}
	res = gatetest.Run(t, Gate, mergeGroupEnv(t, srv.URL), "--token", "ghs_wrong")
	if res.Code != 2 || !strings.Contains(res.Stderr, "pull-requests: read") {
		t.Errorf("bad token: exit %d, %s", res.Code, res.Stderr)
	}
	res = gatetest.Run(t, Gate, mergeGroupEnv(t, srv.URL))
	if res.Code != 2 || !strings.Contains(res.Stderr, "needs the token input") {
		t.Errorf("no token (the unevaluated default): exit %d, %s", res.Code, res.Stderr)
	}
	before := calls.Load()
	res = gatetest.Run(t, Gate, mergeGroupEnv(t, srv.URL), "--token", "ghs_merge", "--questions", "one\ntwo\n"+strings.Repeat("x", 1000))
	if res.Code != 2 || calls.Load() != before {
		t.Errorf("a bad question: exit %d, %d API calls (want none)\n%s", res.Code, calls.Load()-before, res.Stderr)
	}
}

// The summary and annotations are rendered from the check's result alone.
func TestReport(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ file, golden string }{
		{"good.md", "summary-pass.md"},
		{"injection.md", "summary-injection.md"},
	} {
		res, err := tm.Check(body(t, tt.file), tm.Options{})
		if err != nil {
			t.Fatal(err)
		}
		r := report{res: res, source: "body of pull request #42", failOnMissing: true}
		var ann strings.Builder
		for _, a := range annotations(r) {
			ann.WriteString(string(a.Level) + " " + a.Title + ": " + a.Message + "\n")
		}
		gatetest.Golden(t, tt.golden, summary(r)+"\n<!-- annotations -->\n"+ann.String())
	}
}

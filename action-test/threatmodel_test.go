package actiontest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

func prEvent(t *testing.T, file string) map[string]any {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "threat-model", file))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"action": "opened",
		"number": 42,
		"pull_request": map[string]any{
			"number": 42, "title": "Rate-limit uploads", "body": string(body),
			"head": map[string]any{"ref": "feature", "sha": strings.Repeat("b", 40)},
			"base": map[string]any{"ref": "main", "sha": strings.Repeat("c", 40)},
		},
		"repository": map[string]any{"full_name": "acme/widgets", "default_branch": "main"},
	}
}

func TestThreatModelAction(t *testing.T) {
	t.Parallel()
	all := "What are we working on?,What can go wrong?,What are we going to do about it?,Did we do a good job?"
	tests := []struct {
		name        string
		file        string
		with        map[string]string
		wantCode    int
		wantResult  string
		wantMissing string
		wantLevel   string
	}{
		{"four real answers pass", "good.md", nil, 0, "pass", "", ""},
		{"naive Q1-Q4 fails", "naive.md", nil, 1, "fail", all, "error"},
		{"unfilled template fails", "template.md", nil, 1, "fail", all, "error"},
		{"injection attempt fails and injects nothing", "injection.md", nil, 1, "fail", "What can go wrong?,What are we going to do about it?,Did we do a good job?", "error"},
		{"fail-on-missing false warns and passes the step", "template.md", map[string]string{"fail-on-missing": "false"}, 0, "fail", all, "warning"},
		{"min-words raised", "good.md", map[string]string{"min-words": "40"}, 1, "fail", "", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, Step{Action: "threat-model", EventName: "pull_request", Event: prEvent(t, tt.file), With: tt.with, Token: "ghs_faketoken"})
			if res.ExitCode != tt.wantCode {
				t.Fatalf("exit %d, want %d\nlog:\n%s\nstderr:\n%s", res.ExitCode, tt.wantCode, res.Log, res.Stderr)
			}
			if res.Outputs["result"] != tt.wantResult {
				t.Errorf("result = %q, want %q", res.Outputs["result"], tt.wantResult)
			}
			if tt.wantMissing != "" && res.Outputs["missing"] != tt.wantMissing {
				t.Errorf("missing = %q, want %q", res.Outputs["missing"], tt.wantMissing)
			}
			if tt.wantResult == "pass" && res.Outputs["missing"] != "" {
				t.Errorf("missing = %q on a pass", res.Outputs["missing"])
			}
			if !strings.HasPrefix(res.Outputs["answers-digest"], "sha256:") {
				t.Errorf("answers-digest = %q", res.Outputs["answers-digest"])
			}
			// Exactly the declared outputs, nothing injected.
			for k := range res.Outputs {
				switch k {
				case "result", "missing", "answers-digest", "predicate":
				default:
					t.Errorf("unexpected output %q = %q", k, res.Outputs[k])
				}
			}
			checkPredicate(t, res, tt.wantResult)
			if !strings.Contains(res.Summary, "Threat model: "+tt.wantResult) || !strings.Contains(res.Summary, "What can go wrong?") {
				t.Errorf("summary:\n%s", res.Summary)
			}
			for _, c := range res.Commands {
				switch c.Name {
				case "add-mask":
					if c.Message != "ghs_faketoken" {
						t.Errorf("unexpected mask %q", c.Message)
					}
				case "error", "warning":
					if c.Properties["title"] != "Threat model" && !strings.HasPrefix(c.Properties["title"], "secure-gates threat-model") {
						t.Errorf("annotation not ours: %+v", c)
					}
					if tt.wantLevel != "" && c.Name != tt.wantLevel {
						t.Errorf("annotation level %s, want %s", c.Name, tt.wantLevel)
					}
					if strings.Contains(c.Message, "forged") || strings.Contains(c.Message, "set-output") {
						t.Errorf("annotation carries body text: %+v", c)
					}
					if _, ok := c.Properties["file"]; ok {
						t.Errorf("forged file annotation: %+v", c)
					}
				default:
					t.Errorf("unexpected workflow command %+v", c)
				}
			}
			if tt.wantResult == "fail" && len(res.Annotations()) == 0 {
				t.Error("a failing check annotates nothing")
			}
			if strings.Contains(res.Log+res.Summary, "ghs_faketoken") && !strings.Contains(res.Log, "::add-mask::ghs_faketoken") {
				t.Error("token printed")
			}
		})
	}
}

func TestThreatModelEvents(t *testing.T) {
	t.Parallel()
	res := run(t, Step{Action: "threat-model", EventName: "push", Event: map[string]any{"ref": "refs/heads/main"}})
	if res.ExitCode != 2 || !strings.Contains(res.Log, "runs on pull_request and merge_group events") {
		t.Errorf("push event: exit %d, log %q", res.ExitCode, res.Log)
	}
	body, _ := os.ReadFile(filepath.Join("testdata", "threat-model", "good.md"))
	res = run(t, Step{Action: "threat-model", EventName: "push", With: map[string]string{"body": string(body)}})
	if res.ExitCode != 0 || res.Outputs["result"] != "pass" {
		t.Errorf("explicit body on push: exit %d, outputs %v, log %q", res.ExitCode, res.Outputs, res.Log)
	}
}

// On merge_group the body is read through the pulls API with the token input. The
// double checks the documented request: GET /repos/{owner}/{repo}/pulls/{number},
// a bearer token, the GitHub JSON media type.
func TestThreatModelMergeGroup(t *testing.T) {
	t.Parallel()
	body, _ := os.ReadFile(filepath.Join("testdata", "threat-model", "good.md"))
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Method != http.MethodGet || r.URL.Path != "/repos/acme/widgets/pulls/77" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer ghs_mergetoken" {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		if !strings.Contains(r.Header.Get("Accept"), "application/vnd.github") {
			http.Error(w, "missing media type", http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"number": 77, "body": string(body)})
	}))
	defer srv.Close()
	ev := map[string]any{"merge_group": map[string]any{
		"head_sha": strings.Repeat("d", 40),
		"head_ref": "refs/heads/gh-readonly-queue/main/pr-77-" + strings.Repeat("e", 40),
		"base_ref": "refs/heads/main",
	}, "repository": map[string]any{"full_name": "acme/widgets"}}
	env := map[string]string{"GITHUB_API_URL": srv.URL}
	res := run(t, Step{Action: "threat-model", EventName: "merge_group", Event: ev, Token: "ghs_mergetoken", Env: env})
	if res.ExitCode != 0 || res.Outputs["result"] != "pass" || calls != 1 {
		t.Fatalf("exit %d, outputs %v, calls %d\nlog:\n%s", res.ExitCode, res.Outputs, calls, res.Log)
	}
	res = run(t, Step{Action: "threat-model", EventName: "merge_group", Event: ev, Token: "ghs_wrong", Env: env})
	if res.ExitCode != 2 || !strings.Contains(res.Log, "pull-requests: read") {
		t.Errorf("bad token: exit %d, log %q", res.ExitCode, res.Log)
	}
}

// The predicate the action writes for attest validates against its schema and
// carries the result and the pull request.
func checkPredicate(t *testing.T, res *Result, wantResult string) {
	t.Helper()
	path := res.Outputs["predicate"]
	if path == "" {
		t.Fatal("no predicate output on a pull_request event")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := attestation.ValidatePredicate(attestation.PredicateThreatModel, data, attestation.Options{}); err != nil {
		t.Fatalf("predicate invalid: %v", err)
	}
	var p attestation.ThreatModel
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if string(p.Result) != wantResult || p.PullRequest.Number != 42 || p.PullRequest.Repository != "acme/widgets" ||
		p.AnswersDigest.String() != res.Outputs["answers-digest"] || len(p.Questions) != 4 {
		t.Errorf("predicate = %+v, outputs %v", p, res.Outputs)
	}
}

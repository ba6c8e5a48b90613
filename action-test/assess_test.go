package actiontest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	attestaction "github.com/secure-gates/secure-gates/actions/attest"
	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// assessAPI is a GitHub API double for the assess action: one organization
// "acme" with the repository "widgets" (the example service's workflow), its
// default branch unreadable for branch protection (403, as with GITHUB_TOKEN)
// and rulesets that require nothing.
func assessAPI(t *testing.T) (*httptest.Server, *[]string) {
	t.Helper()
	wf, err := os.ReadFile(filepath.Join(h.Root, "examples", ".github", "workflows", "secure-gates.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer ghs_faketoken" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/repos/acme/widgets":
			fmt.Fprint(w, `{"name":"widgets","full_name":"acme/widgets","default_branch":"main"}`)
		case "/orgs/acme/repos":
			fmt.Fprint(w, `[{"name":"widgets","default_branch":"main"}]`)
		case "/repos/acme/widgets/branches/main/protection":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"Resource not accessible by integration"}`)
		case "/repos/acme/widgets/rules/branches/main":
			fmt.Fprint(w, `[]`)
		case "/repos/acme/widgets/git/trees/main":
			fmt.Fprintf(w, `{"sha":"0","truncated":false,"tree":[{"path":".github/workflows/secure-gates.yml","type":"blob","mode":"100644","size":%d}]}`, len(wf))
		case "/repos/acme/widgets/contents/.github/workflows/secure-gates.yml":
			fmt.Fprintf(w, `{"type":"file","encoding":"base64","size":%d,"content":%q}`, len(wf), base64.StdEncoding.EncodeToString(wf))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

type assessJSON struct {
	Repository string `json:"repository"`
	Total      int    `json:"total"`
	Tier       int    `json:"tier"`
	Questions  []struct {
		ID       int      `json:"id"`
		Score    int      `json:"score"`
		Evidence []string `json:"evidence"`
		NextStep string   `json:"next-step"`
		Source   string   `json:"source"`
	} `json:"questions"`
}

// The assess action on the example service: the table in the job summary, the
// JSON and markdown files, total 24 and tier 2; the repository's required checks
// are read through the API with the masked token.
func TestAssessAction(t *testing.T) {
	t.Parallel()
	srv, seen := assessAPI(t)
	out := t.TempDir()
	res := run(t, Step{Action: "assess", Workspace: filepath.Join(h.Root, "examples"), Token: "ghs_faketoken",
		Env:  map[string]string{"GITHUB_API_URL": srv.URL},
		With: map[string]string{"json": filepath.Join(out, "a.json"), "markdown": filepath.Join(out, "a.md")}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	if res.Outputs["total"] != "24" || res.Outputs["tier"] != "2" {
		t.Errorf("outputs %v", res.Outputs)
	}
	if !strings.Contains(res.Summary, "Total 24 / 40: tier 2 (industry standard).") || !strings.Contains(res.Summary, "| 20 | Can a new service onboard to the pipeline in &lt; 1 day? | 2 |") {
		t.Errorf("summary:\n%s", res.Summary)
	}
	if strings.Contains(strings.ReplaceAll(res.Log, "::add-mask::ghs_faketoken", "")+res.Summary+res.Stderr, "ghs_faketoken") {
		t.Error("the token was printed")
	}
	if !strings.Contains(strings.Join(*seen, " "), "/repos/acme/widgets/rules/branches/main") {
		t.Errorf("the rulesets were not read: %v", *seen)
	}
	data, err := os.ReadFile(filepath.Join(out, "a.json"))
	if err != nil {
		t.Fatal(err)
	}
	var j assessJSON
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	if j.Repository != "acme/widgets" || j.Total != 24 || j.Tier != 2 || len(j.Questions) != 20 {
		t.Fatalf("json %+v", j)
	}
	for i, q := range j.Questions {
		if q.ID != i+1 || q.Score < 0 || q.Score > 2 || len(q.Evidence) == 0 || q.Source == "" || (q.Score < 2) != (q.NextStep != "") {
			t.Errorf("question %+v", q)
		}
	}
	if md, err := os.ReadFile(filepath.Join(out, "a.md")); err != nil || string(md) != res.Summary {
		t.Errorf("markdown file differs from the summary (%v)", err)
	}
	// The predicate is valid and the attest gate takes it as assessment=<path>.
	pred, err := os.ReadFile(res.Outputs["predicate"])
	if err != nil {
		t.Fatalf("predicate output %q: %v", res.Outputs["predicate"], err)
	}
	if err := attestation.ValidatePredicate("assessment", pred, attestation.Options{}); err != nil {
		t.Error(err)
	}
	if ps, err := attestaction.ReadPredicates([]string{"assessment=" + res.Outputs["predicate"]}); err != nil || len(ps) != 1 {
		t.Errorf("attest predicates: %v %v", ps, err)
	}
	// The trend against that report, and min-score.
	res = run(t, Step{Action: "assess", Workspace: filepath.Join(h.Root, "examples"), Token: "",
		With: map[string]string{"previous": filepath.Join(out, "a.json"), "min-score": "25"}})
	if res.ExitCode != 1 || !strings.Contains(res.Summary, "| Trend |") || !strings.Contains(res.Log, "total 24 / 40 is below min-score 25") {
		t.Errorf("exit %d, summary:\n%s\nlog:\n%s", res.ExitCode, res.Summary, res.Log)
	}
}

// The organization mode through the API double, and the input errors.
func TestAssessActionOrgAndInputs(t *testing.T) {
	t.Parallel()
	srv, _ := assessAPI(t)
	res := run(t, Step{Action: "assess", Token: "ghs_faketoken", Env: map[string]string{"GITHUB_API_URL": srv.URL},
		With: map[string]string{"org": "acme"}})
	if res.ExitCode != 0 || !strings.Contains(res.Summary, "| acme/widgets | 17 | 1 (baseline) |") || !strings.Contains(res.Summary, "| 1 (baseline) | 1 |") {
		t.Errorf("exit %d summary:\n%s\nlog:\n%s", res.ExitCode, res.Summary, res.Log)
	}
	// A token the API refuses is not an outage: scored without required checks, noted.
	res = run(t, Step{Action: "assess", Workspace: filepath.Join(h.Root, "examples"), Token: "ghs_wrong", Env: map[string]string{"GITHUB_API_URL": srv.URL}})
	if res.ExitCode != 0 || !strings.Contains(res.Summary, "required checks not read: reading repository acme/widgets: 401 Unauthorized") {
		t.Errorf("wrong token: exit %d summary:\n%s\nlog:\n%s", res.ExitCode, res.Summary, res.Log)
	}
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, ".secure-gates"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "apiVersion: secure-gates/v1\nkind: Assessment\nanswers:\n  - question: 4\n    score: 2\n    owner: me\n    date: 2026-01-01\n    evidence: https://x.example\n"
	if err := os.WriteFile(filepath.Join(ws, ".secure-gates", "assessment.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		with map[string]string
		want string
	}{
		{nil, "question 4 is scored from the repository's evidence only"},
		{map[string]string{"org": "-bad"}, `"-bad" is not a GitHub organization name`},
		{map[string]string{"min-score": "41"}, "min-score"},
		{map[string]string{"paved-road": "nope"}, "is not OWNER/REPO"},
		{map[string]string{"previous": filepath.Join(ws, ".secure-gates", "assessment.yaml"), "repo": t.TempDir()}, "is not a repository assessment JSON"},
	} {
		res := run(t, Step{Action: "assess", Workspace: ws, Token: "", With: c.with})
		if res.ExitCode != 2 || !strings.Contains(res.Log, c.want) {
			t.Errorf("with %v: exit %d, want 2 and %q in\n%s", c.with, res.ExitCode, c.want, res.Log)
		}
	}
}

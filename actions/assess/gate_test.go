package assess

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
)

// A repository directory scored from its files: the reports written where the
// inputs say, their paths, the total and the tier as outputs, the markdown as
// the summary; min-score above the total fails by policy with the outputs set.
func TestAssessRepository(t *testing.T) {
	t.Parallel()
	repo := t.TempDir()
	if err := os.WriteFile(filepath.Join(repo, "README.md"), []byte("# app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	jsonPath, mdPath := filepath.Join(out, "a.json"), filepath.Join(out, "a.md")
	env := map[string]string{"GITHUB_ACTIONS": "true", "RUNNER_TEMP": t.TempDir()}
	res := gatetest.Run(t, Gate, env, "--json", jsonPath, "--markdown", mdPath, "--repository", "acme/app", repo)
	if res.Code != 0 || res.Outputs["json"] != jsonPath || res.Outputs["markdown"] != mdPath || res.Outputs["tier"] == "" {
		t.Fatalf("exit %d, outputs %v\n%s", res.Code, res.Outputs, res.Log)
	}
	var rep struct{ Total int }
	data, err := os.ReadFile(jsonPath)
	if err != nil || json.Unmarshal(data, &rep) != nil || strconv.Itoa(rep.Total) != res.Outputs["total"] {
		t.Errorf("json report %s (%v), total output %s", data, err, res.Outputs["total"])
	}
	md, _ := os.ReadFile(mdPath)
	if len(md) == 0 || res.Summary != string(md) {
		t.Errorf("the summary is not the markdown report")
	}
	if _, err := os.Stat(res.Outputs["predicate"]); err != nil {
		t.Errorf("predicate: %v", err)
	}
	res = gatetest.Run(t, Gate, env, "--min-score", "40", repo)
	if res.Code != 1 || !strings.Contains(res.Log, "is below min-score 40") || res.Outputs["total"] == "" {
		t.Errorf("min-score: exit %d, outputs %v\n%s", res.Code, res.Outputs, res.Log)
	}
	if _, ok := res.Outputs["json"]; ok {
		t.Errorf("json output without the json input: %v", res.Outputs)
	}
}

// Inputs, and organization mode without a token, are refused before any work.
func TestAssessInputs(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "previous.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	gatetest.Refusals(t, Gate, nil, nil, []gatetest.Refusal{
		gatetest.Refuse("previous is a FIFO", []string{"--previous", fifo}, `input "previous": previous.json is not a regular file`),
		gatetest.Refuse("", []string{"--org", "acme"}, "the GitHub API needs a token (input token)"),
		gatetest.Refuse("", []string{"--org", "-acme", "--token", "x"}, `input "org": "-acme" is not a GitHub organization name`),
		gatetest.Refuse("", []string{"--min-score", "41"}, `input "min-score": 41: want 0–40`),
		gatetest.Refuse("", []string{"--concurrency", "0"}, `input "concurrency": 0: want 1–16`),
		gatetest.Refuse("", []string{"--paved-road", "acme"}, `input "paved-road": "acme" is not OWNER/REPO`),
		gatetest.Refuse("", []string{"--reassessment-period", "9000h"}, `input "reassessment-period"`),
	}, nil)
}

package iac_test

import (
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/scan/iac"
)

// TestScriptInjectionExpressions: which ${{ }} expressions inside run: are
// untrusted.
func TestScriptInjectionExpressions(t *testing.T) {
	for _, tc := range []struct {
		expr string
		bad  bool
	}{
		{"github.event.issue.title", true},
		{"github.event.issue.body", true},
		{"github.event.pull_request.title", true},
		{"github.event.pull_request.body", true},
		{"github.event.pull_request.head.ref", true},
		{"github.event.pull_request.head.label", true},
		{"github.event.comment.body", true},
		{"github.event.review.body", true},
		{"github.event.review_comment.body", true},
		{"github.event.pages[0].page_name", true},
		{"github.event.commits[0].message", true},
		{"github.event.commits[0].author.email", true},
		{"github.event.head_commit.message", true},
		{"github.event.head_commit.author.name", true},
		{"github.event.workflow_run.head_branch", true},
		{"github.event.discussion.title", true},
		{"github.head_ref", true},
		{"toJSON(github.event.issue.title)", true},
		{"GITHUB.EVENT.ISSUE.TITLE", true},
		{"github.event.pull_request.number", false},
		{"github.event.pull_request.head.sha", false},
		{"github.sha", false},
		{"github.ref_name", false},
		{"inputs.version", false},
		{"steps.meta.outputs.digest", false},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, ".github/workflows/w.yml", "on: issues\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo ok\n          echo \"${{ "+tc.expr+" }}\"\n")
			fs := scan(t, dir, iac.Options{})
			got := len(fs) == 1 && fs[0].RuleID == "gha-script-injection" && fs[0].StartLine == 9
			if got != tc.bad || (!tc.bad && len(fs) != 0) {
				t.Errorf("findings %q, want injection at line 9: %v", short(fs), tc.bad)
			}
		})
	}
}

// TestPullRequestTargetCheckout covers the ways a pull_request_target
// workflow can check out the pull request's code.
func TestPullRequestTargetCheckout(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name, on, step string
		bad            bool
	}{
		{"head sha", "pull_request_target", "uses: actions/checkout@" + sha + "\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}", true},
		{"head ref, list trigger", "[pull_request_target, push]", "uses: actions/checkout@" + sha + "\n        with:\n          ref: ${{ github.head_ref }}", true},
		{"refs/pull merge", "{pull_request_target: {types: [labeled]}}", "uses: actions/checkout@" + sha + "\n        with:\n          ref: refs/pull/${{ github.event.number }}/merge", true},
		{"head repository", "pull_request_target", "uses: actions/checkout@" + sha + "\n        with:\n          repository: ${{ github.event.pull_request.head.repo.full_name }}", true},
		{"gh pr checkout", "pull_request_target", "run: gh pr checkout ${{ github.event.number }}", true},
		{"base checkout", "pull_request_target", "uses: actions/checkout@" + sha, false},
		{"pull_request is fine", "pull_request", "uses: actions/checkout@" + sha + "\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, ".github/workflows/w.yml", "on: "+tc.on+"\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - "+tc.step+"\n")
			fs := scan(t, dir, iac.Options{})
			var rules []string
			for _, f := range fs {
				rules = append(rules, f.RuleID)
			}
			got := strings.Contains(strings.Join(rules, ","), "gha-pr-target-checkout")
			if got != tc.bad {
				t.Errorf("findings %q, want pr-target checkout: %v", short(fs), tc.bad)
			}
		})
	}
}

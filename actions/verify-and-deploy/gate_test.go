package verifyanddeploy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
	"github.com/secure-gates/secure-gates/pkg/deploy"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// The summary, annotations and outputs of a verified deploy, an audit-mode
// failure (break-glass, outage waiver, every evidence table past its row cap)
// and an enforced block. The golden files were written by the summary code
// before the gate moved onto gate.Define: the rendering is unchanged.
func TestReport(t *testing.T) {
	t.Parallel()
	for _, c := range summaryCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := outcome{deploy: c.deploy, environment: c.environment, audit: c.mode == policy.ModeAudit, modeNote: c.modeNote, ref: c.ref, rep: c.rep,
				reportPath: "out/verify-report.json", vsaPath: "out/vsa.json", vsaNote: c.vsaNote, deployNote: c.deployNote}
			sum := filepath.Join(t.TempDir(), "summary.md")
			var log bytes.Buffer
			env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": sum}
			rt := gha.New(gha.Options{Getenv: func(k string) string { return env[k] }, Stdout: &log})
			if err := gate.Report(rt, o.outputs()); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(sum)
			if err != nil {
				t.Fatal(err)
			}
			gatetest.Golden(t, "summary-"+c.name+".md", string(b))
			var kv []string
			for _, o := range rt.LocalOutputs() {
				kv = append(kv, o.Name+"="+o.Value)
			}
			gatetest.Golden(t, "annotations-"+c.name+".txt", log.String()+strings.Join(kv, "\n")+"\n")
		})
	}
}

// The deploy lines of the summary: a dry run's patch or diff, nothing to
// change, a rollout read back from the pods (capped), a commit.
func TestDeployLines(t *testing.T) {
	t.Parallel()
	ref := oci.Ref{Repository: "registry.test/acme/app", Digest: testDigest}
	k := &deploy.KubectlResult{Kind: "Deployment", Name: "web", Namespace: "shop", Container: "app", Previous: "registry.test/acme/app:v0",
		Patch: `{"spec":{}}`, Changed: true, RolledOut: true}
	var pods []deploy.PodImage
	for i := 0; i < maxSummaryRows+2; i++ {
		pods = append(pods, deploy.PodImage{Pod: fmt.Sprintf("web-%d", i), Container: "app", Digest: testDigest})
	}
	withPods := *k
	withPods.Pods = pods
	unchanged := *k
	unchanged.Changed, unchanged.ReadBack = false, "the workload's template names the digest"
	g := &deploy.GitOpsResult{File: "overlays/prod/kustomization.yaml", Diff: "-  digest: a\n+  digest: b\n", Commit: "c0ffee", Changed: true,
		Entries: []string{"app"}, Attempts: 2}
	for i := 0; i < maxSummaryRows+1; i++ {
		g.Uses = append(g.Uses, deploy.ImageUse{Resource: fmt.Sprintf("Deployment/web-%d", i), Field: "spec.template.spec.containers[0].image"})
	}
	gUnchanged := *g
	gUnchanged.Changed, gUnchanged.Previous, gUnchanged.Uses = false, ref.String(), g.Uses[:1]
	var b strings.Builder
	for _, lines := range [][]string{
		kubectlLines(k, ref, true), kubectlLines(&withPods, ref, false), kubectlLines(&unchanged, ref, false),
		gitopsLines(g, ref, "https://git.test/acme/deploy", "main", true), gitopsLines(g, ref, "https://git.test/acme/deploy", "main", false),
		gitopsLines(&gUnchanged, ref, "https://git.test/acme/deploy", "main", false),
		blockedNote("kubectl"), blockedNote("none"),
	} {
		b.WriteString(strings.Join(lines, "\n") + "\n----\n")
	}
	gatetest.Golden(t, "deploy-lines.txt", b.String())
}

// Every bad deploy, attest-vsa and report input, and every bad combination, is
// refused before the policy is read, the registry reached or a cluster touched.
func TestRefusedBeforeAnyWork(t *testing.T) {
	t.Parallel()
	srv := gatetest.Untouched(t, "the registry or the cluster")
	image := strings.TrimPrefix(srv, "http://") + "/acme/app@" + testDigest
	// The policy file does not exist: an error naming it would mean it was read.
	base := []string{"--policy", filepath.Join(t.TempDir(), "absent.yaml"), "--kubeconfig", srv}
	gatetest.Refusals(t, Gate, nil, func(args []string) []string { return append(append(append([]string{}, base...), args...), image) }, []gatetest.Refusal{
		gatetest.Refuse("unknown deploy", []string{"--deploy", "helm"}, "want none, kubectl or gitops"),
		gatetest.Refuse("kubectl without workload", []string{"--deploy", "kubectl"}, "kubectl needs the workload input"),
		gatetest.Refuse("kubectl bad workload", []string{"--deploy", "kubectl", "--workload", "web"}, `workload "web": want kind/name`),
		gatetest.Refuse("rollout-timeout not under timeout", []string{"--deploy", "kubectl", "--workload", "deployment/web", "--rollout-timeout", "10m", "--timeout", "10m"},
			"rollout-timeout (10m0s) is not shorter than timeout (10m0s)"),
		gatetest.Refuse("gitops without repo", []string{"--deploy", "gitops"}, "gitops needs the gitops-repo input"),
		gatetest.Refuse("bad attest-vsa", []string{"--attest-vsa", "yes"}, `attest-vsa is "yes", want auto, true or false`),
		gatetest.Refuse("attest-vsa true without an identity", []string{"--attest-vsa", "true"}, "attest-vsa is true but there is no signing identity"),
		gatetest.Refuse("zero timeout", []string{"--timeout", "0s"}, "timeout is 0s"),
	}, nil)
	t.Run("empty report", func(t *testing.T) {
		t.Parallel()
		err := Inputs{Deploy: "none", AttestVSA: "auto", Report: " "}.Validate()
		if err == nil || !strings.Contains(err.Error(), "report: a path is required") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("a dry run may take the whole timeout", func(t *testing.T) {
		t.Parallel()
		res := gatetest.Run(t, Gate, nil, append(append([]string{}, base...), "--deploy", "kubectl", "--workload", "deployment/web",
			"--rollout-timeout", "10m", "--timeout", "10m", "--dry-run", "true", image)...)
		if res.Code != 2 || !strings.Contains(res.Stderr, "absent.yaml") {
			t.Errorf("exit %d, want 2 naming the missing policy (the inputs are valid)\n%s", res.Code, res.Stderr)
		}
	})
}

// A verified digest whose deploy step fails exits non-zero: it pages (the
// digest's alert, high) instead of resolving it as a verified run does.
func TestDeployFailurePages(t *testing.T) {
	t.Parallel()
	d := "sha256:" + strings.Repeat("a", 64)
	rep := &verify.Report{Image: "reg/app@" + d, Digest: d, Verified: true}
	po, ok := outcome{deploy: "gitops", environment: "production", rep: rep,
		deployErr: errors.New("git push https://x-access-token:ghs_SECRET@github.com/acme/deploy: rejected")}.outputs().PageOutcome()
	if !ok || !po.Failed || !strings.Contains(po.FailedSummary, "deploy to production FAILED after the verification (gitops") || strings.Contains(po.FailedSummary, "ghs_SECRET") {
		t.Errorf("deploy failure: paged %v, outcome %+v", ok, po)
	}
	po, ok = outcome{deploy: "kubectl", environment: "production", rep: rep}.outputs().PageOutcome()
	if !ok || po.Failed {
		t.Errorf("deployed: paged %v, outcome %+v (want a resolve)", ok, po)
	}
}

// The policy file of the workspace, committed as a symbolic link to a file
// outside it, is refused (exit 2) before the registry is reached, and never
// read: its parse error used to quote the outside file.
func TestPolicyLinkedOut(t *testing.T) {
	t.Parallel()
	srv := gatetest.Untouched(t, "the registry")
	ws := t.TempDir()
	want := gatetest.LinkOut(t, ws, ".secure-gates/policy.yaml")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws}
	res := gatetest.Run(t, Gate, env, "--policy", filepath.Join(ws, ".secure-gates", "policy.yaml"), strings.TrimPrefix(srv, "http://")+"/acme/app@"+testDigest)
	gatetest.Refused(t, res, want)
	gatetest.NotLeaked(t, res)
}

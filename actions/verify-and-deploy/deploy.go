package verifyanddeploy

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/deploy"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// deployDigest deploys ref the way the deploy input says (nothing for none) and
// returns the summary's lines about it: what changed, or why it failed.
func deployDigest(ctx context.Context, run *gate.Run, in Inputs, ref oci.Ref, rep *verify.Report) ([]string, error) {
	switch in.Deploy {
	case "kubectl":
		opts := in.KubectlOptions()
		opts.Image, opts.DryRun, opts.RolloutTimeout = ref, in.DryRun, in.RolloutTimeout
		res, err := deploy.Kubectl(ctx, opts)
		if err != nil {
			return []string{"kubectl deploy FAILED: " + err.Error()}, err
		}
		return kubectlLines(res, ref, in.DryRun), nil
	case "gitops":
		res, err := deploy.GitOps(ctx, deploy.GitOpsOptions{Repo: in.GitopsRepo, Path: in.GitopsPath, Branch: in.GitopsBranch,
			Token: in.Token, Image: ref, ImageName: in.GitopsImage, SourceCommit: run.Context().SHA, Verification: verdict(rep), DryRun: in.DryRun,
			Env: os.Environ()})
		if err != nil {
			return []string{"GitOps deploy FAILED: " + err.Error()}, err
		}
		return gitopsLines(res, ref, in.GitopsRepo, in.GitopsBranch, in.DryRun), nil
	}
	return nil, nil
}

// blockedNote is the summary's deploy line of a run the verification blocked.
func blockedNote(kind string) []string {
	if kind == "none" {
		return nil
	}
	return []string{"Deploy (" + kind + ") BLOCKED: the image is not verified."}
}

// verdict is the verification's one-line result a GitOps commit records.
func verdict(rep *verify.Report) string {
	v := "PASSED"
	if !rep.Verified {
		v = "FAILED (audit mode: deployed anyway)"
	}
	if rep.BreakGlass {
		v += " BREAK-GLASS"
	}
	return v + " policy " + rep.Policy.URI + " " + rep.Policy.Digest
}

// kubectlLines says what a kubectl deploy changed and what the pods read back.
func kubectlLines(res *deploy.KubectlResult, ref oci.Ref, dryRun bool) []string {
	lines := []string{fmt.Sprintf("kubectl: %s/%s in %s, container %s: %s → %s", res.Kind, res.Name, res.Namespace, res.Container, res.Previous, ref)}
	switch {
	case dryRun && res.Changed:
		lines = append(lines, "DRY RUN: strategic-merge patch that would be sent:", "```json\n"+res.Patch+"\n```")
	case !res.Changed:
		lines = append(lines, "Already running this digest: nothing to change.")
	default:
		lines = append(lines, "Patched; rollout complete: "+fmt.Sprint(res.RolledOut))
	}
	if dryRun {
		return lines
	}
	if len(res.Pods) == 0 {
		return append(lines, "Read back: "+res.ReadBack+".")
	}
	pods := capped(res.Pods, func(p deploy.PodImage) string { return p.Pod })
	return append(lines, fmt.Sprintf("Read back: the running pods report %s (%s).", ref.Digest, strings.Join(pods, ", ")))
}

// gitopsLines says what a GitOps deploy changed, which rendered fields run the
// digest, and what was committed.
func gitopsLines(res *deploy.GitOpsResult, ref oci.Ref, repo, branch string, dryRun bool) []string {
	lines := []string{fmt.Sprintf("GitOps: %s in %s (branch %s), images entry %s: %s → %s", res.File, repo, branch,
		strings.Join(res.Entries, ", "), cmp.Or(res.Previous, "(unset)"), ref)}
	uses := capped(res.Uses, func(u deploy.ImageUse) string { return u.Resource + " " + u.Field })
	lines = append(lines, fmt.Sprintf("Rendered with kustomize: %d image field(s) run the digest: %s.", len(res.Uses), strings.Join(uses, ", ")))
	switch {
	case !res.Changed:
		return append(lines, "The kustomization already names this digest: nothing to commit.")
	case dryRun:
		return append(lines, "DRY RUN: the change that would be committed:", "```diff\n"+strings.TrimSpace(res.Diff)+"\n```")
	default:
		return append(lines, fmt.Sprintf("Committed %s and pushed (attempt %d).", res.Commit, res.Attempts))
	}
}

// capped names the first maxSummaryRows items, then how many more there are.
func capped[T any](items []T, name func(T) string) []string {
	out := make([]string, 0, min(len(items), maxSummaryRows+1))
	for i, it := range items {
		if i == maxSummaryRows {
			return append(out, fmt.Sprintf("and %d more", len(items)-maxSummaryRows))
		}
		out = append(out, name(it))
	}
	return out
}

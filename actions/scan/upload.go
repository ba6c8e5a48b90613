package scan

import (
	"context"
	"fmt"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	scanner "github.com/secure-gates/secure-gates/pkg/scan"
)

// upload sends the SARIF to code scanning, split to GitHub's limits. A pull
// request from a fork gets a read-only token: its refusal is a warning.
func upload(ctx context.Context, run *gate.Run, res *scanner.Result, in Inputs, s *setup) error {
	ctx, cancel, err := gate.WithTimeout(ctx, in.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	docs, err := sarif.Pack(res.SARIFRuns(in.Category), sarif.Options{Root: s.repo})
	if err != nil {
		return fmt.Errorf("packing the SARIF for upload: %w", err)
	}
	client, err := run.GitHub(in.Token)
	if err != nil {
		return err
	}
	c, ev := s.ctx, s.ev
	fork := ev != nil && ev.PullRequest != nil && ev.PullRequest.Head.Repo.FullName != "" && ev.PullRequest.Head.Repo.FullName != c.Repository
	for i, d := range docs {
		id, err := sarif.Upload(ctx, client, sarif.UploadRequest{Owner: c.Owner(), Repo: c.Name(), CommitSHA: c.SHA, Ref: c.Ref,
			CheckoutURI: "file://" + s.repo, ToolName: "secure-gates", StartedAt: res.StartedOn, SARIF: d.JSON})
		if err != nil {
			if fork && errkind.Of(err) == errkind.KindInput {
				run.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "SARIF upload skipped",
					Message: "A pull request from a fork gets a read-only token: the findings are in the summary and the SARIF file."})
				return nil
			}
			return fmt.Errorf("uploading SARIF document %d of %d: %w", i+1, len(docs), err)
		}
		st, err := sarif.Wait(ctx, client, c.Owner(), c.Name(), id, sarif.WaitOptions{})
		if err != nil {
			return fmt.Errorf("waiting for code scanning to process SARIF document %d: %w", i+1, err)
		}
		run.Infof("code scanning: SARIF document %d of %d %s (%s)", i+1, len(docs), st.Status, id)
	}
	return nil
}

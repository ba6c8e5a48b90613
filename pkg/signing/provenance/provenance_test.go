package provenance_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/signing/provenance"
)

func job() provenance.Context {
	return provenance.Context{
		ServerURL: "https://github.com", Repository: "acme/widgets", RepositoryID: "1", RepositoryOwnerID: "2",
		SHA: "0123456789abcdef0123456789abcdef01234567", Ref: "refs/heads/main", EventName: "push",
		WorkflowRef: "acme/widgets/.github/workflows/release.yml@refs/heads/main", RunID: "42", RunAttempt: "1",
		RunnerEnvironment: "github-hosted", RunnerOS: "Linux", RunnerArch: "X64",
		StartedOn:  time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC),
		FinishedOn: time.Date(2026, 11, 22, 3, 5, 0, 0, time.UTC),
	}
}

func TestBuildGolden(t *testing.T) {
	p, err := provenance.Build(job())
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	// What the attest gate pushes must pass the registry's own validation.
	if err := attestation.ValidatePredicate(attestation.PredicateSLSAProvenance, got, attestation.Options{}); err != nil {
		t.Fatalf("provenance does not validate: %v", err)
	}
	golden.Check(t, filepath.Join("testdata", "provenance.golden.json"), got)
}

func TestBuildFields(t *testing.T) {
	p, err := provenance.Build(job())
	if err != nil {
		t.Fatal(err)
	}
	wf := p.BuildDefinition.ExternalParameters["workflow"].(map[string]any)
	if wf["path"] != ".github/workflows/release.yml" || wf["ref"] != "refs/heads/main" || wf["repository"] != "https://github.com/acme/widgets" {
		t.Errorf("workflow = %v", wf)
	}
	if p.RunDetails.Builder.ID != "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main" {
		t.Errorf("builder id = %q", p.RunDetails.Builder.ID)
	}
	if p.RunDetails.Metadata.InvocationID != "https://github.com/acme/widgets/actions/runs/42/attempts/1" {
		t.Errorf("invocation id = %q", p.RunDetails.Metadata.InvocationID)
	}
	dep := p.BuildDefinition.ResolvedDependencies[0]
	if dep.Digest["gitCommit"] != job().SHA || dep.URI != "git+https://github.com/acme/widgets@refs/heads/main" {
		t.Errorf("resolved dependency = %+v", dep)
	}
}

func TestBuildRefusesBadContext(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*provenance.Context)
		want string
	}{
		{"no sha", func(c *provenance.Context) { c.SHA = "" }, "GITHUB_SHA"},
		{"tag as sha", func(c *provenance.Context) { c.SHA = "main" }, "GITHUB_SHA"},
		{"workflow ref of another repo", func(c *provenance.Context) { c.WorkflowRef = "evil/x/.github/workflows/a.yml@refs/heads/main" }, "GITHUB_WORKFLOW_REF"},
		{"workflow ref without ref", func(c *provenance.Context) { c.WorkflowRef = "acme/widgets/.github/workflows/a.yml" }, "GITHUB_WORKFLOW_REF"},
		{"bad repository", func(c *provenance.Context) { c.Repository = "acme" }, "GITHUB_REPOSITORY"},
		{"run id", func(c *provenance.Context) { c.RunID = "x" }, "GITHUB_RUN_ID"},
		{"no server", func(c *provenance.Context) { c.ServerURL = "" }, "GITHUB_SERVER_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := job()
			tt.mod(&c)
			_, err := provenance.Build(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func ExampleBuild() {
	p, err := provenance.Build(provenance.Context{
		ServerURL: "https://github.com", Repository: "acme/widgets", SHA: "0123456789abcdef0123456789abcdef01234567",
		Ref: "refs/heads/main", EventName: "push", WorkflowRef: "acme/widgets/.github/workflows/release.yml@refs/heads/main",
		RunID: "42", RunAttempt: "1",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.BuildDefinition.BuildType)
	fmt.Println(p.RunDetails.Builder.ID)
	// Output:
	// https://actions.github.io/buildtypes/workflow/v1
	// https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main
}

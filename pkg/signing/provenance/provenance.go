// Package provenance builds SLSA build provenance v1 predicates
// (https://slsa.dev/provenance/v1) from a GitHub Actions job's context.
//
// Provenance made by a step inside the user's own job is SLSA Build L2: it is
// signed by the build platform's identity (the job's OIDC token, through
// Fulcio) and says how the build ran, but the job that built the artifact also
// wrote the provenance, so a compromised build step could shape it. Build L3
// needs provenance generated in a job the build cannot influence — the
// reusable-workflow path (slsa-github-generator) in the workflow templates.
//
// The package reads no environment: the caller passes the runner's values in a
// Context.
package provenance

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

// BuildType is GitHub's build type for Actions workflows, as
// actions/attest-build-provenance writes it.
const BuildType = "https://actions.github.io/buildtypes/workflow/v1"

// Context is what the runner says about the job (its GITHUB_* and RUNNER_*
// variables).
type Context struct {
	ServerURL         string // GITHUB_SERVER_URL, e.g. https://github.com
	Repository        string // GITHUB_REPOSITORY, owner/name
	RepositoryID      string // GITHUB_REPOSITORY_ID
	RepositoryOwnerID string // GITHUB_REPOSITORY_OWNER_ID
	SHA               string // GITHUB_SHA
	Ref               string // GITHUB_REF
	EventName         string // GITHUB_EVENT_NAME
	WorkflowRef       string // GITHUB_WORKFLOW_REF, owner/name/.github/workflows/x.yml@ref
	RunID             string // GITHUB_RUN_ID
	RunAttempt        string // GITHUB_RUN_ATTEMPT
	RunnerEnvironment string // RUNNER_ENVIRONMENT: github-hosted or self-hosted
	RunnerOS          string // RUNNER_OS
	RunnerArch        string // RUNNER_ARCH
	// StartedOn and FinishedOn bound the build, when known.
	StartedOn, FinishedOn time.Time
}

var (
	repoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	shaRE  = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	numRE  = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// Build returns the provenance of a build run in the job c describes. Missing or
// malformed required values are errors naming the variable.
func Build(c Context) (*attestation.Provenance, error) {
	var errs []error
	need := func(v, name string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s is not set", name))
		}
	}
	need(c.ServerURL, "GITHUB_SERVER_URL")
	need(c.Ref, "GITHUB_REF")
	need(c.EventName, "GITHUB_EVENT_NAME")
	if !repoRE.MatchString(c.Repository) {
		errs = append(errs, fmt.Errorf("GITHUB_REPOSITORY %q is not owner/name", c.Repository))
	}
	if !shaRE.MatchString(c.SHA) {
		errs = append(errs, fmt.Errorf("GITHUB_SHA %q is not a commit id", c.SHA))
	}
	if !numRE.MatchString(c.RunID) || !numRE.MatchString(c.RunAttempt) {
		errs = append(errs, fmt.Errorf("GITHUB_RUN_ID %q / GITHUB_RUN_ATTEMPT %q are not numbers", c.RunID, c.RunAttempt))
	}
	path, wfRef, err := splitWorkflowRef(c.Repository, c.WorkflowRef)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("building provenance from the job context: %w", errors.Join(errs...))
	}
	server := strings.TrimSuffix(c.ServerURL, "/")
	repoURL := server + "/" + c.Repository
	internal := map[string]any{}
	gh := map[string]any{"event_name": c.EventName}
	for k, v := range map[string]string{
		"repository_id": c.RepositoryID, "repository_owner_id": c.RepositoryOwnerID, "runner_environment": c.RunnerEnvironment,
	} {
		if v != "" {
			gh[k] = v
		}
	}
	internal["github"] = gh
	if c.RunnerOS != "" || c.RunnerArch != "" {
		internal["runner"] = map[string]any{"os": c.RunnerOS, "arch": c.RunnerArch}
	}
	p := &attestation.Provenance{
		BuildDefinition: attestation.BuildDefinition{
			BuildType: BuildType,
			ExternalParameters: map[string]any{
				"workflow": map[string]any{"ref": wfRef, "repository": repoURL, "path": path},
				"event":    c.EventName,
			},
			InternalParameters: internal,
			ResolvedDependencies: []attestation.ResourceDescriptor{{
				URI:    "git+" + repoURL + "@" + c.Ref,
				Digest: map[string]string{"gitCommit": c.SHA},
			}},
		},
		RunDetails: attestation.RunDetails{
			Builder: attestation.Builder{ID: server + "/" + c.WorkflowRef},
			Metadata: attestation.BuildMetadata{
				InvocationID: fmt.Sprintf("%s/actions/runs/%s/attempts/%s", repoURL, c.RunID, c.RunAttempt),
				StartedOn:    c.StartedOn.UTC(),
				FinishedOn:   c.FinishedOn.UTC(),
			},
		},
	}
	return p, nil
}

// splitWorkflowRef splits owner/name/.github/workflows/x.yml@ref into the path
// and the ref.
func splitWorkflowRef(repo, workflowRef string) (path, ref string, err error) {
	rest, ok := strings.CutPrefix(workflowRef, repo+"/")
	if !ok {
		return "", "", fmt.Errorf("GITHUB_WORKFLOW_REF %q does not start with the repository %q", workflowRef, repo+"/")
	}
	path, ref, ok = strings.Cut(rest, "@")
	if !ok || path == "" || ref == "" {
		return "", "", fmt.Errorf("GITHUB_WORKFLOW_REF %q: expected owner/name/<path>@<ref>", workflowRef)
	}
	return path, ref, nil
}

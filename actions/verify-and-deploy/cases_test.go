package verifyanddeploy

import (
	"fmt"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// summaryCase is the data one summary is rendered from.
type summaryCase struct {
	name        string
	deploy      string
	environment string
	mode        policy.Mode // the run's effective mode
	modeNote    string
	ref         oci.Ref
	rep         *verify.Report
	vsaNote     string
	deployNote  []string
	blocked     bool
}

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var testTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testReport(verified bool) *verify.Report {
	return &verify.Report{Image: "registry.test/acme/app@" + testDigest, Digest: testDigest,
		Policy: verify.PolicyRef{URI: ".secure-gates/policy.yaml", Digest: "sha256:feed"}, Mode: "enforce", Verified: verified,
		Requirements: []verify.RequirementResult{
			{Name: verify.RequirementSignature, Passed: true, Detail: "signed by https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"},
			{Name: "vuln", PredicateType: attestation.PredicateVuln, Passed: verified, Detail: "scanned 2026-03-01T11:00:00Z", Reasons: reasons(verified, "critical finding CVE-2026-0001 in pkg:golang/x@1", "scan older than 24h")},
		}, VerifiedAt: testTime}
}

func reasons(verified bool, r ...string) []string {
	if verified {
		return nil
	}
	return r
}

func summaryCases() []summaryCase {
	tagged := oci.Ref{Repository: "registry.test/acme/app", Digest: testDigest, Tag: "v1"}
	verified := testReport(true)
	verified.ExceptionsUsed = []attestation.AppliedException{{ID: "EX-1", Reason: "no fix | upstream", Ticket: "SEC-1", Expires: testTime.Add(48 * time.Hour), FindingsWaived: 2}}

	audit := testReport(false)
	audit.Mode, audit.BreakGlass = "audit", true
	audit.Requirements[0].Detail = "break-glass signer ops@acme.test"
	audit.Requirements = append(audit.Requirements, verify.RequirementResult{Name: "sast", Passed: true, Detail: "outage exception", Waived: "exception OUT-1 by sec@acme.test: the SAST service was down"})
	audit.ExceptionsRefused = []verify.Ignored{{Kind: "exception", Format: "bundle", Location: "sha256:ee", Reason: "expired"}}
	for i := 0; i < 52; i++ {
		audit.Superseded = append(audit.Superseded, verify.Superseded{Requirement: "vuln", Format: "legacy", Location: fmt.Sprintf("layer %d", i),
			PredicateType: attestation.PredicateVuln, Time: testTime.Add(-time.Duration(i+1) * time.Hour), TimeSource: "rekor",
			SupersededBy: "layer new", NewestTime: testTime})
	}
	for i := 0; i < 51; i++ {
		audit.Ignored = append(audit.Ignored, verify.Ignored{Kind: "attestation", Format: "bundle", Location: fmt.Sprintf("sha256:%02d", i),
			PredicateType: "https://example.test/x", Reason: "signer not allowed"})
	}

	blocked := testReport(false)
	return []summaryCase{
		{name: "verified-kubectl", deploy: "kubectl", environment: "production", mode: policy.ModeEnforce, ref: tagged, rep: verified,
			vsaNote:    "attested on the digest by key sha256:ab (envelope sha256:cd)",
			deployNote: []string{"kubectl: Deployment/web in shop, container app: old → " + tagged.String(), "DRY RUN: strategic-merge patch that would be sent:", "```json\n{\"spec\":{}}\n```"}},
		{name: "audit-failed", deploy: "none", mode: policy.ModeAudit, ref: oci.Ref{Repository: "registry.test/acme/app", Digest: testDigest}, rep: audit,
			vsaNote: "not attested: the verification failed (audit mode)"},
		{name: "blocked-enforced", deploy: "gitops", mode: policy.ModeEnforce, modeNote: enforcedNote("production"), environment: "production",
			ref: oci.Ref{Repository: "registry.test/acme/app", Digest: testDigest}, rep: blocked, blocked: true,
			vsaNote: "not attested: the verification failed", deployNote: []string{"Deploy (gitops) BLOCKED: the image is not verified."}},
	}
}

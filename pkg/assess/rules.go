package assess

// Rule is one question of seed 002's self-assessment, with how it is scored.
// A rule is data: the score is 2 when any fact of Two holds, else 1 when any fact
// of One holds, else 0. The facts are computed from the repository (and, with an
// API, its branch protection and rulesets) by Evaluate; their meaning is
// documented in the README beside the table.
type Rule struct {
	// ID is the question's number in the seed, 1–20: stable across versions, so
	// trends compare like with like.
	ID int
	// Question is the seed's wording.
	Question string
	// Two are the facts any one of which scores 2.
	Two []Fact
	// One are the facts any one of which scores 1.
	One []Fact
	// StepTo1 is the smallest change that raises a 0 to a 1.
	StepTo1 string
	// StepTo2 is the smallest change that raises a 1 to a 2.
	StepTo2 string
}

// Fact names a piece of evidence Evaluate looks for.
type Fact string

// The facts. Each is found with evidence (file and line, API fact, or an
// assessment.yaml answer) or not at all.
const (
	FactSASTOnPRRequired   Fact = "sast-on-pr-required"  // a SAST tool runs on pull_request and its check is required
	FactSASTOnPR           Fact = "sast-on-pr"           // a SAST tool (CodeQL, Semgrep, …) runs on pull_request
	FactSecretsPreCommit   Fact = "secrets-pre-commit"   // .pre-commit-config.yaml runs a secrets hook
	FactSecretsInCI        Fact = "secrets-in-ci"        // a secrets scanner runs in CI
	FactSCAWithSLA         Fact = "sca-pr-with-sla"      // SCA on pull_request and the policy denies fixable findings on a fresh scan
	FactSCA                Fact = "sca-in-ci"            // SCA runs in CI
	FactSBOMSigned         Fact = "sbom-release-signed"  // SBOM generated on push/release and attested (signed)
	FactSBOM               Fact = "sbom-release"         // SBOM generated on push/release
	FactImageScanGate      Fact = "image-scan-gate"      // image scanned at build and the result gates (step fails or policy denies)
	FactImageScan          Fact = "image-scan"           // image scanned at build
	FactNonRootReadOnly    Fact = "workloads-nonroot-ro" // every rendered workload container: non-root and read-only root filesystem
	FactNonRootPartial     Fact = "nonroot-partial"      // non-root only, or Dockerfile USER non-root without manifests, or some workloads
	FactIaCOnPR            Fact = "iac-on-pr"            // an IaC scanner runs on pull_request
	FactIaC                Fact = "iac-in-ci"            // an IaC scanner runs in CI on other events
	FactEphemeralAll       Fact = "runners-ephemeral"    // every job on GitHub-hosted or ephemeral-marked runners
	FactEphemeralSome      Fact = "runners-mixed"        // some jobs on persistent self-hosted runners (or runner labels from expressions)
	FactNoStaticCredsOIDC  Fact = "no-static-creds-oidc" // no long-lived cloud key reaches a step, OIDC is used
	FactNoStaticCreds      Fact = "no-static-creds"      // no long-lived cloud key found, no OIDC either
	FactSignedVerified     Fact = "signed-and-verified"  // signed in CI and verified before or at deploy
	FactSigned             Fact = "signed"               // signed in CI
	FactProvenanceVerified Fact = "provenance-verified"  // SLSA provenance generated and verified
	FactProvenance         Fact = "provenance"           // SLSA provenance generated
	FactAdmissionEnforce   Fact = "admission-enforce"    // admission policies found, all enforcing
	FactAdmissionAudit     Fact = "admission-audit"      // admission policies in audit, or only the deploy gate's policy enforces
	FactFalcoDeployed      Fact = "falco-deployed"       // Falco deployed by the repository's manifests
	FactFalcoRules         Fact = "falco-rules"          // Falco rules kept in the repository
	FactAlertsRunbooks     Fact = "alerts-with-runbooks" // alerting rules carrying a runbook_url
	FactRunbooks           Fact = "runbooks"             // runbooks or alerting rules, not linked
	FactPostmortems        Fact = "postmortems"          // a postmortems folder with documents
	FactEvidenceContinuous Fact = "evidence-continuous"  // attestations on every release and a scheduled re-scan
	FactEvidencePartial    Fact = "evidence-partial"     // one of the two
	FactGameDays           Fact = "game-day-records"     // a game-day records folder with documents
	FactOIDCScoped         Fact = "oidc-trust-scoped"    // every OIDC trust condition names a repository and a ref or environment
	FactOIDCRepoOnly       Fact = "oidc-trust-repo"      // trust conditions name repositories but not refs
	FactDepsAllEcosystems  Fact = "deps-bot-all"         // Dependabot/Renovate covers every ecosystem found
	FactDepsSome           Fact = "deps-bot-some"        // Dependabot/Renovate covers some ecosystems
	FactPavedRoad          Fact = "paved-road"           // a workflow calls the paved-road reusable workflow
	FactGatesByHand        Fact = "gates-by-hand"        // secure-gates actions used job by job
	FactAnswered2          Fact = "answered-2"           // a fresh assessment.yaml answer of 2
	FactAnswered1          Fact = "answered-1"           // a fresh assessment.yaml answer of 1
)

// Rules is the table every assessment is scored with, in the seed's order. The
// README documents it row by row (TestReadmeDocumentsRules keeps them in step).
var Rules = []Rule{
	{ID: 1, Question: "Is SAST enforced on every PR?",
		Two: []Fact{FactSASTOnPRRequired}, One: []Fact{FactSASTOnPR},
		StepTo1: "Run CodeQL (github/codeql-action) or Semgrep in a pull_request workflow and pass its SARIF to the scan gate's sarif-inputs.",
		StepTo2: "Make the SAST job's check required on the default branch (branch protection or a ruleset's required status checks)."},
	{ID: 2, Question: "Are secrets blocked at pre-commit?",
		Two: []Fact{FactSecretsPreCommit}, One: []Fact{FactSecretsInCI},
		StepTo1: "Run the scan gate (secrets scanner) or gitleaks on pull requests.",
		StepTo2: "Add .pre-commit-config.yaml with the secure-gates-secrets hook (repo: secure-gates/secure-gates) or gitleaks."},
	{ID: 3, Question: "Is SCA scanning enforced with SLA?",
		Two: []Fact{FactSCAWithSLA}, One: []Fact{FactSCA},
		StepTo1: "Run the scan gate (deps scanner) on pull requests.",
		StepTo2: "Require a vuln attestation in .secure-gates/policy.yaml with deny (severity, fixed-only) and max-age, and run SCA on pull_request."},
	{ID: 4, Question: "Is SBOM generated for every release, signed?",
		Two: []Fact{FactSBOMSigned}, One: []Fact{FactSBOM},
		StepTo1: "Run the sbom gate on every push to the default branch or release.",
		StepTo2: "Attest the SBOM (attest gate with cyclonedx=/spdx= predicates) so it is signed."},
	{ID: 5, Question: "Are container images scanned at build?",
		Two: []Fact{FactImageScanGate}, One: []Fact{FactImageScan},
		StepTo1: "Run the sbom gate (it scans the image) after the image build.",
		StepTo2: "Make the result gate: require vuln with deny in .secure-gates/policy.yaml, or fail the scan step on findings."},
	{ID: 6, Question: "Are containers running non-root, read-only rootfs?",
		Two: []Fact{FactNonRootReadOnly}, One: []Fact{FactNonRootPartial},
		StepTo1: "Set USER to a non-root uid in the Dockerfile's final stage, or runAsNonRoot: true in the Pod's securityContext.",
		StepTo2: "Set runAsNonRoot: true and readOnlyRootFilesystem: true on every container of every workload manifest."},
	{ID: 7, Question: "Is IaC scanned on every PR?",
		Two: []Fact{FactIaCOnPR}, One: []Fact{FactIaC},
		StepTo1: "Run the scan gate (iac scanner) or Checkov in a workflow.",
		StepTo2: "Run the IaC scanner on the pull_request event."},
	{ID: 8, Question: "Is the pipeline using ephemeral runners?",
		Two: []Fact{FactEphemeralAll}, One: []Fact{FactEphemeralSome},
		StepTo1: "Move at least the build jobs to GitHub-hosted runners (ubuntu-latest) or ephemeral self-hosted runners labelled ephemeral.",
		StepTo2: "Move every job to GitHub-hosted runners, or register self-hosted runners with --ephemeral and label them ephemeral."},
	{ID: 9, Question: "Are static cloud credentials absent from CI?",
		Two: []Fact{FactNoStaticCredsOIDC}, One: []Fact{FactNoStaticCreds},
		StepTo1: "Replace long-lived cloud keys passed to steps with OIDC role assumption (aws-actions/configure-aws-credentials role-to-assume, google-github-actions/auth workload_identity_provider).",
		StepTo2: "Use OIDC (permissions: id-token: write) for the cloud or signing access the pipeline needs."},
	{ID: 10, Question: "Are images signed and verified at deploy?",
		Two: []Fact{FactSignedVerified}, One: []Fact{FactSigned},
		StepTo1: "Sign the image digest after the build (sign gate, keyless).",
		StepTo2: "Verify before deploying: the verify-and-deploy gate, or a Kyverno verifyImages policy."},
	{ID: 11, Question: "Is SLSA provenance generated and verified?",
		Two: []Fact{FactProvenanceVerified}, One: []Fact{FactProvenance},
		StepTo1: "Generate provenance: attest gate with provenance: true (L2) or the paved road's secure-gates-slsa3.yml (L3).",
		StepTo2: "Require slsaprovenance in .secure-gates/policy.yaml and deploy through verify-and-deploy."},
	{ID: 12, Question: "Are Kyverno/OPA policies enforced (not audit)?",
		Two: []Fact{FactAdmissionEnforce}, One: []Fact{FactAdmissionAudit},
		StepTo1: "Render the policy for admission (secure-gates policy kyverno) and apply it in Audit to start.",
		StepTo2: "Switch every admission policy to Enforce (validationFailureAction / failureAction: Enforce; Gatekeeper enforcementAction: deny)."},
	{ID: 13, Question: "Is runtime detection (Falco) running in prod?",
		Two: []Fact{FactFalcoDeployed, FactAnswered2}, One: []Fact{FactFalcoRules, FactAnswered1},
		StepTo1: "Keep Falco rules for the service in the repository, or answer question 13 in .secure-gates/assessment.yaml with evidence.",
		StepTo2: "Deploy Falco with the service's manifests (DaemonSet, HelmRelease or Argo CD Application), or record its production deployment in .secure-gates/assessment.yaml."},
	{ID: 14, Question: "Are SIEM alerts correlated to IR runbooks?",
		Two: []Fact{FactAlertsRunbooks, FactAnswered2}, One: []Fact{FactRunbooks, FactAnswered1},
		StepTo1: "Add runbooks (runbooks/ or docs/runbooks/), or answer question 14 in .secure-gates/assessment.yaml.",
		StepTo2: "Give every alerting rule an annotations.runbook_url, or record the SIEM-to-runbook mapping in .secure-gates/assessment.yaml."},
	{ID: 15, Question: "Are postmortems filed and improvements shipped?",
		Two: []Fact{FactAnswered2}, One: []Fact{FactPostmortems, FactAnswered1},
		StepTo1: "File postmortems in postmortems/ (or docs/postmortems/), or answer question 15 in .secure-gates/assessment.yaml.",
		StepTo2: "Record in .secure-gates/assessment.yaml (owner, date, link) that the postmortems' improvements shipped."},
	{ID: 16, Question: "Is compliance evidence collected continuously?",
		Two: []Fact{FactEvidenceContinuous, FactAnswered2}, One: []Fact{FactEvidencePartial, FactAnswered1},
		StepTo1: "Attest every release (attest gate) or schedule a re-scan workflow (workflows-templates/scheduled-rescan.yml).",
		StepTo2: "Do both: attestations on every release and a scheduled re-scan (workflows-templates/scheduled-rescan.yml)."},
	{ID: 17, Question: "Are incident response runbooks tested via game day?",
		Two: []Fact{FactAnswered2}, One: []Fact{FactGameDays, FactAnswered1},
		StepTo1: "Keep game-day records in game-days/ (or docs/game-days/), or answer question 17 in .secure-gates/assessment.yaml.",
		StepTo2: "Record the last game day (owner, date, link to its report) in .secure-gates/assessment.yaml."},
	{ID: 18, Question: "Is the OIDC trust policy scoped to specific repos/branches?",
		Two: []Fact{FactOIDCScoped, FactAnswered2}, One: []Fact{FactOIDCRepoOnly, FactAnswered1},
		StepTo1: "Keep the cloud trust policy in the repository (IAM JSON, CloudFormation or Terraform) with a token.actions.githubusercontent.com:sub condition naming the repository.",
		StepTo2: "Pin the sub condition to a ref or environment: repo:OWNER/REPO:ref:refs/heads/main (no wildcard)."},
	{ID: 19, Question: "Are dependencies kept current via Renovate/Dependabot?",
		Two: []Fact{FactDepsAllEcosystems}, One: []Fact{FactDepsSome},
		StepTo1: "Add .github/dependabot.yml (or a Renovate config) for the repository's ecosystems.",
		StepTo2: "Cover every ecosystem the repository has in .github/dependabot.yml (the evidence lists the missing ones)."},
	{ID: 20, Question: "Can a new service onboard to the pipeline in < 1 day?",
		Two: []Fact{FactPavedRoad, FactAnswered2}, One: []Fact{FactGatesByHand, FactAnswered1},
		StepTo1: "Use the secure-gates actions in a workflow (workflows-templates/secure-pipeline.yml).",
		StepTo2: "Call the paved-road reusable workflow (workflows-templates/paved-road.yml): one job, no ticket."},
}

// TierName is the seed's name of a tier.
func TierName(tier int) string {
	switch tier {
	case 0:
		return "ad hoc"
	case 1:
		return "baseline"
	case 2:
		return "industry standard"
	case 3:
		return "differentiator"
	default:
		return "world class"
	}
}

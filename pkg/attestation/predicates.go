package attestation

import (
	"encoding/json"
	"time"
)

// Decision is the outcome a gate records in its own predicates.
type Decision string

// The decisions.
const (
	DecisionPass Decision = "pass"
	DecisionFail Decision = "fail"
)

// CodeScan is the predicate of [PredicateCodeScan]: what the scan gate ran, what
// it found, what it waived and what it decided. Its schema is
// schema/code-scan.json; docs/attestation/code-scan.md documents it.
//
// In the project's own predicate types, a required time or digest left zero is
// omitted when encoded, so NewStatement reports it missing instead of writing
// year 1 or an empty digest.
type CodeScan struct {
	// Tools are the scanners that ran: at least one, unless every selected
	// scanner had an outage, which Outages then records. Never null.
	Tools []Tool `json:"tools"`
	// Rules are the rules the scanners had enabled.
	Rules RuleSet `json:"rules"`
	// Counts are the unwaived findings by severity.
	Counts SeverityCounts `json:"counts"`
	// SARIF identifies the SARIF log holding every finding.
	SARIF SARIFRef `json:"sarif"`
	// ExceptionsApplied are the exceptions that waived findings in this scan.
	ExceptionsApplied []AppliedException `json:"exceptionsApplied,omitempty"`
	// Waived records the findings the repository's own claims (its exceptions
	// file, VEX documents) waived in this scan, so that a verifier can count
	// them again: they shaped Decision, but only signed exceptions waive at
	// deploy. Absent when nothing was waived.
	Waived *WaivedFindings `json:"waived,omitempty"`
	// Outages are scanners that could not run, and what policy did about it.
	Outages []Outage `json:"outages,omitempty"`
	// Decision is the gate's verdict.
	Decision Decision `json:"decision"`
	// ScanStartedOn and ScanFinishedOn bound the scan (RFC 3339).
	ScanStartedOn  time.Time `json:"scanStartedOn,omitzero"`
	ScanFinishedOn time.Time `json:"scanFinishedOn,omitzero"`
	// Source is the source revision scanned, when known.
	Source *SourceRef `json:"source,omitempty"`

	// NotScanned counts and names the files of the tree that a scanner did
	// not read (too large, binary, a symlink, a path the rules allowlist): a
	// file not read is never "no findings". Absent when every file was read.
	NotScanned *NotScanned `json:"notScanned,omitempty"`
}

// MaxNotScannedFiles bounds NotScanned.Files; Count is always the total.
const MaxNotScannedFiles = 100

// NotScanned counts the files not scanned and lists the first
// MaxNotScannedFiles of them, sorted by path.
type NotScanned struct {
	Count int              `json:"count"`
	Files []NotScannedFile `json:"files"`
}

// NotScannedFile is one file (or a whole directory, its path ending in "/")
// a scanner did not read, and why.
type NotScannedFile struct {
	// Path is slash-separated and relative to the scan root.
	Path    string `json:"path"`
	Scanner string `json:"scanner"`
	Reason  string `json:"reason"`
}

// Tool is a scanner and its version.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// RuleSet counts the rules enabled; IDs lists them when the list is short
// enough to carry.
type RuleSet struct {
	Count int      `json:"count"`
	IDs   []string `json:"ids,omitempty"`
}

// SeverityCounts are finding counts by severity. Unknown counts findings whose
// severity could not be mapped: they are never silently dropped.
type SeverityCounts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Info     int `json:"info"`
	Unknown  int `json:"unknown"`
}

// SARIFRef identifies a SARIF log by digest, and optionally where it is.
type SARIFRef struct {
	Digest Digest `json:"digest,omitzero"`
	URI    string `json:"uri,omitempty"`
}

// AppliedException records one exception that waived findings.
type AppliedException struct {
	// ID names the exception (for a signed exception, its attestation digest).
	ID string `json:"id"`
	// Scope is the image repository or purl the exception is limited to.
	Scope          string    `json:"scope,omitempty"`
	Reason         string    `json:"reason"`
	Ticket         string    `json:"ticket"`
	Expires        time.Time `json:"expires,omitzero"`
	FindingsWaived int       `json:"findingsWaived"`
	BreakGlass     bool      `json:"breakGlass,omitempty"`
}

// WaivedFindings are the findings a scan's repository-held waivers took out
// of its counts and decision.
type WaivedFindings struct {
	// SeverityCutoff is the scan's severity cutoff (critical, high, medium,
	// low, or none): a waived finding at or above it would have failed the
	// decision.
	SeverityCutoff string `json:"severityCutoff"`
	// OnlyFixed is the scan's only-fixed setting (dependency findings fail
	// only when fixable).
	OnlyFixed bool `json:"onlyFixed,omitempty"`
	// Counts are all waived findings by severity, listed or not.
	Counts SeverityCounts `json:"counts"`
	// Findings lists the waived findings, most severe first, at most
	// MaxWaivedFindings; Counts says how many there are in all.
	Findings []WaivedFinding `json:"findings"`
}

// MaxWaivedFindings bounds WaivedFindings.Findings.
const MaxWaivedFindings = 1000

// WaivedFinding is one finding a repository-held waiver waived.
type WaivedFinding struct {
	Scanner     string `json:"scanner"`
	RuleID      string `json:"ruleId"`
	Severity    string `json:"severity"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Path        string `json:"path,omitempty"`
	StartLine   int    `json:"startLine,omitempty"`
	PURL        string `json:"purl,omitempty"`
	// Aliases are other ids of the same issue (a CVE for a GHSA).
	Aliases []string `json:"aliases,omitempty"`
	// Fixable says a fix is known (dependency findings).
	Fixable bool       `json:"fixable,omitempty"`
	Waiver  ScanWaiver `json:"waiver"`
}

// ScanWaiver says what waived a finding at scan time.
type ScanWaiver struct {
	// Kind is "exceptions-file" or "vex".
	Kind string `json:"kind"`
	// ID is the exceptions-file entry's id, or the vulnerability a VEX
	// statement names.
	ID       string `json:"id"`
	Source   string `json:"source,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Ticket   string `json:"ticket,omitempty"`
	Approver string `json:"approver,omitempty"`
	Scope    string `json:"scope,omitempty"`
	// Expires is the entry's expiry; absent for a VEX statement.
	Expires time.Time `json:"expires,omitzero"`
}

// Outage policies.
const (
	OutageContinue = "continue"
	OutageFail     = "fail"
)

// Outage records a scanner that could not run: an outage is never "no
// findings". Policy is OutageContinue or OutageFail.
type Outage struct {
	Scanner string    `json:"scanner"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at,omitzero"`
	Policy  string    `json:"policy"`
}

// SourceRef is a source repository and commit (40 or 64 lowercase hex).
type SourceRef struct {
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
}

// ThreatModel is the predicate of [PredicateThreatModel]: the result of the
// four-question check on a pull request. Its schema is schema/threat-model.json.
type ThreatModel struct {
	PullRequest PullRequest `json:"pullRequest"`
	// AnswersDigest is the sha256 of the four answers as the check read them.
	AnswersDigest Digest     `json:"answersDigest,omitzero"`
	Questions     []Question `json:"questions"`
	// Result is pass only if every question was answered.
	Result    Decision  `json:"result"`
	CheckedOn time.Time `json:"checkedOn,omitzero"`
}

// PullRequest identifies a pull request; Repository is "owner/name".
type PullRequest struct {
	Number     int    `json:"number"`
	Repository string `json:"repository"`
	URL        string `json:"url,omitempty"`
}

// Question is one question of the threat-model check and whether the PR
// answered it.
type Question struct {
	Label    string `json:"label"`
	Answered bool   `json:"answered"`
}

// Assessment is the predicate of [PredicateAssessment]: a repository's
// self-assessment (seed 002's 20 questions) scored from evidence. Its schema
// is schema/assessment.json; Total is the sum of the scores and Tier the
// seed's tier of Total.
type Assessment struct {
	// Repository is "owner/name".
	Repository string    `json:"repository"`
	AssessedAt time.Time `json:"assessedAt,omitzero"`
	Total      int       `json:"total"`
	Tier       int       `json:"tier"`
	// Questions are the 20 answers, in id order.
	Questions []AssessmentAnswer `json:"questions"`
}

// AssessmentAnswer is one scored question of an [Assessment].
type AssessmentAnswer struct {
	ID       int      `json:"id"`
	Score    int      `json:"score"`
	Evidence []string `json:"evidence"`
	// Source is what decided the score: repository, api or assessment.yaml.
	Source string `json:"source"`
}

// AssessmentTier is seed 002's tier of a total out of 40: 0–10 tier 0, 11–20
// tier 1, 21–30 tier 2, 31–38 tier 3, 39–40 tier 4.
func AssessmentTier(total int) int {
	switch {
	case total <= 10:
		return 0
	case total <= 20:
		return 1
	case total <= 30:
		return 2
	case total <= 38:
		return 3
	}
	return 4
}

// Exception is the predicate of [PredicateException]: a waiver of findings.
// An expired or unsigned exception waives nothing. Its schema is
// schema/exception.json.
type Exception struct {
	// Findings are the waived finding ids (CVE, GHSA or rule id); at least one.
	Findings []string `json:"findings"`
	// Scope limits the waiver to an image repository or purl; empty means the
	// subject of the statement only.
	Scope    string    `json:"scope,omitempty"`
	Reason   string    `json:"reason"`
	Ticket   string    `json:"ticket"`
	Approver string    `json:"approver"`
	Expires  time.Time `json:"expires,omitzero"`
	// BreakGlass marks an emergency exception: short-lived, always reported.
	BreakGlass bool `json:"breakGlass,omitempty"`
}

// VulnScan is cosign's vulnerability-scan predicate ([PredicateVuln]), with
// cosign's JSON field names (github.com/sigstore/cosign/v2
// pkg/cosign/attestation.CosignVulnPredicate).
type VulnScan struct {
	Invocation VulnInvocation `json:"invocation"`
	Scanner    VulnScanner    `json:"scanner"`
	Metadata   VulnMetadata   `json:"metadata"`
}

// VulnInvocation says what ran the scan.
type VulnInvocation struct {
	Parameters json.RawMessage `json:"parameters"`
	URI        string          `json:"uri"`
	EventID    string          `json:"event_id"`
	BuilderID  string          `json:"builder.id"`
}

// VulnScanner is the scanner, its database and its raw result.
type VulnScanner struct {
	URI     string          `json:"uri"`
	Version string          `json:"version"`
	DB      VulnDB          `json:"db"`
	Result  json.RawMessage `json:"result"`
}

// VulnDB is the vulnerability database the scanner used.
type VulnDB struct {
	URI     string `json:"uri"`
	Version string `json:"version"`
}

// VulnMetadata holds the scan times; a fresh-scan policy reads ScanFinishedOn.
type VulnMetadata struct {
	ScanStartedOn  time.Time `json:"scanStartedOn"`
	ScanFinishedOn time.Time `json:"scanFinishedOn"`
}

// Provenance is SLSA build provenance v1 ([PredicateSLSAProvenance]).
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is what was built and with which inputs.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   map[string]any       `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters,omitempty"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// RunDetails is who built it and when.
type RunDetails struct {
	Builder    Builder              `json:"builder"`
	Metadata   BuildMetadata        `json:"metadata,omitzero"`
	Byproducts []ResourceDescriptor `json:"byproducts,omitempty"`
}

// Builder identifies the build platform.
type Builder struct {
	ID                  string               `json:"id"`
	Version             map[string]string    `json:"version,omitempty"`
	BuilderDependencies []ResourceDescriptor `json:"builderDependencies,omitempty"`
}

// BuildMetadata is the build's invocation id and times.
type BuildMetadata struct {
	InvocationID string    `json:"invocationId,omitempty"`
	StartedOn    time.Time `json:"startedOn,omitzero"`
	FinishedOn   time.Time `json:"finishedOn,omitzero"`
}

// ResourceDescriptor is an in-toto v1 resource descriptor (the fields the
// project uses).
type ResourceDescriptor struct {
	Name      string            `json:"name,omitempty"`
	URI       string            `json:"uri,omitempty"`
	Digest    map[string]string `json:"digest,omitempty"`
	MediaType string            `json:"mediaType,omitempty"`
}

// VSA verification results.
const (
	VerificationPassed = "PASSED"
	VerificationFailed = "FAILED"
)

// VSA is a SLSA verification summary v1 ([PredicateVSA]): the deploy gate's
// record of the policy it applied and the attestations it checked.
type VSA struct {
	Verifier           VSAVerifier          `json:"verifier"`
	TimeVerified       time.Time            `json:"timeVerified"`
	ResourceURI        string               `json:"resourceUri"`
	Policy             ResourceDescriptor   `json:"policy"`
	InputAttestations  []ResourceDescriptor `json:"inputAttestations,omitempty"`
	VerificationResult string               `json:"verificationResult"`
	VerifiedLevels     []string             `json:"verifiedLevels"`
	DependencyLevels   map[string]int       `json:"dependencyLevels,omitempty"`
	SLSAVersion        string               `json:"slsaVersion,omitempty"`
}

// VSAVerifier identifies who verified.
type VSAVerifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

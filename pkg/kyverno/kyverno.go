// Package kyverno renders the verify-and-deploy policy (pkg/policy) as a Kyverno
// ClusterPolicy, so that admission to the cluster requires the same signer
// identities, the same attestation types and, where Kyverno can express them, the
// same conditions as the pipeline's gate: the two are written from one file and
// cannot drift apart.
//
// The rendered policy has one verifyImages rule for Pods (Kyverno extends it to
// the workload controllers by itself) over Options.ImageReferences:
//
//   - attestors: every policy identity as one entry of one attestor set with
//     count 1 (any one suffices, as in the pipeline) — key identities as
//     `keys.publicKeys` (PEM) or `keys.kms`, keyless identities as `keyless`
//     with issuer, subject or subjectRegExp, and the GitHub certificate
//     extensions (repository, ref, workflow name, trigger) as
//     `additionalExtensions`; an identity with `tlog: required` keeps
//     `rekor.ignoreTlog` false even under Options.IgnoreTlog;
//   - one attestations entry per required predicate type, signed by the same
//     attestors, with conditions: code-scan `decision` is pass and no scanner
//     outage is recorded; dast `decision` is pass, `environment` is the
//     requirement's, no outage is recorded and, with deny, no alert at or
//     above the risk is listed (a dast requirement is left out for the
//     cluster of its own environment, Options.Environment); threat-model
//     `result` is pass; vuln has no match at or above the deny severity in the
//     signed grype result (only fixed ones with fixed-only); CycloneDX
//     `bomFormat`; SPDX `spdxVersion`; SLSA provenance from the pinned source
//     repository; slsa-github-generator provenance (v0.2) signed by the
//     generator's own identity, from the pinned repository, branch or tag;
//   - failureAction Enforce or Audit from the policy's mode, verifyDigest true
//     and mutateDigest false (a Pod must name its image by digest, as the
//     pipeline deploys it), failurePolicy Fail.
//
// What admission does not check, by design, is listed in the policy's
// `secure-gates.dev/not-enforced-at-admission` annotation: signed exceptions,
// scanner-outage exceptions and break-glass (Kyverno cannot combine attestations or check a TTL from a
// signing time; use a Kyverno PolicyException for an emergency), and max-age
// unless Options.MaxAgeAtAdmission is set (an age condition at admission also
// refuses a Pod rescheduled after the window, which is rarely what is wanted).
// Which of several attestations of a type counts follows Kyverno's own
// semantics, not the pipeline's newest-evidence rule (Kyverno has no notion of
// an attestation superseding another).
//
// Signatures must be in cosign's legacy format (`signature-format: legacy` or
// `both` in the sign and attest actions): ClusterPolicy verifyImages does not
// read Sigstore bundles.
//
// The package reads no environment, prints nothing and needs no network.
package kyverno

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

// DefaultName is the ClusterPolicy's name when Options.Name is empty.
const DefaultName = "secure-gates"

// DefaultRekorURL is the transparency log keyless attestors use when
// Options.RekorURL is empty (Kyverno needs one even with IgnoreTlog).
const DefaultRekorURL = "https://rekor.sigstore.dev"

// GitHubIssuer is the OIDC issuer of GitHub Actions, which signs the
// slsa-github-generator provenance.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// SLSAGeneratorSubjectRegexp is the certificate identity of slsa-github-generator's
// container generator at any released version, used when a requirement does not
// pin builder-id.
const SLSAGeneratorSubjectRegexp = `^https://github\.com/slsa-framework/slsa-github-generator/\.github/workflows/generator_container_slsa3\.yml@refs/tags/v[0-9]+\.[0-9]+\.[0-9]+$`

// PredicateSLSAProvenanceV02 is the predicate type slsa-github-generator's
// container generator attests.
const PredicateSLSAProvenanceV02 = "https://slsa.dev/provenance/v0.2"

// Options configures Render.
type Options struct {
	// Name is the ClusterPolicy's metadata.name (default DefaultName).
	Name string
	// ImageReferences are the image patterns the rule applies to (Kyverno
	// wildcards, e.g. "ghcr.io/acme/widgets*"). Required: a policy that names
	// one service's signer must not apply to every image in the cluster.
	ImageReferences []string
	// RekorURL is the transparency log of keyless attestors (default
	// DefaultRekorURL).
	RekorURL string
	// IgnoreTlog accepts signatures without a transparency-log entry (signing
	// with tlog-upload false, or an offline log).
	IgnoreTlog bool
	// IgnoreSCT accepts Fulcio certificates without a certificate-transparency
	// timestamp (a private Fulcio without a CT log).
	IgnoreSCT bool
	// Roots is the PEM of a private Fulcio's root certificates for keyless
	// attestors (empty: the public-good Sigstore roots).
	Roots string
	// TSACertChain is the PEM certificate chain of an RFC 3161 timestamp
	// authority whose timestamps prove the signing time.
	TSACertChain string
	// MaxAgeAtAdmission also renders the requirements' max-age as an admission
	// condition on the predicate's scanFinishedOn (see the package doc).
	MaxAgeAtAdmission bool
	// Environment is the environment of the cluster the policy admits to
	// (e.g. production). A requirement that does not apply to a deploy there
	// (policy.Requirement.AppliesTo: the dast requirement in the cluster of
	// the environment its DAST runs in) is left out and named in the
	// not-enforced annotation. Empty renders every requirement.
	Environment string
}

// Kyverno's ClusterPolicy, the parts this package writes. Field order is the
// output order.
type clusterPolicy struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   metadata `yaml:"metadata"`
	Spec       spec     `yaml:"spec"`
}

type metadata struct {
	Name        string            `yaml:"name"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type spec struct {
	ValidationFailureAction string `yaml:"validationFailureAction"`
	Background              bool   `yaml:"background"`
	FailurePolicy           string `yaml:"failurePolicy"`
	WebhookTimeoutSeconds   int    `yaml:"webhookTimeoutSeconds"`
	Rules                   []rule `yaml:"rules"`
}

type rule struct {
	Name         string        `yaml:"name"`
	Match        match         `yaml:"match"`
	VerifyImages []verifyImage `yaml:"verifyImages"`
}

type match struct {
	Any []resourceFilter `yaml:"any"`
}

type resourceFilter struct {
	Resources resources `yaml:"resources"`
}

type resources struct {
	Kinds []string `yaml:"kinds"`
}

type verifyImage struct {
	ImageReferences []string           `yaml:"imageReferences"`
	FailureAction   string             `yaml:"failureAction"`
	Required        bool               `yaml:"required"`
	MutateDigest    bool               `yaml:"mutateDigest"`
	VerifyDigest    bool               `yaml:"verifyDigest"`
	Attestors       []attestorSet      `yaml:"attestors"`
	Attestations    []attestationEntry `yaml:"attestations,omitempty"`
}

type attestorSet struct {
	Count   int     `yaml:"count"`
	Entries []entry `yaml:"entries"`
}

type entry struct {
	Keys    *keys    `yaml:"keys,omitempty"`
	Keyless *keyless `yaml:"keyless,omitempty"`
}

type keys struct {
	PublicKeys string `yaml:"publicKeys,omitempty"`
	KMS        string `yaml:"kms,omitempty"`
	Rekor      rekor  `yaml:"rekor,omitempty"`
	CTLog      ctlog  `yaml:"ctlog,omitempty"`
}

type keyless struct {
	Issuer               string            `yaml:"issuer"`
	Subject              string            `yaml:"subject,omitempty"`
	SubjectRegExp        string            `yaml:"subjectRegExp,omitempty"`
	Roots                string            `yaml:"roots,omitempty"`
	AdditionalExtensions map[string]string `yaml:"additionalExtensions,omitempty"`
	Rekor                rekor             `yaml:"rekor"`
	CTLog                ctlog             `yaml:"ctlog,omitempty"`
}

type rekor struct {
	URL        string `yaml:"url,omitempty"`
	IgnoreTlog bool   `yaml:"ignoreTlog,omitempty"`
}

type ctlog struct {
	IgnoreSCT    bool   `yaml:"ignoreSCT,omitempty"`
	TSACertChain string `yaml:"tsaCertChain,omitempty"`
}

type attestationEntry struct {
	Type       string        `yaml:"type"`
	Attestors  []attestorSet `yaml:"attestors"`
	Conditions []anyAll      `yaml:"conditions,omitempty"`
}

type anyAll struct {
	All []condition `yaml:"all"`
}

type condition struct {
	Key      string `yaml:"key"`
	Operator string `yaml:"operator"`
	Value    any    `yaml:"value"`
	Message  string `yaml:"message,omitempty"`
}

// repoRe is an owner/name GitHub repository; it keeps policy text out of
// JMESPath string literals.
var repoRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// refRe is a git ref or tag name safe inside a JMESPath literal.
var refRe = regexp.MustCompile(`^[A-Za-z0-9_./+-]+$`)

// Render returns the ClusterPolicy YAML for p (a policy returned by policy.Load
// or policy.Parse, so its key PEMs and predicate types are resolved). An option
// or a policy element Kyverno cannot express faithfully is an input error that
// names it; nothing is silently dropped.
func Render(p *policy.Policy, o Options) ([]byte, error) {
	cp, err := build(p, o)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("rendering the Kyverno policy: %w", err))
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cp); err != nil {
		return nil, fmt.Errorf("encoding the Kyverno policy: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding the Kyverno policy: %w", err)
	}
	return buf.Bytes(), nil
}

func build(p *policy.Policy, o Options) (*clusterPolicy, error) {
	if p == nil {
		return nil, errors.New("no policy")
	}
	if len(o.ImageReferences) == 0 {
		return nil, errors.New("no image references: name the images the policy applies to (e.g. ghcr.io/acme/widgets*)")
	}
	for _, ref := range o.ImageReferences {
		if strings.TrimSpace(ref) == "" || ref == "*" || strings.ContainsAny(ref, " \t\n") {
			return nil, fmt.Errorf("image reference %q: want a registry/repository pattern, not empty or every image", ref)
		}
	}
	name := o.Name
	if name == "" {
		name = DefaultName
	}
	if !regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`).MatchString(name) {
		return nil, fmt.Errorf("name %q is not a Kubernetes object name (lower-case DNS subdomain)", name)
	}
	action := "Enforce"
	switch p.Mode {
	case policy.ModeAudit:
		action = "Audit"
	case policy.ModeEnforce, "":
	default:
		return nil, fmt.Errorf("mode %q: want enforce or audit", p.Mode)
	}
	if len(p.Identities) == 0 {
		return nil, errors.New("identities: the policy names no signer")
	}
	signers, err := attestors(p.Identities, "identities", o)
	if err != nil {
		return nil, err
	}

	var atts []attestationEntry
	notEnforced := []string{}
	for i, r := range p.Require {
		if ok, why := r.AppliesTo(o.Environment); !ok {
			notEnforced = append(notEnforced, fmt.Sprintf("require[%d] (%s): %s", i, r.Type, why))
			continue
		}
		a, err := requirement(r, signers, o)
		if err != nil {
			return nil, fmt.Errorf("require[%d] (%s): %w", i, r.Type, err)
		}
		atts = append(atts, a)
	}

	if p.Exceptions != nil && len(p.Exceptions.Signers) > 0 {
		notEnforced = append(notEnforced, "exceptions (signed waivers do not lower admission's vuln, code-scan and dast conditions)")
	}
	if slices.ContainsFunc(p.Require, policy.Requirement.AcceptsOutageException) {
		notEnforced = append(notEnforced, "scanner-outage exceptions (admission requires the scan itself: an image deployed on an outage exception is admitted once it is scanned)")
	}
	if p.BreakGlass != nil && len(p.BreakGlass.Signers) > 0 {
		notEnforced = append(notEnforced, "break-glass (admit an emergency image with a Kyverno PolicyException)")
	}
	if !o.MaxAgeAtAdmission && slices.ContainsFunc(p.Require, func(r policy.Requirement) bool { return r.MaxAge.Duration > 0 }) {
		notEnforced = append(notEnforced, "max-age (checked at deploy by verify-and-deploy)")
	}
	ann := map[string]string{
		"policies.kyverno.io/title":       "secure-gates supply-chain verification",
		"policies.kyverno.io/category":    "Software Supply Chain Security",
		"policies.kyverno.io/subject":     "Pod",
		"policies.kyverno.io/description": "Admits only images signed by the secure-gates policy's identities and carrying its required attestations. Rendered by `secure-gates policy kyverno`; edit the policy file, not this.",
	}
	if !p.Digest.IsZero() {
		ann["secure-gates.dev/policy-digest"] = p.Digest.String()
	}
	if len(notEnforced) > 0 {
		ann["secure-gates.dev/not-enforced-at-admission"] = strings.Join(notEnforced, "; ")
	}

	return &clusterPolicy{
		APIVersion: "kyverno.io/v1",
		Kind:       "ClusterPolicy",
		Metadata:   metadata{Name: name, Annotations: ann},
		Spec: spec{
			ValidationFailureAction: action,
			Background:              false,
			FailurePolicy:           "Fail",
			WebhookTimeoutSeconds:   30,
			Rules: []rule{{
				Name:  "verify-secure-gates-chain",
				Match: match{Any: []resourceFilter{{Resources: resources{Kinds: []string{"Pod"}}}}},
				VerifyImages: []verifyImage{{
					ImageReferences: slices.Clone(o.ImageReferences),
					FailureAction:   action,
					Required:        true,
					MutateDigest:    false,
					VerifyDigest:    true,
					Attestors:       signers,
					Attestations:    atts,
				}},
			}},
		},
	}, nil
}

// attestors renders identities as one attestor set any one entry of which suffices.
func attestors(ids []policy.Identity, field string, o Options) ([]attestorSet, error) {
	set := attestorSet{Count: 1}
	for i, id := range ids {
		e, err := identityEntry(id, o)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		set.Entries = append(set.Entries, e)
	}
	return []attestorSet{set}, nil
}

func identityEntry(id policy.Identity, o Options) (entry, error) {
	// tlog: required keeps the transparency log checked whatever the options say.
	ignoreTlog := o.IgnoreTlog && !id.RequiresTlog()
	if id.IsKey() {
		k := &keys{Rekor: rekor{URL: o.RekorURL, IgnoreTlog: ignoreTlog}, CTLog: ctlog{IgnoreSCT: o.IgnoreSCT, TSACertChain: o.TSACertChain}}
		if id.RequiresTlog() {
			k.Rekor.URL = rekorURL(o)
		}
		switch {
		case id.IsKMS():
			k.KMS = id.Key
		case len(id.KeyPEM) > 0:
			k.PublicKeys = strings.TrimSpace(string(id.KeyPEM))
		default:
			return entry{}, fmt.Errorf("key %q was not loaded: render a policy returned by policy.Load", id.Key)
		}
		return entry{Keys: k}, nil
	}
	if id.Issuer == "" {
		return entry{}, errors.New("a keyless identity needs an issuer")
	}
	// Kyverno matches issuer and extensions with * and ? wildcards; the pipeline
	// matches them exactly, so a wildcard character would make admission looser.
	if strings.ContainsAny(id.Issuer, "*?") {
		return entry{}, fmt.Errorf("issuer %q holds a wildcard character Kyverno would not match literally", id.Issuer)
	}
	if id.Subject == "" && id.SubjectRegexp == "" {
		return entry{}, errors.New("a keyless identity needs subject or subject-regexp")
	}
	// The pipeline refuses certificates issued to pull_request* triggers unless
	// the identity names one; Kyverno can only require an exact trigger.
	if id.Trigger == "" {
		return entry{}, errors.New("a keyless identity needs a trigger (e.g. push) for admission: Kyverno cannot refuse pull_request certificates otherwise")
	}
	ext := map[string]string{"githubWorkflowTrigger": id.Trigger}
	if id.Repository != "" {
		ext["githubWorkflowRepository"] = id.Repository
	}
	if id.Ref != "" {
		ext["githubWorkflowRef"] = id.Ref
	}
	if id.Workflow != "" {
		ext["githubWorkflowName"] = id.Workflow
	}
	for k, v := range ext {
		if strings.ContainsAny(v, "*?") {
			return entry{}, fmt.Errorf("%s %q holds a wildcard character Kyverno would not match literally", k, v)
		}
	}
	kl := &keyless{
		Issuer:               id.Issuer,
		Subject:              id.Subject,
		SubjectRegExp:        id.SubjectRegexp,
		Roots:                strings.TrimSpace(o.Roots),
		AdditionalExtensions: ext,
		Rekor:                rekor{URL: rekorURL(o), IgnoreTlog: ignoreTlog},
		CTLog:                ctlog{IgnoreSCT: o.IgnoreSCT, TSACertChain: strings.TrimSpace(o.TSACertChain)},
	}
	if id.Subject != "" && strings.ContainsAny(id.Subject, "*?") {
		return entry{}, fmt.Errorf("subject %q holds a wildcard character; use subject-regexp", id.Subject)
	}
	return entry{Keyless: kl}, nil
}

func rekorURL(o Options) string {
	if o.RekorURL != "" {
		return o.RekorURL
	}
	return DefaultRekorURL
}

// severityNames are grype's severity words at or above each cutoff.
var severityNames = map[finding.Severity][]string{
	finding.Critical: {"Critical"},
	finding.High:     {"Critical", "High"},
	finding.Medium:   {"Critical", "High", "Medium"},
	finding.Low:      {"Critical", "High", "Medium", "Low"},
	finding.Info:     {"Critical", "High", "Medium", "Low", "Negligible"},
}

func requirement(r policy.Requirement, signers []attestorSet, o Options) (attestationEntry, error) {
	pt := r.PredicateType
	if pt == "" {
		var err error
		if pt, err = attestation.ResolveType(r.Type); err != nil {
			return attestationEntry{}, err
		}
	}
	a := attestationEntry{Type: pt, Attestors: signers}
	var conds []condition
	switch pt {
	case attestation.PredicateCodeScan:
		conds = append(conds, condition{Key: "{{ decision }}", Operator: "Equals", Value: "pass", Message: "the code-scan attestation's decision is not pass"},
			condition{Key: "{{ length(outages || `[]`) }}", Operator: "Equals", Value: 0, Message: "the code-scan attestation records a scanner that did not run (outage)"})
		if o.MaxAgeAtAdmission && r.MaxAge.Duration > 0 {
			conds = append(conds, maxAge("scanFinishedOn", r))
		}
	case attestation.PredicateDAST:
		conds = append(conds, dastConditions(r)...)
		if o.MaxAgeAtAdmission && r.MaxAge.Duration > 0 {
			conds = append(conds, maxAge("scanFinishedOn || evaluatedOn", r))
		}
	case attestation.PredicateThreatModel:
		conds = append(conds, condition{Key: "{{ result }}", Operator: "Equals", Value: "pass", Message: "the threat-model attestation's result is not pass"})
	case attestation.PredicateVuln:
		if r.Deny != nil {
			names, ok := severityNames[r.Deny.Severity]
			if !ok {
				return attestationEntry{}, fmt.Errorf("deny.severity %q has no grype equivalent", r.Deny.Severity)
			}
			filter := fmt.Sprintf("contains(['%s'], vulnerability.severity)", strings.Join(names, "', '"))
			what := "any"
			if r.Deny.FixedOnly {
				filter += " && vulnerability.fix.state == 'fixed'"
				what = "fixable"
			}
			conds = append(conds, condition{
				Key:      fmt.Sprintf("{{ length(scanner.result.matches[?%s]) }}", filter),
				Operator: "Equals",
				Value:    0,
				Message:  fmt.Sprintf("the vuln attestation lists %s vulnerability at or above %s", what, r.Deny.Severity),
			})
		}
		if o.MaxAgeAtAdmission && r.MaxAge.Duration > 0 {
			conds = append(conds, maxAge("metadata.scanFinishedOn", r))
		}
	case attestation.PredicateCycloneDX:
		conds = append(conds, condition{Key: "{{ bomFormat }}", Operator: "Equals", Value: "CycloneDX", Message: "the cyclonedx attestation is not a CycloneDX BOM"})
	case attestation.PredicateSPDX:
		conds = append(conds, condition{Key: "{{ spdxVersion }}", Operator: "Equals", Value: "SPDX-2.*", Message: "the spdx attestation is not an SPDX 2 document"})
	case attestation.PredicateSLSAProvenance:
		if r.Builder == policy.BuilderSLSAGitHubGenerator {
			return generatorProvenance(r, o)
		}
		if r.SourceRepository != "" {
			if !repoRe.MatchString(r.SourceRepository) {
				return attestationEntry{}, fmt.Errorf("source-repository %q is not owner/name", r.SourceRepository)
			}
			conds = append(conds, condition{
				Key:      "{{ buildDefinition.externalParameters.workflow.repository }}",
				Operator: "Equals",
				Value:    "https://github.com/" + r.SourceRepository,
				Message:  "the provenance's source repository is not " + r.SourceRepository,
			})
		}
	}
	if len(conds) > 0 {
		a.Conditions = []anyAll{{All: conds}}
	}
	return a, nil
}

// dastConditions are the admission conditions of a dast requirement: the
// gate's decision is pass, the scan is of the requirement's environment
// (compared in lower case; the dast gate writes environment names in ASCII
// letters, digits and . _ - /), no outage is recorded, and, with deny, no
// alert at or above the risk is listed, whatever the gate did with it
// (admission applies no exceptions; a rules-file IGNORE is the repository's
// claim).
func dastConditions(r policy.Requirement) []condition {
	env := strings.ToLower(strings.TrimSpace(r.Environment))
	conds := []condition{
		{Key: "{{ decision }}", Operator: "Equals", Value: "pass", Message: "the dast attestation's decision is not pass"},
		{Key: "{{ to_lower(environment) }}", Operator: "Equals", Value: env, Message: "the dast attestation is not of environment " + env},
		{Key: "{{ length(outages || `[]`) }}", Operator: "Equals", Value: 0, Message: "the dast attestation records an incomplete scan (outage)"},
	}
	if r.Deny != nil && r.Deny.Risk != "" {
		var risks []string
		for _, risk := range policy.DASTRisks {
			if policy.DASTRiskRank(risk) >= policy.DASTRiskRank(r.Deny.Risk) {
				risks = append(risks, risk)
			}
		}
		conds = append(conds,
			condition{Key: fmt.Sprintf("{{ length(alerts[?contains(['%s'], risk)]) }}", strings.Join(risks, "', '")), Operator: "Equals", Value: 0,
				Message: "the dast attestation lists an alert at or above risk " + r.Deny.Risk},
			condition{Key: "{{ alertsOmitted || `0` }}", Operator: "Equals", Value: 0,
				Message: "the dast attestation left alerts out (over its cap)"})
	}
	return conds
}

func maxAge(field string, r policy.Requirement) condition {
	return condition{
		Key:      fmt.Sprintf("{{ time_since('', %s, '') }}", field),
		Operator: "DurationLessThanOrEquals",
		Value:    r.MaxAge.String(),
		Message:  "the scan is older than " + r.MaxAge.String(),
	}
}

// generatorProvenance requires slsa-github-generator's provenance (SLSA v0.2),
// signed by the generator's own workflow identity, built from the pinned source.
func generatorProvenance(r policy.Requirement, o Options) (attestationEntry, error) {
	if !repoRe.MatchString(r.SourceRepository) {
		return attestationEntry{}, fmt.Errorf("source-repository %q is not owner/name", r.SourceRepository)
	}
	kl := &keyless{
		Issuer:               GitHubIssuer,
		Roots:                strings.TrimSpace(o.Roots),
		AdditionalExtensions: map[string]string{"githubWorkflowRepository": r.SourceRepository},
		Rekor:                rekor{URL: rekorURL(o), IgnoreTlog: o.IgnoreTlog},
		CTLog:                ctlog{IgnoreSCT: o.IgnoreSCT, TSACertChain: strings.TrimSpace(o.TSACertChain)},
	}
	if r.BuilderID != "" {
		if strings.ContainsAny(r.BuilderID, "*?") {
			return attestationEntry{}, fmt.Errorf("builder-id %q holds a wildcard character", r.BuilderID)
		}
		kl.Subject = r.BuilderID
	} else {
		kl.SubjectRegExp = SLSAGeneratorSubjectRegexp
	}
	src := "git+https://github.com/" + r.SourceRepository + "@"
	cond := condition{Key: "{{ invocation.configSource.uri }}", Operator: "Equals", Value: src + "*", Message: "the provenance's source is not " + r.SourceRepository}
	switch {
	case r.SourceBranch != "":
		if !refRe.MatchString(r.SourceBranch) {
			return attestationEntry{}, fmt.Errorf("source-branch %q is not a branch name", r.SourceBranch)
		}
		cond.Value = src + "refs/heads/" + strings.TrimPrefix(r.SourceBranch, "refs/heads/")
		cond.Message = "the provenance's source is not " + r.SourceRepository + " branch " + r.SourceBranch
	case r.SourceTag != "":
		if !refRe.MatchString(r.SourceTag) {
			return attestationEntry{}, fmt.Errorf("source-tag %q is not a tag name", r.SourceTag)
		}
		cond.Value = src + "refs/tags/" + strings.TrimPrefix(r.SourceTag, "refs/tags/")
		cond.Message = "the provenance's source is not " + r.SourceRepository + " tag " + r.SourceTag
	}
	return attestationEntry{
		Type:       PredicateSLSAProvenanceV02,
		Attestors:  []attestorSet{{Count: 1, Entries: []entry{{Keyless: kl}}}},
		Conditions: []anyAll{{All: []condition{cond}}},
	}, nil
}

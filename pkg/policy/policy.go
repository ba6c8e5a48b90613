// Package policy loads and validates the verify-and-deploy policy file
// (.secure-gates/policy.yaml): who may sign an image and its attestations, which
// attestations a digest must carry and the conditions they must meet, who may
// sign exceptions and break-glass, and whether the gate enforces or audits.
//
// The YAML schema is a public contract — the verify-and-deploy gate, the Kyverno
// renderer and outside tests read it — so its field names never change; new
// fields are only added. The Go types mirror it one to one: every field has a
// `yaml` tag with the schema's name and a `json` tag with the same name, and the
// fields Load computes (resolved predicate types, parsed keys, the file's digest)
// are marked `yaml:"-" json:"-"`.
//
// Load is strict: an unknown field, a duplicate key, an unknown predicate type,
// an identity that pins nothing (an empty or unanchored subject-regexp), a
// pull_request trigger not listed explicitly or a break-glass ttl over 24 hours
// are input errors (pkg/errkind, exit code 2) that name the field.
//
// The package reads no environment, prints nothing and needs no network.
package policy

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
)

// APIVersion and Kind are the only values the policy header accepts.
const (
	APIVersion = "secure-gates/v1"
	Kind       = "Policy"
)

// MaxPolicyBytes caps the policy file.
const MaxPolicyBytes = 1 << 20

// MaxBreakGlassTTL is the longest break-glass window a policy may allow.
const MaxBreakGlassTTL = 24 * time.Hour

// MaxKeyBytes caps a public key file named by an identity.
const MaxKeyBytes = 64 << 10

// Mode says whether a failed verification blocks the deploy.
type Mode string

// The modes. An empty mode in the file means ModeEnforce (fail closed).
const (
	// ModeEnforce blocks the deploy when a requirement fails.
	ModeEnforce Mode = "enforce"
	// ModeAudit verifies and reports, and never blocks.
	ModeAudit Mode = "audit"
)

// The Requirement.OnScannerOutage values.
const (
	// OutageFail fails a requirement whose scanner did not run (the default).
	OutageFail = "fail"
	// OutageException accepts a signed outage exception in place of the scan.
	OutageException = "exception"
)

// OutageFindingID is the finding id an exception lists to waive a scanner
// outage of a required predicate type: "outage:" + the type's short name
// ("outage:vuln", "outage:code-scan"). The type's URI after "outage:" is
// accepted too.
func OutageFindingID(shortName string) string { return "outage:" + shortName }

// AcceptsOutageException reports whether a scanner outage of r may be waived by a
// signed outage exception.
func (r Requirement) AcceptsOutageException() bool { return r.OnScannerOutage == OutageException }

// BuilderSLSAGitHubGenerator is the Requirement.Builder value that asks for
// provenance made by slsa-github-generator (SLSA Build L3), verified with
// slsa-verifier.
const BuilderSLSAGitHubGenerator = "slsa-github-generator"

// KMSSchemes are the key URI schemes an identity's key may use instead of a PEM
// file (sigstore's KMS providers).
var KMSSchemes = []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://", "openbao://"}

// Policy is the whole policy file.
type Policy struct {
	// APIVersion must be APIVersion ("secure-gates/v1").
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	// Kind must be Kind ("Policy").
	Kind string `yaml:"kind" json:"kind"`
	// Mode is enforce (the default) or audit.
	Mode Mode `yaml:"mode,omitempty" json:"mode,omitempty"`
	// EnforceEnvironments are the environments audit mode is refused for.
	EnforceEnvironments []string `yaml:"enforce-environments,omitempty" json:"enforce-environments,omitempty"`
	// Identities may sign the image and its attestations; any one suffices.
	Identities []Identity `yaml:"identities" json:"identities"`
	// Require lists the attestations the digest must carry.
	Require []Requirement `yaml:"require,omitempty" json:"require,omitempty"`
	// Exceptions names who may sign exception (waiver) attestations.
	Exceptions *Signers `yaml:"exceptions,omitempty" json:"exceptions,omitempty"`
	// BreakGlass names who may sign an emergency image, and for how long it passes.
	BreakGlass *BreakGlass `yaml:"break-glass,omitempty" json:"break-glass,omitempty"`

	// Source is the path the policy was loaded from (set by Load).
	Source string `yaml:"-" json:"-"`
	// Digest is the sha256 of the policy file's bytes (set by Load).
	Digest attestation.Digest `yaml:"-" json:"-"`
}

// Identity is one signer the policy trusts: either a key, or a keyless
// (Fulcio certificate) identity given by issuer and subject, optionally pinned
// further by GitHub's certificate extensions.
type Identity struct {
	// Key is a PEM public key file (relative to the policy's base folder) or a
	// KMS URI (KMSSchemes). Exclusive with the keyless fields.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// Issuer is the OIDC issuer, matched exactly.
	Issuer string `yaml:"issuer,omitempty" json:"issuer,omitempty"`
	// Subject is the certificate identity, matched exactly.
	Subject string `yaml:"subject,omitempty" json:"subject,omitempty"`
	// SubjectRegexp is the certificate identity as a regular expression anchored
	// with ^ and $.
	SubjectRegexp string `yaml:"subject-regexp,omitempty" json:"subject-regexp,omitempty"`
	// Repository pins the GitHub repository extension (owner/name).
	Repository string `yaml:"repository,omitempty" json:"repository,omitempty"`
	// Ref pins the GitHub ref extension (refs/heads/main).
	Ref string `yaml:"ref,omitempty" json:"ref,omitempty"`
	// Workflow pins the GitHub workflow name extension.
	Workflow string `yaml:"workflow,omitempty" json:"workflow,omitempty"`
	// Trigger pins the GitHub event extension (push, release, ...). A
	// pull_request or pull_request_target trigger is accepted only when named
	// here; an identity without a trigger refuses certificates issued to them.
	Trigger string `yaml:"trigger,omitempty" json:"trigger,omitempty"`
	// Tlog is TlogRequired or empty (TlogOptional). A key identity accepts a
	// signature without a transparency-log entry unless it is required; a
	// keyless identity always needs a verified transparency-log entry or a
	// signed timestamp, and with TlogRequired needs the log entry.
	Tlog string `yaml:"tlog,omitempty" json:"tlog,omitempty"`

	// KeyPEM is the PEM of the public key named by Key (set by Load for files;
	// empty for KMS URIs).
	KeyPEM []byte `yaml:"-" json:"-"`
	// PublicKey is the parsed key named by Key (set by Load for files).
	PublicKey crypto.PublicKey `yaml:"-" json:"-"`
}

// Values of Identity.Tlog.
const (
	// TlogRequired accepts a signature only with a transparency-log entry
	// verified against the trusted root's Rekor log.
	TlogRequired = "required"
	// TlogOptional is the default: a key signature needs no log entry; a
	// keyless one needs a log entry or a signed timestamp.
	TlogOptional = "optional"
)

// RequiresTlog reports whether the identity requires a transparency-log entry.
func (id Identity) RequiresTlog() bool { return id.Tlog == TlogRequired }

// IsKey reports whether the identity is key-based.
func (id Identity) IsKey() bool { return id.Key != "" }

// IsKMS reports whether the identity's key is a KMS URI.
func (id Identity) IsKMS() bool {
	for _, s := range KMSSchemes {
		if strings.HasPrefix(id.Key, s) {
			return true
		}
	}
	return false
}

// String describes the identity for reports.
func (id Identity) String() string {
	tlog := ""
	if id.RequiresTlog() {
		tlog = ", tlog required"
	}
	if id.IsKey() {
		return "key " + id.Key + tlog
	}
	s := "issuer " + id.Issuer
	if id.Subject != "" {
		s += ", subject " + id.Subject
	} else {
		s += ", subject ~ " + id.SubjectRegexp
	}
	for _, kv := range [][2]string{{"repository", id.Repository}, {"ref", id.Ref}, {"workflow", id.Workflow}, {"trigger", id.Trigger}} {
		if kv[1] != "" {
			s += ", " + kv[0] + " " + kv[1]
		}
	}
	return s + tlog
}

// Requirement is one attestation the digest must carry, with its conditions.
type Requirement struct {
	// Type is a short name from pkg/attestation ("vuln") or a full predicate URI.
	Type string `yaml:"type" json:"type"`
	// MaxAge bounds the age of a vuln or code-scan attestation's scan.
	MaxAge Duration `yaml:"max-age,omitempty" json:"max-age,omitzero"`
	// Deny fails a vuln attestation that has findings at or above a severity.
	Deny *Deny `yaml:"deny,omitempty" json:"deny,omitempty"`
	// SourceRepository pins the source repository (owner/name) of slsaprovenance.
	SourceRepository string `yaml:"source-repository,omitempty" json:"source-repository,omitempty"`
	// Builder, for slsaprovenance, is empty (the project's own provenance, checked
	// natively) or BuilderSLSAGitHubGenerator (verified with slsa-verifier; then
	// SourceRepository is required).
	Builder string `yaml:"builder,omitempty" json:"builder,omitempty"`
	// BuilderID pins slsa-verifier's --builder-id.
	BuilderID string `yaml:"builder-id,omitempty" json:"builder-id,omitempty"`
	// SourceBranch pins slsa-verifier's --source-branch.
	SourceBranch string `yaml:"source-branch,omitempty" json:"source-branch,omitempty"`
	// SourceTag pins slsa-verifier's --source-tag.
	SourceTag string `yaml:"source-tag,omitempty" json:"source-tag,omitempty"`
	// OnScannerOutage, for vuln and code-scan, says what a scanner outage does to
	// the requirement: OutageFail (the default) fails it; OutageException lets a
	// signed outage exception stand in for the missing scan — an exception
	// attestation by an exceptions signer, unexpired and in scope, whose findings
	// list OutageFindingID of this type (the seed's "fail open, page security,
	// record the skip as a signed exception").
	OnScannerOutage string `yaml:"on-scanner-outage,omitempty" json:"on-scanner-outage,omitempty"`

	// PredicateType is Type resolved to its URI (set by Load).
	PredicateType string `yaml:"-" json:"-"`
}

// Deny is the vulnerability condition of a vuln requirement.
type Deny struct {
	// Severity is the cutoff: findings at or above it fail, after exceptions.
	Severity finding.Severity `yaml:"severity" json:"severity"`
	// FixedOnly counts only findings with a known fix.
	FixedOnly bool `yaml:"fixed-only,omitempty" json:"fixed-only,omitempty"`
}

// Signers lists identities allowed to sign a kind of attestation.
type Signers struct {
	// Signers are the allowed identities (same forms as Policy.Identities).
	Signers []Identity `yaml:"signers" json:"signers"`
	// MaxLifetime bounds how long after its trusted signing time an exception
	// (or a signed VEX document) may waive: an exception expiring later is
	// refused. Default DefaultExceptionLifetime (90 days), at most
	// MaxExceptionLifetime (365 days); see Lifetime.
	MaxLifetime Duration `yaml:"max-lifetime,omitempty" json:"max-lifetime,omitzero"`
	// MaxOutageLifetime is the same bound for scanner-outage exceptions.
	// Default DefaultOutageLifetime (72 hours), at most MaxOutageLifetime
	// (7 days); see OutageLifetime.
	MaxOutageLifetime Duration `yaml:"max-outage-lifetime,omitempty" json:"max-outage-lifetime,omitzero"`
}

// BreakGlass lets an emergency image signed by one of Signers through the
// signature requirement within TTL of its trusted signing time.
type BreakGlass struct {
	// Signers are the break-glass identities.
	Signers []Identity `yaml:"signers" json:"signers"`
	// TTL is how long after its trusted signing time a break-glass signature
	// passes; at most MaxBreakGlassTTL.
	TTL Duration `yaml:"ttl" json:"ttl,omitzero"`
}

// Duration is a time.Duration written as Go duration text ("24h", "90m").
type Duration struct {
	time.Duration
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: a duration is text such as 24h or 90m", n.Line)
	}
	v, err := parseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: %q is not a positive duration such as 24h, 90m or 30d", n.Line, s)
	}
	d.Duration = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalText implements encoding.TextMarshaler (JSON form).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// IsZero reports an unset duration (for omitempty).
func (d Duration) IsZero() bool { return d.Duration == 0 }

// Options configures Load.
type Options struct {
	// BaseDir resolves relative key paths (default: the working directory).
	// Key files must stay inside it.
	BaseDir string
}

// Load reads, parses and validates the policy file at path. Every error is an
// input error naming the file and the field.
func Load(path string, opts Options) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("reading policy %s: %w", path, err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPolicyBytes+1))
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("reading policy %s: %w", path, err))
	}
	if len(data) > MaxPolicyBytes {
		return nil, errkind.Input(fmt.Errorf("policy %s is larger than %d bytes", path, MaxPolicyBytes))
	}
	p, err := Parse(data, opts)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("policy %s: %w", path, err))
	}
	p.Source = path
	return p, nil
}

// Parse parses and validates a policy from its bytes (see Load).
func Parse(data []byte, opts Options) (*Policy, error) {
	if len(data) > MaxPolicyBytes {
		return nil, errkind.Input(fmt.Errorf("policy is larger than %d bytes", MaxPolicyBytes))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errkind.Input(errors.New("policy is empty"))
		}
		return nil, errkind.Input(fmt.Errorf("parsing: %s", fieldNames(err.Error())))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errkind.Input(errors.New("policy holds more than one YAML document"))
	}
	p.Digest = attestation.DigestOf(data)
	if err := p.validate(opts); err != nil {
		return nil, errkind.Input(err)
	}
	return &p, nil
}

var yamlTypeName = regexp.MustCompile(`in type policy\.(\w+)`)

// fieldNames rewrites yaml.v3's "field x not found in type policy.Identity" into
// the schema's words.
func fieldNames(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = yamlTypeName.ReplaceAllStringFunc(msg, func(m string) string {
		switch yamlTypeName.FindStringSubmatch(m)[1] {
		case "Policy":
			return "at the top level (known: apiVersion, kind, mode, enforce-environments, identities, require, exceptions, break-glass)"
		case "Identity":
			return "in an identity (known: key, issuer, subject, subject-regexp, repository, ref, workflow, trigger)"
		case "Requirement":
			return "in a require entry (known: type, max-age, deny, source-repository, builder, builder-id, source-branch, source-tag, on-scanner-outage)"
		case "Deny":
			return "in deny (known: severity, fixed-only)"
		case "Signers":
			return "in exceptions (known: signers, max-lifetime, max-outage-lifetime)"
		case "BreakGlass":
			return "in break-glass (known: signers, ttl)"
		}
		return m
	})
	return strings.ReplaceAll(msg, " not found ", " is unknown ")
}

func (p *Policy) validate(opts Options) error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if p.APIVersion != APIVersion {
		add("apiVersion", "is %q, want %q", p.APIVersion, APIVersion)
	}
	if p.Kind != Kind {
		add("kind", "is %q, want %q", p.Kind, Kind)
	}
	switch p.Mode {
	case "":
		p.Mode = ModeEnforce
	case ModeEnforce, ModeAudit:
	default:
		add("mode", "is %q, want enforce or audit", p.Mode)
	}
	for i, e := range p.EnforceEnvironments {
		if strings.TrimSpace(e) == "" {
			add(fmt.Sprintf("enforce-environments[%d]", i), "is empty")
		}
	}
	if len(p.Identities) == 0 {
		add("identities", "at least one identity is required (a key, or an issuer with a subject)")
	}
	for i := range p.Identities {
		errs = append(errs, validateIdentity(fmt.Sprintf("identities[%d]", i), &p.Identities[i], opts)...)
	}
	seen := map[string]int{}
	for i := range p.Require {
		r := &p.Require[i]
		field := fmt.Sprintf("require[%d]", i)
		uri, err := attestation.ResolveType(r.Type)
		if err != nil {
			add(field+".type", "%v", err)
			continue
		}
		r.PredicateType = uri
		key := uri + "|" + r.Builder
		if j, dup := seen[key]; dup {
			add(field+".type", "%q is already required by require[%d]", r.Type, j)
		}
		seen[key] = i
		errs = append(errs, validateRequirement(field, r)...)
	}
	for i, r := range p.Require {
		if r.AcceptsOutageException() && (p.Exceptions == nil || len(p.Exceptions.Signers) == 0) {
			add(fmt.Sprintf("require[%d].on-scanner-outage", i), "exception needs exceptions.signers: someone must be allowed to sign the outage exception")
		}
	}
	if p.Exceptions != nil {
		if len(p.Exceptions.Signers) == 0 {
			add("exceptions.signers", "at least one signer is required (or remove exceptions)")
		}
		for i := range p.Exceptions.Signers {
			errs = append(errs, validateIdentity(fmt.Sprintf("exceptions.signers[%d]", i), &p.Exceptions.Signers[i], opts)...)
		}
		errs = append(errs, validateLifetimes(p.Exceptions)...)
	}
	if bg := p.BreakGlass; bg != nil {
		if len(bg.Signers) == 0 {
			add("break-glass.signers", "at least one signer is required (or remove break-glass)")
		}
		for i := range bg.Signers {
			errs = append(errs, validateIdentity(fmt.Sprintf("break-glass.signers[%d]", i), &bg.Signers[i], opts)...)
		}
		switch {
		case bg.TTL.Duration <= 0:
			add("break-glass.ttl", "is required (a duration up to %s)", MaxBreakGlassTTL)
		case bg.TTL.Duration > MaxBreakGlassTTL:
			add("break-glass.ttl", "is %s, more than the %s allowed", bg.TTL.Duration, MaxBreakGlassTTL)
		}
	}
	return errors.Join(errs...)
}

func validateRequirement(field string, r *Requirement) []error {
	var errs []error
	add := func(sub, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", field, sub, fmt.Sprintf(format, args...)))
	}
	if !r.MaxAge.IsZero() && r.PredicateType != attestation.PredicateVuln && r.PredicateType != attestation.PredicateCodeScan {
		add("max-age", "applies to vuln and code-scan only, not %s", r.Type)
	}
	if r.Deny != nil {
		if r.PredicateType != attestation.PredicateVuln {
			add("deny", "applies to vuln only, not %s", r.Type)
		}
		sev, err := finding.ParseSeverity(string(r.Deny.Severity))
		if err != nil || sev == finding.Unknown || sev == finding.Info {
			add("deny.severity", "is %q, want one of critical, high, medium, low", r.Deny.Severity)
		} else {
			r.Deny.Severity = sev
		}
	}
	switch r.OnScannerOutage {
	case "", OutageFail:
	case OutageException:
		if r.PredicateType != attestation.PredicateVuln && r.PredicateType != attestation.PredicateCodeScan {
			add("on-scanner-outage", "applies to vuln and code-scan only, not %s", r.Type)
		}
	default:
		add("on-scanner-outage", "is %q, want %s (the default) or %s", r.OnScannerOutage, OutageFail, OutageException)
	}
	isProv := r.PredicateType == attestation.PredicateSLSAProvenance
	if r.SourceRepository != "" && !isProv {
		add("source-repository", "applies to slsaprovenance only, not %s", r.Type)
	}
	if r.SourceRepository != "" && !repoName.MatchString(r.SourceRepository) {
		add("source-repository", "is %q, want owner/name", r.SourceRepository)
	}
	switch r.Builder {
	case "":
		for sub, v := range map[string]string{"builder-id": r.BuilderID, "source-branch": r.SourceBranch, "source-tag": r.SourceTag} {
			if v != "" {
				add(sub, "needs builder: %s", BuilderSLSAGitHubGenerator)
			}
		}
	case BuilderSLSAGitHubGenerator:
		if !isProv {
			add("builder", "applies to slsaprovenance only, not %s", r.Type)
		}
		if r.SourceRepository == "" {
			add("source-repository", "is required with builder: %s (slsa-verifier needs --source-uri)", BuilderSLSAGitHubGenerator)
		}
		if r.SourceBranch != "" && r.SourceTag != "" {
			add("source-tag", "give source-branch or source-tag, not both")
		}
	default:
		add("builder", "is %q, want empty (the project's own provenance) or %s", r.Builder, BuilderSLSAGitHubGenerator)
	}
	return errs
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

func validateIdentity(field string, id *Identity, opts Options) []error {
	var errs []error
	add := func(sub, format string, args ...any) {
		f := field
		if sub != "" {
			f += "." + sub
		}
		errs = append(errs, fmt.Errorf("%s: %s", f, fmt.Sprintf(format, args...)))
	}
	keyless := id.Issuer != "" || id.Subject != "" || id.SubjectRegexp != "" ||
		id.Repository != "" || id.Ref != "" || id.Workflow != "" || id.Trigger != ""
	switch id.Tlog {
	case "", TlogRequired:
	case TlogOptional:
		if keyless {
			add("tlog", "optional cannot relax a keyless identity: a certificate is accepted only with a verified transparency-log entry or a signed timestamp; remove tlog (or set tlog: required to demand the log entry)")
		}
	default:
		add("tlog", "is %q, want %q (or leave it out: %s)", id.Tlog, TlogRequired, TlogOptional)
	}
	if id.Key != "" {
		if keyless {
			add("", "give either key or issuer/subject, not both")
			return errs
		}
		if id.IsKMS() {
			return errs
		}
		if strings.Contains(id.Key, "://") {
			add("key", "%q: a key is a PEM file path or a KMS URI (%s)", id.Key, strings.Join(KMSSchemes, ", "))
			return errs
		}
		pem, pub, err := readKey(id.Key, opts.BaseDir)
		if err != nil {
			add("key", "%v", err)
			return errs
		}
		id.KeyPEM, id.PublicKey = pem, pub
		return errs
	}
	if id.Issuer == "" {
		add("issuer", "is required for a keyless identity (or give key)")
	} else if !strings.HasPrefix(id.Issuer, "https://") && !strings.HasPrefix(id.Issuer, "http://") {
		add("issuer", "is %q, want the issuer URL (matched exactly)", id.Issuer)
	}
	switch {
	case id.Subject != "" && id.SubjectRegexp != "":
		add("subject-regexp", "give subject (exact) or subject-regexp, not both")
	case id.Subject == "" && id.SubjectRegexp == "":
		add("subject-regexp", "is empty: give subject (exact) or a subject-regexp anchored with ^ and $")
	case id.SubjectRegexp != "":
		if err := checkAnchored(id.SubjectRegexp); err != nil {
			add("subject-regexp", "%v", err)
		}
	}
	if id.Repository != "" && !repoName.MatchString(id.Repository) {
		add("repository", "is %q, want owner/name", id.Repository)
	}
	if id.Ref != "" && !strings.HasPrefix(id.Ref, "refs/") {
		add("ref", "is %q, want a full ref such as refs/heads/main", id.Ref)
	}
	return errs
}

// checkAnchored accepts a regular expression that compiles and is anchored at
// both ends, so that a subject cannot match by containing the pattern.
func checkAnchored(re string) error {
	if _, err := regexp.Compile(re); err != nil {
		return fmt.Errorf("does not compile: %v", err)
	}
	if !strings.HasPrefix(re, "^") || !strings.HasSuffix(re, "$") || strings.HasSuffix(re, `\$`) {
		return fmt.Errorf("%q is not anchored: it must start with ^ and end with $", re)
	}
	// A top-level alternation (^a$|b) would leave one branch unanchored.
	if strings.Contains(re, "$|") || strings.Contains(re, "|^") {
		return fmt.Errorf("%q: a top-level | leaves a branch unanchored; group it as ^(a|b)$", re)
	}
	return nil
}

// IsPullRequestTrigger reports whether a GitHub event name is one of the
// pull_request family, which a policy must list explicitly to accept.
func IsPullRequestTrigger(event string) bool {
	return strings.HasPrefix(event, "pull_request")
}

// AllowsAudit reports whether audit mode may run for environment.
func (p *Policy) AllowsAudit(environment string) bool {
	for _, e := range p.EnforceEnvironments {
		if e == environment {
			return false
		}
	}
	return true
}

// Requirement returns the requirement of a predicate type URI, if any.
func (p *Policy) Requirement(predicateType string) (Requirement, bool) {
	for _, r := range p.Require {
		if r.PredicateType == predicateType {
			return r, true
		}
	}
	return Requirement{}, false
}

func readKey(path, base string) ([]byte, crypto.PublicKey, error) {
	full := path
	if !filepath.IsAbs(path) {
		if base == "" {
			base = "."
		}
		full = filepath.Join(base, path)
		rel, err := filepath.Rel(base, full)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, nil, fmt.Errorf("%q leaves the policy's folder", path)
		}
	}
	f, err := os.Open(full)
	if err != nil {
		return nil, nil, fmt.Errorf("reading public key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeyBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading public key %s: %w", path, err)
	}
	if len(data) > MaxKeyBytes {
		return nil, nil, fmt.Errorf("public key %s is larger than %d bytes", path, MaxKeyBytes)
	}
	pub, err := ParsePublicKeyPEM(data)
	if err != nil {
		return nil, nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return data, pub, nil
}

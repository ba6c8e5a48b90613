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
// Load compiles the policy rather than just parsing it. The file must be a strict
// YAML subset (no tags, anchors, aliases or merge keys); an unknown field, a
// duplicate key, an unknown predicate type, a subject-regexp that is not anchored
// as a whole (checked on its regexp/syntax tree), an issuer that is not an exact
// https URL, an empty require list in enforce mode, a key path that leaves the
// base folder, or a break-glass ttl over 24 hours are input errors (pkg/errkind,
// exit code 2). Each is a FieldError naming the field, its line, the value and
// the fix; Problems takes a load error apart. Lint reports what is legal but
// dangerous, and EffectiveMode decides the mode of a deploy to an environment.
//
// The package reads no environment, prints nothing and needs no network.
package policy

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/readfile"
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

	// lines maps field paths to their lines in the file (set by Parse).
	lines fieldIndex
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
	// MaxAge bounds the age of a vuln, code-scan or dast attestation's scan.
	MaxAge Duration `yaml:"max-age,omitempty" json:"max-age,omitzero"`
	// Deny fails a vuln attestation that has findings at or above a severity,
	// or a dast attestation that has alerts at or above a risk.
	Deny *Deny `yaml:"deny,omitempty" json:"deny,omitempty"`
	// Environment, for dast (required there), is the environment whose DAST
	// counts, e.g. "staging": only a dast attestation whose environment is the
	// same name (SameEnvironment) satisfies the requirement, and a deploy to
	// that environment itself does not need it (AppliesTo).
	Environment string `yaml:"environment,omitempty" json:"environment,omitempty"`
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
	// OnScannerOutage, for vuln, code-scan and dast, says what a scanner outage does to
	// the requirement: OutageFail (the default) fails it; OutageException lets a
	// signed outage exception stand in for the missing scan — an exception
	// attestation by an exceptions signer, unexpired and in scope, whose findings
	// list OutageFindingID of this type (the seed's "fail open, page security,
	// record the skip as a signed exception").
	OnScannerOutage string `yaml:"on-scanner-outage,omitempty" json:"on-scanner-outage,omitempty"`

	// PredicateType is Type resolved to its URI (set by Load).
	PredicateType string `yaml:"-" json:"-"`
}

// Deny is the condition of a vuln requirement (Severity, FixedOnly) or of a
// dast requirement (Risk).
type Deny struct {
	// Severity, for vuln, is the cutoff: findings at or above it fail, after
	// exceptions.
	Severity finding.Severity `yaml:"severity,omitempty" json:"severity,omitempty"`
	// FixedOnly, for vuln, counts only findings with a known fix.
	FixedOnly bool `yaml:"fixed-only,omitempty" json:"fixed-only,omitempty"`
	// Risk, for dast, is the cutoff: alerts at or above it (one of DASTRisks)
	// fail, whatever the dast gate did with them (ZAP rules-file IGNORE or
	// WARN, the repository's exceptions file), unless a signed exception
	// waives them.
	Risk string `yaml:"risk,omitempty" json:"risk,omitempty"`
}

// DASTRisks are the values of Deny.Risk, highest first (the dast predicate's
// alert risks).
var DASTRisks = []string{"critical", "high", "medium", "low", "informational"}

// DASTRiskRank ranks a dast risk: 5 for critical down to 1 for informational,
// 0 for anything else.
func DASTRiskRank(risk string) int {
	for i, r := range DASTRisks {
		if r == risk {
			return len(DASTRisks) - i
		}
	}
	return 0
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
	// Root, when set, is the absolute workspace the policy file may lie in:
	// a policy file inside it is read through readfile.InTree, so a symbolic
	// link leaving the workspace is an input error.
	Root string
}

// Load reads, parses and validates the policy file at path. Every error is an
// input error naming the file and the field.
func Load(path string, opts Options) (*Policy, error) {
	var data []byte
	var err error
	if opts.Root != "" {
		data, err = readfile.InTree(opts.Root, path, MaxPolicyBytes)
	} else {
		data, err = readfile.Bounded(path, MaxPolicyBytes)
	}
	if errors.Is(err, readfile.ErrTooLarge) {
		return nil, errkind.Input(fmt.Errorf("policy %s is larger than %d bytes", path, MaxPolicyBytes))
	}
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("reading policy %s: %w", path, err))
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
	// First the document as a tree: it must be the strict subset (no tags,
	// anchors, aliases or merge keys) before anything is decoded from it.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errkind.Input(fmt.Errorf("parsing: %s", fieldNames(err.Error())))
	}
	if doc.Kind == 0 {
		return nil, errkind.Input(errors.New("policy is empty"))
	}
	idx := indexFields(&doc)
	if errs := checkStrict(&doc); len(errs) > 0 {
		return nil, errkind.Input(errors.Join(errs...))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errkind.Input(errors.New("policy is empty"))
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			errs := make([]error, 0, len(te.Errors))
			for _, e := range te.Errors {
				errs = append(errs, &FieldError{Line: lineOf(e), Msg: fieldNames(e)})
			}
			return nil, errkind.Input(fmt.Errorf("parsing: %w", errors.Join(errs...)))
		}
		return nil, errkind.Input(fmt.Errorf("parsing: %s", fieldNames(err.Error())))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errkind.Input(errors.New("policy holds more than one YAML document"))
	}
	p.Digest = attestation.DigestOf(data)
	p.lines = idx
	if err := p.validate(opts); err != nil {
		return nil, errkind.Input(err)
	}
	return &p, nil
}

// Line returns the line of the policy file a field is on ("mode",
// "identities[0].subject-regexp"), or of the nearest enclosing field the file
// spells out; 0 when unknown (a policy not made by Parse).
func (p *Policy) Line(field string) int { return p.lines.line(field) }

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
			return "in a require entry (known: type, max-age, deny, environment, source-repository, builder, builder-id, source-branch, source-tag, on-scanner-outage)"
		case "Deny":
			return "in deny (known: severity, fixed-only for vuln; risk for dast)"
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
	v := &validator{idx: p.lines, opts: opts}
	if p.APIVersion != APIVersion {
		v.add("apiVersion", "is %q, want %q", p.APIVersion, APIVersion)
	}
	if p.Kind != Kind {
		v.add("kind", "is %q, want %q", p.Kind, Kind)
	}
	switch p.Mode {
	case "":
		p.Mode = ModeEnforce
	case ModeEnforce, ModeAudit:
	default:
		v.add("mode", "is %q, want enforce or audit", p.Mode)
	}
	for i, e := range p.EnforceEnvironments {
		if strings.TrimSpace(e) == "" {
			v.add(fmt.Sprintf("enforce-environments[%d]", i), "is empty: name a GitHub environment (compared case-insensitively) or remove the entry")
		}
	}
	if len(p.Identities) == 0 {
		v.add("identities", "at least one identity is required (a key, or an issuer with a subject)")
	}
	for i := range p.Identities {
		v.identity(fmt.Sprintf("identities[%d]", i), &p.Identities[i])
	}
	if len(p.Require) == 0 && p.Mode == ModeEnforce {
		v.add("require", "is empty in enforce mode, so any signed image would pass: list the attestations the digest must carry "+
			"(e.g. `require: [{type: slsaprovenance, source-repository: owner/name}, {type: vuln, max-age: 24h, deny: {severity: critical}}]`)")
	}
	seen := map[string]int{}
	for i := range p.Require {
		r := &p.Require[i]
		field := fmt.Sprintf("require[%d]", i)
		uri, err := attestation.ResolveType(r.Type)
		if err != nil {
			v.add(field+".type", "%v", err)
			continue
		}
		r.PredicateType = uri
		key := uri + "|" + r.Builder
		if j, dup := seen[key]; dup {
			v.add(field+".type", "%q is already required by require[%d]: merge the two entries", r.Type, j)
		}
		seen[key] = i
		v.requirement(field, r)
	}
	for i, r := range p.Require {
		if r.AcceptsOutageException() && (p.Exceptions == nil || len(p.Exceptions.Signers) == 0) {
			v.add(fmt.Sprintf("require[%d].on-scanner-outage", i), "exception needs exceptions.signers: someone must be allowed to sign the outage exception")
		}
	}
	if p.Exceptions != nil {
		if len(p.Exceptions.Signers) == 0 {
			v.add("exceptions.signers", "at least one signer is required (or remove exceptions)")
		}
		for i := range p.Exceptions.Signers {
			v.identity(fmt.Sprintf("exceptions.signers[%d]", i), &p.Exceptions.Signers[i])
		}
		for _, e := range validateLifetimes(p.Exceptions) {
			// "field: message" → a FieldError with the field's line.
			field, msg, _ := strings.Cut(e.Error(), ": ")
			v.errs = append(v.errs, &FieldError{Field: field, Line: v.idx.line(field), Msg: msg})
		}
	}
	if bg := p.BreakGlass; bg != nil {
		if len(bg.Signers) == 0 {
			v.add("break-glass.signers", "at least one signer is required (or remove break-glass)")
		}
		for i := range bg.Signers {
			v.identity(fmt.Sprintf("break-glass.signers[%d]", i), &bg.Signers[i])
		}
		switch {
		case bg.TTL.Duration <= 0:
			v.add("break-glass.ttl", "is required (a duration up to %s)", MaxBreakGlassTTL)
		case bg.TTL.Duration > MaxBreakGlassTTL:
			v.add("break-glass.ttl", "is %s, more than the %s allowed", bg.TTL.Duration, MaxBreakGlassTTL)
		}
	}
	return errors.Join(v.errs...)
}

// validator collects FieldErrors, each with the line of its field.
type validator struct {
	idx  fieldIndex
	opts Options
	errs []error
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Line: v.idx.line(field), Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) requirement(field string, r *Requirement) {
	add := func(sub, format string, args ...any) { v.add(field+"."+sub, format, args...) }
	isDAST := r.PredicateType == attestation.PredicateDAST
	if !r.MaxAge.IsZero() && r.PredicateType != attestation.PredicateVuln && r.PredicateType != attestation.PredicateCodeScan && !isDAST {
		add("max-age", "applies to vuln, code-scan and dast only, not %s", r.Type)
	}
	if r.Deny != nil {
		switch r.PredicateType {
		case attestation.PredicateVuln:
			if r.Deny.Risk != "" {
				add("deny.risk", "is %q, but risk applies to dast only: a vuln requirement denies by severity (deny: {severity: critical})", r.Deny.Risk)
			}
			sev, err := finding.ParseSeverity(string(r.Deny.Severity))
			if err != nil || sev == finding.Unknown || sev == finding.Info {
				add("deny.severity", "is %q, want one of critical, high, medium, low", r.Deny.Severity)
			} else {
				r.Deny.Severity = sev
			}
		case attestation.PredicateDAST:
			wrong := r.Deny.Severity != "" || r.Deny.FixedOnly
			if wrong {
				sev := nonEmptyOr(r.Deny.Risk, nonEmptyOr(string(r.Deny.Severity), "high"))
				add("deny", "is {severity: %q, fixed-only: %v}: a dast requirement denies by risk, not severity or fixed-only; write deny: {risk: %s}",
					r.Deny.Severity, r.Deny.FixedOnly, strings.ToLower(sev))
			}
			risk := strings.ToLower(strings.TrimSpace(r.Deny.Risk))
			if DASTRiskRank(risk) == 0 && (r.Deny.Risk != "" || !wrong) {
				add("deny.risk", "is %q, want one of %s (e.g. deny: {risk: high})", r.Deny.Risk, strings.Join(DASTRisks, ", "))
			} else {
				r.Deny.Risk = risk
			}
		default:
			add("deny", "applies to vuln (deny: {severity: ...}) and dast (deny: {risk: ...}) only, not %s", r.Type)
		}
	}
	switch {
	case isDAST && strings.TrimSpace(r.Environment) == "":
		add("environment", "is required for dast: name the environment whose DAST counts, e.g. environment: staging (the dast gate's environment input)")
	case isDAST:
		if c, ok := canonicalEnvironment(r.Environment); !ok || c == "" {
			add("environment", "is %+q: write the environment's name in printable ASCII as GitHub shows it (e.g. staging); a name outside it could be confused with another", r.Environment)
		}
	case r.Environment != "":
		add("environment", "applies to dast only, not %s", r.Type)
	}
	switch r.OnScannerOutage {
	case "", OutageFail:
	case OutageException:
		if r.PredicateType != attestation.PredicateVuln && r.PredicateType != attestation.PredicateCodeScan && !isDAST {
			add("on-scanner-outage", "applies to vuln, code-scan and dast only, not %s", r.Type)
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
		for _, kv := range [][2]string{{"builder-id", r.BuilderID}, {"source-branch", r.SourceBranch}, {"source-tag", r.SourceTag}} {
			if kv[1] != "" {
				add(kv[0], "needs builder: %s", BuilderSLSAGitHubGenerator)
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
}

func nonEmptyOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

func (v *validator) identity(field string, id *Identity) {
	add := func(sub, format string, args ...any) {
		f := field
		if sub != "" {
			f += "." + sub
		}
		v.add(f, format, args...)
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
			return
		}
		if id.IsKMS() {
			return
		}
		if strings.Contains(id.Key, "://") {
			add("key", "%q: a key is a PEM file path or a KMS URI (%s)", id.Key, strings.Join(KMSSchemes, ", "))
			return
		}
		pem, pub, err := readKey(id.Key, v.opts.BaseDir)
		if err != nil {
			add("key", "%v", err)
			return
		}
		id.KeyPEM, id.PublicKey = pem, pub
		return
	}
	if id.Issuer == "" {
		add("issuer", "is required for a keyless identity (or give key)")
	} else if err := checkIssuer(id.Issuer); err != nil {
		add("issuer", "%v", err)
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
}

// checkIssuer accepts an OIDC issuer only in the exact form certificates carry:
// an https URL with a host, no user information, query, fragment or trailing
// slash, and the host in lower case. Anything else would load and never match.
//
// The one exception is a loopback issuer (http://127.0.0.1:PORT, http://[::1]:PORT,
// http://localhost:PORT): local test stacks run their OIDC issuer without TLS,
// and no certificate authority outside the machine names one.
func checkIssuer(iss string) error {
	if rest, ok := strings.CutPrefix(iss, "http://"); ok {
		host, _, _ := strings.Cut(rest, "/")
		if h := hostOnly(host); h != "127.0.0.1" && h != "::1" && h != "localhost" {
			return fmt.Errorf("is %q: issuers are https URLs; write %q", iss, "https://"+rest)
		}
		if err := checkIssuer("https://" + rest); err != nil {
			return fmt.Errorf("%v (checked as the https form of the loopback issuer %q)", err, iss)
		}
		return nil
	}
	if !strings.HasPrefix(iss, "https://") {
		return fmt.Errorf("is %q, want the issuer's https URL as the certificate names it (e.g. https://token.actions.githubusercontent.com), matched exactly", iss)
	}
	if strings.ContainsAny(iss, " \t\r\n?#\\") {
		return fmt.Errorf("is %q: an issuer URL has no spaces, query (?), fragment (#) or backslash; write the issuer exactly as the certificate names it", iss)
	}
	u, err := url.Parse(iss)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("is %q, not an https URL with a host (e.g. https://token.actions.githubusercontent.com)", iss)
	}
	if u.User != nil {
		return fmt.Errorf("is %q: remove the user information before @ (write %q)", iss, "https://"+u.Host+u.EscapedPath())
	}
	if strings.HasSuffix(iss, "/") {
		return fmt.Errorf("is %q: remove the trailing slash (write %q); issuers are matched exactly and certificates carry none", iss, strings.TrimRight(iss, "/"))
	}
	if h := u.Hostname(); strings.HasSuffix(h, ".") || strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") != "" {
		return fmt.Errorf("is %q: the host %q is not a plain DNS name (letters, digits, dots and dashes, no trailing dot); write the issuer exactly as the certificate names it", iss, h)
	}
	if h := strings.ToLower(u.Host); h != u.Host {
		return fmt.Errorf("is %q: write the host in lower case (%q); issuers are matched exactly", iss, "https://"+h+u.EscapedPath())
	}
	if u.Port() == "443" {
		return fmt.Errorf("is %q: remove the default port :443 (write %q); issuers are matched exactly", iss, "https://"+u.Hostname()+u.EscapedPath())
	}
	return nil
}

// hostOnly strips the port of host[:port] (and the brackets of an IPv6 literal).
func hostOnly(hostport string) string {
	u := url.URL{Host: hostport}
	return u.Hostname()
}

// IsPullRequestTrigger reports whether a GitHub event name is one of the
// pull_request family, which a policy must list explicitly to accept.
func IsPullRequestTrigger(event string) bool {
	return strings.HasPrefix(event, "pull_request")
}

// AllIdentities lists every identity p trusts to sign something: the release
// signers (identities), then the exception signers, then the break-glass
// signers. The list is a new slice; its elements are copies.
func (p *Policy) AllIdentities() []Identity {
	ids := append([]Identity{}, p.Identities...)
	if p.Exceptions != nil {
		ids = append(ids, p.Exceptions.Signers...)
	}
	if p.BreakGlass != nil {
		ids = append(ids, p.BreakGlass.Signers...)
	}
	return ids
}

// EffectiveMode is the mode that applies when deploying to environment. GitHub
// compares environment names case-insensitively, and so does this. Enforce mode
// always enforces. In audit mode without enforce-environments, audit applies to
// every environment; with enforce-environments, audit applies only to a named
// environment outside the list: a listed environment, in any letter case, and an
// empty (unnamed) environment are enforced.
func (p *Policy) EffectiveMode(environment string) Mode {
	if p.Mode != ModeAudit {
		return ModeEnforce
	}
	if p.AllowsAudit(environment) {
		return ModeAudit
	}
	return ModeEnforce
}

// AllowsAudit reports whether audit mode may apply to environment (see
// EffectiveMode): always without enforce-environments; with them, only for a
// named environment that is not in the list (compared case-insensitively,
// after canonicalEnvironment; a name outside printable ASCII is enforced).
func (p *Policy) AllowsAudit(environment string) bool {
	if len(p.EnforceEnvironments) == 0 {
		return true
	}
	env, ok := canonicalEnvironment(environment)
	if env == "" || !ok {
		return false
	}
	for _, e := range p.EnforceEnvironments {
		if c, _ := canonicalEnvironment(e); strings.EqualFold(c, env) {
			return false
		}
	}
	return true
}

// canonicalEnvironment reduces an environment name to the form names are
// compared in: Unicode format characters (zero-width spaces, BOM, soft
// hyphen) and whitespace dropped, compatibility forms folded (NFKC: fullwidth
// letters, ligatures). ok is false when the result holds a character outside
// printable ASCII (a Cyrillic or Greek look-alike, a dotted capital I, a
// control character): such a name could impersonate a listed one, so it is
// enforced, never audited.
func canonicalEnvironment(name string) (canonical string, ok bool) {
	drop := func(r rune) rune {
		if unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			return -1
		}
		return r
	}
	// Drop before and after NFKC: folding can produce a space (U+00A0 → " ").
	c := strings.Map(drop, norm.NFKC.String(strings.Map(drop, name)))
	for i := 0; i < len(c); i++ {
		if c[i] < 0x21 || c[i] > 0x7e {
			return c, false
		}
	}
	return c, true
}

// SameEnvironment reports whether two environment names name the same
// environment, compared as everywhere in the policy: case-insensitively after
// canonicalEnvironment. An empty name, or one outside printable ASCII, is the
// same as nothing (fail closed: a look-alike never matches).
func SameEnvironment(a, b string) bool {
	ca, okA := canonicalEnvironment(a)
	cb, okB := canonicalEnvironment(b)
	return okA && okB && ca != "" && strings.EqualFold(ca, cb)
}

// AppliesTo reports whether r must be met by a deploy to environment, and
// when not, why. Every requirement applies everywhere, except that a dast
// requirement does not apply to a deploy into its own environment: the DAST
// of staging runs after the digest is deployed to staging, so it can only be
// required for the promotion beyond (production). Since that is a
// relaxation, the deploy's environment must name it plainly: the same name
// in any letter case, with no character that comparison drops (whitespace,
// zero-width or other format characters) and none outside printable ASCII.
// Anything else, and an unnamed environment, needs it (fail closed).
func (r Requirement) AppliesTo(environment string) (bool, string) {
	if r.PredicateType != attestation.PredicateDAST {
		return true, ""
	}
	if c, ok := canonicalEnvironment(environment); !ok || c != environment || !SameEnvironment(environment, r.Environment) {
		return true, ""
	}
	return false, fmt.Sprintf("not required for a deploy to %s: its DAST runs there after the deploy, and is required for the promotion to other environments", r.Environment)
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

// readKey reads a public key file named by a policy. The path is relative to
// base and must stay inside it: no absolute path, no .. element, and no symlink
// that leads out (the file is opened through os.Root, which refuses them).
func readKey(path, base string) ([]byte, crypto.PublicKey, error) {
	if base == "" {
		base = "."
	}
	if filepath.IsAbs(path) {
		return nil, nil, fmt.Errorf("%q is an absolute path: key files live in the repository; copy the key there and give its path relative to %s (or use a KMS URI)", path, base)
	}
	for _, el := range strings.Split(filepath.ToSlash(path), "/") {
		if el == ".." {
			return nil, nil, fmt.Errorf("%q leaves the key folder %s (a .. element): key paths are relative to it (the workspace in the actions); give a path inside it without .. (or use a KMS URI)", path, base)
		}
	}
	root, err := os.OpenRoot(base)
	if err != nil {
		return nil, nil, fmt.Errorf("reading public key %s: %w", path, err)
	}
	defer root.Close()
	st, err := root.Stat(path)
	if err != nil {
		if strings.Contains(err.Error(), "escapes") {
			return nil, nil, fmt.Errorf("%q leaves the key folder %s through a symbolic link: put the key file itself inside it (or use a KMS URI)", path, base)
		}
		return nil, nil, fmt.Errorf("reading public key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%q is not a regular file: give a PEM public key file", path)
	}
	f, err := root.Open(path)
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

package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// MaxClockSkew is how far in the future a scan time may lie before it is a
// failure.
const MaxClockSkew = 5 * time.Minute

// maxListed bounds the ids listed in one reason.
const maxListed = 10

// vulnFinding is one vulnerability read from a vuln predicate's scanner.result.
type vulnFinding struct {
	ID       string
	Aliases  []string
	Severity finding.Severity
	Fixed    bool
	PURL     string
	Package  string
	// ScanWaiver says what waived it at scan time (the repository's
	// exceptions file, a VEX document); it still counts here.
	ScanWaiver string
}

// ParseVulnResult reads the findings of a vuln predicate's scanner.result. It
// accepts grype's JSON document ({"matches": [...]}), the secure-gates compact
// result ({"format": vulndb's compact format, "matches": [findings]}), and the
// secure-gates finding list ({"findings": [...]} or a bare array of
// pkg/finding.Finding). Any other shape is an error: a result the verifier
// cannot read never passes a deny condition.
//
// Every finding counts, also those waived at scan time: grype's ignoredMatches
// (a VEX statement, an ignore rule) are findings too, except those grype's own
// default kernel-header rules alone ignored, and a match or finding the scan
// marked waived (vulndb.WaiverField, finding.Finding.Waived) is a claim of the
// repository, not a signed exception. Only signed exceptions waive here.
func ParseVulnResult(raw json.RawMessage) ([]vulnFinding, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("scanner.result is missing")
	}
	if raw[0] == '[' {
		var fs []finding.Finding
		if err := json.Unmarshal(raw, &fs); err != nil {
			return nil, fmt.Errorf("scanner.result: not a finding list: %w", err)
		}
		return fromFindings(fs)
	}
	var doc struct {
		Format         string             `json:"format"`
		Matches        json.RawMessage    `json:"matches"`
		IgnoredMatches []grypeMatch       `json:"ignoredMatches"`
		Findings       *[]finding.Finding `json:"findings"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("scanner.result: %w", err)
	}
	switch {
	case doc.Format == compactFormat:
		var fs []finding.Finding
		if err := json.Unmarshal(doc.Matches, &fs); err != nil || fs == nil && string(bytes.TrimSpace(doc.Matches)) != "[]" {
			return nil, errors.New("scanner.result: the compact result's matches are not a finding list")
		}
		return fromFindings(fs)
	case doc.Format != "":
		return nil, fmt.Errorf("scanner.result: unknown result format %q", truncateText(doc.Format))
	case len(doc.Matches) > 0 && string(doc.Matches) != "null":
		var ms []grypeMatch
		if err := json.Unmarshal(doc.Matches, &ms); err != nil {
			return nil, fmt.Errorf("scanner.result.matches: %w", err)
		}
		out := make([]vulnFinding, 0, len(ms)+len(doc.IgnoredMatches))
		for i, m := range ms {
			f, err := m.finding()
			if err != nil {
				return nil, fmt.Errorf("scanner.result.matches[%d]: %w", i, err)
			}
			out = append(out, f)
		}
		for i, m := range doc.IgnoredMatches {
			if m.onlyGrypeDefaults() {
				continue
			}
			f, err := m.finding()
			if err != nil {
				return nil, fmt.Errorf("scanner.result.ignoredMatches[%d]: %w", i, err)
			}
			if f.ScanWaiver == "" {
				f.ScanWaiver = "ignored by the scanner (" + m.ignoreRules() + ")"
			}
			out = append(out, f)
		}
		return out, nil
	case doc.Findings != nil:
		return fromFindings(*doc.Findings)
	}
	return nil, errors.New("scanner.result is neither grype JSON (matches) nor a secure-gates finding list (findings)")
}

// compactFormat is pkg/vulndb's CompactFormat (not imported: vulndb links
// grype).
const compactFormat = "https://secure-gates.dev/vulndb/compact/v1"

type grypeMatch struct {
	Vulnerability struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Fix      struct {
			Versions []string `json:"versions"`
			State    string   `json:"state"`
		} `json:"fix"`
	} `json:"vulnerability"`
	RelatedVulnerabilities []struct {
		ID string `json:"id"`
	} `json:"relatedVulnerabilities"`
	Artifact struct {
		Name string `json:"name"`
		PURL string `json:"purl"`
	} `json:"artifact"`
	// Waiver is vulndb.WaiverField: what waived the match at scan time.
	Waiver *finding.Waiver `json:"secureGatesWaiver"`
	// AppliedIgnoreRules are grype's reasons for an ignored match.
	AppliedIgnoreRules []grypeIgnoreRule `json:"appliedIgnoreRules"`
}

type grypeIgnoreRule struct {
	Vulnerability string `json:"vulnerability"`
	FixState      string `json:"fix-state"`
	VexStatus     string `json:"vex-status"`
	MatchType     string `json:"match-type"`
	Package       *struct {
		Name         string `json:"name"`
		Version      string `json:"version"`
		Type         string `json:"type"`
		Location     string `json:"location"`
		UpstreamName string `json:"upstream-name"`
	} `json:"package"`
}

// grypeKernelHeaderRules are the package names of grype's CLI default ignore
// rules (kernel headers match the kernel's advisories only indirectly), the
// only ignore rules that are not a waiver: pkg/vulndb applies them always.
var grypeKernelHeaderRules = map[string]bool{"kernel-headers": true, "linux(-.*)?-headers-.*": true, "linux-libc-dev": true, "linux-kbuild-.*": true}

// onlyGrypeDefaults reports whether every rule that ignored m is one of
// grype's default kernel-header rules.
func (m grypeMatch) onlyGrypeDefaults() bool {
	if len(m.AppliedIgnoreRules) == 0 || m.Waiver != nil {
		return false
	}
	for _, r := range m.AppliedIgnoreRules {
		if r.VexStatus != "" || r.Vulnerability != "" || r.FixState != "" || r.MatchType != "exact-indirect-match" ||
			r.Package == nil || !grypeKernelHeaderRules[r.Package.Name] || r.Package.Version != "" || r.Package.Location != "" {
			return false
		}
	}
	return true
}

func (m grypeMatch) ignoreRules() string {
	var rs []string
	for _, r := range m.AppliedIgnoreRules {
		switch {
		case r.VexStatus != "":
			rs = append(rs, "VEX "+r.VexStatus)
		case r.Vulnerability != "":
			rs = append(rs, "rule for "+r.Vulnerability)
		default:
			rs = append(rs, "an ignore rule")
		}
	}
	if len(rs) == 0 {
		return "no rule given"
	}
	return truncateText(strings.Join(rs, ", "))
}

func (m grypeMatch) finding() (vulnFinding, error) {
	if m.Vulnerability.ID == "" {
		return vulnFinding{}, errors.New("vulnerability.id is missing")
	}
	sev, err := finding.ParseSeverity(m.Vulnerability.Severity)
	if err != nil {
		sev = finding.Unknown
	}
	f := vulnFinding{ID: m.Vulnerability.ID, Severity: sev, PURL: m.Artifact.PURL, Package: m.Artifact.Name,
		Fixed: m.Vulnerability.Fix.State == "fixed" || len(m.Vulnerability.Fix.Versions) > 0}
	for _, r := range m.RelatedVulnerabilities {
		if r.ID != "" && r.ID != f.ID {
			f.Aliases = append(f.Aliases, r.ID)
		}
	}
	if m.Waiver != nil {
		f.ScanWaiver = describeScanWaiver(m.Waiver.Kind, m.Waiver.ID, m.Waiver.Source)
	}
	return f, nil
}

// describeScanWaiver says what waived a finding at scan time, for reasons.
func describeScanWaiver(kind, id, source string) string {
	what := "the repository's exceptions file"
	if kind == finding.WaiverVEX {
		what = "a VEX document in the repository"
	}
	s := what
	if source != "" {
		s += " (" + source + ")"
	}
	if id != "" {
		s += " entry " + id
	}
	return truncateText(s)
}

// truncateText bounds text from a predicate in a reason.
func truncateText(s string) string { return textclip.Line(s, 200) }

func fromFindings(fs []finding.Finding) ([]vulnFinding, error) {
	out := make([]vulnFinding, 0, len(fs))
	for i, f := range fs {
		if f.RuleID == "" {
			return nil, fmt.Errorf("scanner.result finding %d: ruleId is missing", i)
		}
		vf := vulnFinding{ID: f.RuleID, Aliases: f.Aliases, Severity: f.Severity, Fixed: f.Fixable(), PURL: f.PURL, Package: f.Package}
		if f.Waived != nil {
			// A waiver recorded at scan time is not an exception verified here.
			vf.ScanWaiver = describeScanWaiver(f.Waived.Kind, f.Waived.ID, f.Waived.Source)
		}
		out = append(out, vf)
	}
	return out, nil
}

// exception is a verified, unexpired, in-scope exception attestation, or one
// statement of a verified VEX attestation (vex set).
type exception struct {
	id       string // the attestation's digest
	pred     attestation.Exception
	signer   string
	findings map[string]bool // the ids it waives, lower-cased (ids compare case-insensitively, as in the exceptions file)
	used     int
	// vex marks a waiver from a signed OpenVEX statement; purls are the
	// packages it covers (none: every package of the image).
	vex   bool
	purls []string
	// notPurls are packages a later VEX statement says are affected (or under
	// investigation): a whole-image VEX waiver does not cover them.
	notPurls []string
}

// waives reports whether e waives f.
func (e *exception) waives(f vulnFinding) bool {
	return e.waivesIDs(append([]string{f.ID}, f.Aliases...), f.PURL)
}

// waivesIDs reports whether e names one of ids (a finding's id, aliases,
// fingerprint) within its package scope, by finding.PURLMatches.
func (e *exception) waivesIDs(ids []string, purl string) bool {
	if e.vex {
		if len(e.purls) > 0 && !slices.ContainsFunc(e.purls, func(p string) bool { return finding.PURLMatches(p, purl) }) {
			return false
		}
		if slices.ContainsFunc(e.notPurls, func(p string) bool { return purlsOverlap(p, purl) }) {
			return false
		}
	} else if finding.IsPURLScope(e.pred.Scope) && !finding.PURLMatches(e.pred.Scope, purl) {
		return false
	}
	for _, id := range ids {
		if id != "" && e.findings[strings.ToLower(id)] {
			return true
		}
	}
	return false
}

// scopeApplies reports whether an exception's scope covers the image: empty (the
// statement's subject), the image repository, or a purl (narrowed per finding).
func scopeApplies(scope, repository string) bool {
	if scope == "" || finding.IsPURLScope(scope) {
		return true
	}
	return scope == repository
}

// checkVuln evaluates a vuln requirement on one verified predicate.
func (v *verifier) checkVuln(req policy.Requirement, pred json.RawMessage, trusted *time.Time, refused map[string][]string) (string, []string) {
	var p attestation.VulnScan
	if err := json.Unmarshal(pred, &p); err != nil {
		return "", []string{"predicate is not a vuln scan: " + oneLine(err)}
	}
	var reasons []string
	detail := fmt.Sprintf("scan by %s finished %s", nonEmpty(p.Scanner.URI, "unknown scanner"), p.Metadata.ScanFinishedOn.UTC().Format(time.RFC3339))
	if why := v.freshness(req, p.Metadata.ScanFinishedOn, trusted); why != "" {
		reasons = append(reasons, why)
	}
	if req.Deny != nil {
		fs, err := ParseVulnResult(p.Scanner.Result)
		if err != nil {
			return detail, append(reasons, err.Error())
		}
		var denied []string
		waived, scanWaived := 0, 0
		for _, f := range fs {
			if !f.Severity.AtLeast(req.Deny.Severity) || (req.Deny.FixedOnly && !f.Fixed) {
				continue
			}
			if e := v.waiver(f); e != nil {
				e.used++
				waived++
				continue
			}
			d := fmt.Sprintf("%s (%s", f.ID, f.Severity)
			if f.Package != "" {
				d += " in " + f.Package
			}
			d += ")"
			if f.ScanWaiver != "" {
				scanWaived++
				d += " — waived at scan time only by " + f.ScanWaiver + ", which is not a signed exception"
			}
			if why := refusedFor(refused, f); why != "" {
				d += " — not waived: " + why
			}
			denied = append(denied, d)
		}
		if len(denied) > 0 {
			sort.Strings(denied)
			more := ""
			if len(denied) > maxListed {
				more = fmt.Sprintf(" and %d more", len(denied)-maxListed)
				denied = denied[:maxListed]
			}
			fixed := ""
			if req.Deny.FixedOnly {
				fixed = " with a fix"
			}
			reasons = append(reasons, fmt.Sprintf("%d unwaived finding(s) at or above %s%s: %s%s",
				len(denied)+countMore(more), req.Deny.Severity, fixed, strings.Join(denied, ", "), more))
		}
		detail += fmt.Sprintf("; %d finding(s), %d waived by exceptions", len(fs), waived)
		if scanWaived > 0 {
			detail += fmt.Sprintf(", %d waived only by the repository at scan time (counted)", scanWaived)
		}
	}
	return detail, reasons
}

func countMore(more string) int {
	var n int
	fmt.Sscanf(more, " and %d more", &n)
	return n
}

func refusedFor(refused map[string][]string, f vulnFinding) string {
	for _, id := range append([]string{f.ID}, f.Aliases...) {
		if r := refused[id]; len(r) > 0 {
			return strings.Join(r, "; ")
		}
	}
	return ""
}

func (v *verifier) waiver(f vulnFinding) *exception {
	for _, e := range v.exceptions {
		if e.waives(f) {
			return e
		}
	}
	return nil
}

// freshness applies max-age: the age is measured from the older of the signed
// scan time and the trusted signing time; a scan time in the future fails.
func (v *verifier) freshness(req policy.Requirement, scanFinished time.Time, trusted *time.Time) string {
	return v.freshnessOf(req, scanFinished, "scanFinishedOn", trusted)
}

// freshnessOf is freshness of the scan time read from field.
func (v *verifier) freshnessOf(req policy.Requirement, scanFinished time.Time, field string, trusted *time.Time) string {
	now := v.now
	if scanFinished.IsZero() {
		if req.MaxAge.IsZero() {
			return ""
		}
		return field + " is missing: the scan's age cannot be established"
	}
	if scanFinished.After(now.Add(MaxClockSkew)) {
		return fmt.Sprintf("%s %s is in the future (more than %s ahead of %s)",
			field, scanFinished.UTC().Format(time.RFC3339), MaxClockSkew, now.UTC().Format(time.RFC3339))
	}
	if req.MaxAge.IsZero() {
		return ""
	}
	ref, src := scanFinished, field
	if trusted != nil && trusted.Before(ref) {
		ref, src = *trusted, "trusted signing time"
	}
	if age := now.Sub(ref); age > req.MaxAge.Duration {
		return fmt.Sprintf("scan is %s old (from its %s %s), older than max-age %s",
			age.Round(time.Minute), src, ref.UTC().Format(time.RFC3339), req.MaxAge.Duration)
	}
	return ""
}

// checkCodeScan evaluates a code-scan requirement: decision pass, and max-age.
// The detail counts the files the scan did not read (notScanned).
// Scanners the predicate records as not run (outages) come back apart from the
// other reasons: an outage is never a pass, but a policy with on-scanner-outage:
// exception may accept a signed outage exception for it.
func (v *verifier) checkCodeScan(req policy.Requirement, pred json.RawMessage, trusted *time.Time) (detail string, reasons, outages []string) {
	var p attestation.CodeScan
	if err := json.Unmarshal(pred, &p); err != nil {
		return "", []string{"predicate is not a code scan: " + oneLine(err)}, nil
	}
	c := p.Counts
	detail = fmt.Sprintf("decision %s (critical %d, high %d, medium %d, low %d)", p.Decision, c.Critical, c.High, c.Medium, c.Low)
	if ns := p.NotScanned; ns != nil {
		// Files the scanners did not read are not a failure (the scan gate's
		// policy decided), but the deploy report must show them.
		switch n := max(ns.Count, len(ns.Files)); {
		case n == 1:
			detail += "; 1 file not scanned (the predicate's notScanned names them)"
		case n > 1:
			detail += fmt.Sprintf("; %d files not scanned (the predicate's notScanned names them)", n)
		}
	}
	if p.Decision != attestation.DecisionPass {
		reasons = append(reasons, fmt.Sprintf("decision is %q, not \"pass\" (critical %d, high %d)", p.Decision, c.Critical, c.High))
	}
	if why := v.freshness(req, p.ScanFinishedOn, trusted); why != "" {
		reasons = append(reasons, why)
	}
	if p.Decision == attestation.DecisionPass {
		reasons = append(reasons, v.codeScanWaivers(p)...)
	}
	for i, o := range p.Outages {
		if i == maxListed {
			outages = append(outages, fmt.Sprintf("and %d more scanner outages", len(p.Outages)-maxListed))
			break
		}
		outages = append(outages, fmt.Sprintf("scanner outage recorded: %s did not run (%s)", nonEmpty(o.Scanner, "a scanner"), oneLine(errors.New(o.Reason))))
	}
	return detail, reasons, outages
}

// checkProvenance evaluates the project's own (L2) provenance natively.
func checkProvenance(req policy.Requirement, pred json.RawMessage) (string, []string) {
	var p attestation.Provenance
	if err := json.Unmarshal(pred, &p); err != nil {
		return "", []string{"predicate is not SLSA provenance v1: " + oneLine(err)}
	}
	detail := "built by " + p.RunDetails.Builder.ID
	if req.SourceRepository == "" {
		return detail, nil
	}
	var seen []string
	for _, d := range p.BuildDefinition.ResolvedDependencies {
		if d.URI == "" {
			continue
		}
		seen = append(seen, d.URI)
		if repoOfURI(d.URI) == strings.ToLower(req.SourceRepository) {
			return detail + ", from " + d.URI, nil
		}
	}
	if wf, ok := p.BuildDefinition.ExternalParameters["workflow"].(map[string]any); ok {
		if r, ok := wf["repository"].(string); ok {
			seen = append(seen, r)
			if repoOfURI(r) == strings.ToLower(req.SourceRepository) {
				return detail + ", from " + r, nil
			}
		}
	}
	if len(seen) == 0 {
		return detail, []string{fmt.Sprintf("provenance names no source repository; want %s", req.SourceRepository)}
	}
	return detail, []string{fmt.Sprintf("source repository is %s, want %s", strings.Join(seen, ", "), req.SourceRepository)}
}

// repoOfURI returns owner/name of a GitHub source URI such as
// git+https://github.com/acme/widgets@refs/heads/main, lower-cased, or "".
func repoOfURI(s string) string {
	s = strings.TrimPrefix(s, "git+")
	u, err := url.Parse(s)
	if err != nil || u.Host != "github.com" {
		return ""
	}
	path := strings.TrimPrefix(u.Path, "/")
	if i := strings.Index(path, "@"); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimSuffix(path, ".git")
	parts := strings.Split(path, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	return strings.ToLower(parts[0] + "/" + parts[1])
}

// checkThreatModel requires the threat-model result to be pass.
func checkThreatModel(pred json.RawMessage) (string, []string) {
	var p attestation.ThreatModel
	if err := json.Unmarshal(pred, &p); err != nil {
		return "", []string{"predicate is not a threat model: " + oneLine(err)}
	}
	detail := fmt.Sprintf("pull request #%d: %s", p.PullRequest.Number, p.Result)
	if p.Result != attestation.DecisionPass {
		return detail, []string{fmt.Sprintf("threat-model result is %q, not \"pass\"", p.Result)}
	}
	return detail, nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

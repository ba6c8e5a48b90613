// Package license evaluates the licenses of the packages in a syft SBOM as SPDX
// license expressions against allow and deny lists.
//
// A package's licenses pass when some choice of its expression (the OR
// alternatives) uses only licenses that are allowed and not denied:
// "MIT OR GPL-3.0-only" passes with GPL-3.0-only denied, because MIT may be
// chosen. When no choice passes, the package gets one finding: license-denied
// (severity high) when a denied license is involved, license-not-allowed
// (severity high) otherwise. A package without a license, or whose license is
// not a valid SPDX expression, gets a license-unknown finding whose severity
// follows Options.Unknown (low for "warn", high for "fail", none for "ignore").
//
// Findings carry the license ids involved as Aliases, so an exception may
// name a license id (scoped to a purl) as well as the rule id.
package license

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/anchore/syft/syft/file"
	syftlicense "github.com/anchore/syft/syft/license"
	"github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"
	"github.com/github/go-spdx/v2/spdxexp"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// Scanner is the Scanner name of every finding of this package.
const Scanner = "license"

// The rule ids of the findings.
const (
	RuleDenied     = "license-denied"
	RuleNotAllowed = "license-not-allowed"
	RuleUnknown    = "license-unknown"
)

// The values of Options.Unknown.
const (
	UnknownWarn   = "warn"
	UnknownFail   = "fail"
	UnknownIgnore = "ignore"
)

// Options configures Check.
type Options struct {
	// Allow lists the SPDX license ids that are allowed; empty allows every
	// license that is not denied.
	Allow []string
	// Deny lists the SPDX license ids that are denied. Deny wins over Allow.
	Deny []string
	// Unknown is what happens to a package whose license is missing or not a
	// valid SPDX expression: "warn" (default: a low finding), "fail" (a high
	// finding) or "ignore" (no finding).
	Unknown string
}

// Rules returns the rules Check reports under. The severity of RuleUnknown is
// the default one (Options.Unknown "warn").
func Rules() []finding.Rule {
	return []finding.Rule{
		{ID: RuleDenied, Severity: finding.High, Title: "Denied license",
			Description: "Every choice of the package's license expression includes a license on the deny list.",
			Remediation: "Replace the dependency, or add an exception naming the license id and the package's purl with a reason and an expiry."},
		{ID: RuleNotAllowed, Severity: finding.High, Title: "License not on the allow list",
			Description: "No choice of the package's license expression consists only of licenses on the allow list.",
			Remediation: "Replace the dependency, add the license to license-allow after legal review, or add a scoped exception."},
		{ID: RuleUnknown, Severity: finding.Low, Title: "Unknown license",
			Description: "The package declares no license, or its license is not a valid SPDX expression, so it cannot be checked.",
			Remediation: "Check the package's license by hand; record the outcome as an exception for its purl."},
	}
}

// Check evaluates every package's licenses in s and returns the findings
// (Scanner "license"), sorted. Invalid options are input errors.
func Check(s *sbom.SBOM, o Options) ([]finding.Finding, error) {
	if s == nil {
		return nil, errkind.Input(fmt.Errorf("checking licenses: no SBOM"))
	}
	allow, err := normalizeIDs("allow", o.Allow)
	if err != nil {
		return nil, err
	}
	deny, err := normalizeIDs("deny", o.Deny)
	if err != nil {
		return nil, err
	}
	unknownSev := finding.Low
	switch strings.ToLower(strings.TrimSpace(o.Unknown)) {
	case "", UnknownWarn:
	case UnknownFail:
		unknownSev = finding.High
	case UnknownIgnore:
		unknownSev = ""
	default:
		return nil, errkind.Input(fmt.Errorf("checking licenses: unknown-license policy %q: expected warn, fail or ignore", o.Unknown))
	}
	if s.Artifacts.Packages == nil {
		return nil, nil
	}
	var out []finding.Finding
	for _, p := range s.Artifacts.Packages.Sorted() {
		out = append(out, checkPackage(p, allow, deny, unknownSev)...)
	}
	finding.Sort(out)
	return out, nil
}

// normalizeIDs validates a list of SPDX license ids.
func normalizeIDs(list string, ids []string) ([]string, error) {
	var out []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		got, err := extract(id)
		if err != nil || len(got) != 1 {
			return nil, errkind.Input(fmt.Errorf("checking licenses: license-%s entry %q: expected one SPDX license id (https://spdx.org/licenses/)", list, id))
		}
		out = append(out, got[0])
	}
	return out, nil
}

// expressions returns the license expressions of a package (concluded ones
// when any exist, else declared) and the raw values that are not valid SPDX.
func expressions(p pkg.Package) (valid, invalid []string) {
	ls := p.Licenses.ToSlice()
	var concluded []pkg.License
	for _, l := range ls {
		if l.Type == syftlicense.Concluded {
			concluded = append(concluded, l)
		}
	}
	if len(concluded) > 0 {
		ls = concluded
	}
	for _, l := range ls {
		e := strings.TrimSpace(l.SPDXExpression)
		if e == "" {
			e = strings.TrimSpace(l.Value)
		}
		if e == "" {
			continue
		}
		if _, err := extract(e); err != nil {
			e = textclip.Clip(e, maxQuoted)
			invalid = append(invalid, e)
			continue
		}
		valid = append(valid, e)
	}
	slices.Sort(valid)
	slices.Sort(invalid)
	return slices.Compact(valid), slices.Compact(invalid)
}

func checkPackage(p pkg.Package, allow, deny []string, unknownSev finding.Severity) []finding.Finding {
	valid, invalid := expressions(p)
	var out []finding.Finding
	if len(valid) > 0 {
		expr := valid[0]
		if len(valid) > 1 {
			expr = "(" + strings.Join(valid, ") AND (") + ")"
		}
		if f, ok := evaluate(p, expr, allow, deny); !ok {
			out = append(out, f)
		}
	}
	if unknownSev != "" && (len(valid) == 0 || len(invalid) > 0) {
		what := "declares no license"
		if len(invalid) > 0 {
			what = fmt.Sprintf("declares %s, which is not a valid SPDX license expression", quoteList(invalid))
		}
		out = append(out, newFinding(p, RuleUnknown, unknownSev, "Unknown license",
			fmt.Sprintf("%s %s: its license cannot be checked against the policy.", pkgName(p), what),
			strings.Join(invalid, " AND "), nil))
	}
	return out
}

// evaluate decides whether expr has a choice of only allowed, not denied
// licenses; when not, it returns the finding.
func evaluate(p pkg.Package, expr string, allow, deny []string) (finding.Finding, bool) {
	ids, _ := extract(expr)
	var usable, denied, notAllowed []string
	for _, id := range ids {
		switch {
		case len(deny) > 0 && satisfies(id, deny):
			denied = append(denied, id)
		case len(allow) > 0 && !satisfies(id, allow):
			notAllowed = append(notAllowed, id)
		default:
			usable = append(usable, id)
		}
	}
	if len(usable) > 0 && satisfies(expr, usable) {
		return finding.Finding{}, true
	}
	if len(denied) > 0 {
		return newFinding(p, RuleDenied, finding.High, "Denied license",
			fmt.Sprintf("%s is licensed %q: every choice includes a denied license (%s).", pkgName(p), clip(expr), clip(strings.Join(denied, ", "))),
			expr, denied), false
	}
	return newFinding(p, RuleNotAllowed, finding.High, "License not on the allow list",
		fmt.Sprintf("%s is licensed %q: no choice consists only of allowed licenses (not allowed: %s).", pkgName(p), clip(expr), clip(strings.Join(notAllowed, ", "))),
		expr, notAllowed), false
}

// satisfies reports whether expr is satisfied by list. License strings come
// from package metadata (untrusted): a panic in the expression library counts
// as "no".
func satisfies(expr string, list []string) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	ok, err := spdxexp.Satisfies(expr, list)
	return err == nil && ok
}

// extract returns the license ids of a valid SPDX expression; a panic in the
// expression library is an invalid expression.
func extract(expr string) (ids []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			ids, err = nil, fmt.Errorf("invalid license expression")
		}
	}()
	if len(expr) > maxExpression {
		return nil, fmt.Errorf("license expression longer than %d bytes", maxExpression)
	}
	return spdxexp.ExtractLicenses(expr)
}

// maxExpression bounds the license expressions evaluated.
const maxExpression = 4096

func newFinding(p pkg.Package, rule string, sev finding.Severity, title, msg, expr string, aliases []string) finding.Finding {
	var help string
	for _, r := range Rules() {
		if r.ID == rule {
			help = r.Description + " " + r.Remediation
		}
	}
	h := sha256.Sum256([]byte(strings.Join([]string{Scanner, rule, p.PURL, p.Name, p.Version, expr}, "\x00")))
	slices.Sort(aliases)
	return finding.Finding{
		Scanner:     Scanner,
		RuleID:      rule,
		Aliases:     slices.Compact(aliases),
		Title:       title,
		Message:     msg,
		Severity:    sev,
		Path:        location(p),
		PURL:        p.PURL,
		Package:     p.Name,
		Version:     p.Version,
		Fingerprint: hex.EncodeToString(h[:16]),
		Help:        help,
		HelpURI:     "https://spdx.org/licenses/",
	}
}

// location is the package's first location, relative to the scan root.
func location(p pkg.Package) string {
	locs := p.Locations.ToSlice(func(a, b file.Location) int {
		return cmp.Compare(a.RealPath, b.RealPath)
	})
	for _, l := range locs {
		path := l.AccessPath
		if path == "" {
			path = l.RealPath
		}
		if path = strings.TrimLeft(path, "/"); path != "" {
			return path
		}
	}
	return ""
}

func pkgName(p pkg.Package) string {
	if p.Version == "" {
		return p.Name
	}
	return p.Name + "@" + p.Version
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// clip bounds text from package metadata in messages.
func clip(s string) string { return textclip.Clip(s, maxQuoted) }

// maxQuoted bounds a license expression quoted in a message.
const maxQuoted = 200

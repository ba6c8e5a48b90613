package vulndb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/anchore/grype/grype"
	"github.com/anchore/grype/grype/distro"
	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/matcher"
	"github.com/anchore/grype/grype/matcher/dotnet"
	"github.com/anchore/grype/grype/matcher/dpkg"
	"github.com/anchore/grype/grype/matcher/golang"
	"github.com/anchore/grype/grype/matcher/hex"
	"github.com/anchore/grype/grype/matcher/java"
	"github.com/anchore/grype/grype/matcher/javascript"
	"github.com/anchore/grype/grype/matcher/python"
	"github.com/anchore/grype/grype/matcher/rpm"
	"github.com/anchore/grype/grype/matcher/ruby"
	"github.com/anchore/grype/grype/matcher/rust"
	"github.com/anchore/grype/grype/matcher/stock"
	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/presenter/models"
	"github.com/anchore/grype/grype/version"
	"github.com/anchore/grype/grype/vex"
	vexStatus "github.com/anchore/grype/grype/vex/status"
	"github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/format/syftjson"
	syftpkg "github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	"github.com/secure-gates/secure-gates/pkg/scancache"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// grypeModule is the module whose matchers run; its version is reported as the
// scanner version.
const (
	grypeModule       = "github.com/anchore/grype"
	grypePinned       = "v0.120.1"
	grypeURI          = "https://github.com/anchore/grype"
	defaultScannerTag = "deps"
)

// grypeVersion is the linked grype module's version (the pinned one when the
// binary carries no module information).
func grypeVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == grypeModule {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return grypePinned
}

// MatchOptions configures one Match.
type MatchOptions struct {
	// Root makes finding locations relative to it (the repository root) when the
	// SBOM is of a directory under it; empty means relative to the scanned
	// directory. Image findings carry their in-image path.
	Root string
	// VEX are OpenVEX (or CSAF VEX) document paths, applied with grype's VEX
	// support: a not_affected or fixed statement moves the match to
	// Report.Suppressed.
	VEX []string
	// Scanner is Finding.Scanner; empty means "deps".
	Scanner string
	// Cache holds reports of earlier matches (see DB.Match); nil caches
	// nothing.
	Cache scancache.Store
}

// RecordWaivers copies the waivers set on copies of the report's findings
// (by exceptions.Set.Apply on a gate's list of all findings) back onto
// Report.Findings, matched by scanner, rule and fingerprint, so that the vuln
// predicate records them. Findings already waived keep their waiver.
func (r *Report) RecordWaivers(fs []finding.Finding) {
	if r == nil {
		return
	}
	type key struct{ scanner, rule, fp string }
	w := map[key]*finding.Waiver{}
	for _, f := range fs {
		if f.Waived != nil {
			w[key{f.Scanner, f.RuleID, f.Fingerprint}] = f.Waived
		}
	}
	for i, f := range r.Findings {
		if f.Waived == nil {
			r.Findings[i].Waived = w[key{f.Scanner, f.RuleID, f.Fingerprint}]
		}
	}
}

// Report is the outcome of one Match.
type Report struct {
	// Findings are the vulnerabilities found, one per vulnerability and package,
	// sorted (finding.Sort). Callers apply exceptions by setting Finding.Waived.
	Findings []finding.Finding
	// Suppressed are matches a VEX statement (not_affected, fixed) suppressed;
	// each carries a Waived whose Reason is the VEX status and justification.
	Suppressed []finding.Finding
	// Matches is grype's JSON document (presenter/models.Document) of the scan:
	// what `grype -o json` writes. It is the vuln predicate's result. A report
	// taken from MatchOptions.Cache holds the document's JSON
	// (json.RawMessage).
	Matches any
	// DB describes the DB the scan used.
	DB Info
	// Packages is the number of packages matched against the DB.
	Packages int
	// Started and Finished bound the matching.
	Started, Finished time.Time

	doc     models.Document
	docJSON []byte             // json.Marshal(doc), or the cached document
	scores  map[string]float64 // vulnerability id → highest CVSS base score
	// matchFP and ignoredFP are the fingerprints of doc.Matches and
	// doc.IgnoredMatches, by index: how a waiver set on a finding finds its
	// match in the predicate.
	matchFP, ignoredFP []string
}

// ignoreVEX are the ignore rules grype's CLI adds when VEX documents are given:
// not_affected and fixed statements suppress a match.
var ignoreVEX = []match.IgnoreRule{
	{VexStatus: string(vexStatus.NotAffected)},
	{VexStatus: string(vexStatus.Fixed)},
}

// ignoreKernelHeaders are grype's CLI defaults: kernel header packages match the
// kernel's advisories only indirectly, and are ignored.
var ignoreKernelHeaders = []match.IgnoreRule{
	{Package: match.IgnoreRulePackage{Name: "kernel-headers", UpstreamName: "kernel", Type: string(syftpkg.RpmPkg)}, MatchType: match.ExactIndirectMatch},
	{Package: match.IgnoreRulePackage{Name: "linux(-.*)?-headers-.*", UpstreamName: "linux.*", Type: string(syftpkg.DebPkg)}, MatchType: match.ExactIndirectMatch},
	{Package: match.IgnoreRulePackage{Name: "linux-libc-dev", UpstreamName: "linux", Type: string(syftpkg.DebPkg)}, MatchType: match.ExactIndirectMatch},
	{Package: match.IgnoreRulePackage{Name: "linux-kbuild-.*", UpstreamName: "linux.*", Type: string(syftpkg.DebPkg)}, MatchType: match.ExactIndirectMatch},
}

// matcherConfig is grype v0.120.1's CLI default matcher configuration: CPE
// matching only for the stock matcher, no external (Maven Central) lookups.
func matcherConfig() matcher.Config {
	return matcher.Config{
		Java:       java.MatcherConfig{UseCPEs: false},
		Ruby:       ruby.MatcherConfig{UseCPEs: false},
		Python:     python.MatcherConfig{UseCPEs: false},
		Dotnet:     dotnet.MatcherConfig{UseCPEs: false},
		Javascript: javascript.MatcherConfig{UseCPEs: false},
		Golang:     golang.MatcherConfig{UseCPEs: false},
		Rust:       rust.MatcherConfig{UseCPEs: false},
		Hex:        hex.MatcherConfig{UseCPEs: false},
		Stock:      stock.MatcherConfig{UseCPEs: true},
		Dpkg:       dpkg.MatcherConfig{MissingEpochStrategy: version.MissingEpochStrategyZero},
		Rpm:        rpm.MatcherConfig{MissingEpochStrategy: version.MissingEpochStrategyAuto},
	}
}

// Match runs grype's matchers in-process on s, the SBOM the caller already
// cataloged (it is never cataloged again), against the DB, with grype's CLI
// defaults (matchers, distro fix channels, kernel-header ignore rules), then
// applies o.VEX. A nil SBOM or an unreadable VEX document is an errkind.Input
// error; a DB failure during matching is errkind.Infra.
//
// With o.Cache, a report matched earlier against the same DB build (its
// validated digest), for the same packages (the SBOM's syft JSON), VEX
// documents (path and content) and options is taken from the cache, and the
// DB is not even opened (Options.DeferOpen); otherwise the report is stored
// there. Only the matching is reused: the report's DB info and scan times are
// this run's.
func (db *DB) Match(ctx context.Context, s *sbom.SBOM, o MatchOptions) (*Report, error) {
	if s == nil || s.Artifacts.Packages == nil {
		if err := db.loaded(); err != nil {
			return nil, err
		}
		return nil, errkind.Input(errors.New("vulnerability matching: no SBOM (catalog the source first)"))
	}
	return db.MatchCatalog(ctx, loadedSBOM{s}, o)
}

// Catalog is an SBOM that may be decoded only when it is needed
// (catalog.Result with catalog.Options.LazySBOM).
type Catalog interface {
	// Load returns the SBOM, decoding it if it is not yet.
	Load() (*sbom.SBOM, error)
	// Digest identifies the SBOM without decoding it (equal digests, equal
	// SBOMs); false when it cannot.
	Digest() (scancache.Key, bool)
}

// loadedSBOM is a decoded SBOM as a Catalog: it has no digest but its syft
// JSON.
type loadedSBOM struct{ s *sbom.SBOM }

func (l loadedSBOM) Load() (*sbom.SBOM, error)     { return l.s, nil }
func (l loadedSBOM) Digest() (scancache.Key, bool) { return scancache.Key{}, false }

// MatchCatalog is Match on c. With o.Cache and a catalog that has a digest,
// the report is cached under the digest, and a report taken from the cache
// never decodes the catalog (Catalog.Load); an error of Load is returned as
// it is (wrapped).
func (db *DB) MatchCatalog(ctx context.Context, c Catalog, o MatchOptions) (*Report, error) {
	if err := db.loaded(); err != nil {
		return nil, err
	}
	if o.Scanner == "" {
		o.Scanner = defaultScannerTag
	}
	started := db.now().UTC()
	for _, p := range o.VEX {
		if !fileExists(p) {
			return nil, errkind.Input(fmt.Errorf("VEX document %q does not exist or is not a file", p))
		}
	}
	var s *sbom.SBOM
	var doc, id []byte
	if d, ok := c.Digest(); ok {
		id = append([]byte("catalog:"), d[:]...)
	} else {
		var err error
		if s, doc, err = loadCatalog(c); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(doc)
		id = sum[:]
	}
	key, cacheable := db.matchKey(id, o)
	if cacheable {
		if r, ok := db.fromCache(o.Cache, key, started); ok {
			return r, nil
		}
	}
	if s == nil {
		var err error
		if s, doc, err = loadCatalog(c); err != nil {
			return nil, err
		}
	}
	if err := db.ensureOpen(); err != nil {
		return nil, err
	}
	r, err := db.match(ctx, s, doc, o, started)
	if err != nil {
		return nil, err
	}
	if cacheable {
		db.toCache(o.Cache, key, r)
	}
	return r, nil
}

// loaded fails when the DB is not loaded.
func (db *DB) loaded() error {
	if db == nil || db.vp == nil && db.openFn == nil {
		return errkind.Infra(errors.New("vulnerability matching: the DB is not loaded (or was closed)"))
	}
	return nil
}

// loadCatalog decodes c and encodes it as syft JSON (encodeSBOM).
func loadCatalog(c Catalog) (*sbom.SBOM, []byte, error) {
	s, err := c.Load()
	if err != nil {
		return nil, nil, fmt.Errorf("vulnerability matching: %w", err)
	}
	if s == nil || s.Artifacts.Packages == nil {
		return nil, nil, errkind.Input(errors.New("vulnerability matching: no SBOM (catalog the source first)"))
	}
	doc, err := encodeSBOM(s)
	return s, doc, err
}

// match is Match's work: grype's matchers on the packages of sbomJSON (the
// syft JSON of s), the VEX documents applied.
func (db *DB) match(ctx context.Context, s *sbom.SBOM, sbomJSON []byte, o MatchOptions, started time.Time) (*Report, error) {
	ignore := slices.Clone(ignoreKernelHeaders)
	if len(o.VEX) > 0 {
		ignore = append(ignore, ignoreVEX...)
	}
	vexProc, err := vex.NewProcessor(vex.ProcessorOptions{Documents: o.VEX, IgnoreRules: ignore})
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("VEX documents %v: %w", o.VEX, err))
	}
	pkgs, pctx, err := packagesOf(sbomJSON)
	if err != nil {
		return nil, err
	}
	matchesRun.Add(1)
	vm := grype.VulnerabilityMatcher{
		VulnerabilityProvider: db.vp,
		Matchers:              prefetch(ctx, db.vp, matcher.NewDefaultMatchers(matcherConfig()), pkgs, db.workers),
		IgnoreRules:           ignore,
		VexProcessor:          vexProc,
	}
	remaining, ignored, err := vm.FindMatchesContext(ctx, pkgs, pctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, errkind.Infra(fmt.Errorf("vulnerability matching: %w", ctx.Err()))
		}
		if len(o.VEX) > 0 && strings.Contains(err.Error(), "VEX") {
			return nil, errkind.Input(fmt.Errorf("vulnerability matching: applying VEX documents %v: %w", o.VEX, err))
		}
		return nil, errkind.Infra(fmt.Errorf("vulnerability matching: %w", err))
	}
	doc, err := models.NewDocument(grypeID(), pkgs, pctx, *remaining, ignored, db.vp, nil, dbDescriptor(db.info), models.SortByPackage, false, nil)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("vulnerability matching: describing the matches: %w", err))
	}
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("vulnerability matching: encoding the matches: %w", err))
	}
	r := &Report{DB: db.info, Packages: len(pkgs), Started: started, doc: doc, docJSON: docJSON, Matches: doc, scores: map[string]float64{}}
	loc := locator(s, o.Root)
	for _, m := range doc.Matches {
		f := r.toFinding(m, o.Scanner, loc)
		r.matchFP = append(r.matchFP, f.Fingerprint)
		r.Findings = append(r.Findings, f)
	}
	for _, m := range doc.IgnoredMatches {
		f := r.toFinding(m.Match, o.Scanner, loc)
		r.ignoredFP = append(r.ignoredFP, f.Fingerprint)
		reason, ok := vexReason(m)
		if !ok {
			continue
		}
		f.Waived = &finding.Waiver{Kind: finding.WaiverVEX, ID: m.Vulnerability.ID, Reason: reason, Source: strings.Join(o.VEX, ", ")}
		r.Suppressed = append(r.Suppressed, f)
	}
	finding.Sort(r.Findings)
	finding.Sort(r.Suppressed)
	r.Finished = db.now().UTC()
	if r.Finished.Before(r.Started) {
		r.Finished = r.Started
	}
	return r, nil
}

// encodeSBOM is the syft JSON form of s: what grype's SBOM reader reads, and
// the packages' identity in the match cache.
func encodeSBOM(s *sbom.SBOM) ([]byte, error) {
	var buf bytes.Buffer
	if err := syftjson.NewFormatEncoder().Encode(&buf, *s); err != nil {
		return nil, errkind.Input(fmt.Errorf("vulnerability matching: encoding the SBOM: %w", err))
	}
	return buf.Bytes(), nil
}

// packagesOf turns the caller's SBOM (its syft JSON form, encodeSBOM) into
// grype packages and context through grype's own SBOM reader, so distro
// detection, fix channels and overlap removal are exactly grype's.
func packagesOf(sbomJSON []byte) ([]pkg.Package, pkg.Context, error) {
	pkgs, pctx, _, err := pkg.ProvideFromReader(bytes.NewReader(sbomJSON), pkg.ProviderConfig{
		SynthesisConfig: pkg.SynthesisConfig{Distro: pkg.DistroConfig{FixChannels: distro.DefaultFixChannels()}},
	})
	if err != nil {
		return nil, pkg.Context{}, errkind.Input(fmt.Errorf("vulnerability matching: reading the SBOM: %w", err))
	}
	return pkgs, pctx, nil
}

func dbDescriptor(info Info) any {
	return struct {
		SchemaVersion string    `json:"schemaVersion"`
		Built         time.Time `json:"built"`
		Source        string    `json:"source"`
		URL           string    `json:"url,omitempty"`
	}{info.SchemaVersion, info.Built, info.Source, info.URL}
}

// vexReason reports whether a VEX statement suppressed m, and says how.
func vexReason(m models.IgnoredMatch) (string, bool) {
	for _, r := range m.AppliedIgnoreRules {
		if r.VexStatus == "" {
			continue
		}
		reason := "VEX: " + r.VexStatus
		if r.VexJustification != "" {
			reason += " (" + r.VexJustification + ")"
		}
		return reason, true
	}
	return "", false
}

// locator maps a package location to a finding path.
func locator(s *sbom.SBOM, root string) func(file.Location) string {
	var scanDir string
	switch m := s.Source.Metadata.(type) {
	case source.DirectoryMetadata:
		scanDir = m.Base
		if scanDir == "" {
			scanDir = m.Path
		}
	case source.FileMetadata:
		scanDir = filepath.Dir(m.Path)
	}
	if scanDir != "" {
		if abs, err := filepath.Abs(scanDir); err == nil {
			scanDir = abs
		}
	}
	if root != "" {
		if abs, err := filepath.Abs(root); err == nil {
			root = abs
		}
	}
	return func(l file.Location) string {
		p := l.RealPath
		if p == "" {
			p = l.AccessPath
		}
		rel := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(p)), "/")
		if scanDir == "" || root == "" {
			return rel
		}
		full := filepath.Join(scanDir, filepath.FromSlash(rel))
		r, err := filepath.Rel(root, full)
		if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return rel
		}
		return filepath.ToSlash(r)
	}
}

// primaryLocation picks the location syft marked as primary evidence, else the
// first.
func primaryLocation(ls []file.Location) (file.Location, bool) {
	if len(ls) == 0 {
		return file.Location{}, false
	}
	for _, l := range ls {
		if l.Annotations["evidence"] == "primary" {
			return l, true
		}
	}
	return ls[0], true
}

func (r *Report) toFinding(m models.Match, scanner string, loc func(file.Location) string) finding.Finding {
	v := m.Vulnerability
	sev, err := finding.ParseSeverity(v.Severity)
	if err != nil {
		sev = finding.Unknown
	}
	var aliases []string
	for _, rv := range m.RelatedVulnerabilities {
		if rv.ID != v.ID && !slices.Contains(aliases, rv.ID) {
			aliases = append(aliases, rv.ID)
		}
	}
	slices.Sort(aliases)
	var score float64
	for _, c := range v.Cvss {
		score = max(score, c.Metrics.BaseScore)
	}
	for _, rv := range m.RelatedVulnerabilities {
		for _, c := range rv.Cvss {
			score = max(score, c.Metrics.BaseScore)
		}
	}
	if score > r.scores[v.ID] {
		r.scores[v.ID] = score
	}
	a := m.Artifact
	var p string
	if l, ok := primaryLocation(a.Locations); ok {
		p = loc(l)
	}
	var fixed []string
	if v.Fix.State == "fixed" {
		fixed = applicableFixes(a.Type, a.Version, v.Fix.Versions)
	}
	ids := v.ID
	if len(aliases) > 0 {
		ids += " (" + strings.Join(aliases, ", ") + ")"
	}
	fix := "no fix is known"
	switch {
	case len(fixed) > 0:
		fix = "fixed in " + strings.Join(fixed, ", ")
	case v.Fix.State == "wont-fix":
		fix = "the maintainers will not fix it"
	}
	title := firstLine(v.Description)
	if title == "" {
		title = v.ID
	}
	ident := a.PURL
	if ident == "" {
		ident = string(a.Type) + "/" + a.Name + "@" + a.Version
	}
	help := fmt.Sprintf("%s %s (%s) is affected by %s: %s.", a.Name, a.Version, a.Type, ids, fix)
	if len(fixed) > 0 {
		help += fmt.Sprintf(" Upgrade %s to %s or later.", a.Name, fixed[0])
	}
	return finding.Finding{
		Scanner:     scanner,
		RuleID:      v.ID,
		Aliases:     aliases,
		Title:       title,
		Message:     fmt.Sprintf("%s %s is affected by %s (%s severity): %s", a.Name, a.Version, ids, sev, fix),
		Severity:    sev,
		Path:        p,
		PURL:        a.PURL,
		Package:     a.Name,
		Version:     a.Version,
		FixedIn:     fixed,
		Fingerprint: sarif.Fingerprint(scanner, v.ID, ident, p),
		Help:        help,
		HelpURI:     v.DataSource,
	}
}

// applicableFixes keeps the fixed versions above the installed one (an
// advisory with several ranges lists the fixes of every branch), lowest first.
// Versions grype cannot compare are kept, in grype's order.
func applicableFixes(typ syftpkg.Type, installed string, fixes []string) []string {
	format := pkg.VersionFormat(pkg.Package{Type: typ})
	cur := version.New(installed, format)
	if format == version.UnknownFormat || cur.Validate() != nil {
		return slices.Clone(fixes)
	}
	var out []string
	for _, f := range fixes {
		if c, err := version.New(f, format).Compare(cur); err != nil || c > 0 {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int {
		c, err := version.New(a, format).Compare(version.New(b, format))
		if err != nil {
			return 0
		}
		return c
	})
	if len(out) == 0 {
		return slices.Clone(fixes)
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return textclip.Clip(s, 200)
}

// Package scan is the scan gate's engine: it runs the selected scanners —
// secrets (gitleaks), dependencies (one syft catalog matched by grype), licenses
// (the same catalog), IaC policies (OPA) and ingested SARIF — in one pass over a
// source tree, applies the exceptions file, decides the verdict, and writes one
// SARIF file, the code-scan predicate and the vuln predicate.
//
// A scanner that could not run is never "no findings": its error fails the run,
// except a vulnerability-DB outage under the continue policy, which is recorded
// as an outage (Result.Outages, the code-scan predicate) and reported loudly by
// the caller.
//
// # The deps and license cache
//
// With Options.Cache, the catalog deps and license share is reused when no
// change of the tree could change it (pkg/catalog: a source file edited,
// added, renamed or deleted reuses it; a lockfile or manifest edited or added,
// a binary dropped in, a symlink changed catalogues again), and the
// vulnerability matches are reused within one DB build for the same packages,
// VEX documents and options (pkg/vulndb), without opening the DB. The DB is
// still obtained and checked on every run exactly as without a cache (update
// check, checksum, max-db-age, on-scanner-outage): a stale or missing DB fails
// or is recorded as an outage on a warm run too. A new DB build matches every
// package again. The license findings are reused for the same catalog (its
// digest) and license options; exceptions are applied afterwards, on every
// run. A warm run whose matches and license findings are all cached does not
// even decode the cached catalog (catalog.Options.LazySBOM). A warm scan
// writes byte for byte what a cold scan writes.
package scan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
	"github.com/secure-gates/secure-gates/pkg/scan/secrets"
	"github.com/secure-gates/secure-gates/pkg/scancache"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

// The scanners, by the names the scanners input uses.
const (
	Secrets = "secrets"
	Deps    = "deps"
	License = "license"
	IaC     = "iac"
	SARIF   = "sarif"
)

// AllScanners lists every scanner in report order.
var AllScanners = []string{Secrets, Deps, License, IaC, SARIF}

// ParseScanners validates a scanners list; empty means all.
func ParseScanners(names []string) ([]string, error) {
	if len(names) == 0 {
		return slices.Clone(AllScanners), nil
	}
	var out []string
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if !slices.Contains(AllScanners, n) {
			return nil, errkind.Input(fmt.Errorf("scanner %q: expected some of %s", n, strings.Join(AllScanners, ", ")))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// Options configures Run.
type Options struct {
	// Root is the directory scanned (absolute or relative to the working
	// directory).
	Root string
	// Scanners are the scanners to run (see ParseScanners); empty means all.
	Scanners []string
	// SeverityCutoff is the lowest severity that fails the gate; empty means high.
	SeverityCutoff finding.Severity
	// OnlyFixed fails dependency findings only when a fix exists. Other
	// scanners' findings are unaffected.
	OnlyFixed bool
	// Secrets configures the secrets scanner (config, PR range, staged).
	Secrets secrets.Options
	// Exceptions waive findings; nil waives nothing.
	Exceptions *exceptions.Set
	// License configures the license check.
	License license.Options
	// IaC configures the IaC policies.
	IaC iac.Options
	// SARIFInputs are globs of external SARIF files (the sarif scanner). With
	// none, the sarif scanner has nothing to do and is skipped.
	SARIFInputs []string
	// OnOutage is what a scanner that could not run does to the scan:
	// attestation.OutageFail (an error) or attestation.OutageContinue (the
	// outage is recorded and reported). It covers the vulnerability DB and
	// ingested SARIF whose tool reports it did not run successfully. Empty
	// means Deps.OnOutage, and fail when that is empty too.
	OnOutage string
	// Deps configures the dependency scanner.
	Deps DepsOptions
	// Catalog bounds the syft catalog shared by deps and license.
	Catalog catalog.Options
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Cache holds answers of earlier scans by content (pkg/scancache); nil
	// caches nothing. A warm scan reports exactly what a cold scan reports.
	Cache scancache.Store
}

// ScannerRun reports what one scanner did.
type ScannerRun struct {
	// Name is the scanner (secrets, deps, license, iac) or an ingested tool's name.
	Name string
	// Tool and Version name the engine that ran.
	Tool, Version string
	// Findings counts its findings, waived included.
	Findings int
	// Skipped says why the scanner produced nothing ("" when it ran).
	Skipped string
	// Rules are the rule ids it had enabled.
	Rules []string
	// Ingested marks a tool whose results came from sarif-inputs.
	Ingested bool
}

// Result is one scan.
type Result struct {
	// Root is the absolute scan root.
	Root string
	// Findings are every finding, waivers applied, most severe first.
	Findings []finding.Finding
	// Failing are the findings that fail the gate.
	Failing []finding.Finding
	// Decision is pass or fail.
	Decision attestation.Decision
	// Cutoff and OnlyFixed are the gate settings used.
	Cutoff    finding.Severity
	OnlyFixed bool
	// Scanners are the scanners and ingested tools, in report order.
	Scanners []ScannerRun
	// Applied and Expired are the exceptions that waived findings and those
	// that had expired.
	Applied []exceptions.Applied
	Expired []exceptions.Entry
	// ExceptionsSource is the exceptions file ("" for none).
	ExceptionsSource string
	// Outages are scanners that could not run under the continue policy.
	Outages []attestation.Outage
	// Packages is the number of packages catalogued (deps, license).
	Packages int
	// SecretsConfig says which secrets rules ran.
	SecretsConfig string
	// NotScanned are the files a scanner did not read (at most
	// secrets.MaxNotScanned, by path) and NotScannedCount counts them all: a
	// file not read is never "no findings".
	NotScanned      []NotScannedFile
	NotScannedCount int
	// StartedOn and FinishedOn bound the scan.
	StartedOn, FinishedOn time.Time

	deps *depsResult
	// sbomDecoded says the catalog's SBOM was in memory: catalogued or
	// decoded by catalog.Directory, or loaded by a scanner (tests).
	sbomDecoded bool
}

// NotScannedFile is a file (a path ending in "/": a directory) a scanner did
// not read, and why.
type NotScannedFile struct {
	Path, Scanner, Reason string
}

// Counts are the unwaived findings by severity.
func (r *Result) Counts() finding.Counts { return finding.Count(r.Findings) }

// Secrets counts the secrets found (waived included: a waived secret was still
// committed).
func (r *Result) Secrets() int {
	n := 0
	for _, f := range r.Findings {
		if f.Scanner == Secrets {
			n++
		}
	}
	return n
}

// Ran reports whether the named scanner ran.
func (r *Result) Ran(name string) bool {
	for _, s := range r.Scanners {
		if s.Name == name && s.Skipped == "" {
			return true
		}
	}
	return false
}

// Run scans o.Root with the selected scanners, applies the exceptions and decides
// the verdict. Scanner errors are returned with their kind (input, infra);
// a failing verdict is not an error: check Result.Decision.
func Run(ctx context.Context, o Options) (*Result, error) {
	t, selected, err := newTarget(o)
	if err != nil {
		return nil, err
	}
	res := &Result{Root: t.root, Cutoff: t.o.SeverityCutoff, OnlyFixed: o.OnlyFixed, StartedOn: t.now().UTC()}
	parts, err := t.scanAll(ctx, selected)
	if err != nil {
		return nil, err
	}
	res.sbomDecoded = t.sbomLoads.Load() > 0 || t.cat != nil && t.cat.SBOM != nil
	if err := ctx.Err(); err != nil {
		return nil, errkind.Infra(fmt.Errorf("scanning %s: %w", t.root, err))
	}
	all := res.merge(parts, selected)
	res.Applied, res.Expired = o.Exceptions.Apply(all)
	if res.deps != nil {
		// the vuln predicate records what the exceptions file waived
		res.deps.report.RecordWaivers(all)
	}
	if o.Exceptions != nil {
		res.ExceptionsSource = o.Exceptions.Source
	}
	finding.Sort(all)
	res.Findings = all
	res.Failing = Gate(all, res.Cutoff, o.OnlyFixed)
	res.Decision = attestation.DecisionPass
	if len(res.Failing) > 0 {
		res.Decision = attestation.DecisionFail
	}
	res.FinishedOn = t.now().UTC()
	if res.FinishedOn.Before(res.StartedOn) {
		res.FinishedOn = res.StartedOn
	}
	return res, nil
}

// newTarget validates o (root, scanners, cutoff, outage policy) and returns
// what the scanners share and the selected scanners, in scanners order.
func newTarget(o Options) (*target, []scanner, error) {
	t := &target{now: o.Now}
	if t.now == nil {
		t.now = time.Now
	}
	var err error
	if t.root, err = absDir(o.Root); err != nil {
		return nil, nil, err
	}
	names, err := ParseScanners(o.Scanners)
	if err != nil {
		return nil, nil, err
	}
	if o.SeverityCutoff == "" {
		o.SeverityCutoff = finding.High
	}
	if o.SeverityCutoff.Rank() == 0 {
		return nil, nil, errkind.Input(fmt.Errorf("severity cutoff %q: expected critical, high, medium or low", o.SeverityCutoff))
	}
	if o.OnOutage == "" {
		o.OnOutage = o.Deps.OnOutage
	}
	if t.outage, err = vulndb.ParseOutagePolicy(o.OnOutage); err != nil {
		return nil, nil, err
	}
	o.Deps.OnOutage = string(t.outage)
	t.o = o
	var selected []scanner
	for _, s := range scanners {
		if slices.Contains(names, s.name) {
			selected = append(selected, s)
		}
	}
	return t, selected, nil
}

// merge adds the scanners' parts to r and returns their findings. r.Scanners
// lists every built-in scanner in AllScanners order (ran, "not run" or "not
// selected"), then the ingested tools by name.
func (r *Result) merge(parts []part, selected []scanner) []finding.Finding {
	var all []finding.Finding
	runs := map[string]*ScannerRun{}
	for _, p := range parts {
		for _, sr := range p.runs {
			runs[sr.Name] = &sr
		}
		all = append(all, p.findings...)
		r.Outages = append(r.Outages, p.outages...)
		r.NotScanned = append(r.NotScanned, p.notScanned...)
		r.NotScannedCount += p.notScannedCount
		r.SecretsConfig = cmp.Or(p.secretsConfig, r.SecretsConfig)
		r.Packages = max(p.packages, r.Packages)
		if p.deps != nil {
			r.deps = p.deps
		}
	}
	slices.SortStableFunc(r.Outages, func(a, b attestation.Outage) int { return strings.Compare(a.Scanner, b.Scanner) })
	for _, n := range AllScanners {
		if n == SARIF {
			continue
		}
		sr, ok := runs[n]
		switch {
		case ok:
			r.Scanners = append(r.Scanners, *sr)
			delete(runs, n)
		case slices.ContainsFunc(selected, func(s scanner) bool { return s.name == n }):
			r.Scanners = append(r.Scanners, ScannerRun{Name: n, Skipped: "not run"})
		default:
			r.Scanners = append(r.Scanners, ScannerRun{Name: n, Skipped: "not selected"})
		}
	}
	for _, n := range slices.Sorted(maps.Keys(runs)) {
		r.Scanners = append(r.Scanners, *runs[n])
	}
	return all
}

// Gate selects the findings that fail the gate: unwaived, at or above cutoff,
// and for dependency findings with onlyFixed, fixable. only-fixed is about
// vulnerabilities: a denied license or a secret has no "fixed version".
func Gate(fs []finding.Finding, cutoff finding.Severity, onlyFixed bool) []finding.Finding {
	var deps, other []finding.Finding
	for _, f := range fs {
		if f.Scanner == Deps {
			deps = append(deps, f)
		} else {
			other = append(other, f)
		}
	}
	out := append(finding.Gate(deps, cutoff, onlyFixed), finding.Gate(other, cutoff, false)...)
	finding.Sort(out)
	return out
}

// joinErrs returns the most severe kind first: infra over input.
func joinErrs(errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int { return rank(errkind.Of(b)) - rank(errkind.Of(a)) })
	if len(errs) == 1 {
		return errs[0]
	}
	kind := errkind.Of(errs[0])
	j := errors.Join(errs...)
	switch kind {
	case errkind.KindInput:
		return errkind.Input(j)
	case errkind.KindPolicy:
		return errkind.Policy(j)
	default:
		return errkind.Infra(j)
	}
}

func rank(k errkind.Kind) int {
	switch k {
	case errkind.KindInfra, errkind.KindUnknown:
		return 3
	case errkind.KindInput:
		return 2
	}
	return 1
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

package scan

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
	"github.com/secure-gates/secure-gates/pkg/scan/license"
	"github.com/secure-gates/secure-gates/pkg/scan/sarifin"
	"github.com/secure-gates/secure-gates/pkg/scan/secrets"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

// scanner is one entry of the scanners input. Adding a scanner is adding a
// value to scanners (and its name to AllScanners).
type scanner struct {
	name string
	// catalogued scanners read the tree's syft catalog (target.cat), made
	// once for all of them; they start when it is ready and do not run when
	// it failed.
	catalogued bool
	// stopsOthers: an error of this scanner cancels the scanners still
	// running (an error of the catalog always does). License and deps
	// errors do not: the others finish and every error is reported.
	stopsOthers bool
	// start, when set, runs before any scanner starts (deps: the DB starts
	// loading while the tree is catalogued); a start error fails the run.
	start func(ctx context.Context, t *target) error
	scan  func(ctx context.Context, t *target) (part, error)
}

// scanners are every scanner, in AllScanners order.
var scanners = []scanner{
	{name: Secrets, stopsOthers: true, scan: scanSecrets},
	{name: Deps, catalogued: true, start: startDepsDB, scan: scanDeps},
	{name: License, catalogued: true, scan: scanLicense},
	{name: IaC, stopsOthers: true, scan: scanIaC},
	{name: SARIF, stopsOthers: true, scan: scanSARIF},
}

// target is what the scanners share.
type target struct {
	root   string
	o      Options // OnOutage and Deps.OnOutage resolved
	outage vulndb.OutagePolicy
	now    func() time.Time
	// cat is the tree's catalog, set before the catalogued scanners start.
	cat *catalog.Result
	// db is the vulnerability DB loading (deps).
	db *vulndb.Pending
	// sbomLoads counts the loads of cat's SBOM (countedCatalog).
	sbomLoads atomic.Int64
}

// part is what one scanner (or the catalog) adds to the Result.
type part struct {
	// runs are the scanners and ingested tools that ran, Findings counted.
	runs            []ScannerRun
	findings        []finding.Finding
	outages         []attestation.Outage
	notScanned      []NotScannedFile
	notScannedCount int
	secretsConfig   string
	packages        int
	deps            *depsResult
}

// ran is the part of a scanner that ran with findings fs.
func ran(sr ScannerRun, fs []finding.Finding) part {
	sr.Findings = len(fs)
	return part{runs: []ScannerRun{sr}, findings: fs}
}

// scanAll runs the selected scanners concurrently and returns their parts, in
// scanners order, the catalog's last. Every scanner's error is returned
// (joinErrs, in the order they happened within a kind); an error of a scanner
// that stopsOthers, or of the catalog, cancels the scanners still running,
// and what those report once cancelled is not returned: it is the
// cancellation, not a failure of theirs (a catalog cut short would read as
// its timeout, and an infrastructure error would hide the input error that
// stopped the run behind exit 3).
func (t *target) scanAll(parent context.Context, selected []scanner) ([]part, error) {
	g, ctx := errgroup.WithContext(parent)
	defer func() {
		if t.db != nil {
			t.db.Discard() // stop a load nobody waits for
		}
	}()
	if err := t.start(ctx, selected); err != nil {
		_ = g.Wait() // nothing runs yet: this cancels ctx
		return nil, err
	}
	parts := make([]part, len(selected)+1)
	var (
		mu      sync.Mutex
		errs    []error // in the order they happened: the cause of a cancellation first
		stopped bool    // a stopping error was recorded: ctx is (being) cancelled
	)
	run := func(i int, scan func(context.Context, *target) (part, error), stopsOthers bool) error {
		p, err := scan(ctx, t)
		if err == nil {
			parts[i] = p
			return nil
		}
		mu.Lock()
		if !stopped || parent.Err() != nil {
			errs = append(errs, err)
		}
		stopped = stopped || stopsOthers
		mu.Unlock()
		if stopsOthers {
			return err // cancels ctx
		}
		return nil
	}
	catalogued := make(chan struct{})
	needCatalog := false
	for i, s := range selected {
		needCatalog = needCatalog || s.catalogued
		g.Go(func() error {
			if s.catalogued {
				<-catalogued
				if t.cat == nil {
					return nil // the catalog failed and reported it
				}
			}
			return run(i, s.scan, s.stopsOthers)
		})
	}
	if needCatalog {
		g.Go(func() error {
			defer close(catalogued)
			return run(len(selected), catalogTree, true)
		})
	}
	_ = g.Wait() // the first stopping error; errs holds them all
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}
	return parts, nil
}

// start runs the selected scanners' start hooks, in scanners order.
func (t *target) start(ctx context.Context, selected []scanner) error {
	for _, s := range selected {
		if s.start == nil {
			continue
		}
		if err := s.start(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// catalogTree catalogues the tree once for the catalogued scanners.
func catalogTree(ctx context.Context, t *target) (part, error) {
	co := t.o.Catalog
	co.Cache = t.o.Cache
	co.LazySBOM = true // the deps and license scanners load it when they need it
	cat, err := catalog.Directory(ctx, t.root, co)
	if err != nil {
		return part{}, fmt.Errorf("cataloguing the dependencies of %s: %w", t.root, err)
	}
	t.cat = cat
	return part{packages: cat.Packages}, nil
}

func scanSecrets(ctx context.Context, t *target) (part, error) {
	so := t.o.Secrets
	if so.Cache == nil {
		so.Cache = t.o.Cache
	}
	sr, err := secrets.Scan(ctx, t.root, so)
	if err != nil {
		return part{}, fmt.Errorf("secrets scanner: %w", err)
	}
	ids := make([]string, len(sr.Rules))
	for i, r := range sr.Rules {
		ids[i] = r.ID
	}
	p := ran(ScannerRun{Name: Secrets, Tool: secrets.ToolName, Version: secrets.ToolVersion, Rules: ids}, sr.Findings)
	p.secretsConfig = sr.ConfigSource
	for _, n := range sr.NotScanned {
		p.notScanned = append(p.notScanned, NotScannedFile{Path: n.Path, Scanner: Secrets, Reason: n.Reason})
	}
	p.notScannedCount = sr.NotScannedCount
	return p, nil
}

func scanIaC(ctx context.Context, t *target) (part, error) {
	fs, err := iac.Scan(ctx, t.root, t.o.IaC)
	if err != nil {
		return part{}, fmt.Errorf("iac scanner: %w", err)
	}
	return ran(ScannerRun{Name: IaC, Tool: IaCTool, Version: IaCVersion, Rules: ruleIDs(iac.Rules())}, fs), nil
}

func scanLicense(_ context.Context, t *target) (part, error) {
	fs, err := t.checkLicenses()
	if err != nil {
		return part{}, fmt.Errorf("license check: %w", err)
	}
	return ran(ScannerRun{Name: License, Tool: LicenseTool, Version: LicenseVersion, Rules: ruleIDs(license.Rules())}, fs), nil
}

// ruleIDs are the ids of rules, in order.
func ruleIDs(rules []finding.Rule) []string {
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	return ids
}

func startDepsDB(ctx context.Context, t *target) (err error) {
	t.db, err = startDeps(ctx, t.o.Deps, t.now, t.o.Cache != nil)
	return err
}

func scanDeps(ctx context.Context, t *target) (part, error) {
	dr, outage, err := runDeps(ctx, t.sbom(), t.db, t.o.Deps, t.o.Cache)
	if err != nil {
		return part{}, err
	}
	if outage != nil {
		return part{runs: []ScannerRun{{Name: Deps, Tool: DepsTool, Skipped: "vulnerability DB outage: " + outage.Reason}},
			outages: []attestation.Outage{*outage}}, nil
	}
	p := ran(ScannerRun{Name: Deps, Tool: DepsTool, Version: DepsVersion}, dr.findings)
	p.deps = dr
	return p, nil
}

// scanSARIF ingests the sarif-inputs: one run per tool. With no inputs it
// has nothing to do.
func scanSARIF(ctx context.Context, t *target) (part, error) {
	if len(t.o.SARIFInputs) == 0 {
		return part{}, nil
	}
	in, err := sarifin.Ingest(ctx, t.o.SARIFInputs, sarifin.Options{Root: t.root})
	if err != nil {
		return part{}, fmt.Errorf("sarif inputs: %w", err)
	}
	var failed []string
	for _, tool := range in.Tools {
		if tool.Failure != "" {
			failed = append(failed, fmt.Sprintf("%s (%s)", tool.Name, tool.Failure))
		}
	}
	if len(failed) > 0 && t.outage != attestation.OutageContinue {
		return part{}, errkind.Infra(fmt.Errorf("sarif inputs: %d tool(s) did not run successfully, which is not \"0 findings\" "+
			"(on-scanner-outage: fail; fix the tool's step, or set on-scanner-outage: continue to record the outage): %s",
			len(failed), strings.Join(failed, "; ")))
	}
	var p part
	for _, tool := range in.Tools {
		var fs []finding.Finding
		for _, f := range in.Findings {
			if f.Scanner == tool.Name {
				fs = append(fs, f)
			}
		}
		sr := ScannerRun{Name: tool.Name, Tool: tool.Name, Version: tool.Version, Ingested: true, Findings: len(fs)}
		if tool.Failure != "" {
			// The tool's partial results still count; the run is an outage.
			sr.Skipped = "tool failure: " + tool.Failure
			p.outages = append(p.outages, attestation.Outage{Scanner: tool.Name, Reason: "the tool did not run successfully: " + tool.Failure,
				At: t.now().UTC(), Policy: attestation.OutageContinue})
		}
		p.runs = append(p.runs, sr)
		p.findings = append(p.findings, fs...)
	}
	return p, nil
}

package scan

import (
	"context"
	"fmt"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scancache"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

// Tool names and versions the scanners report (SARIF tool.driver, the code-scan
// predicate). The engines are pinned in go.mod.
const (
	DepsTool       = "grype"
	DepsVersion    = "0.120.1"
	IaCTool        = "secure-gates-iac"
	IaCVersion     = "opa-1.22.2"
	LicenseTool    = "secure-gates-license"
	LicenseVersion = "go-spdx-2.7.0"
)

// DepsOptions configures the dependency scanner.
type DepsOptions struct {
	// DBDir is a grype DB root (holding 6/vulnerability.db) or a DB archive.
	DBDir string
	// CacheDir is where the downloaded DB is kept when DBDir is empty.
	CacheDir string
	// UpdateURL overrides grype's DB listing URL (tests, mirrors).
	UpdateURL string
	// MaxAge is the oldest DB accepted; zero means 120h.
	MaxAge time.Duration
	// OnOutage is attestation.OutageFail (default) or attestation.OutageContinue.
	OnOutage string
	// VEX are OpenVEX documents applied to the matches.
	VEX []string
	// Timeout bounds the DB's download and update check (0: grype's own
	// timeouts only).
	Timeout time.Duration
}

type depsResult struct {
	findings []finding.Finding
	report   *vulndb.Report
	info     vulndb.Info
}

// startDeps parses the outage policy and starts loading the DB in the
// background, so that it loads while the tree is catalogued. With a cache
// (deferOpen) the DB is obtained and validated as always but opened only if
// the match is not in the cache.
func startDeps(ctx context.Context, o DepsOptions, now func() time.Time, deferOpen bool) (*vulndb.Pending, error) {
	pol, err := vulndb.ParseOutagePolicy(o.OnOutage)
	if err != nil {
		return nil, err
	}
	return vulndb.Start(ctx, vulndb.Options{DBDir: o.DBDir, CacheDir: o.CacheDir, UpdateURL: o.UpdateURL,
		MaxAge: o.MaxAge, Scanner: Deps, Now: now, Timeout: o.Timeout, DeferOpen: deferOpen}, pol), nil
}

// runDeps matches the catalog against the DB loaded by startDeps. An outage
// under the continue policy returns the outage record and no result.
func runDeps(ctx context.Context, cat vulndb.Catalog, db *vulndb.Pending, o DepsOptions, cache scancache.Store) (*depsResult, *attestation.Outage, error) {
	rep, outage, err := db.MatchCatalog(ctx, cat, vulndb.MatchOptions{VEX: o.VEX, Scanner: Deps, Cache: cache})
	if err != nil {
		return nil, nil, fmt.Errorf("dependency scanner: %w", err)
	}
	if outage != nil {
		rec := outage.Record()
		return nil, &rec, nil
	}
	fs := append(append([]finding.Finding(nil), rep.Findings...), rep.Suppressed...)
	return &depsResult{findings: fs, report: rep, info: rep.DB}, nil, nil
}

// DB describes the vulnerability DB the deps scanner used ("" when it did not run).
func (r *Result) DB() string {
	if r.deps == nil {
		return ""
	}
	s := fmt.Sprintf("grype DB %s (%s, %s)", r.deps.info.DBVersion(), r.deps.info.Source, r.deps.info.Location)
	if r.deps.info.UpdateError != "" {
		s += "; the update check failed, the cached DB is within max-db-age: " + r.deps.info.UpdateError
	}
	return s
}

func (d *depsResult) predicate(inv attestation.VulnInvocation) ([]byte, error) {
	return d.report.PredicateJSON(inv)
}

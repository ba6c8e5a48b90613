// Package vulndb is the vulnerability DB and matching layer the scan and sbom
// gates share: it obtains and validates grype's v6 vulnerability DB, runs
// grype's matchers in-process on a syft SBOM the caller already cataloged, and
// turns the matches into findings, the cosign vulnerability-scan predicate and a
// SARIF run. It also holds the outage policy both gates apply when the DB cannot
// be had, the DB inputs they share (Inputs, embedded in each gate's inputs) and
// where the DB is downloaded by default (CacheDir).
//
// # The DB
//
// Load takes the DB from Options.DBDir — a grype DB root (a folder holding
// 6/vulnerability.db, as GRYPE_DB_CACHE_DIR does; the 6/ folder itself works
// too) or a DB archive (.tar.gz, .tar.zst) for air-gapped runners — or else from
// grype's distribution, downloaded into Options.CacheDir when missing, older than
// MaxAge, or superseded. The DB's checksum (import.json) is always validated and
// its age is checked against Options.Now: a DB older than MaxAge (default 120h,
// grype's default) is refused. Failures are classified for the gate's exit code:
// a DBDir that does not exist or is not a DB is an errkind.Input error (exit 2);
// a DB that cannot be downloaded, fails its checksum or is too old is an
// errkind.Infra error (exit 3).
//
// # Outages
//
// LoadWithPolicy applies the on-scanner-outage policy: OutageFail returns the
// infrastructure error; OutageContinue returns an Outage to record (the code-scan
// predicate's outages, via Outage.Record) and no DB, and the caller goes on
// without dependency results and says so — never "0 findings".
//
// # Matching and outputs
//
// DB.Match runs grype's default matchers (grype v0.120.1's CLI defaults) on the
// SBOM, applies OpenVEX documents with grype's VEX support, and returns a Report:
// findings (pkg/finding, scanner "deps"), VEX-suppressed findings, and grype's
// JSON document. Report.VulnPredicate writes cosign's vuln predicate and
// Report.SARIFRun a pkg/sarif run. Severity cutoffs and only-fixed gating are
// finding.Gate's; exceptions are applied by the caller.
//
// # Speed
//
// The answers are grype's; two things make them arrive sooner. The DB is read
// through a connection pool of the package's own (sqlcache.go): its connections
// do not share one page cache, and they answer a SELECT already run with the
// same arguments from memory — the DB is immutable while open, and three of
// four of grype's queries on a real image are repeats (the same operating
// system for every Debian package, the same source package for its binaries).
// And Match works out every matcher's answer for every package on one goroutine
// per CPU before grype's own loop asks for them (prefetch.go), so grype's
// ignore rules, filters and deduplication run unchanged over the same answers.
// TestTunedMatchIsGrypes compares both with grype's own reader and loop.
//
// # The match cache
//
// With MatchOptions.Cache, a report matched earlier is reused when the DB
// build, grype, the packages (the SBOM's syft JSON), the VEX documents (path
// and content) and the options are the same. The DB build is the digest its
// checksum validation has just checked (import.json), with the schema, build
// time, source and URL grype's document records: a new DB build re-matches
// every package. Load with Options.DeferOpen validates the DB as always —
// download or update check, checksum, max age, and the outage policy on
// failure — and opens it only when a match needs it, so a cached match costs
// no DB open. Only the matching is reused: the report's DB info and scan times
// are the run's. A cached entry that does not decode, is of another format or
// whose parts disagree is a miss; its integrity against forgery is the
// store's (pkg/scancache).
//
// The package reads no environment, prints nothing and exits never; it needs the
// network only to download the DB into CacheDir.
package vulndb

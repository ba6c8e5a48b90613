// Command dbgen builds a grype v6 vulnerability DB from four real advisories, fully
// offline, with grype v0.120.1's own v6 writer — the DB every secure-gates test and
// benchmark scans against. Optionally it pads the DB with never-matching synthetic
// advisories to a realistic size for benchmarks.
//
//	dbgen -root DIR [-archive FILE.tar.gz] [-listing DIR] [-built 2026-01-02T03:04:05Z] [-synthetic N] [-names a.cdx.json,b.cdx.json]
//
// -root becomes a grype DB root: DIR/6/vulnerability.db + DIR/6/import.json, what
// GRYPE_DB_CACHE_DIR (and the db-dir input) points at. -archive writes the
// distribution form as a tar.gz for `grype db import` (and the db-dir input).
// -listing writes a tar.gz plus the latest.json listing grype's updater reads
// (GRYPE_DB_UPDATE_URL=<server>/latest.json), made with grype's own distribution
// package. -built sets the DB's build time (default now), for DB-age tests.
//
// The advisories: log4j-core CVE-2021-44228 (GHSA-jfh8-c2jp-5v3q), golang.org/x/text
// CVE-2022-32149 (GHSA-69ch-w2m2-3vjp), lodash CVE-2021-23337 (GHSA-35jh-r3h4-6jhm)
// and Debian 12 openssl CVE-2023-5678, with their published fixed versions and
// severities. internal/testinfra runs this command (testinfra.GrypeDB).
package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/afero"

	v6 "github.com/anchore/grype/grype/db/v6"
	v6dist "github.com/anchore/grype/grype/db/v6/distribution"
)

func main() {
	root := flag.String("root", "", "output DB root (gets 6/vulnerability.db and 6/import.json)")
	archive := flag.String("archive", "", "also write the distribution form as this tar.gz")
	listing := flag.String("listing", "", "also write <dir>/latest.json and the tar.gz it lists")
	built := flag.String("built", "", "the DB build time, RFC 3339 (default: now)")
	synthetic := flag.Int("synthetic", 0, "add N synthetic never-matching advisories (benchmark DB size)")
	names := flag.String("names", "", "CycloneDX JSON SBOMs, comma-separated: add 3 never-matching advisories per distinct component name")
	flag.Parse()
	if *root == "" {
		log.Fatal("dbgen: -root is required")
	}
	when := time.Now().UTC().Round(time.Second)
	if *built != "" {
		t, err := time.Parse(time.RFC3339, *built)
		if err != nil {
			log.Fatalf("dbgen: -built: %v", err)
		}
		when = t.UTC().Round(time.Second)
	}
	if err := run(*root, *archive, *listing, when, *synthetic, *names); err != nil {
		log.Fatalf("dbgen: %v", err)
	}
}

func run(root, archive, listing string, built time.Time, synthetic int, names string) error {
	work, err := os.MkdirTemp("", "dbgen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	advs := realAdvisories(built)
	extra, err := syntheticAdvisories(advs[0].vuln.Provider, synthetic, names)
	if err != nil {
		return err
	}
	advs = append(advs, extra...)
	if err := write(work, advs); err != nil {
		return err
	}
	if err := setBuilt(work, built); err != nil {
		return err
	}
	dbFile := filepath.Join(work, v6.VulnerabilityDBFileName)
	if archive != "" {
		if err := tarGz(archive, dbFile); err != nil {
			return err
		}
	}
	if listing != "" {
		if err := writeListing(listing, dbFile, built); err != nil {
			return err
		}
	}
	// The root's 6/ folder: the distribution form hydrated (indexes re-created, what
	// `grype db import` does) with import.json holding the digest grype validates.
	dir := filepath.Join(root, fmt.Sprint(v6.ModelVersion))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := copyFile(dbFile, filepath.Join(dir, v6.VulnerabilityDBFileName)); err != nil {
		return err
	}
	if err := v6.Hydrater()(dir); err != nil {
		return fmt.Errorf("hydrating: %w", err)
	}
	if _, err := v6.WriteImportMetadata(afero.NewOsFs(), dir, "secure-gates-dbgen"); err != nil {
		return fmt.Errorf("writing import metadata: %w", err)
	}
	return nil
}

// write creates the distribution form of the DB in dir with grype's v6 writer.
func write(dir string, advs []advisory) error {
	// NewWriter creates <dir>/vulnerability.db, migrates the schema, seeds grype's
	// built-in OS/package overrides and writes the metadata row (schema 6.x.y).
	w, err := v6.NewWriter(v6.Config{DBDirPath: dir})
	if err != nil {
		return fmt.Errorf("opening the v6 writer: %w", err)
	}
	for start := 0; start < len(advs); start += 5000 {
		batch := advs[start:min(start+5000, len(advs))]
		vulns := make([]*v6.VulnerabilityHandle, len(batch))
		for i, a := range batch {
			vulns[i] = a.vuln
		}
		if err := w.AddVulnerabilities(vulns...); err != nil {
			return fmt.Errorf("adding vulnerabilities: %w", err)
		}
		var pkgs []*v6.AffectedPackageHandle
		for _, a := range batch {
			for _, p := range a.pkgs {
				p.VulnerabilityID = a.vuln.ID
				pkgs = append(pkgs, p)
			}
		}
		if err := w.AddAffectedPackages(pkgs...); err != nil {
			return fmt.Errorf("adding affected packages: %w", err)
		}
	}
	// Close drops the indexes and VACUUMs: the distribution form.
	if err := w.Close(); err != nil {
		return fmt.Errorf("closing the v6 writer: %w", err)
	}
	return nil
}

// setBuilt rewrites the build time the writer recorded (always "now").
func setBuilt(dir string, built time.Time) error {
	db, err := v6.NewLowLevelDB(filepath.Join(dir, v6.VulnerabilityDBFileName), false, true, false)
	if err != nil {
		return fmt.Errorf("reopening the DB: %w", err)
	}
	if err := db.Exec("UPDATE db_metadata SET build_timestamp = ?", built).Error; err != nil {
		return fmt.Errorf("setting the build time: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// writeListing writes the archive and grype's latest.json listing next to it.
func writeListing(dir, dbFile string, built time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("vulnerability-db_v%d.%d.%d_%d.tar.gz", v6.ModelVersion, v6.Revision, v6.Addition, built.Unix())
	tarPath := filepath.Join(dir, name)
	if err := tarGz(tarPath, dbFile); err != nil {
		return err
	}
	a, err := v6dist.NewArchive(tarPath, built, v6.ModelVersion, v6.Revision, v6.Addition)
	if err != nil {
		return fmt.Errorf("describing the archive: %w", err)
	}
	doc := v6dist.NewLatestDocument(*a)
	if doc == nil {
		return fmt.Errorf("no listing for schema v%d", v6.ModelVersion)
	}
	f, err := os.Create(filepath.Join(dir, v6dist.LatestFileName))
	if err != nil {
		return err
	}
	if err := doc.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing the listing: %w", err)
	}
	return f.Close()
}

type advisory struct {
	vuln *v6.VulnerabilityHandle
	pkgs []*v6.AffectedPackageHandle
}

func ptr[T any](v T) *T { return &v }

func day(s string) *time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return &t
}

func cvss(vec string) v6.Severity {
	return v6.Severity{Scheme: v6.SeveritySchemeCVSS, Value: v6.CVSSSeverity{Vector: vec, Version: "3.1"}, Rank: 2}
}

func word(s string) v6.Severity {
	return v6.Severity{Scheme: v6.SeveritySchemeCHMLN, Value: s, Rank: 1}
}

func fixed(typ, constraint, fix string) []v6.Range {
	return []v6.Range{{Version: v6.Version{Type: typ, Constraint: constraint}, Fix: &v6.Fix{Version: fix, State: v6.FixedStatus}}}
}

func ghsa(prov *v6.Provider, id, cve, summary, published, sev, vector, eco, name string, ranges []v6.Range) advisory {
	v := &v6.VulnerabilityHandle{
		Name: id, ProviderID: prov.ID, Provider: prov, Status: v6.VulnerabilityActive,
		PublishedDate: day(published),
		BlobValue: &v6.VulnerabilityBlob{
			ID: id, Description: summary, Aliases: []string{cve},
			References: []v6.Reference{{URL: "https://github.com/advisories/" + id}},
			Severities: []v6.Severity{word(sev), cvss(vector)},
		},
	}
	p := &v6.AffectedPackageHandle{
		Package:   &v6.Package{Ecosystem: eco, Name: name},
		BlobValue: &v6.PackageBlob{CVEs: []string{cve}, Ranges: ranges},
	}
	return advisory{v, []*v6.AffectedPackageHandle{p}}
}

// realAdvisories are the four real advisories, as GitHub and Debian publish them.
func realAdvisories(captured time.Time) []advisory {
	github := &v6.Provider{ID: "github", Version: "1", Processor: "secure-gates-dbgen", DateCaptured: ptr(captured)}
	debian := &v6.Provider{ID: "debian", Version: "1", Processor: "secure-gates-dbgen", DateCaptured: ptr(captured)}
	advs := []advisory{
		ghsa(github, "GHSA-jfh8-c2jp-5v3q", "CVE-2021-44228", "Remote code injection in Log4j", "2021-12-10",
			"critical", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
			"java-archive", "org.apache.logging.log4j:log4j-core",
			[]v6.Range{
				{Version: v6.Version{Type: "maven", Constraint: ">= 2.13.0, < 2.15.0"}, Fix: &v6.Fix{Version: "2.15.0", State: v6.FixedStatus}},
				{Version: v6.Version{Type: "maven", Constraint: ">= 2.4, < 2.12.2"}, Fix: &v6.Fix{Version: "2.12.2", State: v6.FixedStatus}},
				{Version: v6.Version{Type: "maven", Constraint: "< 2.3.1"}, Fix: &v6.Fix{Version: "2.3.1", State: v6.FixedStatus}},
			}),
		ghsa(github, "GHSA-69ch-w2m2-3vjp", "CVE-2022-32149", "golang.org/x/text/language Denial of service via crafted Accept-Language header", "2022-10-11",
			"high", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
			"go-module", "golang.org/x/text", fixed("go", "< 0.3.8", "0.3.8")),
		ghsa(github, "GHSA-35jh-r3h4-6jhm", "CVE-2021-23337", "Command Injection in lodash", "2021-02-15",
			"high", "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H",
			"npm", "lodash", fixed("semver", "< 4.17.21", "4.17.21")),
	}
	// Debian's tracker entry for CVE-2023-5678: source package openssl, bookworm.
	deb := &v6.VulnerabilityHandle{
		Name: "CVE-2023-5678", ProviderID: debian.ID, Provider: debian, Status: v6.VulnerabilityActive,
		PublishedDate: day("2023-11-06"),
		BlobValue: &v6.VulnerabilityBlob{
			ID: "CVE-2023-5678", Description: "Excessive time spent in DH check / generation with large Q parameter value",
			References: []v6.Reference{{URL: "https://security-tracker.debian.org/tracker/CVE-2023-5678"}},
			Severities: []v6.Severity{word("medium")},
		},
	}
	return append(advs, advisory{deb, []*v6.AffectedPackageHandle{{
		Package:         &v6.Package{Ecosystem: "deb", Name: "openssl"},
		OperatingSystem: &v6.OperatingSystem{Name: "debian", ReleaseID: "debian", MajorVersion: "12", Codename: "bookworm"},
		BlobValue:       &v6.PackageBlob{Ranges: fixed("dpkg", "< 3.0.13-1~deb12u1", "3.0.13-1~deb12u1")},
	}}})
}

// syntheticAdvisories makes advisories that never match a real version: n for
// made-up packages spread over the ecosystems, and three for each distinct
// (ecosystem, name) among the components of the SBOMs (sbomPaths, comma-separated),
// so a benchmark DB has a realistic size and every lookup has rows to compare.
func syntheticAdvisories(prov *v6.Provider, n int, sbomPaths string) ([]advisory, error) {
	type target struct{ eco, name, typ string }
	ecos := []target{{"npm", "", "semver"}, {"go-module", "", "go"}, {"java-archive", "", "maven"}, {"python", "", "pep440"}, {"gem", "", "gem"}}
	var targets []target
	for i := 0; i < n; i++ {
		e := ecos[i%len(ecos)]
		name := fmt.Sprintf("synthetic-pkg-%d", i)
		if e.eco == "java-archive" {
			name = "org.synthetic:" + name
		}
		targets = append(targets, target{e.eco, name, e.typ})
	}
	seen := map[target]bool{}
	for _, sbomPath := range strings.Split(sbomPaths, ",") {
		if sbomPath == "" {
			continue
		}
		var bom struct {
			Components []struct{ Name, Purl, Group string } `json:"components"`
		}
		b, err := os.ReadFile(sbomPath)
		if err == nil {
			err = json.Unmarshal(b, &bom)
		}
		if err != nil {
			return nil, fmt.Errorf("reading -names %s: %w", sbomPath, err)
		}
		kinds := map[string]target{"pkg:npm/": {"npm", "", "semver"}, "pkg:golang/": {"go-module", "", "go"}, "pkg:maven/": {"java-archive", "", "maven"}, "pkg:pypi/": {"python", "", "pep440"}, "pkg:gem/": {"gem", "", "gem"}}
		for _, c := range bom.Components {
			for prefix, k := range kinds {
				if strings.HasPrefix(c.Purl, prefix) {
					name := c.Name
					if k.eco == "java-archive" && c.Group != "" {
						name = c.Group + ":" + c.Name
					}
					t := target{k.eco, name, k.typ}
					if seen[t] {
						continue
					}
					seen[t] = true
					for j := 0; j < 3; j++ {
						targets = append(targets, t)
					}
				}
			}
		}
	}
	out := make([]advisory, 0, len(targets))
	for i, t := range targets {
		id := fmt.Sprintf("GHSA-synt-%04x-%04x", i>>16, i&0xffff)
		out = append(out, ghsa(prov, id, fmt.Sprintf("CVE-1999-%07d", i), "synthetic advisory for benchmarks", "2020-01-01",
			"medium", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", t.eco, t.name, fixed(t.typ, "< 0.0.0-0", "0.0.0-0")))
	}
	return out, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// tarGz writes dbFile as the only entry (vulnerability.db at the top level, what
// `grype db import` and the updater expect) of a gzip-compressed tar.
func tarGz(out, dbFile string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	src, err := os.Open(dbFile)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: v6.VulnerabilityDBFileName, Mode: 0o644, Size: st.Size(), ModTime: time.Unix(0, 0).UTC(), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, src); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return f.Close()
}

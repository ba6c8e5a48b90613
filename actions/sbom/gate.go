// Package sbom is the sbom action (gate 2 at the image): one syft catalog of an
// image or directory, written as CycloneDX, SPDX and the other requested formats,
// scanned for vulnerabilities in the same process, and handed to
// Dependency-Track. It maps the action's inputs to pkg/catalog, pkg/sbomdoc,
// pkg/vulndb, pkg/exceptions and pkg/dtrack, and their results to outputs, a step
// summary and annotations.
package sbom

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/anchore/syft/syft/source"
	"github.com/google/go-github/v60/github"

	scanaction "github.com/secure-gates/secure-gates/actions/scan"
	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/dtrack"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	"github.com/secure-gates/secure-gates/pkg/sbomdoc"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the sbom subcommand.
var Gate = gate.Gate{Name: "sbom", ActionYAML: actionYAML, Positional: "image", Run: run, Inputs: Inputs{}}

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Image            string        `input:"image"`
	Path             string        `input:"path"`
	SBOM             string        `input:"sbom"`
	Policy           string        `input:"policy"`
	TrustedRoot      string        `input:"trusted-root"`
	RegistryUsername string        `input:"registry-username"`
	RegistryPassword string        `input:"registry-password"`
	Formats          []string      `input:"formats"`
	OutputDir        string        `input:"output-dir"`
	ScanVulns        bool          `input:"scan-vulns"`
	SeverityCutoff   string        `input:"severity-cutoff"`
	OnlyFixed        bool          `input:"only-fixed"`
	Exceptions       string        `input:"exceptions"`
	DBDir            string        `input:"db-dir"`
	DBCache          string        `input:"db-cache"`
	MaxDBAge         time.Duration `input:"max-db-age"`
	OnScannerOutage  string        `input:"on-scanner-outage"`
	MaxBytes         int           `input:"max-bytes"`
	MaxFiles         int           `input:"max-files"`
	Timeout          time.Duration `input:"timeout"`
	DTURL            string        `input:"dependency-track-url"`
	DTAPIKey         string        `input:"dependency-track-api-key"`
	DTProject        string        `input:"dependency-track-project"`
	DTVersion        string        `input:"dependency-track-version"`
	UploadSARIF      bool          `input:"upload-sarif"`
	Category         string        `input:"category"`
	Token            string        `input:"token"`
}

// File names in output-dir besides the SBOM documents.
const (
	VulnPredicateFile = "vuln-predicate.json"
	SARIFFile         = "sbom-vulns.sarif"
	// MaxAnnotations bounds the error annotations of one run.
	MaxAnnotations = 10
	// TopVulns is how many vulnerabilities the summary lists.
	TopVulns = 15
)

// result is what one run produced, for the report.
type result struct {
	subject   string // image repo@digest, or the directory
	ref       oci.Ref
	cat       *catalog.Result
	docs      map[sbomdoc.Format]string
	formats   []sbomdoc.Format
	findings  []finding.Finding // after exceptions
	failing   []finding.Finding
	counts    finding.Counts
	outage    *vulndb.Outage
	db        *vulndb.Info
	predicate string
	sarif     string
	applied   []exceptions.Applied
	expired   []exceptions.Entry
	dtProject dtrack.Project
	dtDone    bool
	scanned   bool
}

func run(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) error {
	var in Inputs
	if err := gha.Decode(raw, &in); err != nil {
		return errkind.Input(err)
	}
	token := in.Token
	if strings.HasPrefix(token, "${{") {
		token = ""
	}
	for _, secret := range []string{in.RegistryPassword, in.DTAPIKey, token} {
		if secret != "" {
			rt.AddMask(secret)
		}
	}
	c := rt.Context()
	ws := c.Workspace
	if ws == "" || !rt.InActions() {
		var err error
		if ws, err = os.Getwd(); err != nil {
			return errkind.Infra(err)
		}
	}
	ws, _ = filepath.Abs(ws)
	resolve := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(ws, p)
	}

	// Inputs first: everything a user can get wrong fails before any work.
	if (in.Image == "") == (in.Path == "") {
		return errkind.Input(errors.New("give exactly one of image (a registry reference, oci-dir:PATH or docker-archive:PATH) and path (a directory)"))
	}
	var src catalog.ImageSource
	if in.Image != "" {
		var err error
		if src, err = catalog.ParseImageSource(in.Image); err != nil {
			return err
		}
		if src.Kind != catalog.SourceRegistry {
			src.Path = resolve(src.Path)
		}
	}
	if err := checkSBOMInput(in, src); err != nil {
		return err
	}
	formats, err := sbomdoc.ParseFormats(in.Formats)
	if err != nil {
		return err
	}
	cutoff, err := finding.ParseCutoff(in.SeverityCutoff)
	if err != nil {
		return errkind.Input(err)
	}
	policy, err := vulndb.ParseOutagePolicy(in.OnScannerOutage)
	if err != nil {
		return err
	}
	if in.MaxBytes < 0 || in.MaxFiles < 0 || in.Timeout < 0 {
		return errkind.Input(errors.New("max-bytes, max-files and timeout must not be negative"))
	}
	if err := gate.CheckDuration("timeout", in.Timeout, true); err != nil {
		return err
	}
	if (in.DTURL == "") != (in.DTAPIKey == "") {
		return errkind.Input(errors.New("dependency-track-url and dependency-track-api-key go together: set both to upload the SBOM, or neither"))
	}
	now := time.Now()
	var exSet *exceptions.Set
	if in.ScanVulns {
		exPath := or(in.Exceptions, exceptions.DefaultPath)
		if exSet, err = exceptions.Load(resolve(exPath), now, exceptions.Options{MissingOK: exPath == exceptions.DefaultPath}); err != nil {
			return err
		}
	}
	outDir := resolve(or(in.OutputDir, "sbom"))

	// The DB loads while the image is catalogued, and the catalog is matched
	// against it while the documents are written: one process, one DB load.
	var db *vulndb.Pending
	if in.ScanVulns {
		dctx, cancel := context.WithCancel(ctx)
		db = vulndb.Start(dctx, vulndb.Options{DBDir: resolve(in.DBDir), CacheDir: scanaction.DBCache(rt, resolve(in.DBCache)),
			MaxAge: in.MaxDBAge, Scanner: "image"}, policy)
		defer func() { cancel(); db.Discard() }() // stop a load nobody waits for
	}

	copts := catalog.Options{MaxBytes: int64(in.MaxBytes), MaxFiles: in.MaxFiles, Timeout: in.Timeout,
		Registry: oci.Options{Username: in.RegistryUsername, Password: in.RegistryPassword, UserAgent: "secure-gates-sbom"},
		TempDir:  rt.Getenv("RUNNER_TEMP")}
	res := &result{formats: formats}
	end := rt.Group("Cataloguing " + describe(in, src))
	switch {
	case in.SBOM != "":
		res.cat, err = readSBOM(ctx, rt, in, src, copts.Registry, resolve)
		formats, res.formats = nil, nil // the SBOM exists: only the scan is new
	case in.Image != "":
		res.cat, err = catalog.Image(ctx, src, copts)
	default:
		res.cat, err = catalog.Directory(ctx, resolve(in.Path), copts)
	}
	end()
	if err != nil {
		return fmt.Errorf("cataloguing %s: %w", describe(in, src), err)
	}
	res.ref = res.cat.Ref
	res.subject = resolve(in.Path)
	if in.Image != "" {
		res.subject = res.ref.String()
		rt.Infof("image %s resolved to %s", src, res.ref.String())
	}

	var (
		matching sync.WaitGroup
		m        struct {
			rep    *vulndb.Report
			outage *vulndb.Outage
			err    error
		}
	)
	if in.ScanVulns {
		// Matching and writing the documents only read the catalog, which holds
		// packages and no file data (pkg/catalog catalogs without file metadata
		// or digests), so they run side by side.
		mctx, cancel := context.WithCancel(ctx)
		matching.Add(1)
		go func() {
			defer matching.Done()
			m.rep, m.outage, m.err = db.Match(mctx, res.cat.SBOM, vulndb.MatchOptions{Scanner: "image"})
		}()
		defer func() { cancel(); matching.Wait() }() // a failed write stops the match
	}
	opts := sbomdoc.Options{Subject: res.ref, Arch: arch(res.cat)}
	if res.docs, err = sbomdoc.WriteAll(outDir, res.cat.SBOM, formats, opts); err != nil {
		return err
	}
	for _, f := range formats {
		rt.Infof("wrote %s to %s", f, res.docs[f])
	}

	if in.ScanVulns {
		matching.Wait()
		if err := scanVulns(rt, in, res, m.rep, m.outage, m.err, exSet, cutoff, outDir); err != nil {
			return err
		}
	}

	if in.DTURL != "" {
		if err := handOff(ctx, rt, in, res, c, opts); err != nil {
			return err
		}
	}
	if res.scanned && res.sarif != "" && in.UploadSARIF && rt.InActions() {
		if err := uploadSARIF(ctx, rt, res, token, c); err != nil {
			return err
		}
	}
	return report(rt, in, res, cutoff)
}

// scanVulns records the match of the catalog against the DB (or the outage),
// applies the exceptions and writes the vuln predicate and the SARIF file.
func scanVulns(rt *gha.Runtime, in Inputs, res *result, rep *vulndb.Report, outage *vulndb.Outage, matchErr error,
	exSet *exceptions.Set, cutoff finding.Severity, outDir string) error {
	if matchErr != nil {
		return fmt.Errorf("image vulnerability scan: %w", matchErr)
	}
	if outage != nil {
		res.outage = outage
		return nil
	}
	info := rep.DB
	res.db = &info
	res.scanned = true
	res.applied, res.expired = exSet.Apply(rep.Findings)
	res.findings = rep.Findings
	res.counts = finding.Count(rep.Findings)
	res.failing = finding.Gate(rep.Findings, cutoff, in.OnlyFixed)

	c := rt.Context()
	inv := attestation.VulnInvocation{}
	if c.Repository != "" && c.RunID != "" {
		inv.URI = strings.TrimSuffix(or(c.ServerURL, "https://github.com"), "/") + "/" + c.Repository + "/actions/runs/" + c.RunID
		inv.EventID = c.RunID
	}
	params, _ := json.Marshal(map[string]any{"image": res.subject, "severity-cutoff": string(cutoff), "only-fixed": in.OnlyFixed})
	inv.Parameters = params
	data, err := rep.PredicateJSON(inv)
	if err != nil {
		return err
	}
	res.predicate = filepath.Join(outDir, VulnPredicateFile)
	if err := atomicfile.Write(res.predicate, data); err != nil {
		return errkind.Infra(err)
	}
	res.sarif = filepath.Join(outDir, SARIFFile)
	cat := in.Category
	if cat == "" {
		cat = Category(res)
	}
	if err := sarif.WriteFile(res.sarif, []sarif.Run{rep.SARIFRun(cat)}, sarif.Options{Root: outDir}); err != nil {
		return errkind.Infra(fmt.Errorf("writing %s: %w", res.sarif, err))
	}
	rt.Infof("wrote the vuln predicate to %s and the SARIF to %s", res.predicate, res.sarif)
	return nil
}

// Category is the default code scanning category of an image's findings: one
// per image repository (every digest of an image replaces the previous
// analysis), "sbom/<repository>" ("sbom/path" for a directory).
func Category(res *result) string {
	if res.ref.Repository != "" {
		return "sbom/" + res.ref.Repository
	}
	return "sbom/path"
}

// handOff uploads the CycloneDX BOM to Dependency-Track and waits for it.
func handOff(ctx context.Context, rt *gha.Runtime, in Inputs, res *result, c gha.Context, opts sbomdoc.Options) error {
	var bom []byte
	if p, ok := res.docs[sbomdoc.CycloneDXJSON]; ok {
		data, err := os.ReadFile(p)
		if err != nil {
			return errkind.Infra(err)
		}
		bom = data
	} else {
		var b strings.Builder
		if err := sbomdoc.Encode(&b, res.cat.SBOM, sbomdoc.CycloneDXJSON, opts); err != nil {
			return errkind.Infra(err)
		}
		bom = []byte(b.String())
	}
	version := in.DTVersion
	if version == "" {
		version = or(res.ref.Digest, c.SHA)
	}
	name := or(in.DTProject, c.Repository)
	if name == "" {
		name = res.ref.Repository
	}
	res.dtProject = dtrack.Project{Name: name, Version: version, AutoCreate: true}
	o := dtrack.Options{URL: in.DTURL, APIKey: in.DTAPIKey, HTTPClient: rt.HTTPClient()}
	token, err := dtrack.Upload(ctx, o, res.dtProject, bom)
	if err != nil {
		return fmt.Errorf("handing the SBOM to Dependency-Track: %w", err)
	}
	if err := dtrack.Wait(ctx, o, token); err != nil {
		return fmt.Errorf("handing the SBOM to Dependency-Track: %w", err)
	}
	res.dtDone = true
	rt.Infof("Dependency-Track processed the SBOM for project %s %s", name, version)
	return nil
}

// uploadSARIF sends the image findings to code scanning.
func uploadSARIF(ctx context.Context, rt *gha.Runtime, res *result, token string, c gha.Context) error {
	if token == "" {
		return errkind.Input(errors.New("upload-sarif needs the token input (security-events: write); set upload-sarif: false to skip"))
	}
	data, err := os.ReadFile(res.sarif)
	if err != nil {
		return errkind.Infra(err)
	}
	client := github.NewClient(rt.HTTPClient()).WithAuthToken(token)
	api, err := url.Parse(strings.TrimSuffix(or(c.APIURL, "https://api.github.com"), "/") + "/")
	if err != nil {
		return errkind.Input(fmt.Errorf("parsing GITHUB_API_URL: %w", err))
	}
	client.BaseURL = api
	id, err := sarif.Upload(ctx, client, sarif.UploadRequest{Owner: c.Owner(), Repo: c.Name(), CommitSHA: c.SHA, Ref: c.Ref, ToolName: "grype", SARIF: data})
	if err != nil {
		return fmt.Errorf("uploading the image findings to code scanning: %w", err)
	}
	st, err := sarif.Wait(ctx, client, c.Owner(), c.Name(), id, sarif.WaitOptions{})
	if err != nil {
		return fmt.Errorf("waiting for code scanning to process the image findings: %w", err)
	}
	rt.Infof("code scanning: image findings %s (%s)", st.Status, id)
	return nil
}

func describe(in Inputs, src catalog.ImageSource) string {
	if in.SBOM != "" {
		return "the SBOM (" + in.SBOM + ") of image " + src.String()
	}
	if in.Image != "" {
		return "image " + src.String()
	}
	return "directory " + in.Path
}

func arch(c *catalog.Result) string {
	if m, ok := c.SBOM.Source.Metadata.(source.ImageMetadata); ok {
		return m.Architecture
	}
	return ""
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

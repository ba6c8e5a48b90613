// Package sbom is the sbom action (gate 2 at the image): one syft catalog of an
// image or directory, written as CycloneDX, SPDX and the other requested formats,
// scanned for vulnerabilities in the same process, and handed to
// Dependency-Track. It maps the action's inputs to pkg/catalog, pkg/sbomdoc,
// pkg/vulndb, pkg/exceptions and pkg/dtrack, and their results to outputs, a step
// summary and annotations.
package sbom

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/anchore/syft/syft/source"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/dtrack"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/page"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/sarif"
	"github.com/secure-gates/secure-gates/pkg/sbomdoc"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the sbom subcommand.
var Gate = gate.Define(gate.Spec{Name: "sbom", ActionYAML: actionYAML, Positional: "image"}, runSBOM)

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Image string `input:"image"`
	Path  string `input:"path"`
	// SBOM, PolicyFile and TrustedRoot rescan an SBOM instead of cataloguing
	// the image (rescan.go).
	SBOM        string `input:"sbom"`
	PolicyFile  string `input:"policy"`
	TrustedRoot string `input:"trusted-root"`
	oci.RegistryInputs
	Formats   []string `input:"formats"`
	OutputDir string   `input:"output-dir"`
	ScanVulns bool     `input:"scan-vulns"`
	finding.CutoffInputs
	exceptions.FileInput
	vulndb.Inputs
	MaxBytes int `input:"max-bytes"`
	MaxFiles int `input:"max-files"`
	// Timeout bounds cataloguing (0: no bound), not the whole run.
	Timeout   time.Duration `input:"timeout"`
	DTURL     string        `input:"dependency-track-url"`
	DTAPIKey  string        `input:"dependency-track-api-key,secret"`
	DTProject string        `input:"dependency-track-project"`
	DTVersion string        `input:"dependency-track-version"`
	sarif.UploadInputs
	Category string `input:"category"`
	page.PagingInputs

	// Parsed by Validate.
	src     catalog.ImageSource
	formats []sbomdoc.Format
	cutoff  finding.Severity
	// Loaded by runSBOM before any network: the policy of sbom: attestation,
	// or the SBOM file of sbom: FILE (rescan.go).
	pol      *policy.Policy
	sbomFile *syftsbom.SBOM
}

// Validate checks every input and every combination of inputs that needs no
// file or network, and keeps what it parsed: everything a user can get wrong
// fails before any work.
func (in *Inputs) Validate() error {
	if err := in.PagingInputs.Validate(); err != nil {
		return err
	}
	if (in.Image == "") == (in.Path == "") {
		return errkind.Input(errors.New("give exactly one of image (a registry reference, oci-dir:PATH or docker-archive:PATH) and path (a directory)"))
	}
	var err error
	if in.Image != "" {
		if in.src, err = catalog.ParseImageSource(in.Image); err != nil {
			return err
		}
	}
	if err := in.validateRescan(); err != nil {
		return err
	}
	if in.formats, err = sbomdoc.ParseFormats(in.Formats); err != nil {
		return err
	}
	if in.SBOM != "" {
		in.formats = nil // the SBOM exists: only the scan is new
	}
	if in.cutoff, err = in.Cutoff(); err != nil {
		return errkind.Input(err)
	}
	if err := in.Inputs.Validate(); err != nil {
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
	return nil
}

// uploads reports whether the image findings go to code scanning: on a runner,
// when the vulnerability scan is on.
func (in Inputs) uploads(run *gate.Run) bool {
	return in.ScanVulns && in.UploadSARIF && run.InActions()
}

// Outputs are the action's outputs; the tags are the names in action.yml. The
// vulnerability counts are empty, not "0", when nothing was scanned.
type Outputs struct {
	Digest        string `output:"digest"`
	CycloneDX     string `output:"cyclonedx"`
	SPDX          string `output:"spdx"`
	VulnPredicate string `output:"vuln-predicate"`
	SARIF         string `output:"sarif"`
	Packages      int    `output:"packages"`
	Critical      string `output:"critical"`
	High          string `output:"high"`
	Medium        string `output:"medium"`
	Low           string `output:"low"`
	page.PagingOutputs

	res *result
}

// PageOutcome is the image scan's verdict for paging (docs/paging.md): the
// failing findings, or the matcher's outage. Nothing when no scan ran.
func (o Outputs) PageOutcome() (page.Outcome, bool) {
	res := o.res
	if res == nil || (!res.scanned && res.outage == nil) {
		return page.Outcome{}, false
	}
	po := page.Outcome{Gate: "sbom", Subject: res.subject, Key: res.ref.Digest, Failing: page.FromFindings(res.failing), Failed: len(res.failing) > 0}
	po.Seen = page.Others(page.FromFindings(res.findings), po.Failing)
	if res.outage != nil {
		po.Outages, po.OutageDetail = []string{"grype"}, res.outage.Reason
	} else {
		po.Ran = []string{"grype"}
	}
	return po, true
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

// result is what one run produced, for the outputs and the report.
type result struct {
	subject   string     // image repo@digest, or the directory
	rescan    *rescanned // the SBOM scanned instead of a catalog (the sbom input)
	ref       oci.Ref
	cat       *catalog.Result
	docs      map[sbomdoc.Format]string
	formats   []sbomdoc.Format
	cutoff    finding.Severity
	onlyFixed bool
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

func runSBOM(ctx context.Context, run *gate.Run, in Inputs) (Outputs, error) {
	if err := in.CheckToken(in.uploads(run)); err != nil {
		return Outputs{}, fmt.Errorf("%w; set upload-sarif: false to skip", err)
	}
	resolve, err := run.Resolver()
	if err != nil {
		return Outputs{}, err
	}
	if in.Image != "" && in.src.Kind != catalog.SourceRegistry {
		in.src.Path = resolve(in.src.Path)
	}
	if err := loadRescanPolicy(run, &in, resolve); err != nil {
		return Outputs{}, err
	}
	outDir, err := run.OutputDir("output-dir", cmp.Or(in.OutputDir, "sbom"))
	if err != nil {
		return Outputs{}, err
	}
	var exSet *exceptions.Set
	if in.ScanVulns {
		ws, err := run.Workspace()
		if err != nil {
			return Outputs{}, err
		}
		if exSet, err = in.FileInput.Load(ws, time.Now()); err != nil {
			return Outputs{}, err
		}
	}
	// The DB loads while the image is catalogued, and the catalog is matched
	// against it while the documents are written: one process, one DB load.
	var db *vulndb.Pending
	if in.ScanVulns {
		dctx, cancel := context.WithCancel(ctx)
		db = vulndb.Start(dctx, vulndb.Options{DBDir: resolve(in.DBDir), CacheDir: vulndb.CacheDir(resolve(in.DBCache), run.RunnerTemp()),
			MaxAge: in.MaxDBAge, Scanner: "image"}, in.Policy())
		defer func() { cancel(); db.Discard() }() // stop a load nobody waits for
	}
	res, err := catalogue(ctx, run, in, resolve)
	if err != nil {
		return Outputs{}, err
	}
	if err := writeAndMatch(ctx, run, in, res, db, exSet, outDir); err != nil {
		return Outputs{}, err
	}
	if in.DTURL != "" {
		if err := handOff(ctx, run, in, res); err != nil {
			return Outputs{}, err
		}
	}
	if res.scanned && res.sarif != "" && in.uploads(run) {
		if err := uploadSARIF(ctx, run, res, in.Token); err != nil {
			return Outputs{}, err
		}
	}
	return outputs(res), verdict(res)
}

// catalogue runs syft over the image or directory.
func catalogue(ctx context.Context, run *gate.Run, in Inputs, resolve func(string) string) (*result, error) {
	reg := in.RegistryInputs.Options()
	reg.UserAgent = "secure-gates-sbom"
	copts := catalog.Options{MaxBytes: int64(in.MaxBytes), MaxFiles: in.MaxFiles, Timeout: in.Timeout, Registry: reg, TempDir: run.Getenv("RUNNER_TEMP")}
	res := &result{formats: in.formats, cutoff: in.cutoff, onlyFixed: in.OnlyFixed}
	var err error
	end := run.Group("Cataloguing " + describe(in))
	switch {
	case in.SBOM != "":
		res.cat, res.rescan, err = readSBOM(ctx, run, in, reg, resolve)
	case in.Image != "":
		res.cat, err = catalog.Image(ctx, in.src, copts)
	default:
		res.cat, err = catalog.Directory(ctx, resolve(in.Path), copts)
	}
	end()
	if err != nil {
		return nil, fmt.Errorf("cataloguing %s: %w", describe(in), err)
	}
	res.ref = res.cat.Ref
	res.subject = resolve(in.Path)
	if in.Image != "" {
		res.subject = res.ref.String()
		run.Infof("image %s resolved to %s", in.src, res.ref.String())
	}
	return res, nil
}

// writeAndMatch writes the documents while the catalog is matched against the
// DB, then records the match: matching and writing only read the catalog,
// which holds packages and no file data (pkg/catalog catalogs without file
// metadata or digests), so they run side by side.
func writeAndMatch(ctx context.Context, run *gate.Run, in Inputs, res *result, db *vulndb.Pending, exSet *exceptions.Set, outDir string) error {
	var (
		matching sync.WaitGroup
		m        struct {
			rep    *vulndb.Report
			outage *vulndb.Outage
			err    error
		}
	)
	if in.ScanVulns {
		mctx, cancel := context.WithCancel(ctx)
		matching.Add(1)
		go func() {
			defer matching.Done()
			m.rep, m.outage, m.err = db.Match(mctx, res.cat.SBOM, vulndb.MatchOptions{Scanner: "image"})
		}()
		defer func() { cancel(); matching.Wait() }() // a failed write stops the match
	}
	var err error
	if res.docs, err = sbomdoc.WriteAll(outDir, res.cat.SBOM, res.formats, docOptions(res)); err != nil {
		return err
	}
	for _, f := range res.formats {
		run.Infof("wrote %s to %s", f, res.docs[f])
	}
	if !in.ScanVulns {
		return nil
	}
	matching.Wait()
	return scanVulns(run, in, res, m.rep, m.outage, m.err, exSet, outDir)
}

func docOptions(res *result) sbomdoc.Options {
	return sbomdoc.Options{Subject: res.ref, Arch: arch(res.cat)}
}

// scanVulns records the match of the catalog against the DB (or the outage),
// applies the exceptions and writes the vuln predicate and the SARIF file.
func scanVulns(run *gate.Run, in Inputs, res *result, rep *vulndb.Report, outage *vulndb.Outage, matchErr error,
	exSet *exceptions.Set, outDir string) error {
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
	res.failing = finding.Gate(rep.Findings, res.cutoff, in.OnlyFixed)

	c := run.Context()
	inv := attestation.VulnInvocation{}
	if c.Repository != "" && c.RunID != "" {
		inv.URI = strings.TrimSuffix(cmp.Or(c.ServerURL, "https://github.com"), "/") + "/" + c.Repository + "/actions/runs/" + c.RunID
		inv.EventID = c.RunID
	}
	params, _ := json.Marshal(map[string]any{"image": res.subject, "severity-cutoff": string(res.cutoff), "only-fixed": in.OnlyFixed})
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
		cat = category(res)
	}
	if err := sarif.WriteFile(res.sarif, []sarif.Run{rep.SARIFRun(cat)}, sarif.Options{Root: outDir}); err != nil {
		return errkind.Infra(fmt.Errorf("writing %s: %w", res.sarif, err))
	}
	run.Infof("wrote the vuln predicate to %s and the SARIF to %s", res.predicate, res.sarif)
	return nil
}

// category is the default code scanning category of an image's findings: one
// per image repository (every digest of an image replaces the previous
// analysis), "sbom/<repository>" ("sbom/path" for a directory).
func category(res *result) string {
	if res.ref.Repository != "" {
		return "sbom/" + res.ref.Repository
	}
	return "sbom/path"
}

// handOff uploads the CycloneDX BOM to Dependency-Track and waits for it.
func handOff(ctx context.Context, run *gate.Run, in Inputs, res *result) error {
	c := run.Context()
	var bom []byte
	if p, ok := res.docs[sbomdoc.CycloneDXJSON]; ok {
		data, err := os.ReadFile(p)
		if err != nil {
			return errkind.Infra(err)
		}
		bom = data
	} else {
		var b strings.Builder
		if err := sbomdoc.Encode(&b, res.cat.SBOM, sbomdoc.CycloneDXJSON, docOptions(res)); err != nil {
			return errkind.Infra(err)
		}
		bom = []byte(b.String())
	}
	version := in.DTVersion
	if version == "" {
		version = cmp.Or(res.ref.Digest, c.SHA)
	}
	name := cmp.Or(in.DTProject, c.Repository)
	if name == "" {
		name = res.ref.Repository
	}
	res.dtProject = dtrack.Project{Name: name, Version: version, AutoCreate: true}
	o := dtrack.Options{URL: in.DTURL, APIKey: in.DTAPIKey, HTTPClient: run.HTTPClient()}
	token, err := dtrack.Upload(ctx, o, res.dtProject, bom)
	if err != nil {
		return fmt.Errorf("handing the SBOM to Dependency-Track: %w", err)
	}
	if err := dtrack.Wait(ctx, o, token); err != nil {
		return fmt.Errorf("handing the SBOM to Dependency-Track: %w", err)
	}
	res.dtDone = true
	run.Infof("Dependency-Track processed the SBOM for project %s %s", name, version)
	return nil
}

// uploadSARIF sends the image findings to code scanning.
func uploadSARIF(ctx context.Context, run *gate.Run, res *result, token string) error {
	data, err := os.ReadFile(res.sarif)
	if err != nil {
		return errkind.Infra(err)
	}
	client, err := run.GitHub(token)
	if err != nil {
		return err
	}
	c := run.Context()
	id, err := sarif.Upload(ctx, client, sarif.UploadRequest{Owner: c.Owner(), Repo: c.Name(), CommitSHA: c.SHA, Ref: c.Ref, ToolName: "grype", SARIF: data})
	if err != nil {
		return fmt.Errorf("uploading the image findings to code scanning: %w", err)
	}
	st, err := sarif.Wait(ctx, client, c.Owner(), c.Name(), id, sarif.WaitOptions{})
	if err != nil {
		return fmt.Errorf("waiting for code scanning to process the image findings: %w", err)
	}
	run.Infof("code scanning: image findings %s (%s)", st.Status, id)
	return nil
}

func describe(in Inputs) string {
	if in.SBOM != "" {
		return "the SBOM (" + in.SBOM + ") of image " + in.src.String()
	}
	if in.Image != "" {
		return "image " + in.src.String()
	}
	return "directory " + in.Path
}

func arch(c *catalog.Result) string {
	if m, ok := c.SBOM.Source.Metadata.(source.ImageMetadata); ok {
		return m.Architecture
	}
	return ""
}

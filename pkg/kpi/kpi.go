// Package kpi computes the pipeline's key figures — coverage, gate escapes,
// mean time to detect and to remediate — from signed evidence only: the
// attestations on the running digests, each verified against the policy
// (pkg/verify), never logs or a database of ours. Every figure names the
// digests and attestation ids (sha256 of the verified payload) it was
// computed from, so that anyone can recompute it (docs/kpi.md gives the
// exact definitions).
//
// The package reads no environment, prints nothing and never exits.
package kpi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/rescan"
	"github.com/secure-gates/secure-gates/pkg/textclip"
	"github.com/secure-gates/secure-gates/pkg/verify"
	"github.com/secure-gates/secure-gates/pkg/vulndb"
)

// Running is one image reference running (or declared to run) somewhere.
type Running struct {
	// Ref is the reference as found: repo@sha256:… or, not covered, a tag.
	Ref string
	// Environment is the namespace, overlay or environment it runs in ("" when
	// the input does not say).
	Environment string
	// Source says where it was found (the input file and resource).
	Source string
}

// Options configures Compute.
type Options struct {
	// Policy and the verification settings (Registry, TrustedMaterial) every
	// digest is verified with. Verify.Now is set from Now.
	Verify verify.Options
	// DB is the vulnerability DB: today's matches of the attested SBOMs and the
	// advisories' publication dates.
	DB *vulndb.DB
	// From and To bound the window: MTTD and MTTR take the findings detected
	// in [From, To]. Zero From means no lower bound; zero To means Now.
	From, To time.Time
	// Now is the time of the computation (default time.Now).
	Now func() time.Time
	// MaxHistory caps the earlier digests read per repository (default 200).
	MaxHistory int
	// History lists the other digests of a repository, newest first (the
	// releases before the running one, for MTTR); default RegistryHistory.
	History func(ctx context.Context, repository string, max int) ([]string, error)
}

// Report is the result: the JSON document `secure-gates kpi --json` writes.
type Report struct {
	GeneratedAt time.Time  `json:"generatedAt"`
	Window      Window     `json:"window"`
	Policy      PolicyRef  `json:"policy"`
	DB          DBRef      `json:"db"`
	Definitions string     `json:"definitions"`
	Coverage    *float64   `json:"coverage"`
	CoverageBy  []Coverage `json:"coverageByEnvironment"`
	Images      []Image    `json:"images"`
	// Escapes is the number of escapes; EscapeRate escapes / findings present.
	Escapes          int            `json:"escapes"`
	EscapeRate       *float64       `json:"escapeRate"`
	EscapesBySev     map[string]int `json:"escapesBySeverity"`
	FindingsPresent  int            `json:"findingsPresent"`
	PresentBySev     map[string]int `json:"findingsPresentBySeverity"`
	EscapeDetail     []Present      `json:"findings"`
	NotAssessed      []NotAssessed  `json:"notAssessed"`
	MTTD             *float64       `json:"mttd"`
	MTTDP90          *float64       `json:"mttdP90"`
	MTTR             *float64       `json:"mttr"`
	MTTRP90          *float64       `json:"mttrP90"`
	Detections       []Detection    `json:"detections"`
	DigestsConsulted []Consulted    `json:"digestsConsulted"`
}

// Window is the time window of MTTD and MTTR.
type Window struct {
	From *time.Time `json:"from"`
	To   time.Time  `json:"to"`
}

// PolicyRef names the policy.
type PolicyRef struct {
	URI    string `json:"uri"`
	Digest string `json:"digest"`
}

// DBRef names the vulnerability DB.
type DBRef struct {
	Schema string    `json:"schema"`
	Built  time.Time `json:"built"`
}

// Coverage is the coverage of one environment.
type Coverage struct {
	Environment string   `json:"environment"`
	Running     int      `json:"running"`
	Covered     int      `json:"covered"`
	Ratio       *float64 `json:"ratio"`
}

// Image is one distinct (environment, reference) pair running.
type Image struct {
	Ref         string `json:"ref"`
	Digest      string `json:"digest"`
	Environment string `json:"environment"`
	Covered     bool   `json:"covered"`
	Reason      string `json:"reason"`
	// Attestations are the ids of the attestations the verification used
	// (the VSA's inputAttestations).
	Attestations []string `json:"attestations"`
	Sources      []string `json:"sources"`
}

// Present is one finding present now in a running digest: its attested SBOM
// matched against the DB.
type Present struct {
	Digest    string     `json:"digest"`
	ID        string     `json:"id"`
	Aliases   []string   `json:"aliases,omitempty"`
	Severity  string     `json:"severity"`
	Package   string     `json:"package"`
	Published *time.Time `json:"published"`
	// SBOM is the attestation id of the SBOM matched.
	SBOM string `json:"sbom"`
	// ReleaseScan is the attestation id of the release-time vuln scan, and
	// ReleaseScanTime its evidence time.
	ReleaseScan     string    `json:"releaseScan"`
	ReleaseScanTime time.Time `json:"releaseScanTime"`
	// Escape is true when the finding escaped the gates; Why says how
	// (EscapeMissed, EscapeNotDenied) or why it is not an escape.
	Escape bool   `json:"escape"`
	Why    string `json:"why"`
}

// Why values of an escape.
const (
	EscapeMissed    = "missed: published before the release scan finished, absent from it"
	EscapeNotDenied = "not denied: recorded by the release scan below the policy's deny threshold"
)

// NotAssessed is a running digest whose findings could not be assessed.
type NotAssessed struct {
	Ref    string `json:"ref"`
	Reason string `json:"reason"`
}

// Detection is one finding recorded by an attested scan of a digest: its
// detection (MTTD) and remediation (MTTR).
type Detection struct {
	Digest     string    `json:"digest"`
	Repository string    `json:"repository"`
	ID         string    `json:"id"`
	Severity   string    `json:"severity"`
	Published  time.Time `json:"published"`
	// Detected is the evidence time of the first attested scan recording it
	// (DetectedBy, an attestation id).
	Detected   time.Time `json:"detected"`
	DetectedBy string    `json:"detectedBy"`
	// TTDSeconds is Detected − Published.
	TTDSeconds float64 `json:"ttdSeconds"`
	// Remediated is the evidence time of the first verified VSA (PASSED) of
	// another digest of the repository, at or after Detected, whose attested
	// SBOM no longer has the finding (RemediatedBy: that VSA's id, on
	// RemediatedDigest); nil while open.
	Remediated       *time.Time `json:"remediated"`
	RemediatedBy     string     `json:"remediatedBy,omitempty"`
	RemediatedDigest string     `json:"remediatedDigest,omitempty"`
	TTRSeconds       *float64   `json:"ttrSeconds"`
	// InWindow says whether Detected falls in the window (only those count).
	InWindow bool `json:"inWindow"`
}

// Consulted is a digest whose attestations were read.
type Consulted struct {
	Ref      string   `json:"ref"`
	Running  bool     `json:"running"`
	Verified bool     `json:"verified"`
	Evidence []string `json:"evidence"`
}

// digestInfo is what one digest's verified attestations say.
type digestInfo struct {
	ref      oci.Ref
	running  bool
	rep      *verify.Report
	scans    []scan // verified vuln attestations, oldest first (timed ones)
	sbom     *verify.Evidence
	present  []vulnFinding // today's match of the SBOM, one per advisory
	matchErr string
	vsas     []verify.Evidence // verified, PASSED, about this digest, oldest first
}

type scan struct {
	ev       verify.Evidence
	findings []recorded
}

type recorded struct {
	ids      []string // id and aliases, lower case
	id       string
	severity finding.Severity
	fixed    bool
}

type vulnFinding struct {
	id       string
	aliases  []string
	severity finding.Severity
	pkg      string
}

func (f vulnFinding) keys() []string {
	out := []string{strings.ToLower(f.id)}
	for _, a := range f.aliases {
		out = append(out, strings.ToLower(a))
	}
	return out
}

// Compute verifies every running image and computes the figures.
func Compute(ctx context.Context, running []Running, o Options) (*Report, error) {
	o, now, err := withDefaults(o)
	if err != nil {
		return nil, err
	}
	rep := newReport(o, now)
	c := &computer{o: o, digests: map[string]*digestInfo{}, published: map[string]*time.Time{}}
	if err := c.images(ctx, running, rep); err != nil {
		return nil, err
	}
	rep.coverage()
	if err := c.allEscapes(rep); err != nil {
		return nil, err
	}
	if err := c.history(ctx); err != nil {
		return nil, err
	}
	if err := c.detections(rep); err != nil {
		return nil, err
	}
	rep.timesToDetect()
	rep.DigestsConsulted = c.consulted()
	return rep, nil
}

// withDefaults checks o and fills in its defaults; verification happens at
// the report's time (now), keeping its evidence.
func withDefaults(o Options) (Options, time.Time, error) {
	if o.Verify.Policy == nil {
		return o, time.Time{}, errkind.Input(errors.New("kpi: no policy"))
	}
	if o.DB == nil {
		return o, time.Time{}, errkind.Input(errors.New("kpi: no vulnerability DB"))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	now := o.Now().UTC()
	if o.To.IsZero() {
		o.To = now
	}
	if !o.From.IsZero() && o.From.After(o.To) {
		return o, time.Time{}, errkind.Input(fmt.Errorf("kpi: the window starts (%s) after it ends (%s)", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339)))
	}
	if o.MaxHistory <= 0 {
		o.MaxHistory = 200
	}
	if o.History == nil {
		reg := o.Verify.Registry
		o.History = func(ctx context.Context, repo string, max int) ([]string, error) {
			return RegistryHistory(ctx, repo, max, reg)
		}
	}
	o.Verify.Now = func() time.Time { return now }
	o.Verify.KeepEvidence = true
	return o, now, nil
}

// newReport is an empty report of o's window, policy and DB, made now.
func newReport(o Options, now time.Time) *Report {
	info := o.DB.Info()
	rep := &Report{
		GeneratedAt:  now,
		Window:       Window{To: o.To.UTC()},
		Policy:       PolicyRef{URI: o.Verify.Policy.Source, Digest: o.Verify.Policy.Digest.String()},
		DB:           DBRef{Schema: info.SchemaVersion, Built: info.Built},
		Definitions:  "https://github.com/secure-gates/secure-gates/blob/main/docs/kpi.md",
		EscapesBySev: map[string]int{},
		PresentBySev: map[string]int{},
		Images:       []Image{},
		EscapeDetail: []Present{},
		NotAssessed:  []NotAssessed{},
		Detections:   []Detection{},
		CoverageBy:   []Coverage{},

		DigestsConsulted: []Consulted{},
	}
	if !o.From.IsZero() {
		f := o.From.UTC()
		rep.Window.From = &f
	}
	return rep
}

// images verifies the running images, one per (environment, reference),
// into rep.Images, sorted.
func (c *computer) images(ctx context.Context, running []Running, rep *Report) error {
	type key struct{ env, ref string }
	idx := map[key]int{}
	for _, r := range running {
		k := key{r.Environment, strings.TrimSpace(r.Ref)}
		if i, ok := idx[k]; ok {
			if r.Source != "" && !slices.Contains(rep.Images[i].Sources, r.Source) {
				rep.Images[i].Sources = append(rep.Images[i].Sources, r.Source)
			}
			continue
		}
		img := Image{Ref: k.ref, Environment: k.env, Attestations: []string{}}
		if r.Source != "" {
			img.Sources = []string{r.Source}
		}
		if err := c.verifyImage(ctx, &img); err != nil {
			return err
		}
		idx[k] = len(rep.Images)
		rep.Images = append(rep.Images, img)
	}
	sort.SliceStable(rep.Images, func(i, j int) bool {
		if rep.Images[i].Environment != rep.Images[j].Environment {
			return rep.Images[i].Environment < rep.Images[j].Environment
		}
		return rep.Images[i].Ref < rep.Images[j].Ref
	})
	return nil
}

// verifyImage verifies a running image by digest and records whether it is
// covered and why (a reference without a digest is not).
func (c *computer) verifyImage(ctx context.Context, img *Image) error {
	ref, why := parseDigestRef(img.Ref)
	if why != "" {
		img.Reason = why
		return nil
	}
	img.Digest = ref.Digest
	d, err := c.digest(ctx, ref, true)
	if err != nil {
		return err
	}
	img.Covered = d.rep.Verified
	img.Reason = "verified"
	if !d.rep.Verified {
		img.Reason = strings.Join(d.rep.Failures(), "; ")
	}
	for _, in := range d.rep.Inputs {
		img.Attestations = append(img.Attestations, in.Digest)
	}
	return nil
}

// allEscapes counts the escapes: the findings present now in the running
// digests (each digest once).
func (c *computer) allEscapes(rep *Report) error {
	seen := map[string]bool{}
	for _, img := range rep.Images {
		if img.Digest == "" {
			continue
		}
		ref, _ := parseDigestRef(img.Ref)
		if seen[ref.String()] {
			continue
		}
		seen[ref.String()] = true
		if err := c.escapes(ref, rep); err != nil {
			return err
		}
	}
	if rep.FindingsPresent > 0 {
		r := float64(rep.Escapes) / float64(rep.FindingsPresent)
		rep.EscapeRate = &r
	}
	return nil
}

// history reads the earlier digests of the running images' repositories:
// MTTD and MTTR count every finding recorded by an attested scan of a
// running digest or of an earlier digest of the same repository.
func (c *computer) history(ctx context.Context) error {
	repos := map[string]bool{}
	for _, d := range c.order {
		repos[d.ref.Repository] = true
	}
	for _, repo := range slices.Sorted(maps.Keys(repos)) {
		hist, err := c.o.History(ctx, repo, c.o.MaxHistory)
		if err != nil {
			return err
		}
		for _, dg := range hist {
			if _, err := c.digest(ctx, oci.Ref{Repository: repo, Digest: dg}, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// timesToDetect sets MTTD and MTTR (median and p90) from the detections in
// the window.
func (rep *Report) timesToDetect() {
	var ttd, ttr []float64
	for _, d := range rep.Detections {
		if !d.InWindow {
			continue
		}
		ttd = append(ttd, d.TTDSeconds)
		if d.TTRSeconds != nil {
			ttr = append(ttr, *d.TTRSeconds)
		}
	}
	rep.MTTD, rep.MTTDP90 = Percentile(ttd, 50), Percentile(ttd, 90)
	rep.MTTR, rep.MTTRP90 = Percentile(ttr, 50), Percentile(ttr, 90)
}

// consulted lists every digest verified, in the order it was.
func (c *computer) consulted() []Consulted {
	out := []Consulted{}
	for _, d := range c.order {
		cs := Consulted{Ref: d.ref.String(), Running: d.running, Verified: d.rep.Verified, Evidence: []string{}}
		for _, e := range d.rep.Evidence {
			cs.Evidence = append(cs.Evidence, e.Digest)
		}
		out = append(out, cs)
	}
	return out
}

// Percentile returns the p-th percentile of xs by the nearest-rank method
// (the value at rank ⌈p/100 · n⌉ of xs in ascending order), or nil when xs is
// empty. The median is Percentile(xs, 50).
func Percentile(xs []float64, p float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = max(1, min(rank, len(s)))
	v := s[rank-1]
	return &v
}

func (rep *Report) coverage() {
	by := map[string]*Coverage{}
	var order []string
	running, covered := 0, 0
	for _, img := range rep.Images {
		c, ok := by[img.Environment]
		if !ok {
			c = &Coverage{Environment: img.Environment}
			by[img.Environment] = c
			order = append(order, img.Environment)
		}
		c.Running++
		running++
		if img.Covered {
			c.Covered++
			covered++
		}
	}
	for _, env := range order {
		c := by[env]
		r := float64(c.Covered) / float64(c.Running)
		c.Ratio = &r
		rep.CoverageBy = append(rep.CoverageBy, *c)
	}
	if running > 0 {
		r := float64(covered) / float64(running)
		rep.Coverage = &r
	}
}

// parseDigestRef accepts repo@sha256:… only; why says what is wrong otherwise.
func parseDigestRef(s string) (oci.Ref, string) {
	r, err := oci.ParseReference(s)
	if err != nil {
		return oci.Ref{}, "not a valid image reference: " + errText(err)
	}
	d, ok := r.(interface{ DigestStr() string })
	if !ok || !strings.HasPrefix(d.DigestStr(), "sha256:") {
		return oci.Ref{}, "runs by tag, not by digest: what runs cannot be tied to verified evidence"
	}
	return oci.Ref{Repository: r.Context().Name(), Digest: d.DigestStr()}, ""
}

func errText(err error) string { return textclip.Clip(err.Error(), 200) }

type computer struct {
	o         Options
	digests   map[string]*digestInfo
	order     []*digestInfo
	published map[string]*time.Time
}

// digest verifies ref once and reads what its verified attestations say.
func (c *computer) digest(ctx context.Context, ref oci.Ref, running bool) (*digestInfo, error) {
	if d, ok := c.digests[ref.String()]; ok {
		d.running = d.running || running
		return d, nil
	}
	rep, err := verify.Verify(ctx, ref, c.o.Verify)
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", ref, err)
	}
	d := &digestInfo{ref: ref, running: running, rep: rep}
	c.digests[ref.String()] = d
	c.order = append(c.order, d)
	for _, e := range rep.Evidence {
		switch e.PredicateType {
		case attestation.PredicateVuln:
			if e.Time.IsZero() {
				continue // an untimed scan cannot say when anything was detected
			}
			var p attestation.VulnScan
			if json.Unmarshal(e.Statement.Predicate, &p) != nil {
				continue
			}
			fs, err := verify.ParseVulnResult(p.Scanner.Result)
			if err != nil {
				continue // unreadable: records nothing (and fails the vuln requirement)
			}
			s := scan{ev: e}
			for _, f := range fs {
				r := recorded{id: f.ID, severity: f.Severity, fixed: f.Fixed, ids: []string{strings.ToLower(f.ID)}}
				for _, a := range f.Aliases {
					r.ids = append(r.ids, strings.ToLower(a))
				}
				s.findings = append(s.findings, r)
			}
			d.scans = append(d.scans, s)
		case attestation.PredicateVSA:
			var v attestation.VSA
			if json.Unmarshal(e.Statement.Predicate, &v) != nil || v.VerificationResult != attestation.VerificationPassed || e.Time.IsZero() {
				continue
			}
			d.vsas = append(d.vsas, e)
		}
	}
	if s, e, err := rescan.FromReport(rep); err == nil {
		d.sbom = e
		m, err := c.o.DB.Match(ctx, s, vulndb.MatchOptions{Scanner: "image"})
		if err != nil {
			if errkind.Of(err) == errkind.KindInput {
				d.matchErr = "its SBOM attestation cannot be matched: " + errText(err)
			} else {
				return nil, fmt.Errorf("matching the SBOM of %s: %w", ref, err)
			}
		} else {
			byID := map[string]int{}
			for _, f := range m.Findings {
				if i, ok := byID[f.RuleID]; ok {
					if !strings.Contains(d.present[i].pkg, f.Package) {
						d.present[i].pkg += ", " + f.Package
					}
					continue
				}
				byID[f.RuleID] = len(d.present)
				d.present = append(d.present, vulnFinding{id: f.RuleID, aliases: f.Aliases, severity: f.Severity, pkg: f.Package})
			}
		}
	} else {
		d.matchErr = "no verified SBOM attestation"
	}
	return d, nil
}

// publishedAt is the advisory's first publication: the earliest date the DB
// has for its id or any alias.
func (c *computer) publishedAt(ids ...string) (*time.Time, error) {
	var best *time.Time
	for _, id := range ids {
		k := strings.ToLower(id)
		t, ok := c.published[k]
		if !ok {
			at, found, err := c.o.DB.Published(id)
			if err != nil {
				return nil, err
			}
			if found {
				t = &at
			}
			c.published[k] = t
		}
		if t != nil && (best == nil || t.Before(*best)) {
			best = t
		}
	}
	return best, nil
}

func (c *computer) escapes(ref oci.Ref, rep *Report) error {
	d := c.digests[ref.String()]
	switch {
	case d.sbom == nil || d.matchErr != "":
		rep.NotAssessed = append(rep.NotAssessed, NotAssessed{Ref: ref.String(), Reason: d.matchErr})
		return nil
	case len(d.scans) == 0:
		rep.NotAssessed = append(rep.NotAssessed, NotAssessed{Ref: ref.String(), Reason: "no verified, timed vuln attestation: no release scan"})
		return nil
	}
	release := d.scans[0]
	var deny *policy.Deny
	if req, ok := c.o.Verify.Policy.Requirement(attestation.PredicateVuln); ok {
		deny = req.Deny
	}
	for _, f := range d.present {
		pub, err := c.publishedAt(append([]string{f.id}, f.aliases...)...)
		if err != nil {
			return err
		}
		p := Present{Digest: ref.String(), ID: f.id, Aliases: f.aliases, Severity: string(f.severity), Package: f.pkg, Published: pub,
			SBOM: d.sbom.Digest, ReleaseScan: release.ev.Digest, ReleaseScanTime: release.ev.Time}
		rec := release.find(f.keys())
		switch {
		case pub == nil:
			p.Why = "not an escape: the DB has no publication date for it"
		case !pub.Before(release.ev.Time):
			p.Why = "not an escape: published after the release scan finished"
		case rec == nil:
			p.Escape, p.Why = true, EscapeMissed
		case deny == nil || !rec.severity.AtLeast(deny.Severity) || (deny.FixedOnly && !rec.fixed):
			p.Escape, p.Why = true, EscapeNotDenied
		default:
			p.Why = "not an escape: the release scan recorded it at or above the deny threshold (the gate caught it; only a signed exception or audit mode let it through)"
		}
		rep.FindingsPresent++
		rep.PresentBySev[p.Severity]++
		if p.Escape {
			rep.Escapes++
			rep.EscapesBySev[p.Severity]++
		}
		rep.EscapeDetail = append(rep.EscapeDetail, p)
	}
	return nil
}

func (s scan) find(keys []string) *recorded {
	for i := range s.findings {
		for _, k := range keys {
			if slices.Contains(s.findings[i].ids, k) {
				return &s.findings[i]
			}
		}
	}
	return nil
}

// detections lists, per digest and advisory, the first attested scan that
// recorded it, and its remediation.
func (c *computer) detections(rep *Report) error {
	for _, d := range c.order {
		first := map[string]bool{}
		for _, s := range d.scans {
			for _, r := range s.findings {
				if first[r.ids[0]] {
					continue
				}
				seen := false
				for _, id := range r.ids {
					seen = seen || first[id]
				}
				if seen {
					continue
				}
				for _, id := range r.ids {
					first[id] = true
				}
				pub, err := c.publishedAt(r.ids...)
				if err != nil {
					return err
				}
				if pub == nil {
					continue // no publication date: no time to detect
				}
				det := Detection{Digest: d.ref.String(), Repository: d.ref.Repository, ID: r.id, Severity: string(r.severity),
					Published: *pub, Detected: s.ev.Time, DetectedBy: s.ev.Digest, TTDSeconds: s.ev.Time.Sub(*pub).Seconds()}
				det.InWindow = !det.Detected.After(c.o.To) && (c.o.From.IsZero() || !det.Detected.Before(c.o.From))
				c.remediation(d, r.ids, &det)
				rep.Detections = append(rep.Detections, det)
			}
		}
	}
	sort.SliceStable(rep.Detections, func(i, j int) bool {
		if !rep.Detections[i].Detected.Equal(rep.Detections[j].Detected) {
			return rep.Detections[i].Detected.Before(rep.Detections[j].Detected)
		}
		if rep.Detections[i].Digest != rep.Detections[j].Digest {
			return rep.Detections[i].Digest < rep.Detections[j].Digest
		}
		return rep.Detections[i].ID < rep.Detections[j].ID
	})
	return nil
}

// remediation finds the first verified deploy (VSA, PASSED) at or after the
// detection of a digest of the same repository whose SBOM no longer has it.
func (c *computer) remediation(d *digestInfo, ids []string, det *Detection) {
	var best *verify.Evidence
	var bestDigest string
	for _, o := range c.order {
		if o == d || o.ref.Repository != d.ref.Repository || o.sbom == nil || o.matchErr != "" {
			continue
		}
		has := false
		for _, f := range o.present {
			for _, k := range f.keys() {
				has = has || slices.Contains(ids, k)
			}
		}
		if has {
			continue
		}
		for i := range o.vsas {
			v := &o.vsas[i]
			if v.Time.Before(det.Detected) {
				continue
			}
			if best == nil || v.Time.Before(best.Time) {
				best, bestDigest = v, o.ref.String()
			}
			break // oldest first: the first at or after detection
		}
	}
	if best == nil {
		return
	}
	t := best.Time
	s := t.Sub(det.Detected).Seconds()
	det.Remediated, det.RemediatedBy, det.RemediatedDigest, det.TTRSeconds = &t, best.Digest, bestDigest, &s
}

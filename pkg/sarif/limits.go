package sarif

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	gosarif "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/secure-gates/secure-gates/pkg/bounds"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// GitHub code scanning's limits on an uploaded SARIF file, from
// docs.github.com "SARIF support for code scanning" (section "Validating your
// SARIF file") and "SARIF results exceed one or more limits" (troubleshooting):
// a file over a maximum is rejected; GitHub only displays the top 5,000
// results of a run and 10 tags of a rule.
const (
	// MaxUploadGzipBytes is the largest gzip-compressed SARIF upload ("10 MB"
	// in "SARIF file is too large" and the upload endpoint's docs; counted in
	// decimal megabytes, the stricter reading).
	MaxUploadGzipBytes = 10_000_000
	// MaxRunsPerFile is "Runs per file: 20".
	MaxRunsPerFile = 20
	// MaxResultsPerRun is "Results per run: 25,000" (only 5,000 are shown).
	MaxResultsPerRun = 25_000
	// MaxRulesPerRun is "Rules per run: 25,000".
	MaxRulesPerRun = 25_000
	// MaxExtensionsPerRun is "Tool extensions per run: 100".
	MaxExtensionsPerRun = 100
	// MaxThreadFlowLocationsPerResult is "Thread Flow Locations per result:
	// 10,000".
	MaxThreadFlowLocationsPerResult = 10_000
	// MaxLocationsPerResult is "Location per result: 1,000".
	MaxLocationsPerResult = 1_000
	// MaxTagsPerRule is "Tags per rule: 20".
	MaxTagsPerRule = 20
)

// Since June 2025 GitHub rejects a SARIF file holding two runs with the same
// tool (tool.driver.name) and category instead of combining them (GitHub
// changelog 2024-05-06, "Code Scanning will stop combining runs from a single
// upload"). Build, Pack and Check refuse such input.

// Limits are the code scanning limits Pack and Check enforce. A zero field
// means GitHub's value; tests and callers with stricter needs set smaller ones.
type Limits struct {
	// MaxGzipBytes bounds the gzip-compressed size of one document.
	MaxGzipBytes int64
	// MaxRunsPerFile bounds the runs in one document.
	MaxRunsPerFile int
	// MaxResultsPerRun bounds the results of one run.
	MaxResultsPerRun int
	// MaxRulesPerRun bounds the rules of one run.
	MaxRulesPerRun int
	// MaxExtensionsPerRun bounds tool.extensions of one run.
	MaxExtensionsPerRun int
	// MaxThreadFlowLocationsPerResult bounds the thread flow locations of one
	// result.
	MaxThreadFlowLocationsPerResult int
	// MaxLocationsPerResult bounds the locations of one result.
	MaxLocationsPerResult int
	// MaxTagsPerRule bounds properties.tags of one rule.
	MaxTagsPerRule int
}

// GitHubLimits returns GitHub code scanning's limits.
func GitHubLimits() Limits {
	return Limits{
		MaxGzipBytes:                    MaxUploadGzipBytes,
		MaxRunsPerFile:                  MaxRunsPerFile,
		MaxResultsPerRun:                MaxResultsPerRun,
		MaxRulesPerRun:                  MaxRulesPerRun,
		MaxExtensionsPerRun:             MaxExtensionsPerRun,
		MaxThreadFlowLocationsPerResult: MaxThreadFlowLocationsPerResult,
		MaxLocationsPerResult:           MaxLocationsPerResult,
		MaxTagsPerRule:                  MaxTagsPerRule,
	}
}

func (l Limits) withDefaults() Limits {
	d := GitHubLimits()
	return Limits{
		MaxGzipBytes:                    bounds.Or(l.MaxGzipBytes, d.MaxGzipBytes),
		MaxRunsPerFile:                  bounds.Or(l.MaxRunsPerFile, d.MaxRunsPerFile),
		MaxResultsPerRun:                bounds.Or(l.MaxResultsPerRun, d.MaxResultsPerRun),
		MaxRulesPerRun:                  bounds.Or(l.MaxRulesPerRun, d.MaxRulesPerRun),
		MaxExtensionsPerRun:             bounds.Or(l.MaxExtensionsPerRun, d.MaxExtensionsPerRun),
		MaxThreadFlowLocationsPerResult: bounds.Or(l.MaxThreadFlowLocationsPerResult, d.MaxThreadFlowLocationsPerResult),
		MaxLocationsPerResult:           bounds.Or(l.MaxLocationsPerResult, d.MaxLocationsPerResult),
		MaxTagsPerRule:                  bounds.Or(l.MaxTagsPerRule, d.MaxTagsPerRule),
	}
}

// Document is one SARIF file produced by Pack, within the limits.
type Document struct {
	// JSON is the SARIF document, encoded like Marshal does.
	JSON []byte
	// GzipSize is the size of JSON compressed the way Upload compresses it.
	GzipSize int64
	// Runs describes the document's runs in order.
	Runs []RunInfo
}

// RunInfo describes a run of a Document.
type RunInfo struct {
	// Tool is the tool's name.
	Tool string
	// Category is the run's category; a split run's later parts have
	// "<category>/part-N" (or "part-N" for an empty category).
	Category string
	// Results is the number of results.
	Results int
	// Rules is the number of rules.
	Rules int
}

// WriteFile writes the document to path atomically (temporary file + rename).
func (d Document) WriteFile(path string) error { return writeFileAtomic(path, d.JSON) }

// piece is a contiguous range of a run's sorted results that becomes one
// SARIF run.
type piece struct {
	run      *run
	lo, hi   int
	category string
	allRules bool // carry every rule of the run, not only referenced ones
	size     int64
}

func (p *piece) results() []Result { return p.run.results[p.lo:p.hi] }

func (p *piece) rules() []Rule {
	if p.allRules {
		return p.run.rules
	}
	used := map[string]bool{}
	for _, r := range p.results() {
		used[r.RuleID] = true
	}
	var out []Rule
	for _, r := range p.run.rules {
		if used[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

func (p *piece) sarif() *gosarif.Run { return p.run.sarif(p.category, p.rules(), p.results()) }

// Pack validates runs (like Build) and packs them into as few SARIF documents
// as GitHub's limits (opts.Limits) allow:
//
//   - a run with more results or rules than a run may hold is split into
//     several runs with distinct categories: the first keeps the category, the
//     others get "<category>/part-2", "<category>/part-3"... (results stay in
//     the sorted order; split parts carry only the rules their results use);
//   - a run whose document would exceed the gzipped size is split the same
//     way until each part fits;
//   - runs go into documents in order, at most MaxRunsPerFile each, and a new
//     document starts when the gzipped size would be exceeded.
//
// It is an error when two input runs share tool and category (naming them),
// when a split part's category collides with another run's, when a result has
// more locations or a rule more tags than allowed (splitting cannot fix
// those), and when a run holding a single result still does not fit.
//
// Splitting changes a category's alerts: when a later scan needs fewer parts,
// the alerts of the parts no longer uploaded stay open on GitHub until that
// category is deleted or uploaded again.
func Pack(runs []Run, opts Options) ([]Document, error) {
	lim := opts.Limits.withDefaults()
	norm, err := normalizeAll(runs, opts)
	if err != nil {
		return nil, err
	}
	for _, r := range norm {
		if err := checkUnsplittable(r, lim); err != nil {
			return nil, errkind.Input(err)
		}
	}

	var all []*piece
	for _, r := range norm {
		ps, err := splitRun(r, lim)
		if err != nil {
			return nil, errkind.Input(err)
		}
		all = append(all, ps...)
	}

	seen := map[[2]string]bool{}
	for _, p := range all {
		k := [2]string{p.run.tool.Name, p.category}
		if seen[k] {
			return nil, errkind.Input(fmt.Errorf("splitting %s produced category %q, which another run of the tool already uses", p.run.name(), p.category))
		}
		seen[k] = true
	}

	// Greedy packing on the standalone sizes, then verified on the real
	// documents (gzip of the concatenation is almost always smaller than the
	// sum, but not guaranteed).
	var groups [][]*piece
	var cur []*piece
	var curSize int64
	for _, p := range all {
		if len(cur) > 0 && (len(cur) >= lim.MaxRunsPerFile || curSize+p.size > lim.MaxGzipBytes) {
			groups = append(groups, cur)
			cur, curSize = nil, 0
		}
		cur = append(cur, p)
		curSize += p.size
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	var docs []Document
	for _, g := range groups {
		ds, err := encodeGroup(g, lim)
		if err != nil {
			return nil, err
		}
		docs = append(docs, ds...)
	}
	return docs, nil
}

// encodeGroup encodes the pieces as one document, halving the group when the
// document is too large. A single piece fits: its size was measured alone.
func encodeGroup(g []*piece, lim Limits) ([]Document, error) {
	data, size, err := encodePieces(g)
	if err != nil {
		return nil, err
	}
	if size > lim.MaxGzipBytes && len(g) > 1 {
		a, err := encodeGroup(g[:len(g)/2], lim)
		if err != nil {
			return nil, err
		}
		b, err := encodeGroup(g[len(g)/2:], lim)
		if err != nil {
			return nil, err
		}
		return append(a, b...), nil
	}
	doc := Document{JSON: data, GzipSize: size}
	for _, p := range g {
		doc.Runs = append(doc.Runs, RunInfo{Tool: p.run.tool.Name, Category: p.category, Results: p.hi - p.lo, Rules: len(p.rules())})
	}
	return []Document{doc}, nil
}

func encodePieces(g []*piece) ([]byte, int64, error) {
	rep, err := newReport()
	if err != nil {
		return nil, 0, err
	}
	for _, p := range g {
		rep.AddRun(p.sarif())
	}
	data, err := Marshal(rep)
	if err != nil {
		return nil, 0, err
	}
	size, err := gzipSize(data)
	if err != nil {
		return nil, 0, err
	}
	return data, size, nil
}

func checkUnsplittable(r *run, lim Limits) error {
	for _, rule := range r.rules {
		if len(rule.Tags) > lim.MaxTagsPerRule {
			return fmt.Errorf("%s: rule %q has %d tags: GitHub accepts at most %d per rule", r.name(), rule.ID, len(rule.Tags), lim.MaxTagsPerRule)
		}
	}
	for i, res := range r.results {
		if len(res.Locations) > lim.MaxLocationsPerResult {
			return fmt.Errorf("%s: result %d (rule %q) has %d locations: GitHub accepts at most %d per result", r.name(), i, res.RuleID, len(res.Locations), lim.MaxLocationsPerResult)
		}
	}
	return nil
}

// splitRun cuts a run into pieces within the count limits, then halves pieces
// until each one's standalone document fits the gzipped size.
func splitRun(r *run, lim Limits) ([]*piece, error) {
	var ps []*piece
	lo := 0
	rules := map[string]bool{}
	for i, res := range r.results {
		newRule := !rules[res.RuleID]
		if i > lo && (i-lo >= lim.MaxResultsPerRun || (newRule && len(rules) >= lim.MaxRulesPerRun)) {
			ps = append(ps, &piece{run: r, lo: lo, hi: i})
			lo = i
			clear(rules)
		}
		rules[res.RuleID] = true
	}
	ps = append(ps, &piece{run: r, lo: lo, hi: len(r.results)})

	type key struct {
		lo, hi   int
		category string
		allRules bool
	}
	measured := map[key]int64{}
	for {
		single := len(ps) == 1 && len(r.rules) <= lim.MaxRulesPerRun
		for i, p := range ps {
			p.allRules = single
			p.category = r.category
			if i > 0 {
				p.category = partCategory(r.category, i+1)
			}
		}
		var next []*piece
		changed := false
		for _, p := range ps {
			k := key{p.lo, p.hi, p.category, p.allRules}
			size, ok := measured[k]
			if !ok {
				_, s, err := encodePieces([]*piece{p})
				if err != nil {
					return nil, err
				}
				size = s
				measured[k] = size
			}
			p.size = size
			if size <= lim.MaxGzipBytes {
				next = append(next, p)
				continue
			}
			if p.hi-p.lo <= 1 {
				what := "with no results"
				if p.hi-p.lo == 1 {
					what = fmt.Sprintf("with the single result %d (rule %q)", p.lo, r.results[p.lo].RuleID)
				}
				return nil, fmt.Errorf("%s: a run %s is %d bytes gzipped: over the %d-byte limit", r.name(), what, size, lim.MaxGzipBytes)
			}
			mid := p.lo + (p.hi-p.lo)/2
			next = append(next, &piece{run: r, lo: p.lo, hi: mid}, &piece{run: r, lo: mid, hi: p.hi})
			changed = true
		}
		ps = next
		if !changed {
			return ps, nil
		}
	}
}

func partCategory(category string, n int) string {
	if category == "" {
		return "part-" + strconv.Itoa(n)
	}
	return category + "/part-" + strconv.Itoa(n)
}

// Category returns the code scanning category of a go-sarif run the way
// GitHub derives it from runAutomationDetails.id: everything before the last
// slash ("a/b/" and "a/b/2024-01-01" are category "a/b"; "a" has no category).
func Category(r *gosarif.Run) string {
	if r == nil || r.AutomationDetails == nil || r.AutomationDetails.ID == nil {
		return ""
	}
	id := *r.AutomationDetails.ID
	i := strings.LastIndex(id, "/")
	if i < 0 {
		return ""
	}
	return id[:i]
}

// Check applies GitHub code scanning's limits (zero fields of lim take
// GitHub's values) to a go-sarif report, for example one returned by Read
// before it is uploaded: runs per file, tool+category unique, results, rules
// and extensions per run, locations and thread flow locations per result, tags
// per rule. It reports every problem found (up to 20), as errkind.Input. The
// gzipped size is checked by Upload and Pack, which have the bytes.
func Check(rep *gosarif.Report, lim Limits) error {
	lim = lim.withDefaults()
	if rep == nil {
		return errkind.Input(errors.New("checking SARIF limits: report is nil"))
	}
	var errs []error
	add := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	if n := len(rep.Runs); n > lim.MaxRunsPerFile {
		add("%d runs: GitHub accepts at most %d per file", n, lim.MaxRunsPerFile)
	}
	seen := map[[2]string]int{}
	for i, r := range rep.Runs {
		if r == nil || r.Tool.Driver == nil {
			add("run %d has no tool.driver", i)
			continue
		}
		name := runName(r.Tool.Driver.Name, Category(r))
		k := [2]string{r.Tool.Driver.Name, Category(r)}
		if j, ok := seen[k]; ok {
			add("runs %d and %d both have %s: GitHub rejects a file with two runs of the same tool and category", j, i, name)
		}
		seen[k] = i
		if n := len(r.Results); n > lim.MaxResultsPerRun {
			add("run %d (%s): %d results: GitHub accepts at most %d per run", i, name, n, lim.MaxResultsPerRun)
		}
		if n := len(r.Tool.Driver.Rules); n > lim.MaxRulesPerRun {
			add("run %d (%s): %d rules: GitHub accepts at most %d per run", i, name, n, lim.MaxRulesPerRun)
		}
		if n := len(r.Tool.Extensions); n > lim.MaxExtensionsPerRun {
			add("run %d (%s): %d tool extensions: GitHub accepts at most %d per run", i, name, n, lim.MaxExtensionsPerRun)
		}
		for _, rule := range r.Tool.Driver.Rules {
			if rule == nil {
				continue
			}
			if n := tagCount(rule.Properties["tags"]); n > lim.MaxTagsPerRule {
				add("run %d (%s) rule %q: %d tags: GitHub accepts at most %d per rule", i, name, rule.ID, n, lim.MaxTagsPerRule)
			}
		}
		for j, res := range r.Results {
			if res == nil {
				continue
			}
			if n := len(res.Locations); n > lim.MaxLocationsPerResult {
				add("run %d (%s) result %d: %d locations: GitHub accepts at most %d per result", i, name, j, n, lim.MaxLocationsPerResult)
			}
			tfl := 0
			for _, cf := range res.CodeFlows {
				if cf == nil {
					continue
				}
				for _, tf := range cf.ThreadFlows {
					if tf != nil {
						tfl += len(tf.Locations)
					}
				}
			}
			if tfl > lim.MaxThreadFlowLocationsPerResult {
				add("run %d (%s) result %d: %d thread flow locations: GitHub accepts at most %d per result", i, name, j, tfl, lim.MaxThreadFlowLocationsPerResult)
			}
		}
	}
	if len(errs) > 0 {
		return errkind.Input(fmt.Errorf("SARIF exceeds GitHub code scanning limits: %w", errors.Join(errs...)))
	}
	return nil
}

func tagCount(v any) int {
	switch t := v.(type) {
	case []any:
		return len(t)
	case []string:
		return len(t)
	}
	return 0
}

package sarif

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gosarif "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// Options configures Build, Write, WriteFile and Pack.
type Options struct {
	// Root is the absolute path of the repository root. Absolute location
	// paths are made relative to it; without it they are an error.
	Root string
	// Limits are the code scanning limits Pack enforces. Zero fields take
	// GitHub's values (see GitHubLimits). Build, Write and WriteFile do not
	// apply limits.
	Limits Limits
}

// run is a validated, normalized Run: category without a trailing slash, rules
// sorted by id, results sorted, location paths replaced by relative URIs and
// the FingerprintKey fingerprint filled in.
type run struct {
	tool     Tool
	category string
	rules    []Rule
	results  []Result
}

func (r *run) name() string { return runName(r.tool.Name, r.category) }

func runName(tool, category string) string {
	return fmt.Sprintf("tool %q category %q", tool, category)
}

// Build validates runs and turns them into one SARIF 2.1.0 report holding
// every run, in a deterministic order (runs by tool name then category, rules
// by id, results by primary location, rule and message). Two runs with the
// same tool name and category are an error: GitHub rejects such a file.
// Errors are errkind.Input errors naming the run, rule or result.
func Build(runs []Run, opts Options) (*gosarif.Report, error) {
	norm, err := normalizeAll(runs, opts)
	if err != nil {
		return nil, err
	}
	rep, err := newReport()
	if err != nil {
		return nil, err
	}
	for _, r := range norm {
		rep.AddRun(r.sarif(r.category, r.rules, r.results))
	}
	return rep, nil
}

func newReport() (*gosarif.Report, error) {
	rep, err := gosarif.New(gosarif.Version210)
	if err != nil {
		return nil, fmt.Errorf("creating SARIF report: %w", err)
	}
	return rep, nil
}

func normalizeAll(runs []Run, opts Options) ([]*run, error) {
	if opts.Root != "" && !filepath.IsAbs(opts.Root) {
		return nil, errkind.Input(fmt.Errorf("repository root %q is not an absolute path", opts.Root))
	}
	out := make([]*run, 0, len(runs))
	seen := map[[2]string]int{}
	var dups []string
	for i := range runs {
		r, err := normalize(&runs[i], opts)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("run %d (%s): %w", i, runName(runs[i].Tool.Name, runs[i].Category), err))
		}
		k := [2]string{r.tool.Name, r.category}
		if j, ok := seen[k]; ok {
			dups = append(dups, fmt.Sprintf("runs %d and %d both have %s", j, i, r.name()))
		}
		seen[k] = i
		out = append(out, r)
	}
	if len(dups) > 0 {
		return nil, errkind.Input(fmt.Errorf("duplicate tool and category (GitHub rejects a SARIF file with two runs of the same tool and category; give each run its own Category): %s", strings.Join(dups, "; ")))
	}
	slices.SortStableFunc(out, func(a, b *run) int {
		return cmp.Or(cmp.Compare(a.tool.Name, b.tool.Name), cmp.Compare(a.category, b.category))
	})
	return out, nil
}

var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$`)

func normalize(in *Run, opts Options) (*run, error) {
	if strings.TrimSpace(in.Tool.Name) == "" {
		return nil, fmt.Errorf("tool name is empty")
	}
	if in.Tool.InformationURI != "" {
		if err := checkAbsURI(in.Tool.InformationURI); err != nil {
			return nil, fmt.Errorf("tool information URI: %w", err)
		}
	}
	cat := strings.TrimSuffix(in.Category, "/")
	if strings.HasPrefix(cat, "/") || strings.Contains(cat, "//") {
		return nil, fmt.Errorf("category %q: expected slash-separated non-empty components", in.Category)
	}
	r := &run{tool: in.Tool, category: cat}

	ruleIDs := make(map[string]bool, len(in.Rules))
	r.rules = make([]Rule, 0, len(in.Rules))
	for i, rule := range in.Rules {
		nr, err := normalizeRule(rule)
		if err != nil {
			return nil, fmt.Errorf("rule %d (%q): %w", i, rule.ID, err)
		}
		if ruleIDs[nr.ID] {
			return nil, fmt.Errorf("rule %d: id %q is defined twice", i, nr.ID)
		}
		ruleIDs[nr.ID] = true
		r.rules = append(r.rules, nr)
	}
	slices.SortFunc(r.rules, func(a, b Rule) int { return cmp.Compare(a.ID, b.ID) })

	r.results = make([]Result, 0, len(in.Results))
	for i, res := range in.Results {
		nr, err := normalizeResult(res, ruleIDs, opts.Root)
		if err != nil {
			return nil, fmt.Errorf("result %d (rule %q): %w", i, res.RuleID, err)
		}
		r.results = append(r.results, nr)
	}
	slices.SortStableFunc(r.results, compareResults)

	// Fill missing fingerprints: hash of rule, file and message, plus the
	// occurrence among identical ones in location order (GitHub's own
	// primaryLocationLineHash uses the same "hash:n" shape).
	seen := map[string]int{}
	for i := range r.results {
		res := &r.results[i]
		if _, ok := res.PartialFingerprints[FingerprintKey]; ok {
			continue
		}
		base := Fingerprint(res.RuleID, primaryURI(res), res.Message)
		seen[base]++
		if res.PartialFingerprints == nil {
			res.PartialFingerprints = map[string]string{}
		}
		res.PartialFingerprints[FingerprintKey] = base + ":" + strconv.Itoa(seen[base])
	}
	return r, nil
}

func normalizeRule(in Rule) (Rule, error) {
	out := in
	if strings.TrimSpace(in.ID) == "" {
		return out, fmt.Errorf("rule id is empty")
	}
	if !in.DefaultLevel.valid() {
		return out, fmt.Errorf("default level %q: expected error, warning, note or none", in.DefaultLevel)
	}
	if in.HelpURI != "" {
		if err := checkAbsURI(in.HelpURI); err != nil {
			return out, fmt.Errorf("help URI: %w", err)
		}
	}
	tags := slices.Clone(in.Tags)
	if in.SecuritySeverity != 0 {
		if _, err := formatScore(in.SecuritySeverity); err != nil {
			return out, err
		}
		// GitHub uses security-severity only for rules tagged "security".
		tags = append(tags, "security")
	}
	for _, t := range tags {
		if strings.TrimSpace(t) == "" {
			return out, fmt.Errorf("empty tag")
		}
	}
	slices.Sort(tags)
	out.Tags = slices.Compact(tags)
	for _, k := range []string{"tags", "security-severity"} {
		if _, ok := in.Properties[k]; ok {
			return out, fmt.Errorf("property %q is reserved: set Rule.Tags or Rule.SecuritySeverity instead", k)
		}
	}
	if len(in.Properties) > 0 {
		if _, err := json.Marshal(in.Properties); err != nil {
			return out, fmt.Errorf("properties are not JSON: %w", err)
		}
	}
	return out, nil
}

func normalizeResult(in Result, rules map[string]bool, root string) (Result, error) {
	out := in
	if in.RuleID == "" {
		return out, fmt.Errorf("rule id is empty")
	}
	if !rules[in.RuleID] {
		return out, fmt.Errorf("rule %q is not among the run's rules", in.RuleID)
	}
	if !in.Level.valid() {
		return out, fmt.Errorf("level %q: expected error, warning, note or none", in.Level)
	}
	if strings.TrimSpace(in.Message) == "" {
		return out, fmt.Errorf("message is empty")
	}
	out.Locations = make([]Location, len(in.Locations))
	for i, l := range in.Locations {
		uri, err := RelativeURI(root, l.Path)
		if err != nil {
			return out, fmt.Errorf("location %d: %w", i, err)
		}
		if err := checkRegion(l); err != nil {
			return out, fmt.Errorf("location %d (%s): %w", i, l.Path, err)
		}
		l.Path = uri
		if l.EndLine == 0 && l.StartLine > 0 {
			l.EndLine = l.StartLine
		}
		out.Locations[i] = l
	}
	if len(in.PartialFingerprints) > 0 {
		out.PartialFingerprints = make(map[string]string, len(in.PartialFingerprints))
		for k, v := range in.PartialFingerprints {
			if k == "" || v == "" {
				return out, fmt.Errorf("partial fingerprint %q=%q: expected a non-empty key and value", k, v)
			}
			out.PartialFingerprints[k] = v
		}
	}
	if s := in.Suppression; s != nil {
		c := *s
		if c.Kind == "" {
			c.Kind = "external"
		}
		if c.Status == "" {
			c.Status = "accepted"
		}
		if c.Kind != "external" && c.Kind != "inSource" {
			return out, fmt.Errorf("suppression kind %q: expected external or inSource", s.Kind)
		}
		if c.Status != "accepted" && c.Status != "underReview" && c.Status != "rejected" {
			return out, fmt.Errorf("suppression status %q: expected accepted, underReview or rejected", s.Status)
		}
		out.Suppression = &c
	}
	if len(in.Properties) > 0 {
		if _, err := json.Marshal(in.Properties); err != nil {
			return out, fmt.Errorf("properties are not JSON: %w", err)
		}
	}
	return out, nil
}

func checkRegion(l Location) error {
	switch {
	case l.StartLine < 0 || l.StartColumn < 0 || l.EndLine < 0 || l.EndColumn < 0:
		return fmt.Errorf("negative line or column: expected 1-based values or 0 for unset")
	case l.StartLine == 0 && (l.StartColumn != 0 || l.EndLine != 0 || l.EndColumn != 0):
		return fmt.Errorf("columns or end line without a start line")
	case l.EndLine != 0 && l.EndLine < l.StartLine:
		return fmt.Errorf("end line %d is before start line %d", l.EndLine, l.StartLine)
	case (l.EndLine == 0 || l.EndLine == l.StartLine) && l.StartColumn > 0 && l.EndColumn > 0 && l.EndColumn < l.StartColumn:
		return fmt.Errorf("end column %d is before start column %d on the same line", l.EndColumn, l.StartColumn)
	}
	return nil
}

func checkAbsURI(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("parsing %q: %w", s, err)
	}
	if !u.IsAbs() {
		return fmt.Errorf("%q is not an absolute URI", s)
	}
	return nil
}

func primaryURI(r *Result) string {
	if len(r.Locations) == 0 {
		return ""
	}
	return r.Locations[0].Path
}

func compareResults(a, b Result) int {
	var la, lb Location
	if len(a.Locations) > 0 {
		la = a.Locations[0]
	}
	if len(b.Locations) > 0 {
		lb = b.Locations[0]
	}
	return cmp.Or(
		cmp.Compare(la.Path, lb.Path),
		cmp.Compare(la.StartLine, lb.StartLine),
		cmp.Compare(la.StartColumn, lb.StartColumn),
		cmp.Compare(la.EndLine, lb.EndLine),
		cmp.Compare(la.EndColumn, lb.EndColumn),
		cmp.Compare(a.RuleID, b.RuleID),
		cmp.Compare(a.Message, b.Message),
		cmp.Compare(a.Level, b.Level),
		cmp.Compare(a.PartialFingerprints[FingerprintKey], b.PartialFingerprints[FingerprintKey]),
	)
}

// sarif converts the run (or a piece of it: the given category, rules and
// results) to a go-sarif run.
func (r *run) sarif(category string, rules []Rule, results []Result) *gosarif.Run {
	driver := &gosarif.ToolComponent{
		Name:  r.tool.Name,
		Rules: make([]*gosarif.ReportingDescriptor, 0, len(rules)),
	}
	if v := r.tool.Version; v != "" {
		driver.Version = &v
		if semverRE.MatchString(v) {
			driver.SemanticVersion = &v
		}
	}
	if u := r.tool.InformationURI; u != "" {
		driver.InformationURI = &u
	}
	out := &gosarif.Run{Tool: gosarif.Tool{Driver: driver}, Results: make([]*gosarif.Result, 0, len(results))}
	if category != "" {
		out.AutomationDetails = &gosarif.RunAutomationDetails{ID: ptr(category + "/")}
	}
	index := make(map[string]int, len(rules))
	for i, rule := range rules {
		index[rule.ID] = i
		driver.Rules = append(driver.Rules, sarifRule(rule))
	}
	for _, res := range results {
		out.Results = append(out.Results, sarifResult(res, index[res.RuleID]))
	}
	return out
}

func sarifRule(rule Rule) *gosarif.ReportingDescriptor {
	d := gosarif.NewRule(rule.ID)
	if rule.Name != "" {
		d.WithName(rule.Name)
	}
	if rule.ShortDescription != "" {
		d.WithShortDescription(gosarif.NewMultiformatMessageString(rule.ShortDescription))
	}
	if rule.FullDescription != "" {
		d.WithFullDescription(gosarif.NewMultiformatMessageString(rule.FullDescription))
	}
	if rule.HelpText != "" || rule.HelpMarkdown != "" {
		// SARIF requires help.text; Markdown-only help doubles as the text.
		text := cmp.Or(rule.HelpText, rule.HelpMarkdown)
		d.WithTextHelp(text)
		if rule.HelpMarkdown != "" {
			d.WithMarkdownHelp(rule.HelpMarkdown)
		}
	}
	if rule.HelpURI != "" {
		d.WithHelpURI(rule.HelpURI)
	}
	if rule.DefaultLevel != "" {
		d.WithDefaultConfiguration(&gosarif.ReportingConfiguration{Level: string(rule.DefaultLevel)})
	}
	props := gosarif.Properties{}
	for k, v := range rule.Properties {
		props[k] = v
	}
	if len(rule.Tags) > 0 {
		props["tags"] = rule.Tags
	}
	if rule.SecuritySeverity != 0 {
		s, _ := formatScore(rule.SecuritySeverity) // validated by normalizeRule
		props["security-severity"] = s
	}
	if len(props) > 0 {
		d.WithProperties(props)
	}
	return d
}

func sarifResult(res Result, ruleIndex int) *gosarif.Result {
	out := gosarif.NewRuleResult(res.RuleID).
		WithRuleIndex(ruleIndex).
		WithMessage(gosarif.NewTextMessage(res.Message))
	if res.Level != "" {
		out.WithLevel(string(res.Level))
	}
	for _, l := range res.Locations {
		pl := gosarif.NewPhysicalLocation().
			WithArtifactLocation(gosarif.NewSimpleArtifactLocation(l.Path))
		if l.StartLine > 0 {
			reg := gosarif.NewRegion().WithStartLine(l.StartLine).WithEndLine(l.EndLine)
			if l.StartColumn > 0 {
				reg.WithStartColumn(l.StartColumn)
			}
			if l.EndColumn > 0 {
				reg.WithEndColumn(l.EndColumn)
			}
			pl.WithRegion(reg)
		}
		out.AddLocation(gosarif.NewLocationWithPhysicalLocation(pl))
	}
	if len(res.PartialFingerprints) > 0 {
		fp := make(map[string]any, len(res.PartialFingerprints))
		for k, v := range res.PartialFingerprints {
			fp[k] = v
		}
		out.WithPartialFingerPrints(fp)
	}
	if s := res.Suppression; s != nil {
		sup := gosarif.NewSuppression(s.Kind).WithStatus(s.Status)
		if s.Justification != "" {
			sup.WithJustifcation(s.Justification)
		}
		out.AddSuppression(sup)
	}
	if len(res.Properties) > 0 {
		props := gosarif.Properties{}
		for k, v := range res.Properties {
			props[k] = v
		}
		out.Properties = props
	}
	return out
}

func ptr[T any](v T) *T { return &v }

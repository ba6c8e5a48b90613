// Package iac evaluates Rego policies with OPA (as a library) over the
// infrastructure as code in a source tree: Kubernetes manifests (multi-document
// YAML, List kinds, kustomizations rendered with kustomize and Helm charts
// rendered with Helm's engine, offline and bounded), Terraform modules
// (HCL evaluated statically with hashicorp/hcl, and plans in JSON),
// Dockerfiles, and GitHub Actions workflow files (.github/workflows/*.yml and
// workflows-templates/*.yml).
//
// A bundled policy set (Rules) covers containers running as root, writable
// root filesystems, privileged pods and host namespaces/paths, resource
// limits, images by digest, Dockerfile USER/base digest/ADD URL/secrets in
// ENV and ARG, workflow permissions, action pinning, pull_request_target
// checkouts and script injection, and Terraform's public S3 buckets, open
// admin ports, wildcard IAM, unencrypted storage, public databases, KMS
// rotation and GitHub OIDC trust policies that do not pin a repository.
// Users add policies in a directory of .rego files; README.md documents the
// contract.
//
// Files that cannot be evaluated do not stop the scan: a file that does not
// parse, a file over the size bound and a kustomization that cannot be
// rendered (or names a remote base, which is never fetched) each become a
// finding on that file, so the result never looks clean by omission. Errors
// are returned only for problems with the scan itself: a bad root or policy
// directory, a user policy that does not compile or returns malformed
// violations, too many files.
package iac

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/secure-gates/secure-gates/pkg/bounds"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
)

// Scanner is the Scanner name of every finding of this package.
const Scanner = "iac"

// Defaults of Options.
const (
	DefaultMaxFileBytes int64 = 4 << 20
	DefaultMaxFiles           = 20000
)

// The rule ids of the findings the scanner itself (not a policy) reports.
const (
	RuleParseError      = "iac-parse-error"
	RuleFileTooLarge    = "iac-file-too-large"
	RuleKustomizeBuild  = "kustomize-build-error"
	RuleKustomizeRemote = "kustomize-remote-base"
	RuleTerraformRemote = "terraform-remote-module"
	RulePlanError       = "terraform-plan-error"
	RuleHelmRender      = "helm-render-error"
	RuleHelmDependency  = "helm-dependency-missing"
)

// Options configures Scan.
type Options struct {
	// ExtraPolicies is a directory of user .rego files evaluated next to the
	// bundled policy set (the action's iac-policies input); empty for none.
	ExtraPolicies string
	// MaxFileBytes caps the size of one input file; larger files are not
	// read and get a finding. Zero means DefaultMaxFileBytes.
	MaxFileBytes int64
	// MaxFiles caps the number of IaC files (YAML, Dockerfiles) under root;
	// more is an input error. Zero means DefaultMaxFiles.
	MaxFiles int
	// Plan is a Terraform plan in JSON (terraform show -json plan.out; the
	// iac-plan input), evaluated next to the tree; empty for none.
	Plan string
	// HelmValues are the values files applied to a chart, by chart directory
	// relative to root (ParseHelmValues reads the helm-values input); the
	// files are relative to root or absolute.
	HelmValues map[string][]string
	// HelmTimeout bounds one chart's render. Zero means DefaultHelmTimeout.
	HelmTimeout time.Duration
	// HelmMaxOutputBytes bounds what one chart's templates write. Zero means
	// DefaultHelmMaxOutputBytes.
	HelmMaxOutputBytes int64
	// Changed, when not nil, limits the scan to what a pull request touched
	// (the iac-changed-only input): the paths, relative to root, of the files
	// it added, changed or deleted. Terraform modules (directories) and
	// charts with a changed file, kustomizations that read one, and changed
	// files of the other kinds are checked; nil checks the whole tree.
	Changed []string
}

// scannerRules are the rules the Go code reports.
var scannerRules = []finding.Rule{
	{ID: RuleParseError, Severity: finding.Medium, Title: "IaC file could not be parsed",
		Description: "The file could not be parsed (YAML or Dockerfile syntax), so no policy was evaluated on it. Severity is high for workflow files, Dockerfiles and kustomizations, medium for other YAML.",
		Remediation: "Fix the syntax error named in the message, or waive the finding for that path with an exception."},
	{ID: RuleFileTooLarge, Severity: finding.Medium, Title: "IaC file too large to scan",
		Description: "The file is larger than the scanner's per-file bound and was not read, so no policy was evaluated on it.",
		Remediation: "Split the file, or waive the finding for that path with an exception."},
	{ID: RuleKustomizeBuild, Severity: finding.High, Title: "Kustomization could not be rendered",
		Description: "kustomize could not build the kustomization, so the resources it renders were not checked.",
		Remediation: "Fix the error named in the message (kustomize build must succeed offline on the repository alone)."},
	{ID: RuleKustomizeRemote, Severity: finding.High, Title: "Kustomization uses a remote base",
		Description: "The kustomization (or one it includes) names a remote base or file (a git repository, an URL, a Helm chart). The scanner never fetches remote content, so the rendered resources were not checked.",
		Remediation: "Vendor the remote base into the repository at a pinned commit, or waive the finding with an exception."},
	{ID: RuleTerraformRemote, Severity: finding.Medium, Title: "Terraform module from a remote source",
		Description: "A module call names a registry, git or URL source. The scanner never runs terraform init and never fetches modules, so the resources the module creates were not checked (its arguments in the calling module were).",
		Remediation: "Vendor the module into the repository (a local ./path source), check it in its own repository with this scanner, or pass the iac-plan input: a plan shows every resource the module creates. Otherwise waive the finding with an exception."},
	{ID: RulePlanError, Severity: finding.High, Title: "Terraform plan could not be read",
		Description: "The iac-plan file is not a terraform show -json plan (or is over the size bound), so no policy was evaluated on it.",
		Remediation: "Point iac-plan at the output of terraform show -json plan.out."},
	{ID: RuleHelmRender, Severity: finding.High, Title: "Helm chart could not be rendered",
		Description: "The chart could not be loaded or rendered offline (a template error, a failing required/fail, a symlink out of the tree, or the render exceeded the scanner's time or size limits), so its resources were not (fully) checked.",
		Remediation: "Fix the error named in the message so that helm template succeeds offline with the chart's values and the helm-values files, or waive the finding with an exception."},
	{ID: RuleHelmDependency, Severity: finding.High, Title: "Helm chart dependency not vendored",
		Description: "The chart declares a dependency that is not under its charts/ directory. Remote dependencies are never fetched, so the chart was rendered without it and is not fully checked.",
		Remediation: "Vendor the dependency (helm dependency build, and commit charts/), or waive the finding with an exception."},
}

// Rules returns the bundled rule catalogue (policy rules and the scanner's
// own), sorted by id.
func Rules() []finding.Rule {
	rulesOnce.Do(func() {
		rulesList = slices.Clone(scannerRules)
		e, err := newEngine(context.Background(), "")
		if err != nil { // the bundled policies are tested to compile
			return
		}
		for _, p := range e.packages {
			for id, m := range p.rules {
				sev, _ := finding.ParseSeverity(m.Severity)
				rulesList = append(rulesList, finding.Rule{ID: id, Severity: sev, Title: m.Title, Description: m.Description, Remediation: m.Remediation})
			}
		}
		slices.SortFunc(rulesList, func(a, b finding.Rule) int { return strings.Compare(a.ID, b.ID) })
	})
	return slices.Clone(rulesList)
}

var (
	rulesOnce sync.Once
	rulesList []finding.Rule
)

// fileKind classifies a candidate file.
type fileKind int

const (
	kindNone fileKind = iota
	kindYAML
	kindWorkflow
	kindDockerfile
	kindKustomization
	kindTerraform
	kindTFVars
)

// classify decides what a file is from its (absolute, slash-separated) path.
func classify(p string) fileKind {
	base := path.Base(p)
	low := strings.ToLower(base)
	dir := path.Dir(p)
	ext := path.Ext(low)
	switch {
	case isKustomization(base):
		return kindKustomization
	case (ext == ".yml" || ext == ".yaml") && (dir == ".github/workflows" || strings.HasSuffix(dir, "/.github/workflows") ||
		strings.Contains(dir+"/", "/workflows-templates/") || strings.Contains(dir+"/", "/workflow-templates/")):
		return kindWorkflow
	case low == "dockerfile" || low == "containerfile" || strings.HasSuffix(low, ".dockerfile") ||
		(strings.HasPrefix(low, "dockerfile.") && !notDockerfileExt[ext]):
		return kindDockerfile
	case ext == ".yml" || ext == ".yaml":
		return kindYAML
	case isTerraformFile(base):
		return kindTerraform
	case isTFVars(base):
		return kindTFVars
	}
	return kindNone
}

// notDockerfileExt are the extensions that make a dockerfile.<ext> something
// else: the source, data or docs of a tool about Dockerfiles (dockerfile.go,
// dockerfile.rego, Dockerfile.md), not a Dockerfile variant like Dockerfile.prod.
var notDockerfileExt = map[string]bool{
	".dockerignore": true, ".go": true, ".rego": true, ".md": true, ".txt": true, ".json": true, ".toml": true,
	".py": true, ".js": true, ".ts": true, ".rb": true, ".rs": true, ".java": true, ".sh": true, ".html": true,
	".xml": true, ".yaml": true, ".yml": true, ".golden": true, ".snap": true, ".orig": true, ".rej": true, ".patch": true, ".diff": true,
}

// skipDirs are never descended into.
var skipDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true, ".terraform": true}

// scanner holds one scan's state.
type scanner struct {
	root     string // absolute, symlinks resolved
	opts     Options
	eng      *engine
	findings []finding.Finding
	docs     map[string][]yamlDoc // parsed YAML by rel path
	lines    map[string][]string  // file lines by rel path (for violation matches)
	charts   []string             // chart roots (rel dirs), in lexical order
	changed  map[string]bool      // Options.Changed as a set; nil for the whole tree
}

// Scan evaluates the bundled and the user policies over the IaC files under
// root and returns one finding (Scanner "iac") per violation, sorted, with
// Path relative to root.
func Scan(ctx context.Context, root string, o Options) ([]finding.Finding, error) {
	o.MaxFileBytes = bounds.Or(o.MaxFileBytes, DefaultMaxFileBytes)
	o.MaxFiles = bounds.Or(o.MaxFiles, DefaultMaxFiles)
	o.HelmTimeout = bounds.Or(o.HelmTimeout, DefaultHelmTimeout)
	o.HelmMaxOutputBytes = bounds.Or(o.HelmMaxOutputBytes, DefaultHelmMaxOutputBytes)
	abs, err := filepath.Abs(root)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("iac scan root %q: %w", root, err))
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, errkind.Input(fmt.Errorf("iac scan root %q: expected a directory", root))
	}
	eng, err := newEngine(ctx, o.ExtraPolicies)
	if err != nil {
		return nil, err
	}
	s := &scanner{root: abs, opts: o, eng: eng, docs: map[string][]yamlDoc{}, lines: map[string][]string{}}
	if o.Changed != nil {
		s.changed = map[string]bool{}
		for _, c := range o.Changed {
			s.changed[path.Clean(filepath.ToSlash(c))] = true
		}
	}
	files, err := s.walk(ctx)
	if err != nil {
		return nil, err
	}
	consumed, err := s.kustomize(ctx, files)
	if err != nil {
		return nil, err
	}
	if err := s.scanTerraform(ctx, files); err != nil {
		return nil, err
	}
	if o.Plan != "" {
		if err := s.scanPlan(ctx, o.Plan); err != nil {
			return nil, err
		}
	}
	if err := s.scanCharts(ctx, s.charts); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if consumed[f.rel] || (s.changed != nil && !s.changed[f.rel]) {
			continue
		}
		switch f.kind {
		case kindDockerfile:
			err = s.scanDockerfile(ctx, f)
		case kindWorkflow, kindYAML:
			err = s.scanYAML(ctx, f)
		}
		if err != nil {
			return nil, err
		}
	}
	// One finding per fingerprint (a base rendered twice the same way).
	slices.SortStableFunc(s.findings, func(a, b finding.Finding) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	s.findings = slices.CompactFunc(s.findings, func(a, b finding.Finding) bool { return a.Fingerprint == b.Fingerprint })
	finding.Sort(s.findings)
	return s.findings, nil
}

type candidate struct {
	rel  string // slash path relative to root
	kind fileKind
	size int64
}

// walk lists the candidate files, in lexical order.
func (s *scanner) walk(ctx context.Context) ([]candidate, error) {
	var out []candidate
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != s.root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			// A chart (Chart.yaml and templates/) is rendered, not read as
			// YAML; its subcharts are rendered with it.
			if st, err := os.Lstat(filepath.Join(p, "Chart.yaml")); err == nil && st.Mode().IsRegular() {
				if st, err := os.Lstat(filepath.Join(p, "templates")); err == nil && st.IsDir() {
					if !s.inChart(rel) {
						s.charts = append(s.charts, rel)
					}
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !d.Type().IsRegular() { // symlinks may point outside root
			return nil
		}
		k := classify(filepath.ToSlash(p))
		if k == kindNone {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, candidate{rel: rel, kind: k, size: info.Size()})
		if len(out) > s.opts.MaxFiles {
			return errkind.Input(fmt.Errorf("more than %d IaC files (YAML, Dockerfiles) under %s: narrow the scan path or raise the limit", s.opts.MaxFiles, s.root))
		}
		return nil
	})
	if err != nil {
		if errkind.Of(err) != errkind.KindUnknown {
			return nil, err
		}
		return nil, errkind.Input(fmt.Errorf("listing IaC files under %s: %w", s.root, err))
	}
	return out, nil
}

// inChart reports whether rel lies inside a chart root already found.
func (s *scanner) inChart(rel string) bool {
	for _, c := range s.charts {
		if c == "." || strings.HasPrefix(rel, c+"/") {
			return true
		}
	}
	return false
}

// touchedDir reports whether a pull request changed a file directly in dir
// (always true when the whole tree is scanned).
func (s *scanner) touchedDir(dir string) bool {
	if s.changed == nil {
		return true
	}
	for c := range s.changed {
		if path.Dir(c) == dir {
			return true
		}
	}
	return false
}

// touchedTree reports whether a pull request changed a file under dir.
func (s *scanner) touchedTree(dir string) bool {
	if s.changed == nil {
		return true
	}
	for c := range s.changed {
		if dir == "." || c == dir || strings.HasPrefix(c, dir+"/") {
			return true
		}
	}
	return false
}

// read reads a candidate within the size bound; false (with a finding
// recorded) when it is too large.
func (s *scanner) read(f candidate) ([]byte, bool, error) {
	if f.size > s.opts.MaxFileBytes {
		s.tooLarge(f.rel, f.size)
		return nil, false, nil
	}
	fh, err := os.Open(filepath.Join(s.root, filepath.FromSlash(f.rel)))
	if err != nil {
		return nil, false, errkind.Infra(fmt.Errorf("reading %s: %w", f.rel, err))
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, s.opts.MaxFileBytes+1))
	if err != nil {
		return nil, false, errkind.Infra(fmt.Errorf("reading %s: %w", f.rel, err))
	}
	if int64(len(data)) > s.opts.MaxFileBytes {
		s.tooLarge(f.rel, int64(len(data)))
		return nil, false, nil
	}
	s.lines[f.rel] = strings.Split(string(data), "\n")
	return data, true, nil
}

func (s *scanner) tooLarge(rel string, size int64) {
	s.add(finding.Finding{RuleID: RuleFileTooLarge, Severity: finding.Medium, Path: rel,
		Title:   "IaC file too large to scan",
		Message: fmt.Sprintf("%s is %d bytes, more than the %d-byte bound: no policy was evaluated on it", rel, size, s.opts.MaxFileBytes)}, rel)
}

func (s *scanner) parseError(rel string, sev finding.Severity, line int, err error) {
	s.add(finding.Finding{RuleID: RuleParseError, Severity: sev, Path: rel, StartLine: line,
		Title:   "IaC file could not be parsed",
		Message: fmt.Sprintf("%s could not be parsed, so no policy was evaluated on it: %v", rel, err)}, rel)
}

// add completes a scanner finding (help, fingerprint) and records it.
func (s *scanner) add(f finding.Finding, key string) {
	f.Scanner = Scanner
	for _, r := range scannerRules {
		if r.ID == f.RuleID {
			f.Help = r.Description + " " + r.Remediation
		}
	}
	f.Fingerprint = fingerprint(f.RuleID, f.Path, key)
	s.findings = append(s.findings, f)
}

func fingerprint(parts ...string) string {
	h := sha256.Sum256([]byte(Scanner + "\x00" + strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:16])
}

// scanDockerfile parses and evaluates one Dockerfile.
func (s *scanner) scanDockerfile(ctx context.Context, f candidate) error {
	data, ok, err := s.read(f)
	if err != nil || !ok {
		return err
	}
	df, err := ParseDockerfile(data)
	if err != nil {
		s.parseError(f.rel, finding.High, yamlErrorLine(err), err)
		return nil
	}
	var content map[string]any
	if err := roundTrip(df, &content); err != nil {
		return errkind.Infra(fmt.Errorf("encoding %s: %w", f.rel, err))
	}
	input := map[string]any{"type": "dockerfile", "path": f.rel, "document": 0, "content": content}
	return s.evaluate(ctx, input, f.rel, func(loc []any) int { return lineInValue(content, loc) }, "")
}

// lineOfDoc returns the resolver of loc to lines for a YAML document.
func lineOfDoc(d yamlDoc) func([]any) int {
	return func(loc []any) int { return lineOf(d.Node, loc) }
}

// scanYAML parses one YAML file and evaluates each document: workflows as
// workflows, documents with apiVersion and kind as Kubernetes resources
// (List items one by one); anything else is ignored.
func (s *scanner) scanYAML(ctx context.Context, f candidate) error {
	docs, ok, err := s.yamlDocs(f)
	if err != nil || !ok {
		return err
	}
	for _, d := range docs {
		if f.kind == kindWorkflow {
			content, isMap := d.Value.(map[string]any)
			if !isMap {
				s.parseError(f.rel, finding.High, d.Node.Line, fmt.Errorf("document %d: expected a mapping (a workflow)", d.Index+1))
				continue
			}
			input := map[string]any{"type": "workflow", "path": f.rel, "document": d.Index, "content": content}
			if err := s.evaluate(ctx, input, f.rel, lineOfDoc(d), ""); err != nil {
				return err
			}
			continue
		}
		for _, r := range k8sResources(d) {
			input := map[string]any{"type": "kubernetes", "path": f.rel, "document": d.Index, "content": r.value}
			resolve := func(loc []any) int { return lineOf(d.Node, append(slices.Clone(r.loc), loc...)) }
			if err := s.evaluate(ctx, input, f.rel, resolve, fmt.Sprintf("doc%d%v", d.Index, r.loc)); err != nil {
				return err
			}
		}
	}
	return nil
}

// yamlDocs reads and parses a YAML file once.
func (s *scanner) yamlDocs(f candidate) ([]yamlDoc, bool, error) {
	if d, ok := s.docs[f.rel]; ok {
		return d, true, nil
	}
	data, ok, err := s.read(f)
	if err != nil || !ok {
		return nil, false, err
	}
	docs, err := decodeYAML(data)
	if err != nil {
		sev := finding.Medium
		if f.kind != kindYAML {
			sev = finding.High
		}
		s.parseError(f.rel, sev, yamlErrorLine(err), err)
		return nil, false, nil
	}
	s.docs[f.rel] = docs
	return docs, true, nil
}

// k8sResource is a Kubernetes resource inside a YAML document.
type k8sResource struct {
	value map[string]any
	loc   []any // path from the document root (List items)
}

func isResource(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	av, ok1 := m["apiVersion"].(string)
	k, ok2 := m["kind"].(string)
	return m, ok1 && ok2 && av != "" && k != ""
}

func k8sResources(d yamlDoc) []k8sResource {
	m, ok := isResource(d.Value)
	if !ok {
		return nil
	}
	if strings.HasSuffix(m["kind"].(string), "List") {
		if items, ok := m["items"].([]any); ok {
			var out []k8sResource
			for i, it := range items {
				if im, ok := isResource(it); ok {
					out = append(out, k8sResource{value: im, loc: []any{"items", i}})
				}
			}
			return out
		}
	}
	return []k8sResource{{value: m}}
}

// evaluate runs the policies over one input and records the findings.
// context is an extra identity for fingerprints (a document, a rendering).
func (s *scanner) evaluate(ctx context.Context, input map[string]any, rel string, resolve func([]any) int, identity string) error {
	vs, err := s.eng.eval(ctx, input)
	if err != nil {
		return fmt.Errorf("evaluating %s: %w", rel, err)
	}
	for _, v := range vs {
		s.findings = append(s.findings, s.toFinding(v, rel, resolve, identity))
	}
	return nil
}

func (s *scanner) toFinding(v evaluated, rel string, resolve func([]any) int, identity string) finding.Finding {
	sev := finding.Medium
	if v.meta.Severity != "" {
		sev, _ = finding.ParseSeverity(v.meta.Severity)
	}
	if v.Severity != "" {
		sev, _ = finding.ParseSeverity(v.Severity)
	}
	line := v.Line
	if line == 0 && v.Loc != nil {
		line = resolve(v.Loc)
	}
	if v.Match != "" && line > 0 {
		lines := s.lines[rel]
		for i := line - 1; i < len(lines) && i < line-1+10000; i++ {
			if strings.Contains(lines[i], v.Match) {
				line = i + 1
				break
			}
		}
	}
	title := v.meta.Title
	if title == "" {
		title = v.ID
	}
	help := strings.TrimSpace(v.meta.Description + " " + v.meta.Remediation)
	return finding.Finding{
		Scanner:     Scanner,
		RuleID:      v.ID,
		Title:       title,
		Message:     v.Msg,
		Severity:    sev,
		Path:        rel,
		StartLine:   line,
		Fingerprint: fingerprint(v.ID, rel, identity, v.Msg),
		Help:        help,
		HelpURI:     v.meta.HelpURI,
	}
}

// lineInValue resolves loc in a JSON-like value (a parsed Dockerfile) to the
// nearest "line" field on the way.
func lineInValue(v any, loc []any) int {
	line := 0
	cur := v
	for _, el := range append([]any{nil}, loc...) {
		if el != nil {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[fmt.Sprint(el)]
			case []any:
				i, ok := locIndex(el)
				if !ok || i < 0 || i >= len(c) {
					return line
				}
				cur = c[i]
			default:
				return line
			}
		}
		if m, ok := cur.(map[string]any); ok {
			if l, ok := m["line"].(float64); ok {
				line = int(l)
			}
		}
	}
	return line
}

// yamlErrorLine extracts "line N" from a yaml.v3 error, 0 if absent.
func yamlErrorLine(err error) int {
	var n int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		fmt.Sscanf(msg[i+5:], "%d", &n)
	}
	return n
}

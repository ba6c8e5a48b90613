package iac

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	v2util "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/ignore"

	"github.com/secure-gates/secure-gates/internal/third_party/forked/helmengine"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/readfile"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// Defaults of the Helm render bounds.
const (
	DefaultHelmTimeout        = 10 * time.Second
	DefaultHelmMaxOutputBytes = 16 << 20
	helmMaxChartFiles         = 5000
	helmMaxChartBytes         = 64 << 20
	helmMaxValueNodes         = 1_000_000
	helmMaxSteps              = 20_000_000
	helmMaxDepth              = 200
)

// ParseHelmValues reads the helm-values input: one `chart-dir=values-file`
// per line (both relative to the scan root; several lines may name the same
// chart, applied in order, later files overriding earlier ones). Blank lines
// and lines starting with # are skipped.
func ParseHelmValues(lines []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, l := range lines {
		for _, l := range strings.Split(l, "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			dir, file, ok := strings.Cut(l, "=")
			dir, file = strings.TrimSpace(dir), strings.TrimSpace(file)
			if !ok || dir == "" || file == "" {
				return nil, errkind.Input(fmt.Errorf("helm-values line %q: expected chart-dir=values-file (for example deploy/chart=deploy/values-prod.yaml)", l))
			}
			dir = path.Clean(filepath.ToSlash(dir))
			out[dir] = append(out[dir], file)
		}
	}
	return out, nil
}

// chartRel maps a rendered template name (chart/templates/x.yaml,
// chart/charts/sub/templates/y.yaml) to a path relative to the chart dir.
func chartRel(name string) string {
	_, rest, _ := strings.Cut(name, "/")
	return rest
}

// scanCharts renders and checks every chart root.
func (s *scanner) scanCharts(ctx context.Context, charts []string) error {
	for _, dir := range charts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !s.touchedTree(dir) {
			continue
		}
		if err := s.scanChart(ctx, dir); err != nil {
			return err
		}
	}
	for dir := range s.opts.HelmValues {
		if !slices.Contains(charts, path.Clean(dir)) {
			return errkind.Input(fmt.Errorf("helm-values names %q, which is not a chart directory (a Chart.yaml and templates/) under %s", dir, s.root))
		}
	}
	return nil
}

func (s *scanner) helmFinding(rule, rel string, line int, key, msg string) {
	titles := map[string]string{RuleHelmRender: "Helm chart could not be rendered", RuleHelmDependency: "Helm chart dependency not vendored"}
	s.add(finding.Finding{RuleID: rule, Severity: finding.High, Path: rel, StartLine: line, Title: titles[rule], Message: msg}, key)
}

// chartFiles reads a chart's files the way helm's directory loader does
// (.helmignore applied), confined to the scan root: a symlink is followed
// only to a regular file inside the root; one pointing elsewhere is refused
// with a finding.
func (s *scanner) chartFiles(dir string) ([]*archive.BufferedFile, bool) {
	abs := filepath.Join(s.root, filepath.FromSlash(dir))
	chartYAML := path.Join(dir, "Chart.yaml")
	rules := ignore.Empty()
	// A .helmignore that is missing, leads out of the root, is not a regular
	// file or is over the size bound ignores nothing: every file is rendered.
	if data, err := readfile.InTree(s.root, filepath.Join(abs, ignore.HelmIgnore), s.opts.MaxFileBytes); err == nil {
		if r, err := ignore.Parse(bytes.NewReader(data)); err == nil {
			rules = r
		}
	}
	rules.AddDefaults()
	var files []*archive.BufferedFile
	var total int64
	ok := true
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(abs, p)
		rel = filepath.ToSlash(rel)
		treeRel := path.Join(dir, rel)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rules.Ignore(rel, info) {
				return filepath.SkipDir
			}
			return nil
		}
		if rules.Ignore(rel, info) {
			return nil
		}
		real := p
		if d.Type()&fs.ModeSymlink != 0 {
			r, err := filepath.EvalSymlinks(p)
			if err == nil && r != s.root && !strings.HasPrefix(r, s.root+string(filepath.Separator)) {
				err = errors.New("it points outside the scanned directory")
			}
			var st os.FileInfo
			if err == nil {
				st, err = os.Stat(r)
			}
			if err == nil && !st.Mode().IsRegular() {
				err = errors.New("it is not a regular file")
			}
			if err != nil {
				s.helmFinding(RuleHelmRender, treeRel, 0, chartYAML+"\x00"+rel,
					fmt.Sprintf("%s is a symlink that is not followed (%v): the chart %s was rendered without it, so it was not fully checked", treeRel, err, dir))
				ok = false
				return nil
			}
			real, info = r, st
		} else if !d.Type().IsRegular() {
			return nil
		}
		if len(files) >= helmMaxChartFiles || total+info.Size() > helmMaxChartBytes {
			return fmt.Errorf("more than %d files or %d bytes", helmMaxChartFiles, helmMaxChartBytes)
		}
		if info.Size() > s.opts.MaxFileBytes {
			s.tooLarge(treeRel, info.Size())
			ok = false
			return nil
		}
		data, err := readfile.Bounded(real, s.opts.MaxFileBytes) // regular, and not grown past the bound since the check above
		if err != nil {
			return err
		}
		total += int64(len(data))
		files = append(files, &archive.BufferedFile{Name: rel, Data: data})
		return nil
	})
	if err != nil {
		s.helmFinding(RuleHelmRender, chartYAML, 0, chartYAML, fmt.Sprintf("the chart %s could not be read, so it was not rendered: %v", dir, err))
		return nil, false
	}
	return files, ok
}

// scanChart renders one chart (with its vendored subcharts) offline and
// evaluates the rendered resources.
func (s *scanner) scanChart(ctx context.Context, dir string) error {
	chartYAML := path.Join(dir, "Chart.yaml")
	files, _ := s.chartFiles(dir)
	if files == nil {
		return nil
	}
	c, err := loadChart(files)
	if err != nil {
		s.helmFinding(RuleHelmRender, chartYAML, 0, chartYAML, fmt.Sprintf("the chart %s could not be loaded, so it was not rendered: %v", dir, err))
		return nil
	}
	// Values: the chart's values.yaml, then the helm-values files in order.
	vals := map[string]any{}
	for _, vf := range s.opts.HelmValues[dir] {
		p := vf
		if !filepath.IsAbs(p) {
			p = filepath.Join(s.root, filepath.FromSlash(vf))
		}
		data, err := readfile.InTree(s.root, p, s.opts.MaxFileBytes) // no symbolic link out of the scan root
		if err != nil {
			return errkind.Input(fmt.Errorf("helm-values %s=%s: %w", dir, vf, err))
		}
		v, err := loader.LoadValues(bytes.NewReader(data))
		if err != nil {
			return errkind.Input(fmt.Errorf("helm-values %s=%s: expected a YAML values file: %w", dir, vf, err))
		}
		vals = loader.MergeMaps(vals, v)
	}
	// Dependencies declared but not vendored under charts/.
	have := map[string]bool{}
	for _, d := range c.Dependencies() {
		have[d.Name()] = true
	}
	for _, d := range c.Metadata.Dependencies {
		if d != nil && !have[d.Name] {
			where := s.lineOfText(chartYAML, "name: "+d.Name)
			s.helmFinding(RuleHelmDependency, chartYAML, where, chartYAML+"\x00dep\x00"+d.Name,
				fmt.Sprintf("the chart %s depends on %q (%s %s), which is not vendored under charts/: remote dependencies are never fetched, so the chart was rendered without it and not fully checked",
					dir, d.Name, d.Repository, d.Version))
		}
	}
	if err := processDeps(c, vals); err != nil {
		s.helmFinding(RuleHelmRender, chartYAML, 0, chartYAML, fmt.Sprintf("the chart %s's dependencies could not be processed, so it was not rendered: %v", dir, err))
		return nil
	}
	rv, err := chartutil.ToRenderValuesWithSchemaValidation(c, vals,
		common.ReleaseOptions{Name: "release-name", Namespace: "default", Revision: 1, IsInstall: true}, common.DefaultCapabilities.Copy(), true)
	if err != nil {
		s.helmFinding(RuleHelmRender, chartYAML, 0, chartYAML, fmt.Sprintf("the values of the chart %s could not be prepared, so it was not rendered: %v", dir, err))
		return nil
	}
	eng := helmengine.Engine{Limits: helmengine.Limits{Timeout: s.opts.HelmTimeout, MaxOutputBytes: s.opts.HelmMaxOutputBytes,
		MaxValueNodes: helmMaxValueNodes, MaxSteps: helmMaxSteps, MaxDepth: helmMaxDepth}}
	out, err := eng.Render(ctx, c, rv)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := strings.ReplaceAll(err.Error(), s.root+string(filepath.Separator), "")
		msg = textclip.Clip(msg, 2000)
		what := "could not be rendered"
		if errors.Is(err, helmengine.ErrLimit) {
			what = "was stopped by the scanner's render limits"
		}
		s.helmFinding(RuleHelmRender, chartYAML, 0, chartYAML, fmt.Sprintf("the chart %s %s, so its resources were not checked: %s", dir, what, msg))
		return nil
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		r := out[name]
		if strings.TrimSpace(r.Text) == "" || strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		if err := s.evalRendered(ctx, dir, name, r); err != nil {
			return err
		}
	}
	return nil
}

func loadChart(files []*archive.BufferedFile) (c *chart.Chart, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("chart loader failed: %v", r)
		}
	}()
	c, err = loader.LoadFiles(files)
	if err == nil && c.Metadata == nil {
		err = errors.New("no Chart.yaml")
	}
	if err == nil {
		err = c.Validate()
	}
	return c, err
}

func processDeps(c *chart.Chart, vals map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return v2util.ProcessDependencies(c, vals)
}

// evalRendered evaluates one rendered template's resources. Findings are on
// the template file (the line found by walking the violation's path down the
// template's keys), or on Chart.yaml when the template is not a file in the
// tree (a subchart archive).
func (s *scanner) evalRendered(ctx context.Context, dir, name string, rendered helmengine.Rendered) error {
	srcRel := path.Join(dir, chartRel(name))
	onFile := true
	if info, err := os.Lstat(filepath.Join(s.root, filepath.FromSlash(srcRel))); err != nil || !info.Mode().IsRegular() {
		srcRel, onFile = path.Join(dir, "Chart.yaml"), false
	}
	docs, err := decodeYAML([]byte(rendered.Text))
	if err != nil {
		s.helmFinding(RuleHelmRender, srcRel, 0, srcRel+"\x00yaml", fmt.Sprintf("%s rendered to YAML that does not parse, so it was not checked: %v", name, err))
		return nil
	}
	for _, d := range docs {
		for _, r := range k8sResources(d) {
			input := map[string]any{"type": "kubernetes", "path": srcRel, "document": d.Index, "chart": dir, "template": name, "content": r.value}
			vs, err := s.eng.eval(ctx, input)
			if err != nil {
				return fmt.Errorf("evaluating %s rendered from %s: %w", name, dir, err)
			}
			for _, v := range vs {
				loc := append(slices.Clone(r.loc), v.Loc...)
				line := 0
				if onFile {
					if rl := lineOf(d.Node, loc); rl > 0 && rl <= len(rendered.Lines) {
						line = rendered.Lines[rl-1]
					}
				}
				v.Line = line
				f := s.toFinding(v, srcRel, func([]any) int { return 0 }, "helm:"+dir+"\x00"+name+fmt.Sprint(d.Index, r.loc))
				f.Message += fmt.Sprintf(" (rendered from the chart %s)", dir)
				s.findings = append(s.findings, f)
			}
		}
	}
	return nil
}

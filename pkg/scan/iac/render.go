package iac

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/finding"
)

// kustomize renders the root kustomizations (those no other kustomization in
// the tree includes) and evaluates the rendered resources, mapped back to the
// files they came from. It returns the files it consumed: the files of every
// kustomization directory and every file a build read, which are not
// scanned again as plain YAML (patches are not resources on their own).
func (s *scanner) kustomize(ctx context.Context, files []candidate) (map[string]bool, error) {
	consumed := map[string]bool{}
	kdirs := map[string]candidate{} // dir → kustomization file
	for _, f := range files {
		if f.kind == kindKustomization {
			if _, dup := kdirs[path.Dir(f.rel)]; !dup {
				kdirs[path.Dir(f.rel)] = f
			}
		}
	}
	if len(kdirs) == 0 {
		return consumed, nil
	}
	for _, f := range files {
		if _, ok := kdirs[path.Dir(f.rel)]; ok && (f.kind == kindYAML || f.kind == kindKustomization) {
			consumed[f.rel] = true
		}
	}
	referenced := map[string]bool{}
	components := map[string]bool{}
	var dirs []string
	for dir, f := range kdirs {
		dirs = append(dirs, dir)
		data, ok, err := s.read(f)
		if err != nil {
			return nil, err
		}
		if !ok {
			components[dir] = true // too large: reported, never rendered
			continue
		}
		k, err := parseKustomization(data)
		if err != nil {
			s.parseError(f.rel, finding.High, yamlErrorLine(err), err)
			components[dir] = true
			continue
		}
		if k.Kind == "Component" {
			components[dir] = true
		}
		abs := filepath.Join(s.root, filepath.FromSlash(dir))
		for _, e := range slices.Concat(k.Resources, k.Bases, k.Components) {
			if isRemote(abs, e) {
				continue
			}
			target := path.Clean(path.Join(dir, filepath.ToSlash(e)))
			if _, ok := kdirs[target]; ok && target != dir {
				referenced[target] = true
			}
		}
	}
	slices.Sort(dirs)
	for _, dir := range dirs {
		if referenced[dir] || components[dir] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.render(ctx, kdirs[dir], consumed); err != nil {
			return nil, err
		}
	}
	return consumed, nil
}

// render builds one root kustomization and evaluates its resources.
func (s *scanner) render(ctx context.Context, kf candidate, consumed map[string]bool) error {
	dir := path.Dir(kf.rel)
	fsys, err := newRenderFS(s.root, s.opts.MaxFileBytes)
	if err != nil {
		return fmt.Errorf("preparing to render %s: %w", kf.rel, err)
	}
	res, err := buildKustomization(fsys, filepath.Join(s.root, filepath.FromSlash(dir)))
	for _, abs := range fsys.Read() {
		if rel, rerr := filepath.Rel(s.root, abs); rerr == nil {
			consumed[filepath.ToSlash(rel)] = true
		}
	}
	if s.changed != nil {
		touched := false
		for _, abs := range fsys.Read() {
			if rel, rerr := filepath.Rel(s.root, abs); rerr == nil && s.changed[filepath.ToSlash(rel)] {
				touched = true
			}
		}
		if !touched && !s.changed[kf.rel] {
			return nil // the pull request changed none of the files it reads
		}
	}
	if len(fsys.remote) > 0 {
		for _, r := range fsys.remote {
			where := fsys.Rel(r.file)
			s.add(finding.Finding{RuleID: RuleKustomizeRemote, Severity: finding.High, Path: where,
				StartLine: s.lineOfText(where, r.ref),
				Title:     "Kustomization uses a remote base",
				Message: fmt.Sprintf("%s names the remote %s %q: remote content is never fetched, so %s was not rendered and its resources were not checked",
					where, r.field, r.ref, kf.rel)}, kf.rel+"\x00"+r.ref)
		}
		return nil
	}
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), s.root+string(filepath.Separator), "")
		s.add(finding.Finding{RuleID: RuleKustomizeBuild, Severity: finding.High, Path: kf.rel,
			Title:   "Kustomization could not be rendered",
			Message: fmt.Sprintf("kustomize build %s failed, so its resources were not checked: %s", dir, msg)}, kf.rel)
		return nil
	}
	for i, r := range res {
		rel := r.OriginPath
		if rel == "" {
			rel = kf.rel
		}
		resolve := s.originResolver(rel, r)
		input := map[string]any{"type": "kubernetes", "path": rel, "document": i, "kustomization": kf.rel, "content": r.Value}
		vs, err := s.eng.eval(ctx, input)
		if err != nil {
			return fmt.Errorf("evaluating %s rendered by %s: %w", rel, kf.rel, err)
		}
		for _, v := range vs {
			f := s.toFinding(v, rel, resolve, "kustomize:"+kf.rel)
			f.Message += fmt.Sprintf(" (rendered by %s)", kf.rel)
			s.findings = append(s.findings, f)
		}
	}
	return nil
}

// originResolver maps a loc in a rendered resource to a line of the file the
// resource came from: the document with the same kind whose name the rendered
// name contains (name prefixes and suffixes apply), at the nearest node loc
// reaches there (a field added by an overlay resolves to its parent).
func (s *scanner) originResolver(rel string, r renderedResource) func([]any) int {
	info, err := os.Stat(filepath.Join(s.root, filepath.FromSlash(rel)))
	if err != nil || !info.Mode().IsRegular() {
		return func([]any) int { return 0 }
	}
	docs, ok, err := s.yamlDocs(candidate{rel: rel, kind: classify(filepath.ToSlash(filepath.Join(s.root, rel))), size: info.Size()})
	if err != nil || !ok {
		return func([]any) int { return 0 }
	}
	var best *k8sResource
	var bestDoc yamlDoc
	bestLen := -1
	for _, d := range docs {
		for _, res := range k8sResources(d) {
			if res.value["kind"] != r.Kind {
				continue
			}
			name, _ := res.value["metadata"].(map[string]any)["name"].(string)
			if (name == "" || strings.Contains(r.Name, name)) && len(name) > bestLen {
				res := res
				best, bestDoc, bestLen = &res, d, len(name)
			}
		}
	}
	if best == nil {
		return func([]any) int { return 0 }
	}
	return func(loc []any) int { return lineOf(bestDoc.Node, append(slices.Clone(best.loc), loc...)) }
}

// lineOfText is the first line of a file under root containing text (0 when
// not found).
func (s *scanner) lineOfText(rel, text string) int {
	data, err := os.ReadFile(filepath.Join(s.root, filepath.FromSlash(rel)))
	if err != nil || int64(len(data)) > s.opts.MaxFileBytes {
		return 0
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, text) {
			return i + 1
		}
	}
	return 0
}

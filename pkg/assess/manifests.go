package assess

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// Bounds on manifest parsing.
const (
	maxDocs          = 20000
	maxKustomizeRuns = 100
)

// doc is one Kubernetes-style YAML document.
type doc struct {
	file   string // source file, or the kustomization folder it was rendered from
	line   int    // 0 for rendered documents
	render bool
	obj    map[string]any
}

func (d doc) kind() string       { s, _ := d.obj["kind"].(string); return s }
func (d doc) apiVersion() string { s, _ := d.obj["apiVersion"].(string); return s }
func (d doc) name() string {
	md, _ := d.obj["metadata"].(map[string]any)
	s, _ := md["name"].(string)
	return s
}

// where names the document for evidence.
func (d doc) where() Evidence {
	if d.render {
		return Evidence{File: d.file, Text: fmt.Sprintf("%s %s (kustomize build)", d.kind(), d.name())}
	}
	return Evidence{File: d.file, Line: d.line, Text: fmt.Sprintf("%s %s", d.kind(), d.name())}
}

func isKustomization(p string) bool {
	b := path.Base(p)
	return b == "kustomization.yaml" || b == "kustomization.yml" || b == "Kustomization"
}

// loadManifests returns the repository's Kubernetes documents: every
// kustomization that no other kustomization includes, rendered with kustomize
// from the snapshot in memory, and every other YAML file outside the
// kustomization folders as it is.
func loadManifests(snap *snapshot) ([]doc, []string) {
	var notes []string
	kdirs := map[string]string{} // dir -> kustomization file
	for _, f := range snap.files {
		if isKustomization(f) {
			kdirs[path.Dir(f)] = f
		}
	}
	// Which kustomization folders are safe to build (every path they name is a
	// file or folder of the snapshot, nothing remote, no helm), and which are
	// included by another.
	children := map[string][]string{}
	unsafe := map[string]string{}
	included := map[string]bool{}
	for dir, f := range kdirs {
		data, ok := snap.content[f]
		if !ok {
			unsafe[dir] = "not read"
			continue
		}
		refs, err := kustomizationRefs(data)
		if err != nil {
			unsafe[dir] = err.Error()
			continue
		}
		for _, r := range refs {
			p := path.Clean(path.Join(dir, r))
			if strings.HasPrefix(p, "../") || p == ".." {
				unsafe[dir] = fmt.Sprintf("names %q, outside the repository", r)
				break
			}
			if !snap.isFile[p] && !snap.isDir[p] {
				unsafe[dir] = fmt.Sprintf("names %q, which is not in the repository", r)
				break
			}
			if _, ok := kdirs[p]; ok {
				children[dir] = append(children[dir], p)
				included[p] = true
			}
		}
	}
	var roots []string
	for dir := range kdirs {
		if !included[dir] {
			roots = append(roots, dir)
		}
	}
	slices.Sort(roots)
	var docs []doc
	var fs filesys.FileSystem
	for i, root := range roots {
		if i >= maxKustomizeRuns {
			notes = append(notes, fmt.Sprintf("only the first %d kustomizations were built", maxKustomizeRuns))
			break
		}
		if why := reachUnsafe(root, children, unsafe, map[string]bool{}); why != "" {
			notes = append(notes, fmt.Sprintf("%s was not built: %s", kdirs[root], why))
			continue
		}
		if fs == nil {
			fs = memFS(snap)
		}
		out, err := buildKustomization(fs, root)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s was not built: %s", kdirs[root], textclip.Clip(err.Error(), 300)))
			continue
		}
		for _, o := range out {
			if len(docs) >= maxDocs {
				break
			}
			docs = append(docs, doc{file: root, render: true, obj: o})
		}
	}
	// Plain YAML files outside kustomization folders.
	for _, f := range snap.files {
		ext := path.Ext(f)
		if ext != ".yaml" && ext != ".yml" {
			continue
		}
		if strings.HasPrefix(f, ".github/") || strings.HasPrefix(f, ".secure-gates/") || isKustomization(f) || inKustomization(f, kdirs) {
			continue
		}
		data, ok := snap.content[f]
		if !ok {
			continue
		}
		ds, err := yamlDocs(f, data, maxDocs-len(docs))
		if err != nil {
			continue // not every YAML file is a manifest
		}
		docs = append(docs, ds...)
	}
	return docs, notes
}

func reachUnsafe(dir string, children map[string][]string, unsafe map[string]string, seen map[string]bool) string {
	if seen[dir] {
		return ""
	}
	seen[dir] = true
	if why, ok := unsafe[dir]; ok {
		return dir + "/kustomization: " + why
	}
	for _, c := range children[dir] {
		if why := reachUnsafe(c, children, unsafe, seen); why != "" {
			return why
		}
	}
	return ""
}

func inKustomization(f string, kdirs map[string]string) bool {
	for d := path.Dir(f); ; d = path.Dir(d) {
		if _, ok := kdirs[d]; ok {
			return true
		}
		if d == "." || d == "/" {
			return false
		}
	}
}

// kustomizationRefs returns the local paths a kustomization names, and an error
// for anything kustomize would fetch or run: a URL or git reference anywhere,
// helm charts, or a reference that is not a plain relative path.
func kustomizationRefs(data []byte) ([]string, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("unparsable: %s", textclip.Clip(err.Error(), 200))
	}
	var bad error
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if bad != nil {
			return
		}
		if n.Kind == yaml.ScalarNode && (strings.Contains(n.Value, "://") || strings.HasPrefix(strings.ToLower(n.Value), "git::")) {
			bad = fmt.Errorf("names the URL %q: remote resources are never fetched", textclip.Clip(n.Value, 100))
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	if bad != nil {
		return nil, bad
	}
	var k map[string]any
	if err := yaml.Unmarshal(data, &k); err != nil || k == nil {
		return nil, errors.New("not a mapping")
	}
	for _, key := range []string{"helmCharts", "helmGlobals", "helmChartInflationGenerator", "openapi"} {
		if _, ok := k[key]; ok {
			return nil, fmt.Errorf("uses %s, which the assessment does not run", key)
		}
	}
	var refs []string
	for _, key := range []string{"resources", "bases", "components", "crds", "configurations", "generators", "transformers", "validators", "patchesStrategicMerge"} {
		list, _ := k[key].([]any)
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s holds a non-string entry", key)
			}
			if strings.Contains(s, "\n") {
				continue // an inline document, not a path
			}
			if strings.ContainsAny(s, ":@?") || strings.Contains(strings.ToLower(s), "github.com") || path.IsAbs(s) {
				return nil, fmt.Errorf("%s entry %q is not a relative path in the repository", key, textclip.Clip(s, 100))
			}
			refs = append(refs, s)
		}
	}
	for _, key := range []string{"patches", "patchesJson6902", "replacements"} {
		list, _ := k[key].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			if p, ok := m["path"].(string); ok {
				if strings.ContainsAny(p, ":@?") || path.IsAbs(p) {
					return nil, fmt.Errorf("%s path %q is not a relative path in the repository", key, textclip.Clip(p, 100))
				}
				refs = append(refs, p)
			}
		}
	}
	return refs, nil
}

// memFS is an in-memory copy of the snapshot's YAML and JSON files for kustomize.
func memFS(snap *snapshot) filesys.FileSystem {
	fs := filesys.MakeFsInMemory()
	for f, data := range snap.content {
		_ = fs.WriteFile("/"+f, data)
	}
	for d := range snap.isDir {
		_ = fs.MkdirAll("/" + d)
	}
	return fs
}

func buildKustomization(fs filesys.FileSystem, dir string) (out []map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize failed: %v", r)
		}
	}()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(fs, "/"+dir)
	if err != nil {
		return nil, err
	}
	for _, r := range rm.Resources() {
		m, err := r.Map()
		if err != nil {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// yamlDocs parses every document of a YAML file that has a kind.
func yamlDocs(file string, data []byte, max int) ([]doc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []doc
	for len(out) < max {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return out, err
		}
		var obj map[string]any
		if err := n.Decode(&obj); err != nil || obj == nil {
			continue
		}
		if _, ok := obj["kind"].(string); !ok {
			continue
		}
		ln := n.Line
		if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			ln = n.Content[0].Line
		}
		out = append(out, doc{file: file, line: ln, obj: obj})
	}
	return out, nil
}

// m returns nested map values by keys.
func m(v any, keys ...string) any {
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

// podSpec returns a workload's pod spec, or nil.
func podSpec(d doc) map[string]any {
	switch d.kind() {
	case "Pod":
		s, _ := m(d.obj, "spec").(map[string]any)
		return s
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController":
		s, _ := m(d.obj, "spec", "template", "spec").(map[string]any)
		return s
	case "CronJob":
		s, _ := m(d.obj, "spec", "jobTemplate", "spec", "template", "spec").(map[string]any)
		return s
	}
	return nil
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	}
	return 0, false
}

// containerPosture checks every container of a workload: non-root and read-only
// root filesystem. It returns the containers failing each.
func containerPosture(spec map[string]any) (n int, rootful, writable []string) {
	podUser, podUserSet := asInt(m(spec, "securityContext", "runAsUser"))
	podNonRoot, _ := m(spec, "securityContext", "runAsNonRoot").(bool)
	for _, key := range []string{"initContainers", "containers"} {
		for _, c := range list(spec[key]) {
			n++
			name, _ := m(c, "name").(string)
			sc := m(c, "securityContext")
			user, userSet := asInt(m(sc, "runAsUser"))
			nonRoot, nonRootSet := m(sc, "runAsNonRoot").(bool)
			if !userSet {
				user, userSet = podUser, podUserSet
			}
			if !nonRootSet {
				nonRoot = podNonRoot
			}
			if (userSet && user == 0) || (!nonRoot && !(userSet && user > 0)) {
				rootful = append(rootful, name)
			}
			if ro, _ := m(sc, "readOnlyRootFilesystem").(bool); !ro {
				writable = append(writable, name)
			}
		}
	}
	return n, rootful, writable
}

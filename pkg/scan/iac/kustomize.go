package iac

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/secure-gates/secure-gates/pkg/kustfs"
)

// kustomizationNames are the file names kustomize recognises.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func isKustomization(name string) bool { return slices.Contains(kustomizationNames, name) }

// remoteRef is a remote reference found in a kustomization.
type remoteRef struct {
	file  string // absolute path of the kustomization
	ref   string
	field string
}

// renderFS is the file system a kustomization of the scanned tree is built
// on: pkg/kustfs (read-only, confined to the scanned tree, bounded reads),
// refusing any kustomization that names a remote base or file (recorded in
// remote) and asking kustomize to keep origin annotations on the others.
type renderFS struct {
	*kustfs.FS
	remote []remoteRef // OnRead calls are serialized by kustfs
}

func newRenderFS(root string, maxBytes int64) (*renderFS, error) {
	r := &renderFS{}
	fsys, err := kustfs.New(root, kustfs.Options{MaxFileBytes: maxBytes, Outside: "is outside the scanned directory", OnRead: r.onRead})
	if err != nil {
		return nil, err
	}
	r.FS = fsys
	return r, nil
}

func (r *renderFS) onRead(real string, data []byte) ([]byte, error) {
	if !isKustomization(filepath.Base(real)) {
		return data, nil
	}
	if refs := remoteRefs(filepath.Dir(real), data); len(refs) > 0 {
		for _, ref := range refs {
			ref.file = real
			r.remote = append(r.remote, ref)
		}
		return nil, fmt.Errorf("%s names the remote %s %q: remote bases and files are never fetched", r.Rel(real), refs[0].field, refs[0].ref)
	}
	// Ask kustomize to keep origin annotations so findings map back to files.
	return withOriginAnnotations(data), nil
}

// kustomization is the part of a kustomization file the scanner reads itself.
type kustomization struct {
	Kind       string   `yaml:"kind"`
	Resources  []string `yaml:"resources"`
	Bases      []string `yaml:"bases"`
	Components []string `yaml:"components"`
}

var hostLike = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:[0-9]+)?$`)

// isRemote reports whether a kustomization path entry names something
// kustomize would fetch over the network (kustfs.Fetches, kustomize's own
// reading), or looks like a remote base kustomize would fail on (a host's
// path without scheme, a ?ref= query, a .git repository): both are reported
// as remote bases, never rendered.
func isRemote(dir, s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	if kustfs.Fetches(s) {
		return true
	}
	low := strings.ToLower(s)
	for _, p := range []string{"git@", "git::", "github.com/", "gitlab.com/", "bitbucket.org/", "dev.azure.com/", "ssh:", "file:"} {
		if strings.HasPrefix(low, p) {
			return true
		}
	}
	if strings.Contains(s, "://") || strings.Contains(s, "?ref=") || strings.Contains(s, "?version=") || strings.Contains(s, "?timeout=") || strings.Contains(s, ".git//") || strings.HasSuffix(low, ".git") {
		return true
	}
	first, _, found := strings.Cut(s, "/")
	if found && hostLike.MatchString(first) {
		if _, err := os.Lstat(filepath.Join(dir, first)); err != nil {
			return true
		}
	}
	return false
}

// pathFields are the kustomization fields whose string values are paths.
var pathFields = []string{"resources", "bases", "components", "crds", "configurations", "generators", "transformers", "validators", "patchesStrategicMerge"}

// remoteRefs lists the remote references in a kustomization's path fields.
// A kustomization that cannot be parsed yields none (kustomize reports it).
func remoteRefs(dir string, data []byte) []remoteRef {
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil {
		return nil
	}
	var out []remoteRef
	check := func(field string, v any) {
		if s, ok := v.(string); ok && !strings.Contains(s, "\n") && isRemote(dir, s) {
			out = append(out, remoteRef{ref: s, field: field})
		}
	}
	list := func(v any) []any {
		l, _ := v.([]any)
		return l
	}
	for _, f := range pathFields {
		for _, v := range list(k[f]) {
			check(f, v)
		}
	}
	for _, f := range []string{"patches", "patchesJson6902", "replacements"} {
		for _, v := range list(k[f]) {
			if m, ok := v.(map[string]any); ok {
				check(f, m["path"])
			}
		}
	}
	if m, ok := k["openapi"].(map[string]any); ok {
		check("openapi", m["path"])
	}
	for _, f := range []string{"configMapGenerator", "secretGenerator"} {
		for _, v := range list(k[f]) {
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			for _, key := range []string{"files", "envs"} {
				for _, e := range list(m[key]) {
					if s, ok := e.(string); ok {
						if _, after, found := strings.Cut(s, "="); found {
							s = after
						}
						check(f+"."+key, s)
					}
				}
			}
			check(f+".env", m["env"])
		}
	}
	if _, ok := k["helmCharts"]; ok {
		out = append(out, remoteRef{ref: "helmCharts", field: "helmCharts"})
	}
	return out
}

// withOriginAnnotations adds buildMetadata: [originAnnotations] to a
// kustomization so built resources carry the file they came from.
func withOriginAnnotations(data []byte) []byte {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return data
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "buildMetadata" {
			seq := m.Content[i+1]
			if seq.Kind != yaml.SequenceNode {
				return data
			}
			for _, it := range seq.Content {
				if it.Value == types.OriginAnnotations {
					return data
				}
			}
			seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: types.OriginAnnotations})
			out, err := yaml.Marshal(&doc)
			if err != nil {
				return data
			}
			return out
		}
	}
	m.Content = append(m.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"},
		&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: types.OriginAnnotations}}})
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return data
	}
	return out
}

// renderedResource is one resource a kustomization build produced.
type renderedResource struct {
	Value      map[string]any
	OriginPath string // slash path relative to the scan root of the file it came from; "" if unknown
	Kind, Name string
}

// buildKustomization renders the kustomization in dir (absolute) on fsys.
func buildKustomization(fsys *renderFS, dir string) ([]renderedResource, error) {
	opts := krusty.MakeDefaultOptions()
	k := krusty.MakeKustomizer(opts)
	m, err := k.Run(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []renderedResource
	for _, r := range m.Resources() {
		rr := renderedResource{Kind: r.GetKind(), Name: r.GetName()}
		if o, err := r.GetOrigin(); err == nil && o != nil && o.Path != "" && o.Repo == "" {
			abs := filepath.Join(dir, filepath.FromSlash(o.Path))
			if rel, err := filepath.Rel(fsys.Root(), abs); err == nil && !strings.HasPrefix(rel, "..") {
				rr.OriginPath = filepath.ToSlash(rel)
			}
		}
		v, err := r.Map()
		if err != nil {
			return nil, err
		}
		stripOrigin(v)
		rr.Value = v
		out = append(out, rr)
	}
	return out, nil
}

// stripOrigin removes the origin annotation the scanner asked for, so
// policies see the resource as kustomize would print it.
func stripOrigin(v map[string]any) {
	md, _ := v["metadata"].(map[string]any)
	if md == nil {
		return
	}
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		return
	}
	delete(ann, "config.kubernetes.io/origin")
	if len(ann) == 0 {
		delete(md, "annotations")
	}
}

// parseKustomization reads the fields the scanner needs to find the roots.
func parseKustomization(data []byte) (kustomization, error) {
	var k kustomization
	err := yaml.Unmarshal(data, &k)
	return k, err
}

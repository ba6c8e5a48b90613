package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/kustfs"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// Bounds of a render: what kustomize may read from the repository.
const (
	// MaxRenderFileBytes caps one file read by the render.
	MaxRenderFileBytes = 8 << 20
	// MaxRenderBytes caps all the files read by one render.
	MaxRenderBytes = 64 << 20
	// maxKustomizations caps the kustomizations the remote-reference scan visits.
	maxKustomizations = 1000
	// maxImageRefs caps the image fields reported from one render.
	maxImageRefs = 100000
)

// ImageUse is one `image` field of the rendered overlay that refers to the
// deployed image.
type ImageUse struct {
	// Resource is kind/name (namespace/kind/name when namespaced).
	Resource string
	// Field is the path of the image field, e.g.
	// spec.template.spec.containers[web].image.
	Field string
	// Image is the field's value.
	Image string
}

// RenderCheck is the result of CheckRender.
type RenderCheck struct {
	// Uses are the image fields that name the verified digest.
	Uses []ImageUse
	// Others are the other images the render uses (for error messages), sorted.
	Others []string
}

// renderConfined renders the kustomization in dir, inside root, as CheckRender
// describes, and returns the resources, a function making paths relative to
// root for messages, and dir's resolved path.
func renderConfined(root, dir string) (resmap.ResMap, func(string) string, string, error) {
	rootAbs, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, "", errkind.Infra(err)
	}
	if rootAbs, err = filepath.EvalSymlinks(rootAbs); err != nil {
		return nil, nil, "", errkind.Infra(err)
	}
	dirAbs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, "", errkind.Infra(err)
	}
	if dirAbs, err = filepath.EvalSymlinks(dirAbs); err != nil || !kustfs.Within(rootAbs, dirAbs) {
		return nil, nil, "", errkind.Input(fmt.Errorf("render: %s leaves the repository", dir))
	}
	rel := func(p string) string {
		if r, err := filepath.Rel(rootAbs, p); err == nil {
			return r
		}
		return p
	}
	if err := scanRemote(rootAbs, dirAbs, rel); err != nil {
		return nil, nil, "", err
	}
	cfs, err := kustfs.New(rootAbs, kustfs.Options{MaxFileBytes: MaxRenderFileBytes, MaxTotalBytes: MaxRenderBytes, Outside: "leaves the repository"})
	if err != nil {
		return nil, nil, "", errkind.Infra(fmt.Errorf("render: %w", err))
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(cfs, dirAbs)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), rootAbs+string(filepath.Separator), "")
		return nil, nil, "", errkind.Input(fmt.Errorf("kustomize build %s failed: %s", rel(dirAbs), msg))
	}
	return m, rel, dirAbs, nil
}

// RenderImages renders the kustomization in dir (inside the repository root)
// exactly as CheckRender does and lists every image field of the rendered
// manifests (at most maxImageRefs).
func RenderImages(root, dir string) ([]ImageUse, error) {
	uses, _, err := renderImages(root, dir)
	return uses, err
}

// renderImages is RenderImages; it also returns dir as messages name it.
func renderImages(root, dir string) (out []ImageUse, name string, err error) {
	m, rel, dirAbs, err := renderConfined(root, dir)
	if err != nil {
		return nil, "", err
	}
	name = rel(dirAbs)
	for _, r := range m.Resources() {
		obj, err := r.Map()
		if err != nil {
			return nil, "", errkind.Input(fmt.Errorf("kustomize build %s: %w", name, err))
		}
		id := r.GetKind() + "/" + r.GetName()
		if ns := r.GetNamespace(); ns != "" {
			id = ns + "/" + id
		}
		walkImages(obj, "", func(field, image string) {
			if len(out) <= maxImageRefs {
				out = append(out, ImageUse{Resource: id, Field: field, Image: image})
			}
		})
	}
	if len(out) > maxImageRefs {
		return nil, "", errkind.Input(fmt.Errorf("kustomize build %s: more than %d image fields", name, maxImageRefs))
	}
	return out, name, nil
}

// CheckRender renders the kustomization in dir (inside the repository root)
// with kustomize's API — builtin transformers only, no Helm, no plugins, files
// only from inside root, and never a remote base or resource (they are refused
// before the render starts, since kustomize would fetch them) — and checks that
// every `image` field in the rendered manifests that refers to ref's repository,
// or to one of the kustomization images entries in entries, names ref's digest.
// Those fields are containers, initContainers and ephemeralContainers at any
// depth of any kind (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Pods,
// custom resources with pod templates) and any other field called image.
//
// A render that fails, a field that names another digest or a tag, and a render
// in which no field uses the image are input errors (exit code 2).
func CheckRender(root, dir string, ref oci.Ref, entries []string) (*RenderCheck, error) {
	uses, name, err := renderImages(root, dir)
	if err != nil {
		return nil, err
	}
	res := &RenderCheck{}
	others := map[string]bool{}
	entrySet := map[string]bool{}
	for _, e := range entries {
		entrySet[e] = true
	}
	var bad []string
	for _, u := range uses {
		repo, digest, nameOnly := splitImage(u.Image)
		refers := sameRepository(repo, ref.Repository) || entrySet[nameOnly]
		if !refers {
			others[u.Image] = true
			continue
		}
		if sameRepository(repo, ref.Repository) && digest == ref.Digest {
			res.Uses = append(res.Uses, u)
			continue
		}
		bad = append(bad, fmt.Sprintf("%s %s is %q", u.Resource, u.Field, u.Image))
	}
	for o := range others {
		res.Others = append(res.Others, o)
	}
	sort.Strings(res.Others)
	if len(bad) > 0 {
		if len(bad) > 10 {
			bad = append(bad[:10], fmt.Sprintf("and %d more", len(bad)-10))
		}
		return nil, errkind.Input(fmt.Errorf("the render of %s does not run %s everywhere it uses the image: %s "+
			"(a patch, replacement or transformer after the images entry, a field the images transformer does not cover, "+
			"or another images entry changes it: make every such container use the images entry)",
			name, ref, strings.Join(bad, "; ")))
	}
	if len(res.Uses) == 0 {
		used := "no container images at all"
		if len(res.Others) > 0 {
			o := res.Others
			if len(o) > 10 {
				o = append(o[:10:10], fmt.Sprintf("and %d more", len(res.Others)-10))
			}
			used = "only " + strings.Join(o, ", ")
		}
		return nil, errkind.Input(fmt.Errorf("no container in the render of %s uses %s (the images entries updated: %s; the render uses %s): "+
			"set gitops-image to the images entry whose name the containers use",
			name, ref.Repository, strings.Join(entries, ", "), used))
	}
	return res, nil
}

// walkImages calls fn for every string field called image in obj, with its path.
// List elements are named by their name field when they have one.
func walkImages(v any, path string, fn func(field, image string)) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if s, ok := t[k].(string); ok && k == "image" {
				fn(p, s)
				continue
			}
			walkImages(t[k], p, fn)
		}
	case []any:
		for i, e := range t {
			idx := fmt.Sprint(i)
			if m, ok := e.(map[string]any); ok {
				if n, ok := m["name"].(string); ok && n != "" {
					idx = n
				}
			}
			walkImages(e, fmt.Sprintf("%s[%s]", path, idx), fn)
		}
	}
}

// splitImage splits an image reference as kustomize does: the repository (no tag
// or digest), the digest, and the name as written before any tag or digest.
func splitImage(image string) (repo, digest, nameOnly string) {
	nameOnly = image
	if i := strings.Index(nameOnly, "@"); i >= 0 {
		digest = nameOnly[i+1:]
		nameOnly = nameOnly[:i]
	}
	if i := strings.LastIndex(nameOnly, ":"); i >= 0 && !strings.Contains(nameOnly[i:], "/") {
		nameOnly = nameOnly[:i]
	}
	repo = nameOnly
	if r, err := name.NewRepository(nameOnly); err == nil {
		repo = r.Name()
	}
	return repo, digest, nameOnly
}

// scanRemote visits the kustomization in dir and every local kustomization it
// reaches, and refuses a reference kustomize would fetch over the network, a
// Helm chart, and a reference that leaves the repository. kustomize's loader
// fetches remote bases and files itself (git clone, HTTP GET), so they must be
// refused before the render.
func scanRemote(root, dir string, rel func(string) string) error {
	s := &remoteScan{root: root, rel: rel, seen: map[string]bool{}}
	return s.visit(dir)
}

// remoteScan is scanRemote's walk: the kustomizations seen so far.
type remoteScan struct {
	root string
	rel  func(string) string
	seen map[string]bool
}

// visit checks the kustomization in dir and each reference it makes, once
// per folder, up to maxKustomizations.
func (s *remoteScan) visit(dir string) error {
	if s.seen[dir] {
		return nil
	}
	if len(s.seen) >= maxKustomizations {
		return errkind.Input(fmt.Errorf("render: more than %d kustomizations reached from the overlay", maxKustomizations))
	}
	s.seen[dir] = true
	file, k, err := readKustomization(dir, s.rel)
	if err != nil {
		return err
	}
	for _, r := range kustomizationRefs(k) {
		if err := s.checkRef(dir, file, r); err != nil {
			return err
		}
	}
	return nil
}

// readKustomization reads and parses the kustomization in dir (bounded) and
// refuses one that inflates Helm charts.
func readKustomization(dir string, rel func(string) string) (string, *types.Kustomization, error) {
	file, err := FindKustomization(dir)
	if err != nil {
		return "", nil, err
	}
	data, err := readfile.Bounded(file, MaxKustomizationBytes)
	if err != nil {
		return "", nil, errkind.Input(fmt.Errorf("render: %s: %w", rel(file), err))
	}
	var k types.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return "", nil, errkind.Input(fmt.Errorf("render: parsing %s: %w", rel(file), err))
	}
	if len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0 || k.HelmGlobals != nil {
		return "", nil, errkind.Input(fmt.Errorf("render: %s inflates Helm charts, which the deploy does not render (it would run helm and may fetch the chart): "+
			"commit the rendered chart as resources", rel(file)))
	}
	return file, &k, nil
}

// refKind says what a kustomization reference may name.
type refKind int

const (
	fileOnly refKind = iota
	fileOrDir
)

// kustRef is one reference a kustomization makes: a path, a URL, or an
// inline patch or plugin configuration.
type kustRef struct {
	field, value string
	kind         refKind
}

// kustomizationRefs lists every non-empty reference k makes to a file or
// folder, in field order.
func kustomizationRefs(k *types.Kustomization) []kustRef {
	var refs []kustRef
	add := func(field string, kind refKind, values ...string) {
		for _, v := range values {
			if v != "" {
				refs = append(refs, kustRef{field, v, kind})
			}
		}
	}
	add("resources", fileOrDir, k.Resources...)
	add("bases", fileOrDir, k.Bases...)
	add("components", fileOrDir, k.Components...)
	add("generators", fileOrDir, k.Generators...)
	add("transformers", fileOrDir, k.Transformers...)
	add("validators", fileOrDir, k.Validators...)
	add("crds", fileOnly, k.Crds...)
	add("configurations", fileOnly, k.Configurations...)
	for _, p := range k.PatchesStrategicMerge {
		add("patchesStrategicMerge", fileOnly, string(p))
	}
	for _, p := range k.Patches {
		add("patches.path", fileOnly, p.Path)
	}
	for _, p := range k.PatchesJson6902 {
		add("patchesJson6902.path", fileOnly, p.Path)
	}
	for _, r := range k.Replacements {
		add("replacements.path", fileOnly, r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		add("configMapGenerator", fileOnly, kvSources(g.KvPairSources)...)
	}
	for _, g := range k.SecretGenerator {
		add("secretGenerator", fileOnly, kvSources(g.KvPairSources)...)
	}
	add("openapi.path", fileOnly, k.OpenAPI["path"])
	return refs
}

// checkRef checks one reference r of the kustomization file in dir: no
// remote, no absolute path, nothing outside the repository; an inline or
// referenced plugin configuration is checked for its own references, and a
// folder kustomize loads as a kustomization is visited.
func (s *remoteScan) checkRef(dir, file string, r kustRef) error {
	rel := s.rel
	if kustfs.Fetches(r.value) {
		return errkind.Input(fmt.Errorf("render: %s %s names the remote %q: the deploy renders the overlay offline and never fetches "+
			"remote bases or files: vendor it into the GitOps repository", rel(file), r.field, r.value))
	}
	if strings.Contains(r.value, "\n") {
		// An inline patch or plugin configuration: check its file references.
		return scanPluginConfig([]byte(r.value), rel(file)+" "+r.field)
	}
	if filepath.IsAbs(r.value) {
		return errkind.Input(fmt.Errorf("render: %s %s names the absolute path %q: use a path inside the repository", rel(file), r.field, r.value))
	}
	target := filepath.Join(dir, r.value)
	resolved, err := filepath.EvalSymlinks(target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // kustomize reports it
		}
		return errkind.Input(fmt.Errorf("render: %s %s %q: %w", rel(file), r.field, r.value, err))
	}
	if !kustfs.Within(s.root, resolved) {
		return errkind.Input(fmt.Errorf("render: %s %s %q leaves the repository", rel(file), r.field, r.value))
	}
	st, err := os.Stat(resolved)
	if err != nil {
		return errkind.Input(fmt.Errorf("render: %s %s %q: %w", rel(file), r.field, r.value, err))
	}
	if st.IsDir() {
		if r.kind == fileOrDir {
			return s.visit(resolved)
		}
		return nil
	}
	if r.field == "generators" || r.field == "transformers" || r.field == "validators" {
		cfg, err := readfile.Bounded(resolved, MaxKustomizationBytes)
		if err != nil {
			return errkind.Input(fmt.Errorf("render: %s: %w", rel(resolved), err))
		}
		return scanPluginConfig(cfg, rel(resolved))
	}
	return nil
}

func kvSources(s types.KvPairSources) []string {
	var out []string
	for _, f := range s.FileSources {
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		out = append(out, f)
	}
	out = append(out, s.EnvSources...)
	if s.EnvSource != "" {
		out = append(out, s.EnvSource)
	}
	return out
}

// pluginPathKeys are the fields of builtin plugin configurations (PatchTransformer,
// ConfigMapGenerator, ReplacementTransformer, …) that name files to load.
var pluginPathKeys = map[string]bool{"path": true, "paths": true, "files": true, "envs": true, "env": true, "resources": true, "repo": true}

// scanPluginConfig refuses remote file references in a plugin configuration
// or inline patch (every YAML document of data). What does not parse is left to
// kustomize, which reports it.
func scanPluginConfig(data []byte, where string) error {
	dec := kyaml.NewDecoder(bytes.NewReader(data))
	seen := map[aliasVisit]bool{}
	for {
		var doc kyaml.Node
		if err := dec.Decode(&doc); err != nil {
			return nil
		}
		if err := scanNode(&doc, "", where, 0, seen); err != nil {
			return err
		}
	}
}

// aliasVisit is an alias target scanned under a key: each is scanned once, so
// aliases cannot make the scan exponential.
type aliasVisit struct {
	node *kyaml.Node
	key  string
}

func scanNode(n *kyaml.Node, key, where string, depth int, seen map[aliasVisit]bool) error {
	if n == nil {
		return nil
	}
	if depth > 200 {
		return errkind.Input(fmt.Errorf("render: %s nests deeper than 200 levels", where))
	}
	switch n.Kind {
	case kyaml.DocumentNode, kyaml.SequenceNode:
		for _, c := range n.Content {
			if err := scanNode(c, key, where, depth+1, seen); err != nil {
				return err
			}
		}
	case kyaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := scanNode(n.Content[i+1], n.Content[i].Value, where, depth+1, seen); err != nil {
				return err
			}
		}
	case kyaml.ScalarNode:
		v := n.Value
		if pluginPathKeys[key] {
			if _, p, ok := strings.Cut(v, "="); ok && key == "files" {
				v = p
			}
			if kustfs.Fetches(v) {
				return errkind.Input(fmt.Errorf("render: %s %s names the remote %q: the deploy renders the overlay offline and never fetches "+
					"remote files: vendor it into the GitOps repository", where, key, n.Value))
			}
		}
	case kyaml.AliasNode:
		v := aliasVisit{n.Alias, key}
		if seen[v] {
			return nil
		}
		seen[v] = true
		return scanNode(n.Alias, key, where, depth+1, seen)
	}
	return nil
}

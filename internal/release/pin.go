// Package release is the `secure-gates release` command: the steps of the
// project's own release that are not gates. `release pin` points every action at
// the published image by digest; `release image` builds that image in-process,
// reproducibly, from the current checkout.
package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// PinOptions says what `release pin` pins and where.
type PinOptions struct {
	// Root is the repository root (the folder holding actions/), a git checkout
	// when Commit or WorkflowCommit is set.
	Root string
	// Image is the published action image, registry/owner/secure-gates@sha256:….
	// A leading docker:// is accepted. A tag is refused.
	Image string
	// Commit, when set (40 lowercase hex), replaces the commit every
	// secure-gates/secure-gates/actions/…@<sha> reference in the workflows,
	// templates, examples and README adoption snippet points at. Every
	// actions/*/action.yml at that commit must already run docker://Image
	// (checked with git in Root). Empty leaves those references alone.
	Commit string
	// WorkflowCommit, when set, replaces the commit every
	// secure-gates/secure-gates/.github/workflows/<file>@<sha> reference (the
	// reusable workflows) points at. Each referenced workflow must exist at that
	// commit and use our actions only at commits whose action.yml files run
	// docker://Image. Empty leaves those references alone.
	WorkflowCommit string
	// Version, when set (vX.Y.Z), becomes the version comment (# vX.Y.Z) of
	// every reference rewritten.
	Version string
	// Registry is how the digest is checked to exist.
	Registry oci.Options
}

// PinResult is what `release pin` changed.
type PinResult struct {
	// Image is the pinned reference, without docker://.
	Image oci.Ref
	// Changed lists the files rewritten, relative to Root, sorted.
	Changed []string
	// Unchanged lists the files that already carried the pin.
	Unchanged []string
}

// templateDirs are the folders whose workflows reference this repository by
// commit: the reusable workflows (.github/workflows), the starter workflows and
// the example service.
var templateDirs = []string{".github/workflows", "workflows-templates", "examples"}

// readmeFile is the README whose adoption snippet (its `uses:` lines) names
// the release commit.
const readmeFile = "README.md"

// maxFileBytes bounds every file pin reads: action.yml and workflow files are small.
const maxFileBytes = 1 << 20

// actionRef and workflowRef match a reference to this repository's actions or
// reusable workflows pinned by commit, with the version comment that follows
// it on the line: secure-gates/secure-gates/<path>@<40 hex> # vX.
var (
	actionRef   = regexp.MustCompile(`(secure-gates/secure-gates/actions/[A-Za-z0-9._/-]+@)([0-9a-f]{40})\b( # v[0-9A-Za-z.+-]*)?`)
	workflowRef = regexp.MustCompile(`(secure-gates/secure-gates/\.github/workflows/([A-Za-z0-9._-]+\.ya?ml)@)([0-9a-f]{40})\b( # v[0-9A-Za-z.+-]*)?`)
	// anyRef matches every self-reference, the header's generic one
	// (secure-gates/secure-gates/...@<sha>) included.
	anyRef = regexp.MustCompile(`secure-gates/secure-gates/[A-Za-z0-9._/-]+@([0-9a-f]{40})\b`)
	// placeholderLine is the header line naming the commit a template's
	// references carry, which a platform team searches for.
	placeholderLine = regexp.MustCompile(`(PLACEHOLDER SHA: )([0-9a-f]{40})\b`)
	genericRef      = regexp.MustCompile(`(secure-gates/secure-gates/\.\.\.@)([0-9a-f]{40})\b`)
	usesLine        = regexp.MustCompile(`^\s*(-\s+)?uses:\s`)
)

var (
	commitRE  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	versionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)
)

// Pin rewrites runs.image of every actions/*/action.yml under o.Root to
// docker://<o.Image> and, when o.Commit or o.WorkflowCommit is set, the commit
// of every secure-gates/secure-gates/actions/…@<sha> or
// …/.github/workflows/…@<sha> reference in the workflows, templates, examples
// and README adoption snippet (and the PLACEHOLDER SHA line of a file whose
// references then carry one commit). Everything is validated first — the
// reference is a digest, the registry has it, every file parses and has exactly
// one runs.image, the commits named carry the pinned actions (git) — and only
// then written, each file atomically; if a write fails, the files already
// written are restored. A refusal touches no file.
//
// A reference that is not a digest, a malformed one, or a digest the registry
// answers 404 for (MANIFEST_UNKNOWN: there is no such image to pin), and a
// commit whose actions do not run that image, are input errors (exit 2); a
// registry that cannot be reached or fails is an infrastructure error (exit 3).
func Pin(ctx context.Context, o PinOptions) (PinResult, error) {
	image := strings.TrimPrefix(strings.TrimSpace(o.Image), "docker://")
	if image == "" {
		return PinResult{}, errkind.Input(errors.New("release pin: --image is required (registry/owner/secure-gates@sha256:…)"))
	}
	ref, err := oci.ParseDigestRef(image)
	if err != nil {
		return PinResult{}, fmt.Errorf("release pin: --image: %w", err)
	}
	for flag, c := range map[string]string{"--commit": o.Commit, "--workflow-commit": o.WorkflowCommit} {
		if c != "" && !commitRE.MatchString(c) {
			return PinResult{}, errkind.Input(fmt.Errorf("release pin: %s %q is not a full commit SHA (40 lowercase hex digits)", flag, c))
		}
	}
	if o.Version != "" && !versionRE.MatchString(o.Version) {
		return PinResult{}, errkind.Input(fmt.Errorf("release pin: --version %q is not a release version vX.Y.Z", o.Version))
	}
	root := o.Root
	if root == "" {
		root = "."
	}
	pinned := "docker://" + ref.String()
	edits, err := planActions(root, pinned)
	if err != nil {
		return PinResult{}, err
	}
	if o.Commit != "" || o.WorkflowCommit != "" {
		te, workflows, err := planTemplates(root, o)
		if err != nil {
			return PinResult{}, err
		}
		edits = append(edits, te...)
		var gates []string
		for _, e := range edits {
			if strings.HasPrefix(e.rel, "actions/") {
				gates = append(gates, e.rel)
			}
		}
		c := &commitCheck{root: root, image: pinned, gates: gates, checked: map[string]error{}}
		if o.Commit != "" {
			if err := c.actionsPinned(ctx, o.Commit); err != nil {
				return PinResult{}, fmt.Errorf("release pin: --commit %s: %w", o.Commit, err)
			}
		}
		for _, wf := range workflows {
			if err := c.workflowPinned(ctx, o.WorkflowCommit, wf); err != nil {
				return PinResult{}, fmt.Errorf("release pin: --workflow-commit %s: %w", o.WorkflowCommit, err)
			}
		}
	}
	if edits, err = planImageRefs(root, ref.String(), edits); err != nil {
		return PinResult{}, err
	}
	// The registry is asked last among the checks and before any write: a digest
	// it does not have is refused with every file untouched.
	if _, err := oci.Resolve(ctx, ref.String(), o.Registry); err != nil {
		return PinResult{}, fmt.Errorf("release pin: checking that the registry has %s: %w", ref, err)
	}
	res := PinResult{Image: ref}
	var written []edit
	for _, e := range edits {
		if bytes.Equal(e.old, e.new) {
			res.Unchanged = append(res.Unchanged, e.rel)
			continue
		}
		if err := atomicfile.Write(filepath.Join(root, e.rel), e.new); err != nil {
			for _, w := range written {
				_ = atomicfile.Write(filepath.Join(root, w.rel), w.old)
			}
			return PinResult{}, errkind.Infra(fmt.Errorf("release pin: %w (files already written were restored)", err))
		}
		written = append(written, e)
		res.Changed = append(res.Changed, e.rel)
	}
	sort.Strings(res.Changed)
	sort.Strings(res.Unchanged)
	return res, nil
}

type edit struct {
	rel      string
	old, new []byte
}

// planActions computes the new content of every actions/*/action.yml.
func planActions(root, image string) ([]edit, error) {
	paths, err := filepath.Glob(filepath.Join(root, "actions", "*", "action.yml"))
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("release pin: listing actions: %w", err))
	}
	if len(paths) == 0 {
		return nil, errkind.Input(fmt.Errorf("release pin: no actions/*/action.yml under %s; run it in the repository root", root))
	}
	sort.Strings(paths)
	var edits []edit
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		if st, err := os.Lstat(filepath.Dir(p)); err != nil || !st.IsDir() {
			return nil, errkind.Input(fmt.Errorf("release pin: %s is not a plain folder (a symlink?); refusing to rewrite through it", filepath.Dir(rel)))
		}
		old, err := readBounded(p)
		if err != nil {
			return nil, err
		}
		nb, err := pinImage(old, image)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("release pin: %s: %w", rel, err))
		}
		edits = append(edits, edit{rel: filepath.ToSlash(rel), old: old, new: nb})
	}
	return edits, nil
}

// pinImage replaces the value of runs.image in an action.yml, editing that one
// line and leaving every other byte as it was. The action must be a docker
// action whose runs.image is a plain scalar on its own line.
func pinImage(data []byte, image string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	if k := duplicateKey(doc.Content[0]); k != "" {
		return nil, fmt.Errorf("key %q appears twice; which one the runner reads is not ours to guess", k)
	}
	runs := mapValue(doc.Content[0], "runs")
	if runs == nil || runs.Kind != yaml.MappingNode {
		return nil, errors.New("no runs: mapping")
	}
	if k := duplicateKey(runs); k != "" {
		return nil, fmt.Errorf("key runs.%s appears twice; which one the runner reads is not ours to guess", k)
	}
	if u := mapValue(runs, "using"); u == nil || u.Value != "docker" {
		return nil, errors.New("runs.using is not docker; only container actions are pinned to an image")
	}
	img := mapValue(runs, "image")
	if img == nil || img.Kind != yaml.ScalarNode || img.Value == "" {
		return nil, errors.New("no runs.image")
	}
	if img.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return nil, errors.New("runs.image is a block scalar; write it on one line")
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	i := img.Line - 1
	if i < 0 || i >= len(lines) {
		return nil, errors.New("runs.image: line out of range")
	}
	line := lines[i]
	col := img.Column - 1
	if col < 0 || col > len(line) {
		return nil, errors.New("runs.image: column out of range")
	}
	eol := ""
	body := line
	if bytes.HasSuffix(body, []byte("\r\n")) {
		eol, body = "\r\n", body[:len(body)-2]
	} else if bytes.HasSuffix(body, []byte("\n")) {
		eol, body = "\n", body[:len(body)-1]
	}
	rest := string(body[col:])
	// Keep a trailing comment; the value itself is one token (a plain or
	// quoted scalar), which is what the checks below hold it to.
	comment := ""
	if k := strings.Index(rest, " #"); k >= 0 {
		v := strings.TrimRight(rest[:k], " \t")
		comment, rest = rest[len(v):], v
	}
	if unq := strings.Trim(strings.TrimSpace(rest), `"'`); unq != img.Value {
		return nil, fmt.Errorf("runs.image %q does not sit on one line; write it as a plain scalar", img.Value)
	}
	out := make([]byte, 0, len(data)+len(image))
	for j, l := range lines {
		if j != i {
			out = append(out, l...)
			continue
		}
		out = append(out, body[:col]...)
		out = append(out, image...)
		out = append(out, comment...)
		out = append(out, eol...)
	}
	// Check the edit: the file still parses and runs.image is exactly the image.
	var check yaml.Node
	if err := yaml.Unmarshal(out, &check); err != nil {
		return nil, fmt.Errorf("the pinned file does not parse: %w", err)
	}
	if v := mapValue(mapValue(check.Content[0], "runs"), "image"); v == nil || v.Value != image {
		return nil, errors.New("the pinned file does not carry the image")
	}
	return out, nil
}

func duplicateKey(m *yaml.Node) string {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i].Value
		if seen[k] {
			return k
		}
		seen[k] = true
	}
	return ""
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var found *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			found = m.Content[i+1]
		}
	}
	return found
}

// planTemplates computes the new content of every workflow under the template
// folders, and of the README's `uses:` lines, that reference this repository
// by commit, and returns the reusable workflow files whose references it
// rewrites to o.WorkflowCommit.
func planTemplates(root string, o PinOptions) ([]edit, []string, error) {
	var edits []edit
	workflows := map[string]bool{}
	add := func(p string, markdown bool) error {
		old, err := readBounded(p)
		if err != nil {
			return err
		}
		if !anyRef.Match(old) {
			return nil
		}
		nb := rewriteRefs(old, o, markdown, workflows)
		rel, _ := filepath.Rel(root, p)
		edits = append(edits, edit{rel: filepath.ToSlash(rel), old: old, new: nb})
		return nil
	}
	if err := walkTemplates(root, func(p string) error { return add(p, false) }); err != nil {
		return nil, nil, err
	}
	if readme := filepath.Join(root, readmeFile); fileExists(readme) {
		if err := add(readme, true); err != nil {
			return nil, nil, err
		}
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].rel < edits[j].rel })
	var wfs []string
	for wf := range workflows {
		wfs = append(wfs, wf)
	}
	sort.Strings(wfs)
	return edits, wfs, nil
}

// walkTemplates calls f with every regular .yml or .yaml file under root's
// template folders (a folder that does not exist is skipped). An input error
// of f (exit 2) is returned as it is; any other error is an infrastructure
// error naming the folder.
func walkTemplates(root string, f func(path string) error) error {
	for _, dir := range templateDirs {
		base := filepath.Join(root, dir)
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == base {
					return fs.SkipDir
				}
				return err
			}
			if ext := filepath.Ext(p); d.IsDir() || !d.Type().IsRegular() || (ext != ".yml" && ext != ".yaml") {
				return nil
			}
			return f(p)
		})
		if err != nil {
			if errkind.ExitCode(err) == 2 {
				return err
			}
			return errkind.Infra(fmt.Errorf("release pin: reading %s: %w", dir, err))
		}
	}
	return nil
}

// imageRefLine is a line of a workflow that runs the released image itself
// (the posture template's `kpi` and `evidence` steps): a digest reference
// marked # PLACEHOLDER IMAGE DIGEST. The marker stays, so a mirror re-pins.
var imageRefLine = regexp.MustCompile(`(?m)^(\s*[A-Za-z_][A-Za-z0-9_-]*:\s*)[^\s#]+@sha256:[0-9a-f]{64}([ \t]+# PLACEHOLDER IMAGE DIGEST[ \t]*)$`)

// planImageRefs adds to edits the rewrite of every imageRefLine in the
// workflows, templates and examples to image (repo@sha256:…), on top of the
// edit a file already has.
func planImageRefs(root, image string, edits []edit) ([]edit, error) {
	byRel := map[string]int{}
	for i, e := range edits {
		byRel[e.rel] = i
	}
	err := walkTemplates(root, func(p string) error {
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		i, ok := byRel[rel]
		if !ok {
			old, err := readBounded(p)
			if err != nil {
				return err
			}
			if !imageRefLine.Match(old) {
				return nil
			}
			edits = append(edits, edit{rel: rel, old: old, new: old})
			i = len(edits) - 1
			byRel[rel] = i
		}
		edits[i].new = imageRefLine.ReplaceAll(edits[i].new, []byte("${1}"+strings.ReplaceAll(image, "$", "$$")+"${2}"))
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].rel < edits[j].rel })
	return edits, nil
}

// rewriteRefs rewrites the self-references of one file: action references to
// o.Commit, reusable-workflow references to o.WorkflowCommit (recording the
// workflow files in workflows), version comments to o.Version; then, when the
// file's references carry one commit, its PLACEHOLDER SHA line and generic
// secure-gates/secure-gates/...@<sha> mentions name it. In markdown only
// `uses:` lines change (prose that shows the placeholder stays).
func rewriteRefs(data []byte, o PinOptions, markdown bool, workflows map[string]bool) []byte {
	version := func(m []byte, comment string) []byte {
		if comment == "" || o.Version == "" {
			return m
		}
		return append(bytes.TrimSuffix(m, []byte(comment)), " # "+o.Version...)
	}
	line := func(l []byte) []byte {
		if o.Commit != "" {
			l = actionRef.ReplaceAllFunc(l, func(m []byte) []byte {
				sm := actionRef.FindSubmatch(m)
				return version([]byte(string(sm[1])+o.Commit+string(sm[3])), string(sm[3]))
			})
		}
		if o.WorkflowCommit != "" {
			l = workflowRef.ReplaceAllFunc(l, func(m []byte) []byte {
				sm := workflowRef.FindSubmatch(m)
				workflows[string(sm[2])] = true
				return version([]byte(string(sm[1])+o.WorkflowCommit+string(sm[4])), string(sm[4]))
			})
		}
		return l
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, l := range lines {
		if markdown && !usesLine.Match(l) {
			continue
		}
		lines[i] = line(l)
	}
	out := bytes.Join(lines, nil)
	if markdown {
		return out
	}
	commits := map[string]bool{}
	for _, l := range bytes.SplitAfter(out, []byte("\n")) {
		if placeholderLine.Match(l) || genericRef.Match(l) {
			continue
		}
		for _, m := range anyRef.FindAllSubmatch(l, -1) {
			commits[string(m[1])] = true
		}
	}
	if len(commits) == 1 {
		for c := range commits {
			out = placeholderLine.ReplaceAll(out, []byte("${1}"+c))
			out = genericRef.ReplaceAll(out, []byte("${1}"+c))
		}
	}
	return out
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// commitCheck checks, with git in root, that a commit carries the pinned
// actions and that a reusable workflow at a commit uses only such commits.
type commitCheck struct {
	root, image string
	// gates are the actions/<gate>/action.yml files pinned (relative paths).
	gates   []string
	checked map[string]error
}

// actionsPinned: every actions/<gate>/action.yml pinned now exists at commit
// and runs c.image there.
func (c *commitCheck) actionsPinned(ctx context.Context, commit string) error {
	if err, ok := c.checked[commit]; ok {
		return err
	}
	err := func() error {
		for _, g := range c.gates {
			data, err := gitShow(ctx, c.root, commit, g)
			if err != nil {
				return err
			}
			var doc yaml.Node
			var img *yaml.Node
			if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) == 1 {
				img = mapValue(mapValue(doc.Content[0], "runs"), "image")
			}
			if img == nil || img.Value != c.image {
				got := "no runs.image"
				if img != nil {
					got = img.Value
				}
				return errkind.Input(fmt.Errorf("%s at that commit runs %q, not %s: pin the actions and commit them first, then point the workflows at that commit", g, got, c.image))
			}
		}
		return nil
	}()
	c.checked[commit] = err
	return err
}

// workflowPinned: .github/workflows/<file> exists at commit and every action
// reference in it is to a commit whose actions run c.image.
func (c *commitCheck) workflowPinned(ctx context.Context, commit, file string) error {
	rel := ".github/workflows/" + file
	data, err := gitShow(ctx, c.root, commit, rel)
	if err != nil {
		return err
	}
	refs := actionRef.FindAllSubmatch(data, -1)
	if len(refs) == 0 {
		return errkind.Input(fmt.Errorf("%s at that commit uses none of our actions by commit; it is not the reusable workflow to call", rel))
	}
	for _, m := range refs {
		if err := c.actionsPinned(ctx, string(m[2])); err != nil {
			return fmt.Errorf("%s at that commit uses %s%s, and %w", rel, m[1], m[2], err)
		}
	}
	return nil
}

// gitShow reads path at commit in the repository at root, bounded.
func gitShow(ctx context.Context, root, commit, path string) ([]byte, error) {
	if _, err := git(ctx, root, "rev-parse", "--git-dir"); err != nil {
		return nil, errkind.Input(fmt.Errorf("%s is not a git checkout: a commit can be checked only in one", root))
	}
	// commit:./path is relative to root, wherever the repository's top is.
	obj := commit + ":./" + path
	size, err := git(ctx, root, "cat-file", "-s", obj)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("%s does not exist at that commit (or the commit is not in this repository)", path))
	}
	if n, err := strconv.ParseInt(size, 10, 64); err != nil || n > maxFileBytes {
		return nil, errkind.Input(fmt.Errorf("%s at that commit is %s bytes, over the %d-byte limit", path, size, maxFileBytes))
	}
	out, err := git(ctx, root, "cat-file", "blob", obj)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("reading %s at that commit: %w", path, err))
	}
	return []byte(out), nil
}

func readBounded(p string) ([]byte, error) {
	st, err := os.Lstat(p)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("release pin: %w", err))
	}
	if !st.Mode().IsRegular() {
		return nil, errkind.Input(fmt.Errorf("release pin: %s is not a regular file (a symlink?); refusing to rewrite through it", p))
	}
	if st.Size() > maxFileBytes {
		return nil, errkind.Input(fmt.Errorf("release pin: %s is %d bytes, over the %d-byte limit for a workflow file", p, st.Size(), maxFileBytes))
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("release pin: %w", err))
	}
	return b, nil
}

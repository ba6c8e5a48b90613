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
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// PinOptions says what `release pin` pins and where.
type PinOptions struct {
	// Root is the repository root (the folder holding actions/).
	Root string
	// Image is the published action image, registry/owner/secure-gates@sha256:….
	// A leading docker:// is accepted. A tag is refused.
	Image string
	// Commit, when set (40 lowercase hex), replaces the commit every
	// secure-gates/secure-gates/…@<sha> reference in the workflow templates and
	// examples points at. Empty leaves them alone.
	Commit string
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

// templateDirs are the folders whose workflows reference this repository by commit.
var templateDirs = []string{"workflows-templates", "examples"}

// maxFileBytes bounds every file pin reads: action.yml and workflow files are small.
const maxFileBytes = 1 << 20

// selfRef matches a reference to this repository's actions or reusable workflows
// pinned by commit: secure-gates/secure-gates/<path>@<40 hex>.
var selfRef = regexp.MustCompile(`(secure-gates/secure-gates/[A-Za-z0-9._/-]+@)[0-9a-f]{40}\b`)

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Pin rewrites runs.image of every actions/*/action.yml under o.Root to
// docker://<o.Image> and, when o.Commit is set, the commit of every
// secure-gates/secure-gates/…@<sha> reference in the templates. Everything is
// validated first — the reference is a digest, the registry has it, every file
// parses and has exactly one runs.image — and only then written, each file
// atomically; if a write fails, the files already written are restored. A
// refusal touches no file.
//
// A reference that is not a digest, a malformed one, or a digest the registry
// answers 404 for (MANIFEST_UNKNOWN: there is no such image to pin) is an input
// error (exit 2); a registry that cannot be reached or fails is an
// infrastructure error (exit 3).
func Pin(ctx context.Context, o PinOptions) (PinResult, error) {
	image := strings.TrimPrefix(strings.TrimSpace(o.Image), "docker://")
	if image == "" {
		return PinResult{}, errkind.Input(errors.New("release pin: --image is required (registry/owner/secure-gates@sha256:…)"))
	}
	ref, err := oci.ParseDigestRef(image)
	if err != nil {
		return PinResult{}, fmt.Errorf("release pin: --image: %w", err)
	}
	if o.Commit != "" && !commitRE.MatchString(o.Commit) {
		return PinResult{}, errkind.Input(fmt.Errorf("release pin: --commit %q is not a full commit SHA (40 lowercase hex digits)", o.Commit))
	}
	root := o.Root
	if root == "" {
		root = "."
	}
	edits, err := planActions(root, "docker://"+ref.String())
	if err != nil {
		return PinResult{}, err
	}
	if o.Commit != "" {
		te, err := planTemplates(root, o.Commit)
		if err != nil {
			return PinResult{}, err
		}
		edits = append(edits, te...)
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
// folders that references this repository by commit.
func planTemplates(root, commit string) ([]edit, error) {
	var edits []edit
	for _, dir := range templateDirs {
		base := filepath.Join(root, dir)
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == base {
					return fs.SkipDir
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if ext := filepath.Ext(p); ext != ".yml" && ext != ".yaml" {
				return nil
			}
			old, err := readBounded(p)
			if err != nil {
				return err
			}
			if !selfRef.Match(old) {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			nb := selfRef.ReplaceAll(old, []byte("${1}"+commit))
			edits = append(edits, edit{rel: filepath.ToSlash(rel), old: old, new: nb})
			return nil
		})
		if err != nil {
			if errkind.ExitCode(err) == 2 {
				return nil, err
			}
			return nil, errkind.Infra(fmt.Errorf("release pin: reading %s: %w", dir, err))
		}
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].rel < edits[j].rel })
	return edits, nil
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

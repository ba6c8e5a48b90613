package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"

	stereofile "github.com/anchore/stereoscope/pkg/file"
	"golang.org/x/sync/errgroup"
)

// tree is what a directory holds, as far as syft's catalogers can tell: for
// every entry (path relative to the root, slash-separated), its kind, mode,
// owner and content (a regular file's SHA-256, a symlink's target). The
// budget's walk fills it; hash adds the regular files' digests.
type tree struct {
	entries map[string]string
	regular []string // the regular files, to hash
}

func newTree() *tree { return &tree{entries: map[string]string{}} }

// add records the entry at rel (d and fi from the walk, which does not follow
// symlinks).
func (t *tree) add(root, rel string, d fs.DirEntry, fi fs.FileInfo) error {
	owner := ""
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		owner = fmt.Sprintf("%d:%d", st.Uid, st.Gid)
	}
	meta := fmt.Sprintf("%o %s", fi.Mode(), owner)
	switch {
	case d.Type().IsRegular():
		t.regular = append(t.regular, rel)
		t.entries[rel] = "f " + meta
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		t.entries[rel] = "l " + meta + " " + target
	case d.IsDir():
		t.entries[rel] = "d " + meta
	default:
		t.entries[rel] = "o " + meta
	}
	return nil
}

// hash adds the digests of the regular files, on one goroutine per CPU.
func (t *tree) hash(ctx context.Context, root string) error {
	sums := make([]string, len(t.regular))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, rel := range t.regular {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			s, err := fileSum(filepath.Join(root, filepath.FromSlash(rel)))
			sums[i] = s
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, rel := range t.regular {
		t.entries[rel] += " " + sums[i]
	}
	t.regular = nil
	return nil
}

// fileSum is the SHA-256 of the regular file p. A file that is no longer a
// regular file (swapped since the walk) is an error: it is not opened, so a
// FIFO cannot block the scan.
func fileSum(p string) (string, error) {
	before, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if !before.Mode().IsRegular() {
		return "", fmt.Errorf("%s changed while it was read", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if after, err := f.Stat(); err != nil || !os.SameFile(before, after) {
		return "", fmt.Errorf("%s changed while it was read", p)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digest identifies the whole tree.
func (t *tree) digest() []byte {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(t.entries)) {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(t.entries[k]), t.entries[k])
	}
	return h.Sum(nil)
}

// changed lists the entries that differ between old and t (added, removed,
// modified in kind, mode, owner or content), sorted.
func (t *tree) changed(old map[string]string) []string {
	var out []string
	for k, v := range t.entries {
		if old[k] != v {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := t.entries[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// maxLinkHops bounds the symlinks followed resolving one path (the kernel's
// own bound), and maxAliases the other names of one changed path looked at:
// past them a change is assumed relevant.
const (
	maxLinkHops = 40
	maxAliases  = 256
)

// links resolves every symlink of t (within the tree, as syft's directory
// resolver does: the root is "/"), returning link → the path it leads to;
// false when one cannot be resolved that way (a loop, or a target climbing
// out of the root).
func (t *tree) links() (map[string]string, bool) {
	out := map[string]string{}
	for l, v := range t.entries {
		if !strings.HasPrefix(v, "l ") {
			continue
		}
		real, ok := t.resolve(l, 0)
		if !ok {
			return nil, false
		}
		out[l] = real
	}
	return out, true
}

// resolve follows the symlinks on p (root-relative) and returns the path
// they lead to; false past maxLinkHops or out of the root.
func (t *tree) resolve(p string, hops int) (string, bool) {
	parts := strings.Split(p, "/")
	for i := range parts {
		pre := strings.Join(parts[:i+1], "/")
		v, ok := t.entries[pre]
		if !ok || !strings.HasPrefix(v, "l ") {
			continue
		}
		if hops >= maxLinkHops {
			return "", false
		}
		f := strings.SplitN(v, " ", 4)
		if len(f) != 4 {
			return "", false
		}
		target := f[3]
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(pre), target)
			if target == ".." || strings.HasPrefix(target, "../") {
				return "", false
			}
		}
		next := strings.TrimPrefix(path.Join("/", target, strings.Join(parts[i+1:], "/")), "/")
		return t.resolve(next, hops+1)
	}
	return p, true
}

// names returns p and every other name the symlinks links give it (a link
// to p or to a directory above it, repeatedly); false past maxAliases.
func names(p string, links map[string]string) ([]string, bool) {
	out := []string{p}
	seen := map[string]bool{p: true}
	for i := 0; i < len(out); i++ {
		for l, target := range links {
			rest, ok := strings.CutPrefix(out[i], target)
			if target == "" { // a link to the root
				rest, ok = "/"+out[i], true
			}
			if !ok || rest != "" && !strings.HasPrefix(rest, "/") || seen[l+rest] {
				continue
			}
			if len(out) >= maxAliases {
				return nil, false
			}
			seen[l+rest] = true
			out = append(out, l+rest)
		}
	}
	return out, true
}

// relevant reports whether a change of the entries changed (paths relative to
// root, of the current tree t and the old one) can change the answer of a
// catalog run that made the reads r: a changed symlink; a changed entry, by
// any of its names (names), that was read, that a recorded glob may match, or
// whose base name a recorded name may match; a new or
// modified regular file whose MIME type (by the function syft's directory
// index uses) was queried. Any doubt (a symlink that cannot be resolved, too
// many names, a file that cannot be read) is relevant.
func (t *tree) relevant(root string, old map[string]string, changed []string, r reads) bool {
	if len(changed) == 0 {
		return false
	}
	links, ok := t.links()
	if !ok {
		return true
	}
	read := map[string]bool{}
	for _, p := range r.Paths {
		read[p] = true
	}
	for _, p := range changed {
		cur, inNew := t.entries[p]
		if strings.HasPrefix(cur, "l ") || strings.HasPrefix(old[p], "l ") {
			return true
		}
		ns, ok := names(p, links)
		if !ok || slices.ContainsFunc(ns, func(n string) bool { return read[n] || r.matches(root, n) }) {
			return true
		}
		if len(r.MIMETypes) > 0 && inNew && strings.HasPrefix(cur, "f ") {
			mt, err := mimeType(filepath.Join(root, filepath.FromSlash(p)))
			if err != nil || slices.Contains(r.MIMETypes, mt) {
				return true
			}
		}
	}
	return false
}

// matches reports whether a recorded query may match the path p.
func (r reads) matches(root, p string) bool {
	base := path.Base(p)
	for _, n := range r.Names {
		if matchesName(n, base) {
			return true
		}
	}
	for _, g := range r.Globs {
		if matchesGlob(g, root, p) {
			return true
		}
	}
	return false
}

// mimeType is the MIME type syft's directory index gives the file p.
func mimeType(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	return stereofile.MIMEType(f), nil
}

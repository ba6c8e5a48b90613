package assess

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
)

// Bounds on what is read from a repository: it is untrusted input.
const (
	// MaxFileBytes caps one file read for evidence.
	MaxFileBytes = 1 << 20
	// MaxTreeFiles caps the paths listed in one repository.
	MaxTreeFiles = 50000
	// MaxReadFiles caps the files read in one repository.
	MaxReadFiles = 2000
	// MaxReadBytes caps the bytes read in one repository.
	MaxReadBytes = 64 << 20
)

// Tree is the repository being assessed: its file paths and a bounded reader.
// DirTree reads a directory on disk; the organization mode reads through the
// GitHub API.
type Tree interface {
	// Files lists the repository's regular files as slash-separated paths
	// relative to its root, sorted. Truncated reports a listing cut at a bound.
	Files(ctx context.Context) (files []string, truncated bool, err error)
	// ReadFile returns a file's content; a file over MaxFileBytes is an error.
	ReadFile(ctx context.Context, name string) ([]byte, error)
}

// ErrTooLarge is returned (wrapped) for a file over MaxFileBytes.
var ErrTooLarge = errors.New("file too large")

// DirTree is a Tree on a directory. It lists regular files only (symbolic
// links are not followed, so nothing outside the directory is listed), skips
// .git, and reads through an os.Root, which refuses any path that resolves
// outside the directory.
type DirTree struct {
	root *os.Root
}

// OpenDir opens dir as a Tree. Close it when done.
func OpenDir(dir string) (*DirTree, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening repository %s: %w", dir, err)
	}
	return &DirTree{root: r}, nil
}

// Close releases the directory.
func (t *DirTree) Close() error { return t.root.Close() }

// Files lists the regular files under the directory.
func (t *DirTree) Files(ctx context.Context) ([]string, bool, error) {
	var out []string
	truncated := false
	err := fs.WalkDir(t.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // unreadable entry: skipped, not fatal
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "vendor" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if len(out) >= MaxTreeFiles {
			truncated = true
			return fs.SkipAll
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("listing the repository: %w", err)
	}
	slices.Sort(out)
	return out, truncated, nil
}

// ReadFile reads one file, bounded; the path must stay inside the directory.
func (t *DirTree) ReadFile(_ context.Context, name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, fmt.Errorf("reading %q: not a path inside the repository", name)
	}
	// O_NONBLOCK: a FIFO swapped in after the listing must not hang the open.
	f, err := t.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("reading %s: not a regular file", name)
	}
	return readBounded(f, name)
}

func readBounded(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("reading %s: %w (over %d bytes)", name, ErrTooLarge, MaxFileBytes)
	}
	return data, nil
}

// MapTree is an in-memory Tree (tests, and the organization mode once files are
// fetched).
type MapTree map[string][]byte

// Files lists the map's keys that are valid relative paths.
func (m MapTree) Files(context.Context) ([]string, bool, error) {
	out := make([]string, 0, len(m))
	for k := range m {
		if fs.ValidPath(k) && k != "." {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, false, nil
}

// ReadFile returns a file of the map.
func (m MapTree) ReadFile(_ context.Context, name string) ([]byte, error) {
	b, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("reading %s: %w", name, fs.ErrNotExist)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("reading %s: %w (over %d bytes)", name, ErrTooLarge, MaxFileBytes)
	}
	return b, nil
}

// snapshot is what Evaluate reads of a tree: every path, and the content of
// the files that can hold evidence, within the read bounds.
type snapshot struct {
	files     []string
	isFile    map[string]bool
	isDir     map[string]bool
	content   map[string][]byte
	notes     []string
	truncated bool
}

// contents yields those of names whose content was read, in order, with it.
func (s *snapshot) contents(names ...string) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		for _, name := range names {
			if data, ok := s.content[name]; ok && !yield(name, data) {
				return
			}
		}
	}
}

// wanted reports whether a path can hold evidence and is read.
func wanted(p string) bool {
	base := path.Base(p)
	lower := strings.ToLower(base)
	ext := path.Ext(lower)
	switch {
	case strings.HasPrefix(p, ".github/workflows/") && (ext == ".yml" || ext == ".yaml"):
		return true
	case p == ".pre-commit-config.yaml" || p == ".pre-commit-config.yml":
		return true
	case p == ".github/dependabot.yml" || p == ".github/dependabot.yaml":
		return true
	case renovateFiles[p]:
		return true
	case p == policyFile || p == answersFile:
		return true
	case lower == "dockerfile" || strings.HasPrefix(lower, "dockerfile.") || strings.HasSuffix(lower, ".dockerfile") || lower == "containerfile":
		return true
	case ext == ".yaml" || ext == ".yml" || ext == ".json" || ext == ".tf" || base == "Kustomization":
		return !strings.HasPrefix(base, ".") || strings.HasPrefix(p, ".github/") || strings.HasPrefix(p, ".secure-gates/")
	}
	return false
}

// wantedOrder sorts the files to read so that the small, decisive ones come
// first when the read bounds cut the list.
func wantedRank(p string) int {
	switch {
	case strings.HasPrefix(p, ".github/") || strings.HasPrefix(p, ".secure-gates/") || strings.HasPrefix(p, ".pre-commit") || renovateFiles[p]:
		return 0
	case strings.HasSuffix(strings.ToLower(p), ".json") || strings.HasSuffix(p, ".tf"):
		return 2
	}
	return 1
}

func takeSnapshot(ctx context.Context, t Tree) (*snapshot, error) {
	files, truncated, err := t.Files(ctx)
	if err != nil {
		return nil, err
	}
	s := &snapshot{files: files, isFile: map[string]bool{}, isDir: map[string]bool{".": true}, content: map[string][]byte{}, truncated: truncated}
	if truncated {
		s.notes = append(s.notes, fmt.Sprintf("the repository has more than %d files: only the first %d were considered", MaxTreeFiles, len(files)))
	}
	var read []string
	for _, f := range files {
		s.isFile[f] = true
		for d := path.Dir(f); d != "." && !s.isDir[d]; d = path.Dir(d) {
			s.isDir[d] = true
		}
		if wanted(f) {
			read = append(read, f)
		}
	}
	slices.SortStableFunc(read, func(a, b string) int { return wantedRank(a) - wantedRank(b) })
	total := 0
	for i, f := range read {
		if i >= MaxReadFiles || total >= MaxReadBytes {
			s.notes = append(s.notes, fmt.Sprintf("%d files that could hold evidence were not read (bounds: %d files, %d bytes)", len(read)-i, MaxReadFiles, MaxReadBytes))
			break
		}
		data, err := t.ReadFile(ctx, f)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, ErrTooLarge) {
				s.notes = append(s.notes, fmt.Sprintf("%s was not read: over %d bytes", f, MaxFileBytes))
				continue
			}
			var ae *apiError
			if errors.As(err, &ae) {
				return nil, err
			}
			s.notes = append(s.notes, fmt.Sprintf("%s was not read: %v", f, err))
			continue
		}
		total += len(data)
		s.content[f] = data
	}
	return s, nil
}

var renovateFiles = map[string]bool{
	"renovate.json": true, "renovate.json5": true, ".renovaterc": true, ".renovaterc.json": true, ".renovaterc.json5": true,
	".github/renovate.json": true, ".github/renovate.json5": true, ".gitlab/renovate.json": true, ".gitlab/renovate.json5": true,
}

const (
	policyFile  = ".secure-gates/policy.yaml"
	answersFile = ".secure-gates/assessment.yaml"
)

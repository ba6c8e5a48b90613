// Package kustfs is the file system kustomize renders on wherever the suite
// renders a kustomization: the IaC scanner (a pull request's tree) and the
// GitOps deploy's render check (the GitOps repository). Both are untrusted
// trees, so the one implementation gives kustomize:
//
//   - the tree on disk below one root, read-only: every write fails;
//   - every path confined to the root once its symlinks are resolved (a path
//     that does not exist yet is resolved through its longest existing
//     prefix, so a missing file inside the root is kustomize's to report, and
//     a symlink out of the root is refused);
//   - whole-file reads only (Open is refused): a file is read only when it is
//     a regular file (never a FIFO or a device) of at most MaxFileBytes, all
//     files of one render at most MaxTotalBytes together, and the YAML
//     aliases of all of them at most MaxExpandedNodes nodes once expanded
//     (kustomize expands them: a "billion laughs" file of a few hundred bytes
//     would otherwise take all the memory there is);
//   - every file read passed to the caller's OnRead, which may refuse it or
//     change what kustomize gets; the files served are recorded (Read).
//
// Fetches says which references of a kustomization kustomize would fetch
// over the network, as its loader reads them (internal/git/repospec.go of
// sigs.k8s.io/kustomize/api): callers refuse those before or while rendering.
package kustfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// DefaultMaxExpandedNodes is Options.MaxExpandedNodes when it is 0.
const DefaultMaxExpandedNodes = 1_000_000

// ErrReadOnly is returned by every write.
var ErrReadOnly = errors.New("the file system kustomize renders on is read-only")

// Options configures New.
type Options struct {
	// MaxFileBytes bounds one file read (required, > 0).
	MaxFileBytes int64
	// MaxTotalBytes bounds all the files of the FS's reads together; 0 means
	// no bound beyond MaxFileBytes each.
	MaxTotalBytes int64
	// MaxExpandedNodes bounds the YAML nodes of all the files read, once
	// their aliases are expanded; 0 means DefaultMaxExpandedNodes.
	MaxExpandedNodes int64
	// Outside ends the error for a path outside the root, after the path
	// (relative to the root where it can be): "leaves the repository".
	Outside string
	// OnRead, when set, is called with every file read (its path with
	// symlinks resolved, and its content) and returns what kustomize gets,
	// or an error kustomize gets instead. Calls are serialized.
	OnRead func(path string, data []byte) ([]byte, error)
}

// FS is kustomize's filesys.FileSystem confined to a root. Build it with New.
type FS struct {
	disk filesys.FileSystem
	root string
	o    Options

	mu       sync.Mutex
	total    int64
	expanded int64
	read     map[string]bool
}

// New returns the FS of the tree at root (made absolute, symlinks resolved).
func New(root string, o Options) (*FS, error) {
	if o.MaxFileBytes <= 0 {
		return nil, errors.New("kustfs: MaxFileBytes must be positive")
	}
	if o.MaxExpandedNodes <= 0 {
		o.MaxExpandedNodes = DefaultMaxExpandedNodes
	}
	if o.Outside == "" {
		o.Outside = "is outside the rendered tree"
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	return &FS{disk: filesys.MakeFsOnDisk(), root: real, o: o, read: map[string]bool{}}, nil
}

// Root is the root, absolute with its symlinks resolved.
func (c *FS) Root() string { return c.root }

// Read lists the files served, absolute with symlinks resolved, sorted.
func (c *FS) Read() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.read))
	for p := range c.read {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Rel names an absolute path relative to the root, for messages (its base
// name when it is outside).
func (c *FS) Rel(abs string) string {
	if r, err := filepath.Rel(c.root, abs); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(r)
	}
	return filepath.Base(abs)
}

// Within reports whether p is root or below it (textually).
func Within(root, p string) bool {
	return p == root || strings.HasPrefix(p, root+string(filepath.Separator))
}

// resolve returns p made absolute with its symlinks resolved (through its
// longest existing prefix when it does not exist), or an error when that
// leaves the root.
func (c *FS) resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	probe, suffix := abs, ""
	for {
		r, err := filepath.EvalSymlinks(probe)
		if err == nil {
			full := filepath.Join(r, suffix)
			if !Within(c.root, full) {
				return "", fmt.Errorf("%s %s", c.Rel(abs), c.o.Outside)
			}
			return full, nil
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			return "", fmt.Errorf("%s %s", c.Rel(abs), c.o.Outside)
		}
		suffix = filepath.Join(filepath.Base(probe), suffix)
		probe = parent
	}
}

// Create is refused.
func (c *FS) Create(string) (filesys.File, error) { return nil, ErrReadOnly }

// Mkdir is refused.
func (c *FS) Mkdir(string) error { return ErrReadOnly }

// MkdirAll is refused.
func (c *FS) MkdirAll(string) error { return ErrReadOnly }

// RemoveAll is refused.
func (c *FS) RemoveAll(string) error { return ErrReadOnly }

// WriteFile is refused.
func (c *FS) WriteFile(string, []byte) error { return ErrReadOnly }

// Open is refused: files are read whole, through ReadFile, so that every
// read is bounded.
func (c *FS) Open(p string) (filesys.File, error) {
	if _, err := c.resolve(p); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("open %s: kustomize's files are read whole only", c.Rel(p))
}

// IsDir reports whether p is a directory inside the root.
func (c *FS) IsDir(p string) bool {
	real, err := c.resolve(p)
	return err == nil && c.disk.IsDir(real)
}

// Exists reports whether p exists inside the root.
func (c *FS) Exists(p string) bool {
	real, err := c.resolve(p)
	return err == nil && c.disk.Exists(real)
}

// ReadDir lists a directory inside the root.
func (c *FS) ReadDir(p string) ([]string, error) {
	real, err := c.resolve(p)
	if err != nil {
		return nil, err
	}
	return c.disk.ReadDir(real)
}

// CleanedAbs is the disk's, for a path inside the root.
func (c *FS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if _, err := c.resolve(p); err != nil {
		return "", "", err
	}
	d, f, err := c.disk.CleanedAbs(p)
	if err != nil {
		return d, f, err
	}
	if _, err := c.resolve(d.String()); err != nil {
		return "", "", err
	}
	return d, f, nil
}

// Glob returns the matches of pattern inside the root.
func (c *FS) Glob(pattern string) ([]string, error) {
	if _, err := c.resolve(filepath.Dir(pattern)); err != nil {
		return nil, err
	}
	all, err := c.disk.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range all {
		if _, err := c.resolve(p); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// Walk walks a directory inside the root; an entry outside it (a symlink
// out) is given to fn with the error.
func (c *FS) Walk(p string, fn filepath.WalkFunc) error {
	if _, err := c.resolve(p); err != nil {
		return err
	}
	return c.disk.Walk(p, func(path string, info fs.FileInfo, err error) error {
		if err == nil {
			if _, cerr := c.resolve(path); cerr != nil {
				return fn(path, info, cerr)
			}
		}
		return fn(path, info, err)
	})
}

// ReadFile reads a regular file inside the root, within the bounds, and
// returns what OnRead makes of it.
func (c *FS) ReadFile(p string) ([]byte, error) {
	real, err := c.resolve(p)
	if err != nil {
		return nil, err
	}
	data, err := readfile.Bounded(real, c.o.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read[real] = true
	c.total += int64(len(data))
	if c.o.MaxTotalBytes > 0 && c.total > c.o.MaxTotalBytes {
		return nil, fmt.Errorf("the render read more than %d bytes", c.o.MaxTotalBytes)
	}
	n, err := boundAliases(data, c.o.MaxExpandedNodes-c.expanded)
	if err != nil {
		return nil, fmt.Errorf("%s: its YAML aliases expand the files of the render to more than %d nodes", c.Rel(real), c.o.MaxExpandedNodes)
	}
	c.expanded += n
	if c.o.OnRead != nil {
		return c.o.OnRead(real, data)
	}
	return data, nil
}

// boundAliases returns how many nodes the YAML documents in data expand to
// when they use aliases (0 without), and refuses more than limit. Data that is
// not YAML is left to kustomize.
func boundAliases(data []byte, limit int64) (int64, error) {
	if !bytes.Contains(data, []byte("*")) {
		return 0, nil
	}
	dec := kyaml.NewDecoder(bytes.NewReader(data))
	memo := map[*kyaml.Node]int64{}
	var size func(n *kyaml.Node, depth int) int64
	size = func(n *kyaml.Node, depth int) int64 {
		if n == nil || depth > 10000 {
			return 1
		}
		if v, ok := memo[n]; ok {
			return v
		}
		memo[n] = limit + 1 // a cycle counts as unbounded
		total := int64(1)
		if n.Kind == kyaml.AliasNode {
			total += size(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			if total += size(c, depth+1); total > limit {
				break
			}
		}
		memo[n] = total
		return total
	}
	var total int64
	for {
		var doc kyaml.Node
		if err := dec.Decode(&doc); err != nil {
			return total, nil
		}
		if total += size(&doc, 0); total > limit {
			return 0, errors.New("too many nodes")
		}
	}
}

// userAt matches the SCP-style user@ prefix kustomize takes for a git remote.
var userAt = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// Fetches reports whether kustomize would fetch s over the network, the one
// rule every caller refuses remote references by (kustomize clones and
// downloads them itself, outside this file system): a URL
// (any scheme: http(s) files, git over https, ssh or file), git::, an SCP-style
// user@host:path, or a github.com/ path, as kustomize's loader reads them.
func Fetches(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	l = strings.TrimPrefix(l, "git::")
	if strings.Contains(l, "://") || strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:") || userAt.MatchString(l) {
		return true
	}
	if u, err := url.Parse(l); err == nil && u.Scheme != "" && len(u.Scheme) > 1 && u.Host != "" {
		return true
	}
	return false
}

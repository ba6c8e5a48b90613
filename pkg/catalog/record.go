package catalog

import (
	"context"
	"io"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/source"
	"github.com/bmatcuk/doublestar/v4"
)

// reads is what syft's catalogers asked the directory resolver for during one
// catalog run: everything the run's answer can depend on besides the
// configuration. A change of the tree can change the answer only if some
// question could get a different answer with it (see tree.relevant).
type reads struct {
	// Globs are the glob queries anchored at the root or at any depth ("/…",
	// "**/…"), which the resolver matches against a file's paths as
	// doublestar does: a changed path (and every other name a symlink gives
	// it) is matched against each.
	Globs []string `json:"globs,omitempty"`
	// Names are the base names of the path queries, and the last segments of
	// any other glob: such a query can only find a file whose base name the
	// name matches, whatever directories (or symlinks to directories) lead to
	// it. A glob whose last segment may match any name is recorded as the
	// glob "**".
	Names []string `json:"names,omitempty"`
	// MIMETypes are the MIME types queried.
	MIMETypes []string `json:"mimeTypes,omitempty"`
	// Paths are the real and access paths of every location handed out
	// (relative to the root, no leading slash): the files read.
	Paths []string `json:"paths,omitempty"`
}

// recorder collects reads from concurrent catalogers.
type recorder struct {
	mu                         sync.Mutex
	names, globs, mimes, paths map[string]bool
}

func newRecorder() *recorder {
	return &recorder{names: map[string]bool{}, globs: map[string]bool{}, mimes: map[string]bool{}, paths: map[string]bool{}}
}

// nixStoreGlob is what syft's nix store cataloger, the only caller of
// AllLocations in the syft version the cache is keyed by, keeps of the
// listing: locations in a nix store (TestAllLocationsCallers checks that it
// is still the only caller).
const nixStoreGlob = "**/nix/store/**"

func (r *recorder) glob(patterns ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range patterns {
		switch seg, ok := lastSegment(p); {
		case strings.HasPrefix(p, "/") || strings.HasPrefix(p, "**"):
			r.globs[p] = true
		case ok:
			r.names[seg] = true
		default:
			r.globs["**"] = true
		}
	}
}

func (r *recorder) path(paths ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range paths {
		b := path.Base(path.Clean("/" + p))
		if b == "/" || b == "." {
			r.globs["**"] = true
			continue
		}
		// a literal name: quote what doublestar would read as a pattern
		r.names[quoteMeta(b)] = true
	}
}

func (r *recorder) mime(types ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range types {
		r.mimes[t] = true
	}
}

func (r *recorder) locations(ls ...file.Location) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range ls {
		for _, p := range []string{l.RealPath, l.AccessPath} {
			if p != "" {
				r.paths[relPath(p)] = true
			}
		}
	}
}

// reads returns what was recorded, sorted.
func (r *recorder) reads() reads {
	r.mu.Lock()
	defer r.mu.Unlock()
	return reads{Names: slices.Sorted(maps.Keys(r.names)), Globs: slices.Sorted(maps.Keys(r.globs)),
		MIMETypes: slices.Sorted(maps.Keys(r.mimes)), Paths: slices.Sorted(maps.Keys(r.paths))}
}

// relPath is a resolver path relative to the root, without a leading slash.
func relPath(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// lastSegment is the last segment of a glob (after its last slash outside
// braces and brackets) when it names files: false when it may match any
// name — it is "*" or holds "**", holds a slash (inside an alternative), or
// the glob holds an escape or ends in a slash.
func lastSegment(p string) (string, bool) {
	depth, last := 0, -1
	for i, c := range p {
		switch c {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '/':
			if depth == 0 {
				last = i
			}
		}
	}
	seg := p[last+1:]
	if seg == "" || seg == "*" || strings.Contains(seg, "**") || strings.Contains(seg, "/") || strings.Contains(p, `\`) || depth != 0 {
		return "", false
	}
	return seg, true
}

// quoteMeta escapes doublestar's metacharacters in a literal name.
func quoteMeta(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]{}\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// matchesName reports whether a recorded name (a last glob segment or a
// quoted literal name) may match the base name base. A pattern doublestar
// cannot read matches everything.
func matchesName(name, base string) bool {
	ok, err := doublestar.Match(name, base)
	return ok || err != nil
}

// matchesGlob reports whether the glob g (anchored: "/…" or "**/…") may
// match the path p (relative to the root abs) as syft's directory resolver
// matches it: stereoscope's index matches the glob with doublestar against
// the native path ("**/…", left as it is) or the root joined with it ("/…",
// the same as the glob against the path below the root). Both forms are
// tried, with and without a trailing slash (stereoscope trims it). A pattern
// doublestar cannot read matches everything.
func matchesGlob(g, abs, p string) bool {
	for _, pat := range []string{g, strings.TrimRight(g, "/")} {
		if pat == "" {
			continue
		}
		rooted := pat
		if !strings.HasPrefix(rooted, "/") && !strings.HasPrefix(rooted, "**") {
			rooted = "/" + rooted
		}
		for _, try := range [][2]string{{pat, path.Join(filepath.ToSlash(abs), p)}, {rooted, "/" + p}} {
			ok, err := doublestar.Match(try[0], try[1])
			if ok || err != nil {
				return true
			}
		}
	}
	return false
}

// recordingSource is a source whose file resolver records the catalogers'
// reads.
type recordingSource struct {
	source.Source
	rec *recorder
}

// ID is the wrapped source's: the SBOM is the same.
func (s recordingSource) ID() artifact.ID { return s.Source.ID() }

// FileResolver wraps the source's resolver in a recordingResolver.
func (s recordingSource) FileResolver(sc source.Scope) (file.Resolver, error) {
	r, err := s.Source.FileResolver(sc)
	if err != nil {
		return nil, err
	}
	return &recordingResolver{r: r, rec: s.rec}, nil
}

// recordingResolver answers as the resolver it wraps and records every
// question and the locations it handed out.
type recordingResolver struct {
	r   file.Resolver
	rec *recorder
}

func (r *recordingResolver) FileContentsByLocation(l file.Location) (io.ReadCloser, error) {
	r.rec.locations(l)
	return r.r.FileContentsByLocation(l)
}

func (r *recordingResolver) FileMetadataByLocation(l file.Location) (file.Metadata, error) {
	r.rec.locations(l)
	return r.r.FileMetadataByLocation(l)
}

func (r *recordingResolver) HasPath(p string) bool {
	r.rec.path(p)
	return r.r.HasPath(p)
}

func (r *recordingResolver) FilesByPath(paths ...string) ([]file.Location, error) {
	r.rec.path(paths...)
	ls, err := r.r.FilesByPath(paths...)
	r.rec.locations(ls...)
	return ls, err
}

func (r *recordingResolver) FilesByGlob(patterns ...string) ([]file.Location, error) {
	r.rec.glob(patterns...)
	ls, err := r.r.FilesByGlob(patterns...)
	r.rec.locations(ls...)
	return ls, err
}

func (r *recordingResolver) FilesByMIMEType(types ...string) ([]file.Location, error) {
	r.rec.mime(types...)
	ls, err := r.r.FilesByMIMEType(types...)
	r.rec.locations(ls...)
	return ls, err
}

func (r *recordingResolver) RelativeFileByPath(l file.Location, p string) *file.Location {
	r.rec.path(p)
	r.rec.locations(l)
	got := r.r.RelativeFileByPath(l, p)
	if got != nil {
		r.rec.locations(*got)
	}
	return got
}

func (r *recordingResolver) AllLocations(ctx context.Context) <-chan file.Location {
	r.rec.glob(nixStoreGlob)
	return r.r.AllLocations(ctx)
}

package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// Bounds of a bundle read by Read.
const (
	MaxFiles      = 10000
	MaxFileBytes  = 32 << 20
	MaxTotalBytes = 256 << 20
)

// IsArchive reports whether out names a .tar.gz (or .tgz) bundle rather
// than a folder.
func IsArchive(out string) bool {
	return strings.HasSuffix(out, ".tar.gz") || strings.HasSuffix(out, ".tgz")
}

// Write writes the bundle to out: a folder, or a .tar.gz when out ends so.
// Nothing is half-written: a folder is written under a temporary name beside
// out and renamed into place; an archive goes through pkg/atomicfile. out must
// not exist yet (a bundle is never merged into or over another).
func Write(out string, files map[string][]byte, mtime time.Time) error {
	if _, err := os.Lstat(out); err == nil {
		return errkind.Input(fmt.Errorf("evidence: %s already exists: give a new path (a bundle is never written over another)", out))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return errkind.Infra(fmt.Errorf("evidence: %w", err))
	}
	if IsArchive(out) {
		data, err := Archive(files, mtime)
		if err != nil {
			return err
		}
		if err := atomicfile.Write(out, data); err != nil {
			return errkind.Infra(err)
		}
		return nil
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return errkind.Infra(fmt.Errorf("evidence: %w", err))
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return errkind.Infra(fmt.Errorf("evidence: %w", err))
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return errkind.Infra(fmt.Errorf("evidence: %w", err))
	}
	for _, p := range sortedKeys(files) {
		if err := checkName(p); err != nil {
			return fmt.Errorf("evidence: %w", err)
		}
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return errkind.Infra(fmt.Errorf("evidence: %w", err))
		}
		if err := os.WriteFile(dst, files[p], 0o644); err != nil {
			return errkind.Infra(fmt.Errorf("evidence: %w", err))
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		return errkind.Infra(fmt.Errorf("evidence: moving the bundle into place: %w", err))
	}
	ok = true
	return nil
}

// Archive is the bundle as a reproducible .tar.gz: paths sorted, regular
// files only, mode 0644, owner 0, every time mtime.
func Archive(files map[string][]byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, p := range sortedKeys(files) {
		if err := checkName(p); err != nil {
			return nil, fmt.Errorf("evidence: %w", err)
		}
		h := &tar.Header{Name: p, Mode: 0o644, Size: int64(len(files[p])), ModTime: mtime.UTC(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[p]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Read reads a bundle (folder or .tar.gz) within MaxFiles, MaxFileBytes and
// MaxTotalBytes. Only regular files (and folders) are accepted: a symbolic or
// hard link, a device, an absolute path, a .. element or a duplicate name is
// refused, so reading a hostile bundle writes nothing and reads nothing
// outside it. Errors are errkind.Input naming the bundle and the entry.
func Read(p string) (map[string][]byte, error) {
	st, err := os.Lstat(p)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("evidence bundle %s: %w", p, err))
	}
	switch {
	case st.IsDir():
		return readDir(p)
	case st.Mode().IsRegular():
		f, err := os.Open(p)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("evidence bundle %s: %w", p, err))
		}
		defer f.Close()
		files, err := ReadArchive(f)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("evidence bundle %s: %w", p, err))
		}
		return files, nil
	default:
		return nil, errkind.Input(fmt.Errorf("evidence bundle %s is neither a folder nor a .tar.gz file (a symbolic link is not followed)", p))
	}
}

// ReadArchive reads a .tar.gz bundle from r within the bounds of Read.
func ReadArchive(r io.Reader) (map[string][]byte, error) {
	return readArchive(r, limits{files: MaxFiles, file: MaxFileBytes, total: MaxTotalBytes})
}

type limits struct {
	files       int
	file, total int64
}

func readArchive(r io.Reader, lim limits) (map[string][]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip-compressed tar: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the tar: %w", err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := checkName(strings.TrimSuffix(h.Name, "/")); err != nil {
				return nil, err
			}
			continue
		case tar.TypeReg, tar.TypeRegA:
		default:
			return nil, fmt.Errorf("entry %q is not a regular file (type %q): links and special files are refused", h.Name, h.Typeflag)
		}
		if err := checkName(h.Name); err != nil {
			return nil, err
		}
		if _, dup := files[h.Name]; dup {
			return nil, fmt.Errorf("entry %q appears twice", h.Name)
		}
		if len(files) >= lim.files {
			return nil, fmt.Errorf("more than %d files", lim.files)
		}
		if h.Size < 0 || h.Size > lim.file {
			return nil, fmt.Errorf("entry %q is %d bytes, over the %d-byte cap", h.Name, h.Size, lim.file)
		}
		if total+h.Size > lim.total {
			return nil, fmt.Errorf("more than %d bytes in all", lim.total)
		}
		b := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, fmt.Errorf("reading entry %q: %w", h.Name, err)
		}
		total += int64(len(b))
		files[h.Name] = b
	}
	return files, nil
}

func readDir(root string) (map[string][]byte, error) {
	files := map[string][]byte{}
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file (%s): links and special files are refused", name, d.Type())
		}
		if err := checkName(name); err != nil {
			return err
		}
		if len(files) >= MaxFiles {
			return fmt.Errorf("more than %d files", MaxFiles)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
		if err != nil {
			return err
		}
		if len(b) > MaxFileBytes {
			return fmt.Errorf("%s is over the %d-byte cap", name, MaxFileBytes)
		}
		total += int64(len(b))
		if total > MaxTotalBytes {
			return fmt.Errorf("more than %d bytes in all", MaxTotalBytes)
		}
		files[name] = b
		return nil
	})
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("evidence bundle %s: %w", root, err))
	}
	return files, nil
}

// checkName refuses a path that is not a plain relative one.
func checkName(n string) error {
	switch {
	case n == "" || n == ".":
		return fmt.Errorf("entry %q: empty name", n)
	case strings.ContainsAny(n, "\\\x00") || strings.HasPrefix(n, "/"):
		return fmt.Errorf("entry %q: not a relative slash-separated path", n)
	case path.Clean(n) != n || !filepath.IsLocal(filepath.FromSlash(n)):
		return fmt.Errorf("entry %q: leaves the bundle or is not in clean form (.., //, ./)", n)
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return fmt.Errorf("entry %q: a .. element", n)
		}
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// strictJSON decodes one JSON value, refusing unknown fields and trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

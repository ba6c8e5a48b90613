package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	hdr  tar.Header
	data []byte
}

func tgz(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = int64(len(e.data))
		}
		h.Mode = 0o644
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(e.data)
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestReadArchiveRefusesHostileEntries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		archive []byte
		want    string
	}{
		{"traversal", tgz(t, entry{hdr: tar.Header{Name: "../../etc/cron.d/x"}, data: []byte("x")}), "leaves the bundle"},
		{"traversal inside", tgz(t, entry{hdr: tar.Header{Name: "policy/../../x"}, data: []byte("x")}), "leaves the bundle"},
		{"absolute", tgz(t, entry{hdr: tar.Header{Name: "/etc/passwd"}, data: []byte("x")}), "not a relative"},
		{"symlink", tgz(t, entry{hdr: tar.Header{Name: "index.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}), "not a regular file"},
		{"hardlink", tgz(t, entry{hdr: tar.Header{Name: "index.json", Typeflag: tar.TypeLink, Linkname: "meta.json"}}), "not a regular file"},
		{"device", tgz(t, entry{hdr: tar.Header{Name: "dev", Typeflag: tar.TypeChar}}), "not a regular file"},
		{"duplicate", tgz(t, entry{hdr: tar.Header{Name: "a"}, data: []byte("1")}, entry{hdr: tar.Header{Name: "a"}, data: []byte("2")}), "appears twice"},
		{"backslash", tgz(t, entry{hdr: tar.Header{Name: `..\..\x`}, data: []byte("1")}), "not a relative"},
		{"not gzip", []byte("plain text"), "not a gzip"},
	}
	for _, c := range cases {
		_, err := ReadArchive(bytes.NewReader(c.archive))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestReadArchiveBounds(t *testing.T) {
	t.Parallel()
	lim := limits{files: 10, file: 1 << 10, total: 4 << 10}
	// One entry over the per-file cap: refused from its header, before its
	// content is read.
	if _, err := readArchive(bytes.NewReader(tgz(t, entry{hdr: tar.Header{Name: "big"}, data: make([]byte, 2<<10)})), lim); err == nil || !strings.Contains(err.Error(), "over the 1024-byte cap") {
		t.Errorf("huge entry: %v", err)
	}
	// Many entries each under the cap: the total cap stops them (smaller
	// limits, same code).
	var five []entry
	for i := 0; i < 5; i++ {
		five = append(five, entry{hdr: tar.Header{Name: fmt.Sprint("f", i)}, data: make([]byte, 1<<10)})
	}
	if _, err := readArchive(bytes.NewReader(tgz(t, five...)), lim); err == nil || !strings.Contains(err.Error(), "in all") {
		t.Errorf("total: %v", err)
	}
	// Too many files.
	var many []entry
	for i := 0; i <= lim.files; i++ {
		many = append(many, entry{hdr: tar.Header{Name: fmt.Sprint("f", i)}, data: []byte("x")})
	}
	if _, err := readArchive(bytes.NewReader(tgz(t, many...)), lim); err == nil || !strings.Contains(err.Error(), "more than 10 files") {
		t.Errorf("many files: %v", err)
	}
}

func TestReadDirRefusesLinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "meta.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("symlink in a bundle folder: %v", err)
	}
	link := filepath.Join(t.TempDir(), "bundle")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(link); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("bundle given as a symlink: %v", err)
	}
}

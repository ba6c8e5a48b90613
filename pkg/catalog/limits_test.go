package catalog_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

const tib = int64(1) << 40

// tarBlock returns a ustar header block.
func tarBlock(name string, typeflag byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:108], "0000644\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], fmt.Sprintf("%011o\x00", 1704067200))
	b[156] = typeflag
	copy(b[257:265], "ustar\x0000")
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func pad(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

func paxRecord(k, v string) string {
	rec := " " + k + "=" + v + "\n"
	n := len(rec)
	for {
		s := fmt.Sprintf("%d%s", n, rec)
		if len(s) == n {
			return s
		}
		n = len(s)
	}
}

// sparseTar is a layer holding one PAX (GNU 1.0) sparse file of logical size
// 1 TiB whose only data is its last byte: a few KiB of tar, a terabyte on disk.
func sparseTar(t *testing.T) string {
	t.Helper()
	recs := paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0") +
		paxRecord("GNU.sparse.name", "huge.img") + paxRecord("GNU.sparse.realsize", fmt.Sprint(tib))
	sparseMap := pad([]byte(fmt.Sprintf("1\n%d\n1\n", tib-1)))
	data := append(sparseMap, 'x')
	var out []byte
	out = append(out, tarBlock("PaxHeaders.0/huge.img", 'x', int64(len(recs)))...)
	out = append(out, pad([]byte(recs))...)
	out = append(out, tarBlock("GNUSparseFile.0/huge.img", '0', int64(len(data)))...)
	out = append(out, pad(data)...)
	out = append(out, make([]byte, 1024)...)

	// The crafted stream is a real sparse file to a tar reader.
	tr := tar.NewReader(bytes.NewReader(out))
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "huge.img" || hdr.Size != tib {
		t.Fatalf("crafted sparse tar reads as %+v, %v", hdr, err)
	}
	return testinfra.WriteFile(t, filepath.Join(t.TempDir(), "sparse.tar"), out, 0o644)
}

// manyFilesTar is a layer of n empty files.
func manyFilesTar(t *testing.T, n int) string {
	t.Helper()
	return testinfra.WriteTar(t, filepath.Join(t.TempDir(), "many.tar"), func(tw *tar.Writer) {
		for i := 0; i < n; i++ {
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%03d/f%06d", i/1000, i), Mode: 0o644, Typeflag: tar.TypeReg, ModTime: time.Unix(1704067200, 0)}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// bigFileTar is a layer of one regular file of size bytes.
func bigFileTar(t *testing.T, size int) string {
	t.Helper()
	return testinfra.WriteTar(t, filepath.Join(t.TempDir(), "big.tar"), func(tw *tar.Writer) {
		if err := tw.WriteHeader(&tar.Header{Name: "big.bin", Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(bytes.Repeat([]byte("a"), size)); err != nil {
			t.Fatal(err)
		}
	})
}

// paxHeavyTar is a layer of n empty files, each with a 4 KiB PAX header: the
// stream is big while the declared sizes are all zero.
func paxHeavyTar(t *testing.T, n int) string {
	t.Helper()
	return testinfra.WriteTar(t, filepath.Join(t.TempDir(), "pax.tar"), func(tw *tar.Writer) {
		for i := 0; i < n; i++ {
			hdr := &tar.Header{Name: fmt.Sprintf("f%05d", i), Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatPAX,
				PAXRecords: map[string]string{"comment": strings.Repeat("z", 4096)}}
			if err := tw.WriteHeader(hdr); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// ociDir writes an OCI layout of an image made of layers.
func ociDir(t *testing.T, layers ...string) catalog.ImageSource {
	t.Helper()
	return catalog.ImageSource{Kind: catalog.SourceOCIDir, Path: testinfra.OCILayout(t, testinfra.ImageFromLayers(t, layers...), "")}
}

func countEntries(t *testing.T, tarPath string) int {
	t.Helper()
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	n := 0
	for {
		if _, err := tr.Next(); err == io.EOF {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

func TestLimits(t *testing.T) {
	_, fixtureTar := fixtureLayer(t)
	fixtureEntries := countEntries(t, fixtureTar)
	fixtureSrc := ociDir(t, fixtureTar)

	sparseDir := t.TempDir()
	testinfra.WriteFile(t, filepath.Join(sparseDir, "requirements.txt"), "flask==2.0.0\n", 0o644)
	f, err := os.Create(filepath.Join(sparseDir, "huge.img"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(tib); err != nil { // a sparse file: no blocks on disk
		t.Fatal(err)
	}
	f.Close()
	manyDir := t.TempDir()
	for i := 0; i < 300; i++ {
		testinfra.WriteFile(t, filepath.Join(manyDir, fmt.Sprintf("f%03d", i)), "", 0o644)
	}

	for _, tc := range []struct {
		name    string
		src     *catalog.ImageSource
		dir     string
		opts    catalog.Options
		wantErr string // "" = passes
	}{
		{name: "100,000 tiny files over max-files", src: ptr(ociDir(t, manyFilesTar(t, 100_000))), opts: catalog.Options{MaxFiles: 50_000}, wantErr: "more than 50000 files (max-files)"},
		{name: "1 TiB sparse file over the default max-bytes", src: ptr(ociDir(t, sparseTar(t))), wantErr: "declare more than 10737418240 bytes (max-bytes)"},
		{name: "3 MiB file under max-bytes", src: ptr(ociDir(t, bigFileTar(t, 3<<20))), opts: catalog.Options{MaxBytes: 4 << 20, MaxFiles: 10}},
		{name: "3 MiB file over max-bytes", src: ptr(ociDir(t, bigFileTar(t, 3<<20))), opts: catalog.Options{MaxBytes: 2 << 20}, wantErr: "declare more than 2097152 bytes (max-bytes)"},
		{name: "empty files with bulky headers over max-bytes", src: ptr(ociDir(t, paxHeavyTar(t, 1000))), opts: catalog.Options{MaxBytes: 2 << 20}, wantErr: "layers hold more than 2097152 bytes uncompressed (max-bytes)"},
		{name: "fixture at exactly max-files", src: &fixtureSrc, opts: catalog.Options{MaxFiles: fixtureEntries}},
		{name: "fixture one file over max-files", src: &fixtureSrc, opts: catalog.Options{MaxFiles: fixtureEntries - 1}, wantErr: fmt.Sprintf("more than %d files", fixtureEntries-1)},
		{name: "image over the timeout", src: &fixtureSrc, opts: catalog.Options{Timeout: time.Millisecond}, wantErr: "longer than the 1ms timeout"},
		{name: "directory with a 1 TiB sparse file", dir: sparseDir, wantErr: "declare more than 10737418240 bytes"},
		{name: "directory over max-files", dir: manyDir, opts: catalog.Options{MaxFiles: 299}, wantErr: "more than 299 files"},
		{name: "directory at max-files", dir: manyDir, opts: catalog.Options{MaxFiles: 300}},
		{name: "directory over the timeout", dir: manyDir, opts: catalog.Options{Timeout: time.Nanosecond}, wantErr: "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			tc.opts.TempDir = tmp
			var res *catalog.Result
			var err error
			if tc.src != nil {
				res, err = catalog.Image(context.Background(), *tc.src, tc.opts)
			} else {
				res, err = catalog.Directory(context.Background(), tc.dir, tc.opts)
			}
			assertEmptyDir(t, tmp)
			if tc.wantErr == "" {
				if err != nil || res == nil || res.SBOM == nil {
					t.Fatalf("got %v, want a catalog", err)
				}
				return
			}
			if res != nil {
				t.Errorf("got a result (%d packages) with the error: a partial SBOM", res.Packages)
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.wantErr)
			}
			if !errors.Is(err, catalog.ErrLimit) || errkind.Of(err) != errkind.KindInfra || errkind.ExitCode(err) != 3 {
				t.Errorf("error %v: want ErrLimit, an infrastructure error (exit 3); kind %v", err, errkind.Of(err))
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

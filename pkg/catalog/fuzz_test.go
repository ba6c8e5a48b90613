package catalog

import (
	"archive/tar"
	"bytes"
	"errors"
	"testing"
)

// FuzzScanTar feeds untrusted layer streams to the limit scanner: it must never
// panic, must pass an accepted stream through byte for byte, and must never
// accept more entries or bytes than its limits.
func FuzzScanTar(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "a", Size: 3, Mode: 0o644})
	tw.Write([]byte("abc"))
	tw.WriteHeader(&tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../etc/passwd"})
	tw.Close()
	f.Add(buf.Bytes(), int64(1<<20), int64(10))
	f.Add(buf.Bytes(), int64(2), int64(10))
	f.Add(buf.Bytes(), int64(1<<20), int64(1))
	f.Add([]byte("not a tar"), int64(100), int64(100))
	f.Add(make([]byte, 1024), int64(100), int64(100))
	f.Fuzz(func(t *testing.T, data []byte, maxBytes, maxFiles int64) {
		if maxBytes <= 0 || maxFiles <= 0 {
			return
		}
		b := newBudget(maxBytes, maxFiles)
		var out bytes.Buffer
		err := b.scanTar(bytes.NewReader(data), &out)
		if err != nil {
			if errors.Is(err, ErrLimit) != (b.failed() != nil) {
				t.Fatalf("limit error %v not recorded consistently", err)
			}
			return
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("accepted stream altered: %d bytes in, %d out", len(data), out.Len())
		}
		if b.files.Load() > maxFiles || b.declared.Load() > maxBytes || b.stream.Load() > maxBytes {
			t.Fatalf("accepted over the limits: files %d bytes %d/%d", b.files.Load(), b.declared.Load(), b.stream.Load())
		}
	})
}

package catalog

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// layerTar returns a tar stream holding files of the given sizes (contents that
// differ from byte to byte, so a lost or repeated chunk shows), with extra zero
// padding after the end-of-archive marker as some tools write.
func layerTar(t *testing.T, sizes ...int) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, n := range sizes {
		body := make([]byte, n)
		for j := range body {
			body[j] = byte(j*7 + i)
		}
		if err := tw.WriteHeader(&tar.Header{Name: strings.Repeat("d/", i) + "f", Mode: 0o644, Size: int64(n)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	buf.Write(make([]byte, 10240))
	return buf.Bytes()
}

// failingWriter fails once it has been given more than n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestLayerStream(t *testing.T) {
	// files smaller than, equal to and spanning several chunks, so header
	// parsing and content skips cross chunk boundaries
	big := layerTar(t, 0, 700<<10, chunkSize, 3*chunkSize+5, 1, 512)
	for _, tc := range []struct {
		name      string
		src       []byte
		srcErr    error // the source fails after delivering src
		maxBytes  int64
		maxFiles  int64
		dst       func() io.Writer
		wantErr   string // "" = the stream passes through byte for byte
		wantLimit bool
		wantFiles int64
	}{
		{name: "files across chunk boundaries", src: big, maxBytes: 1 << 30, maxFiles: 10, wantFiles: 6},
		{name: "an empty archive", src: layerTar(t), maxBytes: 1 << 20, maxFiles: 1},
		{name: "one file over max-files", src: big, maxBytes: 1 << 30, maxFiles: 5, wantErr: "more than 5 files", wantLimit: true},
		{name: "declared sizes over max-bytes", src: big, maxBytes: 4 << 20, maxFiles: 10, wantErr: "declare more than 4194304 bytes", wantLimit: true},
		{name: "the stream over max-bytes", src: layerTar(t, 0, 0, 0), maxBytes: 2048, maxFiles: 10, wantErr: "layers hold more than 2048 bytes", wantLimit: true},
		{name: "truncated inside a file", src: big[:2*chunkSize+100], maxBytes: 1 << 30, maxFiles: 10, wantErr: "reading the layer's tar stream: unexpected EOF"},
		{name: "not a tar stream", src: bytes.Repeat([]byte("not a tar "), 100), maxBytes: 1 << 30, maxFiles: 10, wantErr: "reading the layer's tar stream"},
		{name: "the source fails", src: big[:chunkSize+7], srcErr: errors.New("connection reset"), maxBytes: 1 << 30, maxFiles: 10, wantErr: "connection reset"},
		{name: "the destination fails", src: big, maxBytes: 1 << 30, maxFiles: 10, dst: func() io.Writer { return &failingWriter{n: 2 * chunkSize} }, wantErr: "disk full"},
	} {
		for _, mode := range []string{"WriteTo", "Read"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				var src io.Reader = bytes.NewReader(tc.src)
				if tc.srcErr != nil {
					src = io.MultiReader(src, iotest.ErrReader(tc.srcErr))
				}
				b := newBudget(tc.maxBytes, tc.maxFiles)
				s := &layerStream{src: io.NopCloser(src), b: b}
				var out bytes.Buffer
				var w io.Writer = &out
				if tc.dst != nil {
					if mode == "Read" {
						t.Skip("a failing destination is the WriteTo path's")
					}
					w = tc.dst()
				}
				var n int64
				var err error
				if mode == "WriteTo" {
					n, err = s.WriteTo(w)
				} else {
					n, err = io.Copy(w, struct{ io.Reader }{s}) // hide WriteTo
				}
				if cerr := s.Close(); cerr != nil {
					t.Errorf("Close: %v", cerr)
				}
				if tc.wantErr == "" {
					if err != nil {
						t.Fatalf("got %v, want the stream", err)
					}
					if !bytes.Equal(out.Bytes(), tc.src) || n != int64(len(tc.src)) {
						t.Fatalf("stream altered: %d bytes in, %d out (n=%d)", len(tc.src), out.Len(), n)
					}
					if got := b.files.Load(); got != tc.wantFiles {
						t.Errorf("counted %d entries, want %d", got, tc.wantFiles)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				if errors.Is(err, ErrLimit) != tc.wantLimit {
					t.Errorf("error %v: ErrLimit is %v, want %v", err, errors.Is(err, ErrLimit), tc.wantLimit)
				}
			})
		}
	}
}

// A layer stream is consumed once.
func TestLayerStreamOnce(t *testing.T) {
	src := layerTar(t, 10)
	s := &layerStream{src: io.NopCloser(bytes.NewReader(src)), b: newBudget(1<<20, 10)}
	if _, err := s.WriteTo(io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteTo(io.Discard); err == nil || !strings.Contains(err.Error(), "already being read") {
		t.Errorf("second WriteTo: %v, want an error", err)
	}
	if _, err := s.Read(make([]byte, 10)); err == nil || !strings.Contains(err.Error(), "already being copied") {
		t.Errorf("Read after WriteTo: %v, want an error", err)
	}
}

// Closing a stream half read ends the copy behind it.
func TestLayerStreamCloseEarly(t *testing.T) {
	src := layerTar(t, 5*chunkSize)
	s := &layerStream{src: io.NopCloser(bytes.NewReader(src)), b: newBudget(1<<30, 10)}
	if _, err := io.ReadFull(s, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // returns only once the copy has stopped
		t.Fatal(err)
	}
	if _, err := s.Read(make([]byte, 10)); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Read after Close: %v, want io.ErrClosedPipe", err)
	}
}

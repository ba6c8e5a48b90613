package catalog

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// budget counts what one catalog run has read, over all layers, and records the
// first limit crossed.
type budget struct {
	maxBytes, maxFiles int64

	stream   atomic.Int64 // bytes of uncompressed layer streams
	declared atomic.Int64 // file sizes the tar headers (or the directory) declare
	files    atomic.Int64

	mu  sync.Mutex
	err error
}

func newBudget(maxBytes, maxFiles int64) *budget {
	return &budget{maxBytes: maxBytes, maxFiles: maxFiles}
}

// fail records err as the first limit crossed and returns the recorded one.
func (b *budget) fail(err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.err = errkind.Infra(err)
	}
	return b.err
}

// failed returns the limit error, if a limit was crossed.
func (b *budget) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *budget) addFile(size int64) error {
	if n := b.files.Add(1); n > b.maxFiles {
		return b.fail(fmt.Errorf("%w: more than %d files (max-files); refusing to produce a partial SBOM", ErrLimit, b.maxFiles))
	}
	if size < 0 {
		size = 0
	}
	if n := b.declared.Add(size); n > b.maxBytes || n < 0 {
		return b.fail(fmt.Errorf("%w: the files declare more than %d bytes (max-bytes); refusing to produce a partial SBOM", ErrLimit, b.maxBytes))
	}
	return nil
}

func (b *budget) addStream(n int) error {
	if t := b.stream.Add(int64(n)); t > b.maxBytes {
		return b.fail(fmt.Errorf("%w: the layers hold more than %d bytes uncompressed (max-bytes); refusing to produce a partial SBOM", ErrLimit, b.maxBytes))
	}
	return nil
}

// limitedImage is an image whose layers' uncompressed streams are checked against
// a budget as they are read.
type limitedImage struct {
	v1.Image
	b *budget
	// blobs says each layer's Compressed stream is its stored blob (a registry,
	// an OCI layout), which uncompressBlob decompresses; otherwise (a docker
	// archive, whose layers may be stored uncompressed and compressed on demand)
	// the layer's own Uncompressed is used.
	blobs bool
}

func (i *limitedImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = &limitedLayer{Layer: l, b: i.b, blobs: i.blobs}
	}
	return out, nil
}

func (i *limitedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &limitedLayer{Layer: l, b: i.b, blobs: i.blobs}, nil
}

func (i *limitedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return &limitedLayer{Layer: l, b: i.b, blobs: i.blobs}, nil
}

type limitedLayer struct {
	v1.Layer
	b     *budget
	blobs bool
}

// Uncompressed returns the layer's tar stream, parsed on the way through: every
// header is counted before the stream reaches its end, and a crossed limit ends
// the stream with the limit error. The consumer (stereoscope) stores the whole
// stream before indexing any of it, so it never acts on a layer that failed.
func (l *limitedLayer) Uncompressed() (io.ReadCloser, error) {
	var rc io.ReadCloser
	var err error
	if l.blobs {
		if rc, err = l.Layer.Compressed(); err == nil {
			rc, err = uncompressBlob(rc)
		}
	} else {
		rc, err = l.Layer.Uncompressed()
	}
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		err := l.b.scanTar(rc, pw)
		rc.Close()
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// scanTar copies the tar stream src to dst, counting its entries and bytes.
func (b *budget) scanTar(src io.Reader, dst io.Writer) error {
	cw := &countingWriter{w: dst, b: b}
	tr := tar.NewReader(io.TeeReader(src, cw))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if lerr := b.failed(); lerr != nil {
				return lerr
			}
			return fmt.Errorf("reading the layer's tar stream: %w", err)
		}
		size := int64(0)
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeGNUSparse, tar.TypeChar, tar.TypeBlock, tar.TypeFifo, tar.TypeCont: //nolint:staticcheck // TypeRegA is folded into TypeReg by the reader
			size = hdr.Size
		}
		if err := b.addFile(size); err != nil {
			return err
		}
	}
	// the end-of-archive blocks and any padding after them
	_, err := io.Copy(cw, src)
	if lerr := b.failed(); lerr != nil {
		return lerr
	}
	return err
}

type countingWriter struct {
	w io.Writer
	b *budget
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if err := c.b.addStream(len(p)); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// walkDir counts a directory tree's entries and declared file sizes without
// following symlinks, stopping at the first crossed limit.
func (b *budget) walkDir(ctx context.Context, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return errkind.Input(fmt.Errorf("reading %s: %w", p, err))
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if p == root {
			return nil
		}
		size := int64(0)
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return errkind.Input(fmt.Errorf("reading %s: %w", p, err))
			}
			size = fi.Size()
		}
		return b.addFile(size)
	})
}

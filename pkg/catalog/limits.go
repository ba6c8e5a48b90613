package catalog

import (
	"archive/tar"
	"context"
	"errors"
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
// header is counted, and a crossed limit ends the stream with the limit error.
// The consumer (stereoscope) copies the whole stream into a file with io.Copy,
// which uses the stream's WriteTo, and keeps the file only when the copy
// succeeds, so it never acts on a layer that failed.
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
	return &layerStream{src: rc, b: l.b}, nil
}

// layerStream is a layer's uncompressed tar stream checked against a budget. It
// is consumed once, by WriteTo or by Read.
type layerStream struct {
	src  io.ReadCloser
	b    *budget
	once sync.Once
	pr   *io.PipeReader // the Read path
	done chan struct{}  // closed when the Read path's copy has ended
}

// WriteTo copies the stream to w, returning nil only when every header has been
// counted and no limit was crossed.
func (s *layerStream) WriteTo(w io.Writer) (int64, error) {
	first := false
	s.once.Do(func() { first = true })
	if !first {
		return 0, errors.New("layer stream: already being read")
	}
	cw := &countWriter{w: w}
	err := s.b.scanTar(s.src, cw)
	return cw.n, err
}

// Read reads the stream through a pipe fed by WriteTo on a goroutine of its own.
func (s *layerStream) Read(p []byte) (int, error) {
	s.once.Do(func() {
		pr, pw := io.Pipe()
		s.pr, s.done = pr, make(chan struct{})
		go func() {
			pw.CloseWithError(s.b.scanTar(s.src, pw))
			close(s.done)
		}()
	})
	if s.pr == nil {
		return 0, errors.New("layer stream: already being copied")
	}
	return s.pr.Read(p)
}

// Close ends a Read in progress and closes the stream under it.
func (s *layerStream) Close() error {
	s.once.Do(func() {})
	if s.pr != nil {
		s.pr.Close()
		<-s.done
	}
	return s.src.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// A layer stream moves in chunks of chunkSize through a pipeline of three
// goroutines, so decompression (the largest single cost of cataloguing an image)
// never waits for the rest: one decompresses ahead, one writes the chunks to the
// destination, one counts each chunk's bytes and then parses the tar headers in
// it, skipping file contents without copying them. The counting is the parser's,
// so a stream's limits are checked in stream order (a header declaring too much
// is reported as that, whatever follows it), and the writer is never more than
// chunkBuffers chunks ahead.
const (
	chunkSize    = 1 << 20
	chunkBuffers = 4
)

var chunks = sync.Pool{New: func() any { return make([]byte, chunkSize) }}

// scanTar copies the tar stream src to dst, counting its entries and bytes. It
// returns nil only once every header of the stream has been counted within the
// limits and every byte (the end-of-archive blocks and any padding after them
// too) has been written to dst.
func (b *budget) scanTar(src io.Reader, dst io.Writer) error {
	free := make(chan []byte, chunkBuffers)
	defer func() { // every buffer is back once the three stages have ended
		for range len(free) {
			chunks.Put(<-free) //nolint:staticcheck // a slice header is small next to its 1 MiB array
		}
	}()
	quit := make(chan struct{}) // closed when the writer stops
	filled := make(chan []byte)
	readDone := make(chan struct{})
	var readErr error
	go func() {
		defer close(readDone)
		defer close(filled)
		for allocated := 0; ; {
			var buf []byte
			select {
			case buf = <-free:
			case <-quit:
				return
			default:
				if allocated < chunkBuffers {
					buf = chunks.Get().([]byte)
					allocated++
				} else {
					select {
					case buf = <-free:
					case <-quit:
						return
					}
				}
			}
			n, err := io.ReadFull(src, buf)
			if n > 0 {
				select {
				case filled <- buf[:n]:
				case <-quit:
					return
				}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return
			}
			if err != nil {
				readErr = err
				return
			}
		}
	}()

	written := make(chan []byte, chunkBuffers) // never blocks: at most chunkBuffers chunks exist
	scanFailed := make(chan struct{})
	scanned := make(chan error, 1)
	go func() {
		cr := &chunkReader{in: written, free: free, b: b}
		err := b.scanHeaders(cr)
		if err != nil {
			close(scanFailed)
			cr.discard()
		} else {
			err = cr.drain() // what follows the end-of-archive marker counts too
		}
		scanned <- err
	}()

	var werr error
write:
	for c := range filled {
		select {
		case <-scanFailed:
			free <- c[:cap(c)]
			break write
		default:
		}
		if _, werr = dst.Write(c); werr != nil {
			free <- c[:cap(c)]
			break
		}
		written <- c
	}
	close(quit)
	close(written)
	<-readDone
	serr := <-scanned
	if lerr := b.failed(); lerr != nil {
		return lerr
	}
	// the first failure explains the others: a short source or a failed write
	// also ends the header scan early
	switch {
	case readErr != nil:
		return readErr
	case werr != nil:
		return werr
	default:
		return serr
	}
}

// scanHeaders counts the entries of the tar stream r.
func (b *budget) scanHeaders(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
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
}

// chunkReader reads the chunks arriving on in as one stream, counting each
// chunk's bytes against the budget as it arrives and handing its buffer back to
// free once it is consumed.
type chunkReader struct {
	in   <-chan []byte
	free chan<- []byte
	b    *budget
	cur  []byte // the unread part of the current chunk
	buf  []byte // the current chunk
	pos  int64
	err  error // a crossed limit, else io.EOF at the end
}

func (r *chunkReader) next() bool {
	if r.err != nil {
		return false
	}
	r.recycle()
	c, ok := <-r.in
	if !ok {
		r.err = io.EOF
		return false
	}
	r.buf = c
	if err := r.b.addStream(len(c)); err != nil {
		r.err = err
		return false
	}
	r.cur = c
	return true
}

func (r *chunkReader) recycle() {
	if r.buf != nil {
		r.free <- r.buf[:cap(r.buf)]
		r.buf, r.cur = nil, nil
	}
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if !r.next() {
			return 0, r.err
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	r.pos += int64(n)
	return n, nil
}

// Seek skips forward from the current position (the only seek it supports):
// archive/tar skips file contents this way when its reader can seek. A skip past
// the end of the stream stops there; the reader's next Read reports the end.
func (r *chunkReader) Seek(off int64, whence int) (int64, error) {
	if whence != io.SeekCurrent || off < 0 {
		return r.pos, errors.New("layer stream: only forward skips")
	}
	for off > 0 {
		if len(r.cur) == 0 {
			if !r.next() {
				break
			}
			continue
		}
		n := min(off, int64(len(r.cur)))
		r.cur = r.cur[n:]
		r.pos += n
		off -= n
	}
	return r.pos, nil
}

// drain consumes and counts the rest of the stream, returning a crossed limit.
func (r *chunkReader) drain() error {
	for r.next() {
	}
	if r.err == io.EOF {
		return nil
	}
	r.discard()
	return r.err
}

// discard hands back the rest of the stream uncounted (the scan has failed).
func (r *chunkReader) discard() {
	r.recycle()
	for c := range r.in {
		r.free <- c[:cap(c)]
	}
}

// walkDir counts a directory tree's entries and declared file sizes without
// following symlinks, stopping at the first crossed limit. With t, it records
// every entry in t.
func (b *budget) walkDir(ctx context.Context, root string, t *tree) error {
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
		if d.Type().IsRegular() || t != nil {
			fi, err := d.Info()
			if err != nil {
				return errkind.Input(fmt.Errorf("reading %s: %w", p, err))
			}
			if d.Type().IsRegular() {
				size = fi.Size()
			}
			if t != nil {
				rel, err := filepath.Rel(root, p)
				if err != nil {
					return errkind.Input(fmt.Errorf("reading %s: %w", p, err))
				}
				if err := t.add(root, filepath.ToSlash(rel), d, fi); err != nil {
					return errkind.Input(err)
				}
			}
		}
		return b.addFile(size)
	})
}

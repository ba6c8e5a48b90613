package catalog

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Decompressing the layers is the largest single cost of cataloguing an image,
// and Go's compress/gzip (what go-containerregistry's Uncompressed uses) is the
// slower of the two gzip readers in the module graph. For layers whose
// Compressed stream is the stored blob (a registry, an OCI layout),
// uncompressBlob does what go-containerregistry's Uncompressed does for them —
// the verified compressed stream, its compression told from its first bytes,
// gzip, zstd or none — with klauspost/compress's readers, which yield the same
// bytes faster. The compressed stream's digest is still checked as it is read
// to the end.

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// uncompressBlob returns the uncompressed stream of the compressed stream rc,
// closing rc when it is closed.
func uncompressBlob(rc io.ReadCloser) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(rc, 1<<16)
	head, err := br.Peek(len(zstdMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		rc.Close()
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return &closeBoth{Reader: zr, closeFirst: zr.Close, closeSecond: rc.Close}, nil
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, err
		}
		return &closeBoth{Reader: zr, closeFirst: func() error { zr.Close(); return nil }, closeSecond: rc.Close}, nil
	default:
		return &closeBoth{Reader: br, closeFirst: func() error { return nil }, closeSecond: rc.Close}, nil
	}
}

// closeBoth reads from Reader and closes the decompressor, then the stream under it.
type closeBoth struct {
	io.Reader
	closeFirst, closeSecond func() error
}

func (c *closeBoth) Close() error {
	_ = c.closeFirst() // a failed stream returns its error from Read already
	return c.closeSecond()
}

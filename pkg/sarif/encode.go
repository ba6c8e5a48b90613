package sarif

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	gosarif "github.com/owenrumney/go-sarif/v2/sarif"
)

// Write builds one SARIF document from runs (see Build) and writes it to w.
// Nothing is written when the runs are invalid.
func Write(w io.Writer, runs []Run, opts Options) error {
	data, err := encode(runs, opts)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("writing SARIF: %w", err)
	}
	return nil
}

// WriteFile builds one SARIF document from runs (see Build) and writes it to
// path atomically: the document goes to a temporary file in the same directory
// that is renamed over path, so path never holds a partial document, and is
// left untouched when the runs are invalid or writing fails.
func WriteFile(path string, runs []Run, opts Options) error {
	data, err := encode(runs, opts)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// encode builds one SARIF document from runs (see Build) and marshals it.
func encode(runs []Run, opts Options) ([]byte, error) {
	rep, err := Build(runs, opts)
	if err != nil {
		return nil, err
	}
	return Marshal(rep)
}

// Marshal encodes a go-sarif report deterministically: indented JSON with map
// keys sorted, no HTML escaping, a trailing newline, and no null members
// (go-sarif emits null for unset suppression and rule fields, which the SARIF
// schema rejects).
func Marshal(rep *gosarif.Report) ([]byte, error) {
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		return nil, fmt.Errorf("encoding SARIF: %w", err)
	}
	compact, err := stripNulls(bytes.TrimSuffix(raw.Bytes(), []byte{'\n'}))
	if err != nil {
		return nil, fmt.Errorf("encoding SARIF: %w", err)
	}
	var out bytes.Buffer
	out.Grow(len(compact) + len(compact)/4)
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return nil, fmt.Errorf("encoding SARIF: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// stripNulls removes object members whose value is null from compact JSON as
// encoding/json produces it (no whitespace outside strings: it compacts even
// json.Marshaler output), keeping everything else byte for byte. Outside a
// string, a string followed by ':' is an object key, so `"key":null` followed
// by ',' or '}' is exactly a null member.
func stripNulls(src []byte) ([]byte, error) {
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); {
		c := src[i]
		if c != '"' {
			out = append(out, c)
			i++
			continue
		}
		j, err := stringEnd(src, i)
		if err != nil {
			return nil, err
		}
		if j < len(src) && src[j] == ':' && bytes.HasPrefix(src[j+1:], []byte("null")) {
			k := j + 1 + len("null")
			if k < len(src) && src[k] == ',' {
				i = k + 1 // drop `"key":null,`
				continue
			}
			if k < len(src) && src[k] == '}' {
				out = bytes.TrimSuffix(out, []byte{','}) // drop `,"key":null`
				i = k
				continue
			}
		}
		out = append(out, src[i:j]...)
		i = j
	}
	return out, nil
}

// stringEnd returns the index just after the JSON string starting at src[i].
func stringEnd(src []byte, i int) (int, error) {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated JSON string at byte %d", i)
}

// writeFileAtomic writes data to a temporary file next to path, syncs it and
// renames it over path.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing SARIF file %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing SARIF file %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing SARIF file %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing SARIF file %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing SARIF file %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing SARIF file %s: %w", path, err)
	}
	return nil
}

// gzipBytes compresses data the way Upload sends it; Pack measures documents
// with the same function.
func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return nil, fmt.Errorf("compressing SARIF: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing SARIF: %w", err)
	}
	return buf.Bytes(), nil
}

// gzipSize is len(gzipBytes(data)) without keeping the output.
func gzipSize(data []byte) (int64, error) {
	var cw countWriter
	zw := gzip.NewWriter(&cw)
	if _, err := zw.Write(data); err != nil {
		return 0, fmt.Errorf("compressing SARIF: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("compressing SARIF: %w", err)
	}
	return cw.n, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

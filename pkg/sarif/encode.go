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
	rep, err := Build(runs, opts)
	if err != nil {
		return err
	}
	data, err := Marshal(rep)
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
	rep, err := Build(runs, opts)
	if err != nil {
		return err
	}
	data, err := Marshal(rep)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
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
	compact, err := stripNulls(raw.Bytes())
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

// stripNulls re-emits compact JSON without object members whose value is null,
// keeping member order.
func stripNulls(src []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	s := &nullStripper{dec: dec}
	s.enc = json.NewEncoder(&s.str)
	s.enc.SetEscapeHTML(false)
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if err := s.value(tok); err != nil {
		return nil, err
	}
	return s.out.Bytes(), nil
}

type nullStripper struct {
	dec *json.Decoder
	out bytes.Buffer
	str bytes.Buffer // scratch for encoding one string
	enc *json.Encoder
}

func (s *nullStripper) value(tok json.Token) error {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			s.out.WriteByte('{')
			first := true
			for s.dec.More() {
				kt, err := s.dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				vt, err := s.dec.Token()
				if err != nil {
					return err
				}
				if vt == nil {
					continue
				}
				if !first {
					s.out.WriteByte(',')
				}
				first = false
				if err := s.string(key); err != nil {
					return err
				}
				s.out.WriteByte(':')
				if err := s.value(vt); err != nil {
					return err
				}
			}
			if _, err := s.dec.Token(); err != nil { // '}'
				return err
			}
			s.out.WriteByte('}')
		case '[':
			s.out.WriteByte('[')
			first := true
			for s.dec.More() {
				vt, err := s.dec.Token()
				if err != nil {
					return err
				}
				if !first {
					s.out.WriteByte(',')
				}
				first = false
				if err := s.value(vt); err != nil {
					return err
				}
			}
			if _, err := s.dec.Token(); err != nil { // ']'
				return err
			}
			s.out.WriteByte(']')
		default:
			return fmt.Errorf("unexpected JSON delimiter %q", t)
		}
	case string:
		return s.string(t)
	case json.Number:
		s.out.WriteString(t.String())
	case bool:
		if t {
			s.out.WriteString("true")
		} else {
			s.out.WriteString("false")
		}
	case nil:
		s.out.WriteString("null")
	default:
		return fmt.Errorf("unexpected JSON token %T", tok)
	}
	return nil
}

func (s *nullStripper) string(v string) error {
	s.str.Reset()
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	s.out.Write(bytes.TrimSuffix(s.str.Bytes(), []byte{'\n'}))
	return nil
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

package sarif

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	gosarif "github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// Read parses an untrusted SARIF document (another tool's output) of at most
// maxBytes bytes. It rejects, as errkind.Input errors saying what was expected:
// input over maxBytes, malformed JSON or data after the document, a version
// other than "2.1.0", and documents whose runs, tool.driver, rules or results
// are missing or null where the rest of the code would dereference them. It
// does not apply GitHub's limits; see Check.
func Read(r io.Reader, maxBytes int64) (*gosarif.Report, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("reading SARIF: size limit %d: expected a positive number of bytes", maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading SARIF: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, errkind.Input(fmt.Errorf("reading SARIF: input is larger than the %d-byte limit", maxBytes))
	}
	rep, err := parse(data)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("reading SARIF: %w", err))
	}
	return rep, nil
}

func parse(data []byte) (*gosarif.Report, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("input is empty: expected a SARIF 2.1.0 JSON document")
	}
	// The version first, so a document of another SARIF version gets that
	// error rather than a type mismatch in some field of the 2.1.0 model.
	var head struct {
		Version json.RawMessage `json:"version"`
	}
	if err := decodeOne(data, &head); err != nil {
		return nil, err
	}
	var version string
	if len(head.Version) == 0 || json.Unmarshal(head.Version, &version) != nil || version != string(gosarif.Version210) {
		v := textclip.Clip(string(head.Version), 64)
		if v == "" {
			v = "missing"
		}
		return nil, fmt.Errorf("version %s is not supported: expected \"2.1.0\"", v)
	}
	var rep gosarif.Report
	if err := decodeOne(data, &rep); err != nil {
		return nil, err
	}
	if rep.Runs == nil {
		return nil, errors.New(`"runs" is missing or null: expected an array of runs`)
	}
	for i, r := range rep.Runs {
		if r == nil {
			return nil, fmt.Errorf("runs[%d] is null: expected a run object", i)
		}
		if r.Tool.Driver == nil {
			return nil, fmt.Errorf("runs[%d].tool.driver is missing: expected the tool's name", i)
		}
		if r.Tool.Driver.Name == "" {
			return nil, fmt.Errorf("runs[%d].tool.driver.name is empty: expected the tool's name", i)
		}
		for j, rule := range r.Tool.Driver.Rules {
			if rule == nil {
				return nil, fmt.Errorf("runs[%d].tool.driver.rules[%d] is null: expected a rule object", i, j)
			}
		}
		for j, ext := range r.Tool.Extensions {
			if ext == nil {
				return nil, fmt.Errorf("runs[%d].tool.extensions[%d] is null: expected a tool component", i, j)
			}
		}
		for j, res := range r.Results {
			if res == nil {
				return nil, fmt.Errorf("runs[%d].results[%d] is null: expected a result object", i, j)
			}
			for k, loc := range res.Locations {
				if loc == nil {
					return nil, fmt.Errorf("runs[%d].results[%d].locations[%d] is null: expected a location object", i, j, k)
				}
			}
		}
	}
	return &rep, nil
}

// decodeOne decodes exactly one JSON value from data into v.
func decodeOne(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return fmt.Errorf("malformed JSON at byte %d: %w", syn.Offset, err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("malformed JSON: document is truncated: %w", err)
		}
		return fmt.Errorf("malformed SARIF: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("malformed JSON: data after the document at byte %d", dec.InputOffset())
	}
	return nil
}

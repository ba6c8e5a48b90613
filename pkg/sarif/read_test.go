package sarif

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "report.sarif.golden"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Read(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 3 || rep.Runs[0].Tool.Driver.Name != "gitleaks" || len(rep.Runs[1].Results) != 2 {
		t.Errorf("read back %d runs, first tool %q", len(rep.Runs), rep.Runs[0].Tool.Driver.Name)
	}
	// What Read returns encodes back to the same document.
	again, err := Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Errorf("Read+Marshal does not round-trip the golden file:\n%s", again)
	}
}

func TestReadRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "input is empty"},
		{"not json", "<?xml version='1.0'?>", "malformed JSON at byte 1"},
		{"truncated", `{"version":"2.1.0","runs":[{"tool":`, "truncated"},
		{"trailing data", `{"version":"2.1.0","runs":[]} {}`, "data after the document"},
		{"array", `[]`, "malformed SARIF"},
		{"null", `null`, "version missing is not supported"},
		{"no version", `{"runs":[]}`, "version missing is not supported"},
		{"sarif 2.0", `{"version":"2.0.0","runs":[]}`, `version "2.0.0" is not supported: expected "2.1.0"`},
		{"rtm draft", `{"version":"2.1.0-rtm.5","runs":[]}`, `version "2.1.0-rtm.5"`},
		{"numeric version", `{"version":2.1,"runs":[]}`, "version 2.1 is not supported"},
		{"no runs", `{"version":"2.1.0"}`, `"runs" is missing`},
		{"null run", `{"version":"2.1.0","runs":[null]}`, "runs[0] is null"},
		{"no driver", `{"version":"2.1.0","runs":[{"tool":{},"results":[]}]}`, "runs[0].tool.driver is missing"},
		{"unnamed driver", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":""}}}]}`, "tool.driver.name is empty"},
		{"null rule", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[null]}}}]}`, "rules[0] is null"},
		{"null result", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{}},null]}]}`, "results[1] is null"},
		{"null location", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"locations":[null]}]}]}`, "locations[0] is null"},
		{"wrong type", `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":7}}}]}`, "cannot unmarshal number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.in), 1<<20)
			wantInputError(t, err, "Read of "+tt.in, tt.want)
		})
	}
}

func TestReadIsBounded(t *testing.T) {
	doc := `{"version":"2.1.0","runs":[]}`
	if _, err := Read(strings.NewReader(doc), int64(len(doc))); err != nil {
		t.Fatalf("a document of exactly the limit was refused: %v", err)
	}
	_, err := Read(strings.NewReader(doc), int64(len(doc)-1))
	if err == nil || !strings.Contains(err.Error(), "larger than the 28-byte limit") {
		t.Fatalf("err = %v, want the size limit", err)
	}
	// The bound holds for an endless stream: Read stops after maxBytes+1.
	endless := io.MultiReader(strings.NewReader(`{"version":"2.1.0","runs":[`), zeros{})
	if _, err := Read(endless, 1<<16); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("endless input: err = %v", err)
	}
	if _, err := Read(strings.NewReader(doc), 0); err == nil {
		t.Error("Read accepted a zero limit")
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func FuzzRead(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "report.sarif.golden"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	for _, s := range []string{
		`{"version":"2.1.0","runs":[]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"r","properties":{"tags":["a"]}}]}},"results":[{"ruleId":"r","message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a"}}}],"codeFlows":[null,{"threadFlows":[null,{"locations":[{}]}]}]}],"automationDetails":{"id":"c/"}}]}`,
		`{"version":"2.0.0"}`,
		`{"version":"2.1.0","runs":[null]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":null}}]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"suppressions":[null],"fixes":[null]}]}]}`,
		`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`,
		`{"version":"2.1.0","runs":[],"x":1e999}`,
		"\xff\xfe{}",
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Read(bytes.NewReader(data), 1<<20)
		if err != nil {
			if rep != nil {
				t.Fatal("Read returned a report with an error")
			}
			return
		}
		if rep.Version != "2.1.0" {
			t.Fatalf("Read accepted version %q", rep.Version)
		}
		for i, r := range rep.Runs {
			if r == nil || r.Tool.Driver == nil || r.Tool.Driver.Name == "" {
				t.Fatalf("run %d lacks a named driver", i)
			}
		}
		// What the rest of the package does with a read report must not panic.
		_ = Check(rep, Limits{})
		for _, r := range rep.Runs {
			_ = Category(r)
		}
		if _, err := Marshal(rep); err != nil {
			t.Fatalf("a report Read accepted does not encode: %v", err)
		}
	})
}

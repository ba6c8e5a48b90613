package dast

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// Any input either parses into alerts within the bounds or is an input error;
// it never panics.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	sarifs, _ := filepath.Glob("testdata/*.sarif")
	for _, p := range append(files, sarifs...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse("fuzz.json", bytes.NewReader(data))
		if err != nil {
			if errkind.ExitCode(err) != errkind.ExitInput {
				t.Fatalf("non-input error: %v", err)
			}
			return
		}
		if len(rep.Alerts) > MaxAlerts {
			t.Fatalf("%d alerts", len(rep.Alerts))
		}
		for _, a := range rep.Alerts {
			if a.Count < 1 || a.Count > maxCount || len(a.URLs) > MaxURLsPerAlert || a.Risk < Informational || a.Risk > Critical {
				t.Fatalf("alert out of bounds: %+v", a)
			}
		}
	})
}

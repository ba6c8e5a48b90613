package scan

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestScannersMatchInput keeps the scanner list equal to the scan action's
// scanners input: its default (every scanner, in report order), the names its
// description offers, ParseScanners and AllScanners.
func TestScannersMatchInput(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../actions/scan/action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
			Default     string `yaml:"default"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(raw, &action); err != nil {
		t.Fatal(err)
	}
	in := action.Inputs["scanners"]
	input := strings.Split(in.Default, ",")
	var listed []string
	for _, s := range scanners {
		listed = append(listed, s.name)
	}
	if !slices.Equal(listed, input) || !slices.Equal(listed, AllScanners) {
		t.Fatalf("scanners %v, action.yml scanners default %v, AllScanners %v: want the same names in the same order", listed, input, AllScanners)
	}
	all, err := ParseScanners(nil)
	if err != nil || !slices.Equal(all, listed) {
		t.Errorf("ParseScanners(nil) = %v, %v; want %v", all, err, listed)
	}
	for _, s := range scanners {
		t.Run(s.name, func(t *testing.T) {
			if got, err := ParseScanners([]string{" " + strings.ToUpper(s.name) + " "}); err != nil || !slices.Equal(got, []string{s.name}) {
				t.Errorf("ParseScanners(%q) = %v, %v", s.name, got, err)
			}
			if !strings.Contains(in.Description, s.name) {
				t.Errorf("action.yml scanners description %q does not name %q", in.Description, s.name)
			}
			if s.scan == nil {
				t.Error("no scan function")
			}
		})
	}
	for _, bad := range []string{"virus", "secret", "sarif-inputs", ""} {
		if _, err := ParseScanners([]string{bad}); err == nil {
			t.Errorf("ParseScanners(%q) accepted an unknown scanner", bad)
		}
	}
}

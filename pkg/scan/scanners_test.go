package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/errkind"
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

// TestScanAllReportsTheCauseNotTheCancellation: a scanner that stops the others
// with an input error (iac-plan names a missing file) fails the scan with that
// input error (exit 2); the scanners it cancelled do not add their
// cancellation as an infrastructure error (exit 3), nor a catalog timeout that
// never happened. An error of its own before the stop is still reported, and
// so is a cancellation from outside (the run's own deadline).
func TestScanAllReportsTheCauseNotTheCancellation(t *testing.T) {
	t.Parallel()
	input := func(context.Context, *target) (part, error) {
		return part{}, errkind.Input(errors.New("iac-plan /missing.json: no such file"))
	}
	cancelled := func(ctx context.Context, _ *target) (part, error) {
		<-ctx.Done()
		return part{}, errkind.Infra(fmt.Errorf("cataloguing took longer than the timeout: %w", ctx.Err()))
	}
	early := make(chan struct{})
	infraFirst := func(context.Context, *target) (part, error) {
		defer close(early)
		return part{}, errkind.Infra(errors.New("the DB could not be read"))
	}
	inputAfter := func(context.Context, *target) (part, error) {
		<-early
		return part{}, errkind.Input(errors.New("iac-plan /missing.json: no such file"))
	}
	for _, tc := range []struct {
		name     string
		parent   func() (context.Context, context.CancelFunc)
		scanners []scanner
		kind     errkind.Kind
		want     []string
		not      []string
	}{
		{
			name:     "input error cancels a running scanner",
			scanners: []scanner{{name: Secrets, stopsOthers: true, scan: cancelled}, {name: IaC, stopsOthers: true, scan: input}},
			kind:     errkind.KindInput,
			want:     []string{"iac-plan"},
			not:      []string{"timeout", "canceled"},
		},
		{
			name:     "a non-stopping error before the stop is kept",
			scanners: []scanner{{name: License, scan: infraFirst}, {name: IaC, stopsOthers: true, scan: inputAfter}},
			kind:     errkind.KindInfra,
			want:     []string{"DB could not be read", "iac-plan"},
		},
		{
			name: "a cancellation from outside is reported",
			parent: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, func() {}
			},
			scanners: []scanner{{name: Secrets, stopsOthers: true, scan: cancelled}, {name: IaC, stopsOthers: true, scan: cancelled}},
			kind:     errkind.KindInfra,
			want:     []string{"timeout"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tc.parent != nil {
				ctx, cancel = tc.parent()
			}
			defer cancel()
			tg := &target{}
			_, err := tg.scanAll(ctx, tc.scanners)
			if err == nil {
				t.Fatal("scanAll succeeded with a failing scanner")
			}
			if k := errkind.Of(err); k != tc.kind {
				t.Errorf("kind %v, want %v: %v", k, tc.kind, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q reports the cancellation (%q)", err, n)
				}
			}
		})
	}
}

package iac_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
)

// scan runs Scan and fails the test on error.
func scan(t *testing.T, dir string, o iac.Options) []finding.Finding {
	t.Helper()
	fs, err := iac.Scan(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Scan(%s): %v", dir, err)
	}
	return fs
}

// short renders findings as "rule path:line" for comparison.
func short(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s:%d", f.RuleID, f.Path, f.StartLine))
	}
	return out
}

func itoa(i int) string { return fmt.Sprint(i) }

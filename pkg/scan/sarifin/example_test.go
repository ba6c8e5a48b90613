package sarifin_test

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/secure-gates/secure-gates/pkg/scan/sarifin"
)

func ExampleIngest() {
	root, _ := filepath.Abs("testdata")
	res, err := sarifin.Ingest(context.Background(), []string{"codeql.sarif"}, sarifin.Options{Root: root})
	if err != nil {
		panic(err)
	}
	for _, f := range res.Findings {
		fmt.Println(f.Scanner, f.RuleID, f.Severity, f.Path, f.StartLine)
	}
	// Output:
	// CodeQL js/xss medium web/index.js 40
	// CodeQL js/xss medium web/other.js 2
}

package scan_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/scan"
)

func ExampleRun() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM node:latest\nCMD [\"node\", \"app.js\"]\n"), 0o644)

	res, err := scan.Run(context.Background(), scan.Options{Root: dir, Scanners: []string{scan.Secrets, scan.IaC}, SeverityCutoff: finding.High})
	if err != nil {
		panic(err)
	}
	for _, f := range res.Findings {
		fmt.Println(f.Severity, f.Scanner, f.RuleID, f.Path)
	}
	fmt.Println("decision:", res.Decision)
	out, _ := os.MkdirTemp("", "out")
	defer os.RemoveAll(out)
	files, err := res.WriteFiles(out, scan.WriteOptions{Category: "secure-gates"})
	if err != nil {
		panic(err)
	}
	fmt.Println(filepath.Base(files.SARIF), filepath.Base(files.CodeScan), files.Vuln == "")
	// Output:
	// high iac docker-base-digest Dockerfile
	// high iac docker-user Dockerfile
	// decision: fail
	// scan.sarif code-scan.json true
}

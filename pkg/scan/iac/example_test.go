package iac_test

import (
	"context"
	"fmt"

	"github.com/secure-gates/secure-gates/pkg/scan/iac"
)

func ExampleScan() {
	findings, err := iac.Scan(context.Background(), "testdata/multidoc", iac.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range findings {
		fmt.Printf("%s %s %s:%d %s\n", f.Severity, f.RuleID, f.Path, f.StartLine, f.Message)
	}
	// Output:
	// critical k8s-privileged all.yaml:47 CronJob/nightly: container "job" runs privileged
	// high k8s-host-namespace all.yaml:14 Pod/tool: hostNetwork is true
}

func ExampleRules() {
	for _, r := range iac.Rules() {
		if r.ID == "gha-script-injection" {
			fmt.Println(r.Severity, r.Title)
		}
	}
	// Output:
	// critical Untrusted input expanded into a script
}

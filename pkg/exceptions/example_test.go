package exceptions_test

import (
	"fmt"
	"time"

	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
)

func ExampleParse() {
	set, err := exceptions.Parse([]byte(`exceptions:
  - id: CVE-2021-23337
    scope: pkg:npm/lodash
    reason: template() never sees user input
    ticket: SEC-42
    expires: 2027-02-01
`), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	fs := []finding.Finding{{Scanner: "deps", RuleID: "CVE-2021-23337", PURL: "pkg:npm/lodash@4.17.20", Severity: finding.High}}
	applied, expired := set.Apply(fs)
	fmt.Println(fs[0].Waived.Ticket, applied[0].Findings, len(expired))
	// Output: SEC-42 1 0
}

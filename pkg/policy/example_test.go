package policy_test

import (
	"fmt"

	"github.com/secure-gates/secure-gates/pkg/policy"
)

func ExampleParse() {
	p, err := policy.Parse([]byte(`
apiVersion: secure-gates/v1
kind: Policy
identities:
  - issuer: https://token.actions.githubusercontent.com
    subject-regexp: ^https://github\.com/acme/widgets/\.github/workflows/release\.yml@refs/heads/main$
require:
  - type: vuln
    max-age: 24h
    deny: {severity: critical}
`), policy.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Mode, p.Require[0].PredicateType, p.Require[0].MaxAge)

	_, err = policy.Parse([]byte(`
apiVersion: secure-gates/v1
kind: Policy
identities:
  - issuer: https://token.actions.githubusercontent.com
    subject-regexp: https://github\.com/acme/
require: [{type: vuln}]
`), policy.Options{})
	fmt.Println(err)
	// Output:
	// enforce https://cosign.sigstore.dev/attestation/vuln/v1 24h0m0s
	// identities[0].subject-regexp: `https://github\.com/acme/` is not anchored: it must start with ^ and end with $, e.g. `^https://github\.com/acme/$`
}

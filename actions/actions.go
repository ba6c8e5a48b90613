// Package actions lists every gate of the suite, in pipeline order. main dispatches
// to them and the action-test harness checks each one against its action.yml.
package actions

import (
	assess "github.com/secure-gates/secure-gates/actions/assess"
	attest "github.com/secure-gates/secure-gates/actions/attest"
	policycheck "github.com/secure-gates/secure-gates/actions/policy-check"
	sbom "github.com/secure-gates/secure-gates/actions/sbom"
	scan "github.com/secure-gates/secure-gates/actions/scan"
	sign "github.com/secure-gates/secure-gates/actions/sign"
	threatmodel "github.com/secure-gates/secure-gates/actions/threat-model"
	verify "github.com/secure-gates/secure-gates/actions/verify-and-deploy"
	"github.com/secure-gates/secure-gates/internal/gate"
)

// All returns the gates in pipeline order, then assess and policy-check (checks of
// a repository and of its verify-and-deploy policy file, not steps of the chain).
func All() []gate.Gate {
	return []gate.Gate{scan.Gate, sbom.Gate, sign.Gate, attest.Gate, verify.Gate, threatmodel.Gate, assess.Gate, policycheck.Gate}
}

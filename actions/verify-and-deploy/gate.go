// Package verifyanddeploy is the verify-and-deploy action. Its inputs are declared in action.yml; the gate
// itself lands with its own issue and until then refuses to run (exit code 2)
// rather than pretend to check anything.
package verifyanddeploy

import (
	_ "embed"

	"github.com/secure-gates/secure-gates/internal/gate"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the verify-and-deploy subcommand.
var Gate = gate.Gate{
	Name:       "verify-and-deploy",
	ActionYAML: actionYAML,
	Run:        gate.NotImplemented("verify-and-deploy"),
}

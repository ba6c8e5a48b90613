// Package sign is the sign action. Its inputs are declared in action.yml; the gate
// itself lands with its own issue and until then refuses to run (exit code 2)
// rather than pretend to check anything.
package sign

import (
	_ "embed"

	"github.com/secure-gates/secure-gates/internal/gate"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the sign subcommand.
var Gate = gate.Gate{
	Name:       "sign",
	ActionYAML: actionYAML,
	Run:        gate.NotImplemented("sign"),
}

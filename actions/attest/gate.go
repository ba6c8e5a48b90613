// Package attest is the attest action. Its inputs are declared in action.yml; the gate
// itself lands with its own issue and until then refuses to run (exit code 2)
// rather than pretend to check anything.
package attest

import (
	_ "embed"

	"github.com/secure-gates/secure-gates/internal/gate"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the attest subcommand.
var Gate = gate.Gate{
	Name:       "attest",
	ActionYAML: actionYAML,
	Run:        gate.NotImplemented("attest"),
}

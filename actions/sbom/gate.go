// Package sbom is the sbom action. Its inputs are declared in action.yml; the gate
// itself lands with its own issue and until then refuses to run (exit code 2)
// rather than pretend to check anything.
package sbom

import (
	_ "embed"

	"github.com/secure-gates/secure-gates/internal/gate"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the sbom subcommand.
var Gate = gate.Gate{
	Name:       "sbom",
	ActionYAML: actionYAML,
	Run:        gate.NotImplemented("sbom"),
}

package signing

import "github.com/secure-gates/secure-gates/pkg/oci"

// TargetInputs are the image, require-digest and registry credential inputs of
// the gates that sign or attest an image (sign, attest); a gate embeds them in
// its Inputs (gha.Decode tags) next to Inputs.
type TargetInputs struct {
	Image         string `input:"image"`
	RequireDigest bool   `input:"require-digest"`
	oci.RegistryInputs
}

// Target is the image these inputs name and how to reach it.
func (in TargetInputs) Target() Target {
	return Target{Image: in.Image, RequireDigest: in.RequireDigest, Registry: in.RegistryInputs.Options()}
}

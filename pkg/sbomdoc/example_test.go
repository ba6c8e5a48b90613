package sbomdoc_test

import (
	"fmt"

	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/sbomdoc"
)

// The purl an image SBOM names its subject by, and the documents' file names.
func ExampleImagePURL() {
	ref := oci.Ref{Repository: "ghcr.io/acme/widgets", Digest: "sha256:3ba5c9ea086ec3b11831956de3d95f4591e9296c0087c70172aaf27d99cbdee4"}
	fmt.Println(sbomdoc.ImagePURL(ref, "amd64"))
	formats, _ := sbomdoc.ParseFormats([]string{"cyclonedx-json", "spdx-json"})
	for _, f := range formats {
		fmt.Println(f.FileName("sbom"))
	}
	// Output:
	// pkg:oci/widgets@sha256:3ba5c9ea086ec3b11831956de3d95f4591e9296c0087c70172aaf27d99cbdee4?arch=amd64&repository_url=ghcr.io%2Facme%2Fwidgets
	// sbom.cdx.json
	// sbom.spdx.json
}

package verify_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// An image nobody signed or attested fails every requirement, and the report
// lists all of them at once.
func ExampleVerify() {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(64, 1)
	tag, _ := name.ParseReference(host + "/acme/widgets:v1")
	_ = remote.Write(tag, img)

	ctx := context.Background()
	ref, err := oci.Resolve(ctx, tag.String(), oci.Options{}) // once; the tag is not used again
	if err != nil {
		fmt.Println(err)
		return
	}
	pol, err := policy.Parse([]byte(`
apiVersion: secure-gates/v1
kind: Policy
identities:
  - issuer: https://token.actions.githubusercontent.com
    subject-regexp: ^https://github\.com/acme/widgets/\.github/workflows/release\.yml@refs/heads/main$
require:
  - type: cyclonedx
  - type: vuln
    max-age: 24h
`), policy.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := verify.Verify(ctx, ref, verify.Options{Policy: pol})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verified:", rep.Verified)
	for _, f := range rep.Failures() {
		fmt.Println(f)
	}
	// Output:
	// verified: false
	// signature: image is not signed: no signature found (legacy .sig tag or Sigstore bundle referrer)
	// cyclonedx: missing: no attestation of type https://cyclonedx.org/bom is attached
	// vuln: missing: no attestation of type https://cosign.sigstore.dev/attestation/vuln/v1 is attached
}

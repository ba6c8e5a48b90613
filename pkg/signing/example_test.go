package signing_test

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
	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// Sign an image by digest with a cosign key, then attest a vulnerability scan
// on it, in both formats.
func Example() {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(256, 1)
	tag, _ := name.ParseReference(host + "/acme/app:v1")
	_ = remote.Write(tag, img)

	ctx := context.Background()
	ref, err := oci.Resolve(ctx, tag.String(), oci.Options{}) // the tag is never used again
	if err != nil {
		fmt.Println(err)
		return
	}
	keys, _ := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte("pw"), nil })
	opts := signing.Options{Key: string(keys.PrivateBytes), KeyPassword: []byte("pw"), Format: signing.FormatBoth}

	sig, err := signing.Sign(ctx, ref, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range sig.Signatures {
		fmt.Println("signature:", s.Format)
	}
	vuln := []byte(`{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},
		"scanner":{"uri":"pkg:golang/github.com/anchore/grype@v0.120.1","version":"0.120.1","db":{"uri":"","version":"6"},"result":{}},
		"metadata":{"scanStartedOn":"2026-11-22T03:00:00Z","scanFinishedOn":"2026-11-22T03:01:00Z"}}`)
	att, err := signing.Attest(ctx, ref, []signing.Predicate{{Type: "vuln", Data: vuln}}, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range att.Attestations {
		fmt.Println("attestation:", a.Type, a.Legacy != "", a.Bundle != "")
	}
	// Output:
	// signature: legacy
	// signature: bundle
	// attestation: https://cosign.sigstore.dev/attestation/vuln/v1 true true
}

package attestationtest_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/attestation/attestationtest"
)

func ExampleSign() {
	ctx := context.Background()
	// A fixed Ed25519 key, so the output is stable; use a real key in practice.
	key := ed25519.NewKeyFromSeed([]byte(strings.Repeat("k", ed25519.SeedSize)))
	signer, _ := attestationtest.NewSigner(key)
	verifier, _ := attestationtest.NewVerifier(key.Public())

	st, _ := attestation.NewStatement(
		[]attestation.Subject{{Name: "ghcr.io/acme/widgets", Digest: map[string]string{"sha256": strings.Repeat("ab", 32)}}},
		"https://example.com/predicate/v1", map[string]string{"hello": "world"})
	payload, _ := st.Marshal()
	env, err := attestationtest.Sign(ctx, payload, attestation.PayloadTypeInToto, signer)
	if err != nil {
		fmt.Println(err)
		return
	}

	// A verifier receives the envelope as JSON.
	wire, _ := json.Marshal(env)
	parsed, err := attestation.ParseEnvelope(wire, attestation.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	keyIDs, err := attestationtest.Verify(ctx, parsed, verifier)
	if err != nil {
		fmt.Println(err)
		return
	}
	opened, _ := attestation.OpenEnvelope(parsed, attestation.Options{})
	fmt.Println(len(keyIDs), opened.PredicateType, opened.HasSubjectDigest("sha256:"+strings.Repeat("ab", 32)))
	// Output:
	// 1 https://example.com/predicate/v1 true
}

package signing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/cosigntest"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// Keyless signing against the local stack (OIDC issuer, Fulcio, TSA, Rekor v2),
// verified by the real cosign CLI with the identity policy a deploy gate uses.
func TestKeylessAgainstLocalStack(t *testing.T) {
	t.Parallel()
	st := testinfra.StartSigstore(t, testinfra.SigstoreOptions{})
	reg := testinfra.StartRegistry(t)
	sc, tr := cosigntest.KeylessTrust(t, st)
	ctx := context.Background()
	identity := []string{"--certificate-oidc-issuer", st.Issuer, "--certificate-identity-regexp", "^https://github.com/acme/widgets/"}
	wrong := []string{"--certificate-oidc-issuer", st.Issuer, "--certificate-identity-regexp", "^https://github.com/evil/"}

	t.Run("bundle with Rekor v2 and timestamps", func(t *testing.T) {
		ref := pushImage(t, reg.Host, "keyless/bundle", "v1")
		opts := signing.Options{IDToken: st.Token(t, "sigstore"), SigningConfig: sc, TrustedRoot: tr, Tlog: true, Format: signing.FormatBoth}
		res, err := signing.Sign(ctx, ref, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Identity.Keyless || res.Identity.Subject != st.Identity || res.Identity.Issuer != st.Issuer {
			t.Errorf("identity = %+v, want %s from %s", res.Identity, st.Identity, st.Issuer)
		}
		var b signing.Signature
		for _, s := range res.Signatures {
			if s.Format == signing.FormatBundle {
				b = s
			}
		}
		if len(b.Tlog) != 1 || !b.Timestamped || !strings.HasPrefix(b.Tlog[0].Kind, "hashedrekord") && !strings.HasPrefix(b.Tlog[0].Kind, "dsse") {
			t.Errorf("bundle signature = %+v, want one log entry and a timestamp", b)
		}
		att, err := signing.Attest(ctx, ref, []signing.Predicate{predicate(t, "vuln"), predicate(t, "slsaprovenance")}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(att.Attestations) != 2 || len(att.Attestations[0].Tlog) != 1 {
			t.Fatalf("attestations = %+v", att.Attestations)
		}
		common := []string{"--new-bundle-format", "--trusted-root", st.TrustedRoot, "--use-signed-timestamps", "--insecure-ignore-sct"}
		mustCosign(t, append(append(append([]string{"verify"}, common...), identity...), ref.String())...)
		out := mustFailCosign(t, append(append(append([]string{"verify"}, common...), wrong...), ref.String())...)
		if !strings.Contains(out, "evil") && !strings.Contains(out, "no matching") && !strings.Contains(out, "expected") {
			t.Logf("wrong identity refused with:\n%s", out)
		}
		for _, typ := range []string{"vuln", attestation.PredicateSLSAProvenance} {
			mustCosign(t, append(append(append([]string{"verify-attestation", "--type", typ}, common...), identity...), ref.String())...)
			mustFailCosign(t, append(append(append([]string{"verify-attestation", "--type", typ}, common...), wrong...), ref.String())...)
		}
	})

	t.Run("legacy with certificate and timestamp", func(t *testing.T) {
		ref := pushImage(t, reg.Host, "keyless/legacy", "v1")
		opts := signing.Options{IDToken: st.Token(t, "sigstore"), SigningConfig: sc, Format: signing.FormatLegacy}
		if _, err := signing.Sign(ctx, ref, opts); err != nil {
			t.Fatal(err)
		}
		if _, err := signing.Attest(ctx, ref, []signing.Predicate{predicate(t, "cyclonedx")}, opts); err != nil {
			t.Fatal(err)
		}
		common := []string{"--certificate-chain", st.FulcioChain, "--use-signed-timestamps", "--timestamp-certificate-chain", st.TSAChain,
			"--insecure-ignore-tlog", "--insecure-ignore-sct"}
		mustCosign(t, append(append(append([]string{"verify"}, common...), identity...), ref.String())...)
		mustFailCosign(t, append(append(append([]string{"verify"}, common...), wrong...), ref.String())...)
		mustCosign(t, append(append(append([]string{"verify-attestation", "--type", "cyclonedx"}, common...), identity...), ref.String())...)
		mustFailCosign(t, append(append(append([]string{"verify-attestation", "--type", "cyclonedx"}, common...), wrong...), ref.String())...)
	})

	t.Run("a token Fulcio refuses", func(t *testing.T) {
		ref := pushImage(t, reg.Host, "keyless/refused", "v1")
		_, err := signing.Sign(ctx, ref, signing.Options{IDToken: "not-a-jwt", SigningConfig: sc, Format: signing.FormatBundle})
		if err == nil || !strings.Contains(err.Error(), "Fulcio at "+st.FulcioURL) {
			t.Fatalf("error = %v, want one naming Fulcio", err)
		}
	})
}

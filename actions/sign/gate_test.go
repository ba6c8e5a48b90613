package sign

import (
	"errors"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// Every input error, and every bad combination, is refused before the registry,
// the key or the OIDC token is touched.
func TestRefusedBeforeAnyWork(t *testing.T) {
	t.Parallel()
	tag := strings.TrimPrefix(gatetest.Untouched(t, "the registry"), "http://") + "/acme/app:v1"
	gatetest.Refusals(t, Gate, nil, func(args []string) []string { return append(args, "--key", "absent.key", tag) }, []gatetest.Refusal{
		gatetest.Refuse("require-digest refuses a tag", []string{"--require-digest", "true"}, "require-digest is true"),
		gatetest.Refuse("bad format", []string{"--signature-format", "sig"}, "expected legacy, bundle or both"),
		gatetest.Refuse("legacy with tlog upload", []string{"--signature-format", "legacy"}, "legacy format carries no log entry"),
		gatetest.Refuse("annotation not key=value", []string{"--annotations", "ticket"}, `annotation "ticket": expected key=value`),
		gatetest.Refuse("annotation twice", []string{"--annotations", "a=1\na=2"}, `annotation "a" given twice`),
		gatetest.Refuse("annotations dropped by bundle", []string{"--annotations", "a=1", "--signature-format", "bundle"}, "with signature format bundle they would be dropped"),
		gatetest.Refuse("bad timeout", []string{"--timeout", "0s"}, "timeout is 0s"),
	}, nil)
}

func TestSummary(t *testing.T) {
	t.Parallel()
	ref := oci.Ref{Repository: "registry.test/acme/app", Digest: "sha256:" + strings.Repeat("ab", 32), Tag: "v1"}
	keyless := signing.Identity{Keyless: true, Subject: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main", Issuer: "https://token.actions.githubusercontent.com"}
	sigs := []signing.Signature{
		{Image: ref.String(), Format: signing.FormatLegacy, Reference: "registry.test/acme/app:sha256-abab.sig"},
		{Image: ref.String(), Format: signing.FormatBundle, Reference: "sha256:cdcd", Timestamped: true,
			Tlog: []signing.TlogEntry{{Kind: "hashedrekord 0.0.2", LogIndex: 42, LogID: "c0ffee"}}},
	}
	for _, tt := range []struct {
		name string
		r    report
	}{
		{"summary-keyless.md", report{ref: ref, res: &signing.SignResult{Identity: keyless, Signatures: sigs}}},
		{"summary-partial.md", report{ref: oci.Ref{Repository: ref.Repository, Digest: ref.Digest},
			res: &signing.SignResult{Identity: signing.Identity{KeyFingerprint: "sha256:feed", KMSKey: "awskms:///alias/release"}, Signatures: sigs[:1]},
			err: &signing.PartialError{Pushed: []string{"legacy"}, NotPushed: []string{"bundle of " + ref.Digest}, Err: errors.New("503")}}},
	} {
		gatetest.Golden(t, tt.name, Outputs{report: tt.r}.Summary())
	}
	if got := (Outputs{}).Summary(); got != "" {
		t.Errorf("summary of nothing signed: %q", got)
	}
}

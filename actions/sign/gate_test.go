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
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"require-digest refuses a tag", []string{"--require-digest", "true"}, "require-digest is true"},
		{"bad format", []string{"--signature-format", "sig"}, "expected legacy, bundle or both"},
		{"legacy with tlog upload", []string{"--signature-format", "legacy"}, "legacy format carries no log entry"},
		{"annotation not key=value", []string{"--annotations", "ticket"}, `annotation "ticket": expected key=value`},
		{"annotation twice", []string{"--annotations", "a=1\na=2"}, `annotation "a" given twice`},
		{"annotations dropped by bundle", []string{"--annotations", "a=1", "--signature-format", "bundle"}, "with signature format bundle they would be dropped"},
		{"bad timeout", []string{"--timeout", "0s"}, "timeout is 0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gatetest.Refused(t, gatetest.Run(t, Gate, nil, append(tt.args, "--key", "absent.key", tag)...), tt.want)
		})
	}
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

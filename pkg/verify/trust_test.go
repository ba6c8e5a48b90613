package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

// A trusted-root file that is missing, oversized or not a trusted root is an
// input error naming it; a policy of keys only needs no trusted root (and no
// network).
func TestTrustedMaterial(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big, bad := filepath.Join(dir, "big.json"), filepath.Join(dir, "bad.json")
	if err := os.WriteFile(big, make([]byte, MaxTrustedRootBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"mediaType": "nope"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	keys := &policy.Policy{Identities: []policy.Identity{{Key: "cosign.pub"}}}
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "absent.json"), "trusted-root: "},
		{big, "larger than"},
		{bad, "trusted-root " + bad},
	} {
		_, err := TrustedMaterial(context.Background(), tt.path, keys)
		if errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an input error naming %q", tt.path, err, tt.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a fetch would fail: none may happen
	if tm, err := TrustedMaterial(ctx, "", keys); tm != nil || err != nil {
		t.Errorf("keys only: %v, %v; want no trusted root and no error", tm, err)
	}
	for _, p := range []*policy.Policy{
		{Identities: []policy.Identity{{Issuer: "https://token.actions.githubusercontent.com", SubjectRegexp: "^x$"}}},
		{Identities: keys.Identities, BreakGlass: &policy.BreakGlass{Signers: []policy.Identity{{Issuer: "https://accounts.google.com", Subject: "a@b"}}}},
	} {
		if !NeedsKeyless(p) {
			t.Errorf("%+v: a keyless identity needs the trusted root", p)
		}
	}
}

package evidence_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/cosigntest"
	"github.com/secure-gates/secure-gates/pkg/evidence"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// TestKeylessBundle: a release signed keyless the way it is in Actions (a
// local Fulcio, timestamp authority and Rekor v2), in both formats. The
// bundle records the trusted root, the certificates, Rekor entries and
// timestamps, and re-verifies offline against that root alone.
func TestKeylessBundle(t *testing.T) {
	st := testinfra.StartSigstore(t, testinfra.SigstoreOptions{})
	reg := testinfra.StartRegistry(t)
	ref := oci.Ref{Repository: reg.Host + "/acme/widgets", Tag: "v1"}
	ref.Digest = testinfra.PushRandomImage(t, ref.Repository+":"+ref.Tag)
	ctx := context.Background()
	sc, tr := cosigntest.KeylessTrust(t, st)
	trBytes, err := os.ReadFile(st.TrustedRoot) // recorded in the bundle as given
	if err != nil {
		t.Fatal(err)
	}
	opts := signing.Options{IDToken: st.Token(t, "sigstore"), SigningConfig: sc, TrustedRoot: tr, Tlog: true, Format: signing.FormatBoth}
	if _, err := signing.Sign(ctx, ref, opts); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := signing.Attest(ctx, ref, []signing.Predicate{{Type: "vuln", Data: mustJSON(t, vulnScan(now.Add(-time.Minute)))}}, opts); err != nil {
		t.Fatal(err)
	}
	pol := []byte(`apiVersion: secure-gates/v1
kind: Policy
mode: enforce
identities:
  - issuer: ` + st.Issuer + `
    subject: ` + st.Identity + `
require:
  - type: vuln
    max-age: 24h
`)
	b, rep, err := evidence.Collect(ctx, ref, evidence.Options{Policy: pol, PolicySource: "policy.yaml", BaseDir: t.TempDir(), TrustedRoot: trBytes,
		Now: func() time.Time { return now.Add(time.Minute) }})
	if err != nil {
		if rep != nil {
			t.Fatalf("%v: %v", err, rep.Failures())
		}
		t.Fatal(err)
	}
	if string(b.Files[evidence.TrustedRootFile]) != string(trBytes) {
		t.Error("the trusted root is not recorded as given")
	}
	var idx evidence.Index
	must(t, json.Unmarshal(b.Files[evidence.IndexFile], &idx))
	roles := map[string]int{}
	for _, f := range idx.Files {
		roles[f.Role]++
	}
	for _, want := range []string{"certificate", "rfc3161-timestamp", "sigstore-bundle", "transparency", "trusted-root"} {
		if roles[want] == 0 {
			t.Errorf("no %s in the bundle: %v", want, roles)
		}
	}
	if len(idx.TrustRoot) != 1 || idx.TrustRoot[0].Path != evidence.TrustedRootFile {
		t.Errorf("trust root: %+v", idx.TrustRoot)
	}
	if at, src := evidence.ReleaseTime(b); src != evidence.ReleaseTimeTrusted || at.IsZero() {
		t.Errorf("release time %s from %q, want the trusted signing time", at, src)
	}
	if _, err := evidence.Check(ctx, b.Files, evidence.CheckOptions{ExpectTrustedRoot: trBytes}); err != nil {
		t.Fatal(err)
	}
	// Another trusted root pinned: refused.
	if _, err := evidence.Check(ctx, b.Files, evidence.CheckOptions{ExpectTrustedRoot: []byte("{}")}); err == nil {
		t.Error("a bundle verifies against another pinned trusted root")
	}
}

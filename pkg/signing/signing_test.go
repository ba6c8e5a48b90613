package signing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/cosignlegacy"
	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// predicate reads one of the predicates the gates write (pkg/attestation's
// examples, kept in step with its schemas).
func predicate(t *testing.T, short string) signing.Predicate {
	t.Helper()
	p := filepath.Join("..", "attestation", "testdata", "predicates", short+".json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return signing.Predicate{Type: short, Data: b, Source: p}
}

// emptyTrustedRoot is a trusted root with no authorities: cosign v2.6.5 wants a
// trusted root for every bundle it verifies, even a key-based one, and reaches
// for the public TUF repository without one.
var emptyTrustedRoot = func() string {
	dir, err := os.MkdirTemp("", "signing-test-root-")
	if err != nil {
		panic(err)
	}
	p := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(p, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		panic(err)
	}
	return p
}()

// verifyArgs are the cosign verify flags for a format. cosign v2.6.5 switches
// to the bundle format by itself when it finds a bundle referrer.
func verifyArgs(f signing.Format, pub string) []string {
	args := []string{"--key", pub, "--insecure-ignore-tlog"}
	if f != signing.FormatLegacy {
		args = append(args, "--new-bundle-format", "--trusted-root", emptyTrustedRoot)
	}
	return args
}

func TestSignWithKeyVerifiedByCosign(t *testing.T) {
	t.Parallel()
	reg := testinfra.StartRegistry(t)
	priv, pub := keyPair(t, "s3cret")
	_, otherPub := keyPair(t, "other")
	ctx := context.Background()
	for _, f := range []signing.Format{signing.FormatLegacy, signing.FormatBundle, signing.FormatBoth} {
		t.Run(string(f), func(t *testing.T) {
			ref := pushImage(t, reg.Host, "app/"+string(f), "v1")
			unsigned := pushImage(t, reg.Host, "app/"+string(f), "unsigned")
			opts := signing.Options{Key: priv, KeyPassword: []byte("s3cret"), Format: f}
			if f != signing.FormatBundle {
				opts.Annotations = map[string]string{"gate": "sign"}
			}
			res, err := signing.Sign(ctx, ref, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := map[signing.Format]int{signing.FormatLegacy: 1, signing.FormatBundle: 1, signing.FormatBoth: 2}[f]
			if len(res.Signatures) != want {
				t.Fatalf("%d signatures reported, want %d: %+v", len(res.Signatures), want, res.Signatures)
			}
			if res.Identity.Keyless || !strings.HasPrefix(res.Identity.KeyFingerprint, "sha256:") {
				t.Errorf("identity = %+v", res.Identity)
			}
			// The real cosign CLI verifies what a verifier will read: the bundle
			// whenever one exists (cosign v2.6.5 switches to it by itself), else
			// the legacy signature, with its signed annotations.
			args := append([]string{"verify"}, verifyArgs(f, pub)...)
			if f == signing.FormatLegacy {
				args = append(args, "-a", "gate=sign")
			}
			out := mustCosign(t, append(args, ref.String())...)
			if !strings.Contains(out, ref.Digest) {
				t.Errorf("cosign verify output does not name the digest:\n%s", out)
			}
			mustFailCosign(t, append(append([]string{"verify"}, verifyArgs(f, otherPub)...), ref.String())...)
			mustFailCosign(t, append(append([]string{"verify"}, verifyArgs(f, pub)...), unsigned.String())...)
			if f.Includes(signing.FormatLegacy) {
				// The .sig signature (what Kyverno ClusterPolicy reads), with cosign's
				// verification code in legacy mode.
				if err := cosignlegacy.Verify(t, ref, pub, "", map[string]any{"gate": "sign"}); err != nil {
					t.Errorf("legacy signature: %v", err)
				}
				if err := cosignlegacy.Verify(t, ref, pub, "", map[string]any{"gate": "other"}); err == nil {
					t.Error("legacy signature verified with annotations it does not carry")
				}
				if err := cosignlegacy.Verify(t, ref, otherPub, "", nil); err == nil {
					t.Error("legacy signature verified with the wrong key")
				}
			}
			if f == signing.FormatBundle {
				// Bundle only: no legacy .sig tag was written.
				if err := cosignlegacy.Verify(t, ref, pub, "", nil); err == nil {
					t.Error("a legacy signature exists for format bundle")
				}
			}
		})
	}
}

func TestAttestSeveralPredicatesVerifiedByCosign(t *testing.T) {
	t.Parallel()
	reg := testinfra.StartRegistry(t)
	priv, pub := keyPair(t, "")
	_, otherPub := keyPair(t, "")
	ctx := context.Background()
	var preds []signing.Predicate
	for _, p := range attestation.PredicateTypes() {
		if p.Name == "vsa" {
			continue // the deploy gate's, not attested here
		}
		preds = append(preds, predicate(t, p.Name))
	}
	for _, f := range []signing.Format{signing.FormatLegacy, signing.FormatBundle, signing.FormatBoth} {
		t.Run(string(f), func(t *testing.T) {
			ref := pushImage(t, reg.Host, "att/"+string(f), "v1")
			res, err := signing.Attest(ctx, ref, preds, signing.Options{Key: priv, Format: f})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Attestations) != len(preds) {
				t.Fatalf("%d attestations reported, want %d", len(res.Attestations), len(preds))
			}
			for i, a := range res.Attestations {
				uri, _ := attestation.ResolveType(preds[i].Type)
				if a.Type != uri || !strings.HasPrefix(a.Digest, "sha256:") {
					t.Errorf("attestation %d = %+v", i, a)
				}
				if (a.Legacy != "") != f.Includes(signing.FormatLegacy) || (a.Bundle != "") != f.Includes(signing.FormatBundle) {
					t.Errorf("attestation %d references = %+v for format %s", i, a, f)
				}
				// cosign's own short names where they mean the same thing; the
				// full URI otherwise (cosign's slsaprovenance is v0.2).
				typ := uri
				switch preds[i].Type {
				case "cyclonedx", "vuln":
					typ = preds[i].Type
				}
				args := append([]string{"verify-attestation", "--type", typ}, verifyArgs(f, pub)...)
				mustCosign(t, append(args, ref.String())...)
				if i == 0 {
					mustFailCosign(t, append(append([]string{"verify-attestation", "--type", typ}, verifyArgs(f, otherPub)...), ref.String())...)
				}
				if f.Includes(signing.FormatLegacy) {
					if err := cosignlegacy.Verify(t, ref, pub, uri, nil); err != nil {
						t.Errorf("legacy %s attestation: %v", uri, err)
					}
				}
			}
			if f.Includes(signing.FormatLegacy) {
				if err := cosignlegacy.Verify(t, ref, otherPub, attestation.PredicateCycloneDX, nil); err == nil {
					t.Error("legacy attestation verified with the wrong key")
				}
			}
			// A type that was not attested is not found.
			mustFailCosign(t, append(append([]string{"verify-attestation", "--type", "https://example.com/never/v1"}, verifyArgs(f, pub)...), ref.String())...)
		})
	}
}

func TestAttestAllOrNothing(t *testing.T) {
	t.Parallel()
	reg := testinfra.StartRegistry(t)
	priv, _ := keyPair(t, "")
	ctx := context.Background()
	big := make([]byte, attestation.DefaultMaxPayloadBytes+10)
	copy(big, `{"bomFormat":"CycloneDX","specVersion":"1.5","x":"`)
	for i := 50; i < len(big)-2; i++ {
		big[i] = 'a'
	}
	copy(big[len(big)-2:], `"}`)
	// Under the statement cap, but its envelope (base64, 4/3 larger) would be
	// over what verify-and-deploy reads: signed, it would be left unread.
	unreadable := make([]byte, attestation.MaxSignableStatementBytes)
	copy(unreadable, `{"bomFormat":"CycloneDX","specVersion":"1.5","x":"`)
	for i := 50; i < len(unreadable)-2; i++ {
		unreadable[i] = 'a'
	}
	copy(unreadable[len(unreadable)-2:], `"}`)
	tests := []struct {
		name    string
		bad     signing.Predicate
		wantMsg string
	}{
		{"wrong document for its type", signing.Predicate{Type: "cyclonedx", Data: predicate(t, "spdx").Data, Source: "sbom.spdx.json"}, "sbom.spdx.json is not a valid cyclonedx predicate"},
		{"vuln without scanFinishedOn", signing.Predicate{Type: "vuln", Data: []byte(`{"scanner":{"uri":"x"},"metadata":{}}`), Source: "vuln.json"}, "vuln.json is not a valid vuln predicate"},
		{"bad JSON", signing.Predicate{Type: "threat-model", Data: []byte(`{"pullRequest":`), Source: "tm.json"}, "tm.json"},
		{"oversized", signing.Predicate{Type: "cyclonedx", Data: big, Source: "huge.json"}, "huge.json"},
		{"envelope over what verify reads", signing.Predicate{Type: "cyclonedx", Data: unreadable, Source: "large.json"}, "its signed envelope would exceed the 16777216 bytes verify-and-deploy reads"},
		{"unknown type", signing.Predicate{Type: "slsa", Data: []byte(`{}`), Source: "p.json"}, "p.json: predicate type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := pushImage(t, reg.Host, "aon/img", strings.ReplaceAll(tt.name, " ", "-"))
			preds := []signing.Predicate{predicate(t, "cyclonedx"), tt.bad, predicate(t, "vuln")}
			res, err := signing.Attest(ctx, ref, preds, signing.Options{Key: priv, Format: signing.FormatBoth})
			if err == nil {
				t.Fatal("Attest passed with a bad predicate")
			}
			if errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %v (kind %v), want an input error containing %q", err, errkind.Of(err), tt.wantMsg)
			}
			if res != nil {
				t.Errorf("result = %+v, want nil", res)
			}
			assertNothingAttached(t, ref)
		})
	}
}

// assertNothingAttached checks that neither the .att tag nor any referrer exists.
func assertNothingAttached(t *testing.T, ref oci.Ref) {
	t.Helper()
	d, err := ref.Name()
	if err != nil {
		t.Fatal(err)
	}
	att, err := name.NewTag(ref.Repository + ":" + strings.Replace(ref.Digest, ":", "-", 1) + ".att")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(att); err == nil {
		t.Errorf("%s exists: something was pushed", att)
	}
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 0 {
		t.Errorf("%d referrers pushed", len(im.Manifests))
	}
}

func TestTagMovedAfterResolveCannotChangeWhatIsSigned(t *testing.T) {
	t.Parallel()
	reg := testinfra.StartRegistry(t)
	priv, pub := keyPair(t, "")
	ctx := context.Background()
	first := pushImage(t, reg.Host, "moved/app", "v1")
	// The gate resolved :v1 to first; now the tag moves to another image.
	second := pushImage(t, reg.Host, "moved/app", "v1")
	if first.Digest == second.Digest {
		t.Fatal("random images share a digest")
	}
	if _, err := signing.Sign(ctx, first, signing.Options{Key: priv, Format: signing.FormatBoth}); err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Attest(ctx, first, []signing.Predicate{predicate(t, "vuln")}, signing.Options{Key: priv, Format: signing.FormatBoth}); err != nil {
		t.Fatal(err)
	}
	mustCosign(t, append(append([]string{"verify"}, verifyArgs(signing.FormatBoth, pub)...), first.String())...)
	mustCosign(t, append(append([]string{"verify-attestation", "--type", "vuln"}, verifyArgs(signing.FormatBoth, pub)...), first.String())...)
	// What the tag points at now was never signed nor attested.
	mustFailCosign(t, append(append([]string{"verify"}, verifyArgs(signing.FormatBoth, pub)...), reg.Host+"/moved/app:v1")...)
	mustFailCosign(t, append(append([]string{"verify"}, verifyArgs(signing.FormatLegacy, pub)...), second.String())...)
	mustFailCosign(t, append(append([]string{"verify-attestation", "--type", "vuln"}, verifyArgs(signing.FormatLegacy, pub)...), second.String())...)
}

func TestKeyInputs(t *testing.T) {
	t.Parallel()
	priv, _ := keyPair(t, "right")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "cosign.key")
	if err := os.WriteFile(keyFile, []byte(priv), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := testinfra.StartRegistry(t)
	ref := pushImage(t, reg.Host, "keys/app", "v1")
	tests := []struct {
		name     string
		key      string
		password string
		wantErr  string
	}{
		{"PEM content", priv, "right", ""},
		{"path", keyFile, "right", ""},
		{"wrong password", priv, "wrong", "is key-password right?"},
		{"not a key", "hello", "", "not PEM content and not a readable file"},
		{"garbage PEM", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "", "parsing the PEM private key"},
		{"awskms malformed", "awskms://", "", "not a valid AWS KMS key reference"},
		{"hashivault malformed", "hashivault://a/b", "", "not a valid HashiCorp Vault transit key reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signing.Sign(context.Background(), ref, signing.Options{Key: tt.key, KeyPassword: []byte(tt.password), Format: signing.FormatLegacy})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errkind.Of(err) != errkind.KindInput {
				t.Fatalf("error = %v, want an input error containing %q", err, tt.wantErr)
			}
			if tt.password != "" && strings.Contains(err.Error(), tt.password) {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestOptionsRefused(t *testing.T) {
	t.Parallel()
	ref := oci.Ref{Repository: "127.0.0.1:1/x", Digest: "sha256:" + strings.Repeat("a", 64)}
	tests := []struct {
		name string
		opts signing.Options
		want string
	}{
		{"no key no token", signing.Options{}, "no signing key and no OIDC token"},
		{"legacy with tlog", signing.Options{Key: "k", Tlog: true, Format: signing.FormatLegacy}, "legacy format carries no log entry"},
		{"bad format", signing.Options{Key: "k", Format: "sig"}, `signature format "sig"`},
		{"annotations in bundle only", signing.Options{Key: "k", Format: signing.FormatBundle, Annotations: map[string]string{"a": "b"}}, "annotations are signed into the legacy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := signing.Sign(context.Background(), ref, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || errkind.Of(err) != errkind.KindInput {
				t.Fatalf("error = %v, want an input error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseAnnotations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      []string
		want    map[string]string
		wantErr bool
	}{
		{[]string{"a=b", "", " c = d=e "}, map[string]string{"a": "b", "c": "d=e"}, false},
		{[]string{"novalue"}, nil, true},
		{[]string{"=x"}, nil, true},
		{[]string{"a=1", "a=2"}, nil, true},
	}
	for _, tt := range tests {
		got, err := signing.ParseAnnotations(tt.in)
		if (err != nil) != tt.wantErr {
			t.Fatalf("ParseAnnotations(%q) error = %v", tt.in, err)
		}
		if !tt.wantErr && !equalMaps(got, tt.want) {
			t.Errorf("ParseAnnotations(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A timestamp authority that answers 503 is retried a bounded number of times,
// then the call fails as an infrastructure error naming the service, and nothing
// is pushed.
func TestSigstoreServiceOutage(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	tsa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer tsa.Close()
	reg := testinfra.StartRegistry(t)
	priv, _ := keyPair(t, "")
	ref := pushImage(t, reg.Host, "outage/app", "v1")
	url := tsa.URL + "/api/v1/timestamp"
	opts := signing.Options{Key: priv, Format: signing.FormatBoth, Services: signing.Services{TimestampURL: url}, Retries: 1}
	_, err := signing.Attest(context.Background(), ref, []signing.Predicate{predicate(t, "vuln")}, opts)
	if err == nil {
		t.Fatal("Attest passed with the timestamp authority down")
	}
	if errkind.Of(err) != errkind.KindInfra || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "timestamp authority") {
		t.Errorf("error = %v (kind %v), want an infrastructure error naming the timestamp authority %s", err, errkind.Of(err), url)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d requests to the timestamp authority, want 2 (one retry)", n)
	}
	assertNothingAttached(t, ref)
}

// The statement Attest signs for a predicate: subject = the image digest, never
// a tag; the predicate as given.
func TestStatementGolden(t *testing.T) {
	t.Parallel()
	ref := oci.Ref{Repository: "registry.example/acme/app", Digest: "sha256:" + strings.Repeat("0123456789abcdef", 4), Tag: "v1"}
	got, uri, err := signing.Statement(ref, predicate(t, "vuln"))
	if err != nil {
		t.Fatal(err)
	}
	if uri != attestation.PredicateVuln {
		t.Errorf("uri = %s", uri)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden.Check(t, filepath.Join("testdata", "statement-vuln.golden.json"), pretty.Bytes())
	if strings.Contains(string(got), ":v1") {
		t.Error("the statement names the tag")
	}
}

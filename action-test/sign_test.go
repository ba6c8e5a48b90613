package actiontest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/cosignlegacy"
	"github.com/secure-gates/secure-gates/internal/testinfra/cosigntest"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// sgSetup starts a loopback registry and writes a cosign key pair, encrypted
// with password, into a fresh workspace (cosign.key, cosign.pub).
func sgSetup(t *testing.T, password string) (reg *testinfra.Registry, ws, pub string) {
	t.Helper()
	reg, ws = testinfra.StartRegistry(t), t.TempDir()
	_, pub = cosigntest.KeyPair(t, ws, password)
	return reg, ws, pub
}

func TestSignActionKey(t *testing.T) {
	t.Parallel()
	reg, ws, pub := sgSetup(t, "pa55-w0rd")
	ref := cosigntest.PushRandomImage(t, reg.Host, "acme/app", "v1")
	res := run(t, Step{Action: "sign", Workspace: ws, With: map[string]string{
		"image": reg.Host + "/acme/app:v1", "key": "cosign.key", "key-password": "pa55-w0rd",
		"tlog-upload": "false", "annotations": "gate=sign\nrepo=acme/app",
	}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	if res.Outputs["digest"] != ref.Digest || res.Outputs["image-ref"] != ref.String() {
		t.Errorf("outputs = %v, want digest %s", res.Outputs, ref)
	}
	if !strings.HasPrefix(res.Outputs["signer"], "key sha256:") {
		t.Errorf("signer = %q", res.Outputs["signer"])
	}
	var sigs []map[string]any
	if err := json.Unmarshal([]byte(res.Outputs["signatures"]), &sigs); err != nil || len(sigs) != 2 {
		t.Fatalf("signatures = %s (%v)", res.Outputs["signatures"], err)
	}
	if sigs[0]["format"] != "legacy" || sigs[1]["format"] != "bundle" || sigs[0]["image"] != ref.String() {
		t.Errorf("signatures = %v", sigs)
	}
	// The password is masked before anything else is logged, and never printed.
	masked := false
	for _, c := range res.Commands {
		if c.Name == "add-mask" && c.Message == "pa55-w0rd" {
			masked = true
		}
	}
	if !masked || strings.Contains(strings.ReplaceAll(res.Log, "::add-mask::pa55-w0rd", ""), "pa55-w0rd") || strings.Contains(res.Summary, "pa55-w0rd") {
		t.Errorf("password not masked or printed:\n%s", res.Log)
	}
	wantSummary(t, res, ref.Digest, "Signer (key fingerprint)", "legacy", "bundle", "Resolved from tag")
	root := sgEmptyRoot(t)
	cosigntest.MustPass(t, "verify", "--key", pub, "--insecure-ignore-tlog", "--new-bundle-format", "--trusted-root", root, ref.String())
	if err := cosignlegacy.Verify(t, ref, pub, "", map[string]any{"gate": "sign", "repo": "acme/app"}); err != nil {
		t.Errorf("legacy signature: %v", err)
	}
	_, otherPub := cosigntest.KeyPair(t, t.TempDir(), "x")
	cosigntest.MustFail(t, "verify", "--key", otherPub, "--insecure-ignore-tlog", "--new-bundle-format", "--trusted-root", root, ref.String())
	if err := cosignlegacy.Verify(t, ref, otherPub, "", nil); err == nil {
		t.Error("legacy signature verified with the wrong key")
	}
	unsigned := cosigntest.PushRandomImage(t, reg.Host, "acme/app", "unsigned")
	cosigntest.MustFail(t, "verify", "--key", pub, "--insecure-ignore-tlog", unsigned.String())
}

func TestSignActionRefusals(t *testing.T) {
	t.Parallel()
	reg, ws, _ := sgSetup(t, "")
	ref := cosigntest.PushRandomImage(t, reg.Host, "acme/app", "v1")
	tests := []struct {
		name string
		with map[string]string
		env  map[string]string
		want string
	}{
		{"require-digest refuses a tag", map[string]string{"image": reg.Host + "/acme/app:v1", "require-digest": "true", "key": "cosign.key", "tlog-upload": "false"}, nil, "require-digest"},
		{"keyless without id-token permission", map[string]string{"image": ref.String()}, nil, "id-token: write"},
		// Credentials named but absent: the Google client fails before any
		// request (without the variable it would probe the GCE metadata server).
		{"KMS key without credentials", map[string]string{"image": ref.String(), "key": "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "tlog-upload": "false"},
			map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": filepath.Join(ws, "absent.json")}, "setting up the Google Cloud KMS client"},
		{"malformed KMS URI", map[string]string{"image": ref.String(), "key": "azurekms://vault-only", "tlog-upload": "false"}, nil, "not a valid Azure Key Vault key reference"},
		{"legacy with tlog upload", map[string]string{"image": ref.String(), "key": "cosign.key", "signature-format": "legacy"}, nil, "legacy format carries no log entry"},
		{"bad format", map[string]string{"image": ref.String(), "key": "cosign.key", "signature-format": "sig", "tlog-upload": "false"}, nil, "expected legacy, bundle or both"},
		{"missing image", map[string]string{"image": reg.Host + "/acme/none:v1", "key": "cosign.key", "tlog-upload": "false"}, nil, "acme/none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, Step{Action: "sign", Workspace: ws, With: tt.with, Env: tt.env})
			if res.ExitCode != 2 {
				t.Fatalf("exit %d, want 2\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
			}
			if !strings.Contains(res.Log+res.Stderr, tt.want) {
				t.Errorf("output lacks %q:\n%s\n%s", tt.want, res.Log, res.Stderr)
			}
			if res.Outputs["signatures"] != "" {
				t.Errorf("signatures output on failure: %s", res.Outputs["signatures"])
			}
		})
	}
}

// sgFlakyRegistry proxies to a registry and answers 503 to the requests fail
// selects, counting them.
func sgFlakyRegistry(t *testing.T, host string, fail func(*http.Request) bool) (string, *atomic.Int32) {
	t.Helper()
	target, _ := url.Parse("http://" + host)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail(r) {
			n.Add(1)
			http.Error(w, "registry unavailable", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), &n
}

func TestSignActionOutage(t *testing.T) {
	t.Parallel()
	reg, ws, pub := sgSetup(t, "")
	cosigntest.PushRandomImage(t, reg.Host, "acme/app", "v1")

	t.Run("every push fails: exit 3, nothing reported pushed", func(t *testing.T) {
		t.Parallel()
		host, n := sgFlakyRegistry(t, reg.Host, func(r *http.Request) bool {
			return r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodPatch
		})
		res := run(t, Step{Action: "sign", Workspace: ws, With: map[string]string{
			"image": host + "/acme/app:v1", "key": "cosign.key", "tlog-upload": "false", "signature-format": "legacy"}})
		if res.ExitCode != 3 {
			t.Fatalf("exit %d, want 3\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
		}
		if !strings.Contains(res.Log+res.Stderr, "registry") || !strings.Contains(res.Log+res.Stderr, "503") {
			t.Errorf("error does not name the registry and its answer:\n%s\n%s", res.Log, res.Stderr)
		}
		if got := n.Load(); got < 2 || got > 20 {
			t.Errorf("%d failing requests: retries are not bounded retries", got)
		}
		if res.Outputs["signatures"] != "[]" && res.Outputs["signatures"] != "" {
			t.Errorf("signatures = %s after a failed push", res.Outputs["signatures"])
		}
	})

	t.Run("bundle push fails after the legacy signature landed: partial, exact", func(t *testing.T) {
		t.Parallel()
		ref := cosigntest.PushRandomImage(t, reg.Host, "acme/partial", "v1")
		host, _ := sgFlakyRegistry(t, reg.Host, func(r *http.Request) bool {
			// Everything but the .sig tag's manifest and blobs: the referrer fails.
			return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && !strings.HasSuffix(r.URL.Path, ".sig")
		})
		proxied := host + "/acme/partial@" + ref.Digest
		res := run(t, Step{Action: "sign", Workspace: ws, With: map[string]string{
			"image": proxied, "key": "cosign.key", "tlog-upload": "false", "signature-format": "both"}})
		if res.ExitCode != 3 {
			t.Fatalf("exit %d, want 3\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
		}
		var sigs []map[string]any
		if err := json.Unmarshal([]byte(res.Outputs["signatures"]), &sigs); err != nil || len(sigs) != 1 || sigs[0]["format"] != "legacy" {
			t.Fatalf("signatures = %s, want exactly the legacy one", res.Outputs["signatures"])
		}
		for _, want := range []string{"NOT pushed: bundle signature of", "pushed: legacy signature of"} {
			if !strings.Contains(res.Log+res.Stderr+res.Summary, want) {
				t.Errorf("output lacks %q:\n%s\n%s\n%s", want, res.Log, res.Stderr, res.Summary)
			}
		}
		// What the step says landed did land.
		cosigntest.MustPass(t, "verify", "--key", pub, "--insecure-ignore-tlog", reg.Host+"/acme/partial@"+ref.Digest)
	})
}

// sgPushIndex pushes a two-platform index and returns it and its platform digests.
func sgPushIndex(t *testing.T, host, repo string) (oci.Ref, []string) {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	var digests []string
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests = append(digests, d.String())
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	r, _ := name.ParseReference(host + "/" + repo + ":multi")
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	ref, err := oci.Resolve(context.Background(), r.String(), oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ref, digests
}

func TestSignActionRecursive(t *testing.T) {
	t.Parallel()
	reg, ws, pub := sgSetup(t, "")
	for _, recursive := range []bool{true, false} {
		t.Run(fmt.Sprint("recursive=", recursive), func(t *testing.T) {
			t.Parallel()
			repo := fmt.Sprint("acme/multi-", recursive)
			ref, children := sgPushIndex(t, reg.Host, repo)
			res := run(t, Step{Action: "sign", Workspace: ws, With: map[string]string{
				"image": ref.String(), "key": "cosign.key", "tlog-upload": "false", "signature-format": "legacy", "recursive": fmt.Sprint(recursive)}})
			if res.ExitCode != 0 {
				t.Fatalf("exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
			}
			cosigntest.MustPass(t, "verify", "--key", pub, "--insecure-ignore-tlog", ref.String())
			for _, d := range children {
				args := []string{"verify", "--key", pub, "--insecure-ignore-tlog", reg.Host + "/" + repo + "@" + d}
				if recursive {
					cosigntest.MustPass(t, args...)
				} else {
					cosigntest.MustFail(t, args...)
				}
			}
		})
	}
}

// Keyless, the way it runs on a runner: the token comes through the
// ACTIONS_ID_TOKEN_* variables, Fulcio certifies the job's workflow identity, the
// timestamp authority and Rekor v2 record it; the real cosign CLI verifies with
// the identity policy a deploy gate uses.
func TestSignAttestActionKeyless(t *testing.T) {
	t.Parallel()
	st := testinfra.StartSigstore(t, testinfra.SigstoreOptions{})
	reg := testinfra.StartRegistry(t)
	ws := t.TempDir()
	ref := cosigntest.PushRandomImage(t, reg.Host, "acme/keyless", "v1")
	env := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": st.TokenURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": st.RequestToken,
		"GITHUB_WORKFLOW_REF": "acme/widgets/.github/workflows/release.yml@refs/heads/main"}
	with := map[string]string{"image": reg.Host + "/acme/keyless:v1", "signing-config": st.SigningConfig, "trusted-root": st.TrustedRoot}
	res := run(t, Step{Action: "sign", Workspace: ws, With: with, Env: env})
	if res.ExitCode != 0 {
		t.Fatalf("sign: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	if !strings.Contains(res.Outputs["signer"], st.Identity) || !strings.Contains(res.Outputs["signer"], st.Issuer) {
		t.Errorf("signer = %q, want %s (issuer %s)", res.Outputs["signer"], st.Identity, st.Issuer)
	}
	for _, want := range []string{st.Identity, "Signer (certificate subject)", "Issuer", "dsse 0.0.2"} {
		if !strings.Contains(res.Summary, want) && !strings.Contains(res.Summary, strings.ReplaceAll(want, "_", "\\_")) {
			t.Errorf("sign summary lacks %q:\n%s", want, res.Summary)
		}
	}
	with["predicates"] = sgPredicates(t, ws, "vuln")
	with["provenance"] = "true"
	res = run(t, Step{Action: "attest", Workspace: ws, With: with, Env: env})
	if res.ExitCode != 0 {
		t.Fatalf("attest: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	common := []string{"--new-bundle-format", "--trusted-root", st.TrustedRoot, "--use-signed-timestamps", "--insecure-ignore-sct",
		"--certificate-oidc-issuer", st.Issuer}
	good := append(append([]string{}, common...), "--certificate-identity-regexp", "^https://github.com/acme/widgets/")
	bad := append(append([]string{}, common...), "--certificate-identity-regexp", "^https://github.com/evil/")
	cosigntest.MustPass(t, append(append([]string{"verify"}, good...), ref.String())...)
	cosigntest.MustFail(t, append(append([]string{"verify"}, bad...), ref.String())...)
	for _, typ := range []string{"vuln", "https://slsa.dev/provenance/v1"} {
		cosigntest.MustPass(t, append(append([]string{"verify-attestation", "--type", typ}, good...), ref.String())...)
		cosigntest.MustFail(t, append(append([]string{"verify-attestation", "--type", typ}, bad...), ref.String())...)
	}

	// The legacy format, as Kyverno ClusterPolicy reads it: certificate and
	// timestamp, verified against the stack's Fulcio and TSA chains.
	legacy := cosigntest.PushRandomImage(t, reg.Host, "acme/keyless-legacy", "v1")
	res = run(t, Step{Action: "sign", Workspace: ws, Env: env, With: map[string]string{
		"image": legacy.String(), "signing-config": st.SigningConfig, "signature-format": "legacy", "tlog-upload": "false"}})
	if res.ExitCode != 0 {
		t.Fatalf("legacy sign: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	lc := []string{"--certificate-chain", st.FulcioChain, "--use-signed-timestamps", "--timestamp-certificate-chain", st.TSAChain,
		"--insecure-ignore-tlog", "--insecure-ignore-sct", "--certificate-oidc-issuer", st.Issuer}
	cosigntest.MustPass(t, append(append([]string{"verify"}, lc...), "--certificate-identity-regexp", "^https://github.com/acme/widgets/", legacy.String())...)
	cosigntest.MustFail(t, append(append([]string{"verify"}, lc...), "--certificate-identity-regexp", "^https://github.com/evil/", legacy.String())...)
}

// sgEmptyRoot writes a trusted root with no authorities: cosign v2.6.5 wants a
// trusted root for every bundle it verifies, even a key-based one, and switches
// to the bundle format by itself as soon as a bundle referrer exists.
func sgEmptyRoot(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sgEnvMap turns KEY=VALUE pairs into a step's Env.
func sgEnvMap(kvs []string) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// TestSignAttestActionKMS: the key input names a key in a real AWS KMS
// implementation (local-kms, reached through the AWS SDK's usual variables as
// on a runner after aws-actions/configure-aws-credentials); the cosign CLI
// verifies the signature and the attestation. A malformed KMS URI exits 2 and
// an unreachable KMS exits 3, each naming the key.
func TestSignAttestActionKMS(t *testing.T) {
	t.Parallel()
	kms := testinfra.StartLocalKMS(t)
	reg := testinfra.StartRegistry(t)
	ws := t.TempDir()
	ref := cosigntest.PushRandomImage(t, reg.Host, "acme/kms", "v1")
	pub := filepath.Join(ws, "kms.pub")
	if err := os.WriteFile(pub, kms.PublicKeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	env := sgEnvMap(kms.Env)
	res := run(t, Step{Action: "sign", Workspace: ws, Env: env, With: map[string]string{
		"image": reg.Host + "/acme/kms:v1", "key": kms.KeyURI(), "tlog-upload": "false"}})
	if res.ExitCode != 0 {
		t.Fatalf("sign: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	if !strings.Contains(res.Outputs["signer"], kms.KeyURI()) || !strings.Contains(res.Summary, kms.KeyURI()) {
		t.Errorf("signer %q / summary do not name the KMS key:\n%s", res.Outputs["signer"], res.Summary)
	}
	root := sgEmptyRoot(t)
	cosigntest.MustPass(t, "verify", "--key", pub, "--insecure-ignore-tlog", "--new-bundle-format", "--trusted-root", root, ref.String())
	if err := cosignlegacy.Verify(t, ref, pub, "", nil); err != nil {
		t.Errorf("legacy signature: %v", err)
	}
	res = run(t, Step{Action: "attest", Workspace: ws, Env: env, With: map[string]string{
		"image": ref.String(), "key": kms.KeyURI(), "tlog-upload": "false", "predicates": sgPredicates(t, ws, "cyclonedx", "vuln")}})
	if res.ExitCode != 0 {
		t.Fatalf("attest: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	cosigntest.MustPass(t, "verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--new-bundle-format", "--trusted-root", root, "--type", "vuln", ref.String())
	if err := cosignlegacy.Verify(t, ref, pub, attestation.PredicateCycloneDX, nil); err != nil {
		t.Errorf("legacy attestation: %v", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	for _, tt := range []struct {
		name, key string
		env       map[string]string
		exit      int
		want      string
	}{
		{"malformed", "awskms://", env, 2, "not a valid AWS KMS key reference"},
		{"unreachable", "awskms://" + down + "/alias/secure-gates-test", sgEnvMap(testinfra.AWSTestEnv("")), 3, "fetching the public key from AWS KMS"},
	} {
		for _, action := range []string{"sign", "attest"} {
			with := map[string]string{"image": ref.String(), "key": tt.key, "tlog-upload": "false"}
			if action == "attest" {
				with["predicates"] = sgPredicates(t, ws, "vuln")
			}
			res := run(t, Step{Action: action, Workspace: ws, Env: tt.env, With: with})
			if res.ExitCode != tt.exit || !strings.Contains(res.Stderr+res.Log, tt.want) || !strings.Contains(res.Stderr+res.Log, tt.key) {
				t.Errorf("%s %s: exit %d, want %d with %q naming %s\n%s\n%s", tt.name, action, res.ExitCode, tt.exit, tt.want, tt.key, res.Log, res.Stderr)
			}
		}
	}
}

package evidence_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/evidence"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

const testPolicy = `apiVersion: secure-gates/v1
kind: Policy
mode: enforce
identities:
  - key: keys/release.pub
require:
  - type: cyclonedx
  - type: vuln
    max-age: 24h
    deny: {severity: critical}
  - type: slsaprovenance
    source-repository: acme/widgets
exceptions:
  signers: [{key: keys/security.pub}]
`

// release is one signed and attested image on the loopback registry.
type release struct {
	ref     oci.Ref
	dir     string // holds policy.yaml and keys/
	policy  []byte
	now     time.Time
	release string // private key PEM
}

func key(t *testing.T) (priv, pub []byte) {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	return kb.PrivateBytes, kb.PublicBytes
}

// newRelease pushes an image to a real registry (Debian's docker-registry on
// loopback), signs it and attests an SBOM, a vulnerability scan recording a
// critical CVE, provenance, and a signed exception waiving the CVE — in both
// formats (legacy .sig/.att tags and Sigstore bundles), with pkg/signing
// (cosign v2.6.5's library).
func newRelease(t *testing.T) *release {
	t.Helper()
	reg := testinfra.StartRegistry(t)
	ref := oci.Ref{Repository: reg.Host + "/acme/widgets", Tag: "v1"}
	ref.Digest = testinfra.PushRandomImage(t, ref.Repository+":"+ref.Tag)
	ctx := context.Background()
	r := &release{ref: ref, dir: t.TempDir(), policy: []byte(testPolicy), now: time.Now().UTC().Truncate(time.Second)}
	relPriv, relPub := key(t)
	secPriv, secPub := key(t)
	must(t, os.MkdirAll(filepath.Join(r.dir, "keys"), 0o755))
	must(t, os.WriteFile(filepath.Join(r.dir, "keys", "release.pub"), relPub, 0o644))
	must(t, os.WriteFile(filepath.Join(r.dir, "keys", "security.pub"), secPub, 0o644))
	must(t, os.WriteFile(filepath.Join(r.dir, "policy.yaml"), r.policy, 0o644))
	r.release = string(relPriv)

	opts := signing.Options{Key: string(relPriv), Format: signing.FormatBoth}
	if _, err := signing.Sign(ctx, ref, opts); err != nil {
		t.Fatal(err)
	}
	preds := []signing.Predicate{
		{Type: "cyclonedx", Data: mustJSON(t, map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6",
			"components": []any{map[string]any{"type": "library", "name": "log4j-core", "version": "2.14.1"}}})},
		{Type: "vuln", Data: mustJSON(t, vulnScan(r.now.Add(-time.Hour)))},
		{Type: "slsaprovenance", Data: mustJSON(t, provenance())},
	}
	if _, err := signing.Attest(ctx, ref, preds, opts); err != nil {
		t.Fatal(err)
	}
	exc := signing.Predicate{Type: attestation.PredicateException, Data: mustJSON(t, map[string]any{
		"findings": []string{"CVE-2021-44228"}, "reason": "not reachable: JNDI lookups disabled", "ticket": "SEC-42",
		"approver": "security@acme.example", "expires": r.now.Add(72 * time.Hour).Format(time.RFC3339)})}
	if _, err := signing.Attest(ctx, ref, []signing.Predicate{exc}, signing.Options{Key: string(secPriv), Format: signing.FormatBoth}); err != nil {
		t.Fatal(err)
	}
	return r
}

func vulnScan(finished time.Time) any {
	return map[string]any{
		"invocation": map[string]any{"parameters": nil, "uri": "https://github.com/acme/widgets/actions/runs/1", "event_id": "1", "builder.id": "secure-gates"},
		"scanner": map[string]any{"uri": "pkg:golang/github.com/anchore/grype@v0.120.1", "version": "0.120.1",
			"db": map[string]any{"uri": "grype-db", "version": "6"}, "result": map[string]any{"matches": []any{map[string]any{
				"vulnerability": map[string]any{"id": "CVE-2021-44228", "severity": "Critical", "fix": map[string]any{"state": "fixed", "versions": []string{"2.15.0"}}},
				"artifact":      map[string]any{"name": "log4j-core", "version": "2.14.1", "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
			}}}},
		"metadata": map[string]any{"scanStartedOn": finished.Add(-time.Minute).Format(time.RFC3339), "scanFinishedOn": finished.Format(time.RFC3339)},
	}
}

func provenance() any {
	return map[string]any{
		"buildDefinition": map[string]any{
			"buildType":          "https://actions.github.io/buildtypes/workflow/v1",
			"externalParameters": map[string]any{"workflow": map[string]any{"repository": "https://github.com/acme/widgets", "path": ".github/workflows/release.yml", "ref": "refs/heads/main"}},
			"resolvedDependencies": []any{map[string]any{"uri": "git+https://github.com/acme/widgets@refs/heads/main",
				"digest": map[string]any{"gitCommit": strings.Repeat("c", 40)}}},
		},
		"runDetails": map[string]any{"builder": map[string]any{"id": "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main"}},
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (r *release) options() evidence.Options {
	return evidence.Options{Policy: r.policy, PolicySource: ".secure-gates/policy.yaml", BaseDir: r.dir,
		Now: func() time.Time { return r.now }, Version: "test"}
}

func collect(t *testing.T, r *release) *evidence.Bundle {
	t.Helper()
	b, rep, err := evidence.Collect(context.Background(), r.ref, r.options())
	if err != nil {
		if rep != nil {
			t.Fatalf("%v\n%v", err, rep.Failures())
		}
		t.Fatal(err)
	}
	return b
}

func TestBundleOfARelease(t *testing.T) {
	r := newRelease(t)
	b := collect(t, r)

	var idx evidence.Index
	must(t, json.Unmarshal(b.Files[evidence.IndexFile], &idx))
	// The index names every other file, with its correct digest.
	var listed []string
	for _, f := range idx.Files {
		listed = append(listed, f.Path)
		data, ok := b.Files[f.Path]
		if !ok {
			t.Errorf("index names %s, which is not in the bundle", f.Path)
			continue
		}
		if got := sha(data); got != f.SHA256 || f.Size != len(data) {
			t.Errorf("%s: index says sha256 %s size %d, file is %s size %d", f.Path, f.SHA256, f.Size, got, len(data))
		}
	}
	var all []string
	for p := range b.Files {
		if p != evidence.IndexFile {
			all = append(all, p)
		}
	}
	sort.Strings(all)
	if strings.Join(all, "\n") != strings.Join(listed, "\n") {
		t.Errorf("index files:\n%s\nbundle files:\n%s", strings.Join(listed, "\n"), strings.Join(all, "\n"))
	}
	if !idx.Verified || idx.Digest != r.ref.Digest || idx.Policy.Path != evidence.PolicyFile || idx.Policy.SHA256 != sha(r.policy) {
		t.Errorf("index header: %+v", idx)
	}
	// Both formats, as fetched: envelopes, bundles and signatures.
	roles := map[string]int{}
	uses := map[string]int{}
	for _, f := range idx.Files {
		roles[f.Role]++
		uses[f.Use]++
	}
	for _, want := range []string{"dsse-envelope", "sigstore-bundle", "signature-payload", "signature", "policy", "policy-key", "registry-record", "verification-report", "vsa", "sbom", "exceptions"} {
		if roles[want] == 0 {
			t.Errorf("no file with role %s: %v", want, roles)
		}
	}
	if uses["input"] == 0 || uses["exception"] == 0 {
		t.Errorf("uses: %v", uses)
	}
	// The exception used, with ticket and approver from the signed predicate.
	var used []evidence.UsedException
	must(t, json.Unmarshal(b.Files[evidence.ExceptionsFile], &used))
	if len(used) != 1 || used[0].Ticket != "SEC-42" || used[0].Approver != "security@acme.example" || used[0].FindingsWaived != 1 ||
		used[0].Findings[0] != "CVE-2021-44228" {
		t.Errorf("exceptions used: %+v", used)
	}
	// The controls: every pipeline criterion, each backed by files of the index.
	want := map[string]string{"CC6.8": attestation.PredicateVuln, "CC7.1": attestation.PredicateVuln, "CC8.1": attestation.PredicateSLSAProvenance,
		"CC9.1": attestation.PredicateException, "CC9.2": attestation.PredicateCycloneDX}
	byPath := map[string]evidence.FileEntry{}
	for _, f := range idx.Files {
		byPath[f.Path] = f
	}
	for _, c := range idx.Controls {
		pt, ok := want[c.ID]
		if !ok {
			t.Errorf("unexpected control %s", c.ID)
			continue
		}
		delete(want, c.ID)
		found := false
		for _, f := range c.Files {
			if byPath[f.Path].SHA256 != f.SHA256 {
				t.Errorf("%s names %s with sha256 %s, index says %s", c.ID, f.Path, f.SHA256, byPath[f.Path].SHA256)
			}
			found = found || byPath[f.Path].PredicateType == pt
		}
		if !found {
			t.Errorf("%s names no %s attestation: %+v", c.ID, pt, c.Files)
		}
	}
	if len(want) != 0 {
		t.Errorf("controls missing: %v", want)
	}
	var outside []string
	for _, c := range idx.OutsideScope {
		outside = append(outside, c.ID)
		if c.SuppliedBy == "" {
			t.Errorf("%s: no word on what supplies it", c.ID)
		}
	}
	if got := strings.Join(outside, " "); got != "CC6.1 CC6.6 CC7.2 CC7.3 CC7.4" {
		t.Errorf("outside the bundle: %s", got)
	}
	// The SBOM is the verified predicate.
	for _, f := range idx.Files {
		if f.Role == "sbom" && !strings.Contains(string(b.Files[f.Path]), "log4j-core") {
			t.Errorf("%s: %s", f.Path, b.Files[f.Path])
		}
	}

	// Written as a folder and as a .tar.gz, both verify offline.
	dir := t.TempDir()
	for _, out := range []string{filepath.Join(dir, "bundle"), filepath.Join(dir, "bundle.tar.gz")} {
		must(t, evidence.Write(out, b.Files, b.Report.VerifiedAt))
		files, err := evidence.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		res, err := evidence.Check(context.Background(), files, evidence.CheckOptions{ExpectPolicy: r.policy})
		if err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		if res.Image != r.ref.String() || res.PolicySHA256 != sha(r.policy) || len(res.TrustRoot) != 2 {
			t.Errorf("%+v", res)
		}
	}
	// Writing over an existing bundle is refused.
	if err := evidence.Write(filepath.Join(dir, "bundle"), b.Files, r.now); errkind.Of(err) != errkind.KindInput {
		t.Errorf("over an existing bundle: %v", err)
	}
}

func TestAlteredBundleFails(t *testing.T) {
	r := newRelease(t)
	b := collect(t, r)
	ctx := context.Background()
	if _, err := evidence.Check(ctx, b.Files, evidence.CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	clone := func() map[string][]byte {
		m := map[string][]byte{}
		for k, v := range b.Files {
			m[k] = v
		}
		return m
	}
	// Every file, altered or removed, fails the check.
	for p := range b.Files {
		for _, how := range []string{"altered", "removed"} {
			t.Run(how+" "+p, func(t *testing.T) {
				m := clone()
				if how == "removed" {
					delete(m, p)
				} else {
					m[p] = flip(m[p])
				}
				_, err := evidence.Check(ctx, m, evidence.CheckOptions{})
				if err == nil {
					t.Fatalf("%s %s: the bundle still verifies", p, how)
				}
				if errkind.Of(err) != errkind.KindPolicy {
					t.Errorf("%s %s: kind %v: %v", p, how, errkind.Of(err), err)
				}
			})
		}
	}
	t.Run("added", func(t *testing.T) {
		m := clone()
		m["attestations/extra.dsse.json"] = []byte("{}")
		if _, err := evidence.Check(ctx, m, evidence.CheckOptions{}); err == nil || !strings.Contains(err.Error(), "attestations/extra.dsse.json was added") {
			t.Errorf("added file: %v", err)
		}
	})
	t.Run("another policy pinned", func(t *testing.T) {
		if _, err := evidence.Check(ctx, b.Files, evidence.CheckOptions{ExpectPolicy: []byte(testPolicy + "\n# other\n")}); err == nil {
			t.Error("a bundle with another policy than the pinned one verifies")
		}
	})
	// A consistent forgery: the exception's approver changed in the
	// attestation and everything derived (exchanges, index) recomputed would
	// still need the signature: re-signing is impossible without the key.
}

// flip changes one byte in the middle of data (or makes empty data non-empty).
func flip(data []byte) []byte {
	out := append([]byte(nil), data...)
	if len(out) == 0 {
		return []byte("x")
	}
	i := len(out) / 2
	out[i] ^= 0x01
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestUnverifiedImageGetsNoBundle(t *testing.T) {
	r := newRelease(t)
	// Another image of the same repository, never signed.
	ref := oci.Ref{Repository: strings.Split(r.ref.Repository, "@")[0], Tag: "unsigned"}
	ref.Digest = testinfra.PushRandomImage(t, ref.Repository+":"+ref.Tag)
	r.ref = ref
	b, rep, err := evidence.Collect(context.Background(), r.ref, r.options())
	if b != nil || rep == nil || rep.Verified || errkind.Of(err) != errkind.KindPolicy {
		t.Fatalf("unsigned image: bundle %v, report %+v, err %v", b != nil, rep, err)
	}
	if !strings.Contains(err.Error(), "not signed") {
		t.Errorf("the error does not say why: %v", err)
	}
	// A tag is refused before anything is read.
	if _, _, err := evidence.Collect(context.Background(), oci.Ref{Repository: r.ref.Repository}, r.options()); errkind.Of(err) != errkind.KindInput {
		t.Errorf("no digest: %v", err)
	}
}

// A bundle verified for the environment a dast requirement runs in did not
// check that requirement: it says so, and a pinned environment refuses it,
// so it cannot pass as the evidence of the promotion beyond (nor can a
// production bundle's unsigned meta.json be rewritten to skip the DAST).
func TestBundleOfAnotherEnvironmentIsNotThePromotion(t *testing.T) {
	r := newRelease(t)
	r.policy = []byte(strings.Replace(testPolicy, "exceptions:", "  - {type: dast, environment: staging}\nexceptions:", 1))
	ctx := context.Background()
	o := r.options()
	o.Environment = "production"
	if _, _, err := evidence.Collect(ctx, r.ref, o); errkind.Of(err) != errkind.KindPolicy {
		t.Fatalf("production bundle without a DAST: %v (kind %v), want a policy error", err, errkind.Of(err))
	}
	o.Environment = "staging"
	b, rep, err := evidence.Collect(ctx, r.ref, o)
	if err != nil {
		t.Fatalf("%v %v", err, rep)
	}
	res, err := evidence.Check(ctx, b.Files, evidence.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Environment != "staging" || len(res.NotRequired) != 1 || res.NotRequired[0] != "dast" {
		t.Errorf("result environment %q, not required %q: want staging, [dast]", res.Environment, res.NotRequired)
	}
	if _, err := evidence.Check(ctx, b.Files, evidence.CheckOptions{ExpectEnvironment: "staging"}); err != nil {
		t.Errorf("pinned to its own environment: %v", err)
	}
	_, err = evidence.Check(ctx, b.Files, evidence.CheckOptions{ExpectEnvironment: "production"})
	if errkind.Of(err) != errkind.KindPolicy || !strings.Contains(err.Error(), `verified for a deploy to environment "staging", not "production"`) {
		t.Errorf("staging bundle pinned to production: %v (kind %v)", err, errkind.Of(err))
	}
}

// evidence verify is offline: a forged bundle whose policy names a KMS key
// (awskms://HOST/… carries its endpoint) must not make the auditor's machine
// send a KMS request, signed with its ambient credentials, to that host.
func TestForgedBundleNeverContactsAKMS(t *testing.T) {
	// The KMS endpoint counts the connections made to it (the client speaks
	// TLS: a connection is the request, whatever answers).
	var hits atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_REGION", "us-east-1")
	r := newRelease(t)
	b := collect(t, r)
	m := map[string][]byte{}
	for k, v := range b.Files {
		m[k] = v
	}
	host := ln.Addr().String()
	m[evidence.PolicyFile] = []byte(strings.Replace(string(m[evidence.PolicyFile]), "key: keys/release.pub", "key: awskms://"+host+"/alias/release", 1))
	_, err = evidence.Check(context.Background(), m, evidence.CheckOptions{})
	if errkind.Of(err) != errkind.KindPolicy || !strings.Contains(err.Error(), "KMS") {
		t.Errorf("bundle with a KMS key: %v (kind %v), want a policy error naming the KMS key", err, errkind.Of(err))
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("evidence verify sent %d request(s) to the KMS endpoint the bundle names", n)
	}
}

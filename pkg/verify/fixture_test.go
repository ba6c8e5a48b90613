package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	cosignoci "github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/cosign/v2/pkg/types"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/attestation/attestationtest"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

const (
	ghIssuer  = "https://token.actions.githubusercontent.com"
	ghSubject = "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main"
)

// world is one test's registry, keys and trust root.
type world struct {
	t               *testing.T
	host            string
	keys            map[string]*ecdsa.PrivateKey // name → key; policy files <name>.pub
	dir             string                       // holds the public keys
	vs              *ca.VirtualSigstore          // TSA
	caRoot, caInter *x509.Certificate
	caKey           *ecdsa.PrivateKey
	trust           *root.TrustedRoot
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	w := &world{t: t, host: u.Host, keys: map[string]*ecdsa.PrivateKey{}, dir: t.TempDir()}
	for _, n := range []string{"release", "other", "security", "breakglass"} {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		w.keys[n] = k
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err := os.WriteFile(filepath.Join(w.dir, n+".pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	w.vs = vs
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	w.caRoot, w.caInter, w.caKey = rootCert, inter, interKey
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{Root: rootCert, Intermediates: []*x509.Certificate{inter}, URI: "https://fulcio.test"}},
		nil, vs.TimestampingAuthorities(), vs.RekorLogs())
	if err != nil {
		t.Fatal(err)
	}
	w.trust = tr
	return w
}

// image pushes a random image and returns its digest reference.
func (w *world) image(repo string) oci.Ref {
	w.t.Helper()
	d := testinfra.PushRandomImage(w.t, w.host+"/"+repo+":v1")
	return oci.Ref{Repository: w.host + "/" + repo, Digest: d}
}

// policy loads a policy from YAML text, with key paths relative to w.dir.
func (w *world) policy(text string) *policy.Policy {
	w.t.Helper()
	p, err := policy.Parse([]byte(text), policy.Options{BaseDir: w.dir})
	if err != nil {
		w.t.Fatal(err)
	}
	p.Source = ".secure-gates/policy.yaml"
	return p
}

// signer is how a fixture is signed: a key, or a keyless certificate.
type fixtureSigner struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate // keyless when set
	tsa  bool              // add an RFC 3161 timestamp
	// tlog, when set, adds a transparency-log entry integrated at that time,
	// with a SET (and, in bundles, an inclusion proof) by rekor (default: the
	// world's log, which the trusted root holds).
	tlog  *time.Time
	rekor *ca.VirtualSigstore
	// tsaOver, when set, is what the timestamp covers instead of the signature
	// (a genuine timestamp of something else).
	tsaOver []byte
}

// logged returns s with a transparency-log entry integrated at at.
func (s fixtureSigner) logged(at time.Time) fixtureSigner {
	s.tlog = &at
	return s
}

// rekorEntry is a hashedrekord entry of sig over logged (sha256), signed into
// the log at s.tlog: the canonical body and its signed entry timestamp.
func (w *world) rekorEntry(s fixtureSigner, logged, sig []byte) (body []byte, set []byte, logID string) {
	w.t.Helper()
	var keyPEM []byte
	if s.cert != nil {
		keyPEM, _ = cryptoutils.MarshalCertificateToPEM(s.cert)
	} else {
		keyPEM, _ = cryptoutils.MarshalPublicKeyToPEM(s.key.Public())
	}
	if sig == nil {
		var err error
		if sig, err = s.sv(w.t).SignMessage(bytes.NewReader(logged)); err != nil {
			w.t.Fatal(err)
		}
	}
	sum := sha256.Sum256(logged)
	body, err := json.Marshal(map[string]any{"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": map[string]any{
		"data":      map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(sum[:])}},
		"signature": map[string]any{"content": base64.StdEncoding.EncodeToString(sig), "publicKey": map[string]any{"content": base64.StdEncoding.EncodeToString(keyPEM)}},
	}})
	if err != nil {
		w.t.Fatal(err)
	}
	rk := s.rekor
	if rk == nil {
		rk = w.vs
	}
	if logID, err = rk.RekorLogID(); err != nil {
		w.t.Fatal(err)
	}
	set, err = rk.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: s.tlog.Unix(), LogIndex: 0, LogID: logID})
	if err != nil {
		w.t.Fatal(err)
	}
	return body, set, logID
}

func (w *world) key(n string, tsa bool) fixtureSigner {
	return fixtureSigner{key: w.keys[n], tsa: tsa}
}

// certExt are the GitHub certificate extensions of a keyless fixture.
type certExt struct {
	issuer, subject, trigger, repository, ref string
}

// keyless issues a short-lived certificate like Fulcio does for a GitHub
// workflow, with the deprecated (raw) GitHub extensions cosign checks.
func (w *world) keyless(e certExt) fixtureSigner {
	w.t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		w.t.Fatal(err)
	}
	u, err := url.Parse(e.subject)
	if err != nil {
		w.t.Fatal(err)
	}
	ext := func(n int, v string) pkix.Extension {
		return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n}, Value: []byte(v)}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		URIs:         []*url.URL{u},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(10 * time.Minute),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{ext(1, e.issuer), ext(2, e.trigger), ext(5, e.repository), ext(6, e.ref),
			ext(4, "release")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, w.caInter, &k.PublicKey, w.caKey)
	if err != nil {
		w.t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		w.t.Fatal(err)
	}
	return fixtureSigner{key: k, cert: cert, tsa: true}
}

func (s fixtureSigner) sv(t *testing.T) signature.SignerVerifier {
	sv, err := signature.LoadECDSASignerVerifier(s.key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

// staticOpts are a legacy signature's or attestation's certificate, timestamp
// and transparency-log bundle; logged and sig are what the log entry records
// (sig nil: a fresh signature of logged).
func (w *world) staticOpts(s fixtureSigner, tsaOver, logged, sig []byte) []static.Option {
	w.t.Helper()
	var opts []static.Option
	if s.tlog != nil {
		body, set, logID := w.rekorEntry(s, logged, sig)
		opts = append(opts, static.WithBundle(&cbundle.RekorBundle{SignedEntryTimestamp: set, Payload: cbundle.RekorPayload{
			Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: s.tlog.Unix(), LogIndex: 0, LogID: logID}}))
	}
	if s.cert != nil {
		certPEM, _ := cryptoutils.MarshalCertificatesToPEM([]*x509.Certificate{s.cert})
		chainPEM, _ := cryptoutils.MarshalCertificatesToPEM([]*x509.Certificate{w.caInter, w.caRoot})
		opts = append(opts, static.WithCertChain(certPEM, chainPEM))
	}
	if s.tsaOver != nil {
		tsaOver = s.tsaOver
	}
	if s.tsa {
		ts, err := w.vs.TimestampResponse(tsaOver)
		if err != nil {
			w.t.Fatal(err)
		}
		opts = append(opts, static.WithRFC3161Timestamp(&cbundle.RFC3161Timestamp{SignedRFC3161Timestamp: ts}))
	}
	return opts
}

// sign attaches a legacy (.sig) signature of ref's digest.
func (w *world) sign(ref oci.Ref, s fixtureSigner) {
	w.t.Helper()
	d, _ := ref.Name()
	pl, err := json.Marshal(sigpayload.Cosign{Image: d}.SimpleContainerImage())
	if err != nil {
		w.t.Fatal(err)
	}
	sig, err := s.sv(w.t).SignMessage(bytes.NewReader(pl))
	if err != nil {
		w.t.Fatal(err)
	}
	osig, err := static.NewSignature(pl, base64.StdEncoding.EncodeToString(sig), w.staticOpts(s, sig, pl, sig)...)
	if err != nil {
		w.t.Fatal(err)
	}
	w.attach(d, func(se cosignoci.SignedEntity) (cosignoci.SignedEntity, error) {
		return mutate.AttachSignatureToEntity(se, osig)
	}, ociremote.WriteSignatures)
}

// attach reads the signed entity d, adds to it what add adds (a signature or
// an attestation) and writes the result back with write, the way cosign sign
// and cosign attest do in the legacy format.
func (w *world) attach(d name.Digest, add func(cosignoci.SignedEntity) (cosignoci.SignedEntity, error),
	write func(name.Repository, cosignoci.SignedEntity, ...ociremote.Option) error) {
	w.t.Helper()
	se, err := ociremote.SignedEntity(d)
	if err != nil {
		w.t.Fatal(err)
	}
	if se, err = add(se); err != nil {
		w.t.Fatal(err)
	}
	if err := write(d.Repository, se); err != nil {
		w.t.Fatal(err)
	}
}

// statement returns an in-toto statement about digest (sha256:…).
func statement(t *testing.T, repo, digest, predicateType string, predicate any) []byte {
	t.Helper()
	pred, err := json.Marshal(predicate)
	if err != nil {
		t.Fatal(err)
	}
	st := map[string]any{
		"_type":         attestation.StatementTypeV1,
		"predicateType": predicateType,
		"subject":       []any{map[string]any{"name": repo, "digest": map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}},
		"predicate":     json.RawMessage(pred),
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attest attaches a legacy (.att) attestation to ref's digest, about subject
// (normally ref.Digest).
func (w *world) attest(ref oci.Ref, s fixtureSigner, subject, predicateType string, predicate any) {
	w.t.Helper()
	d, _ := ref.Name()
	st := statement(w.t, ref.Repository, subject, predicateType, predicate)
	env, err := dsse.WrapSigner(s.sv(w.t), types.IntotoPayloadType).SignMessage(bytes.NewReader(st))
	if err != nil {
		w.t.Fatal(err)
	}
	att, err := static.NewAttestation(env, w.staticOpts(s, env, env, nil)...)
	if err != nil {
		w.t.Fatal(err)
	}
	w.attach(d, func(se cosignoci.SignedEntity) (cosignoci.SignedEntity, error) {
		return mutate.AttachAttestationToEntity(se, att)
	}, ociremote.WriteAttestations)
}

// bundle attaches a Sigstore bundle (v0.3, DSSE) as a referrer of ref's digest,
// the way cosign --new-bundle-format does. A nil predicate with the cosign sign
// type makes an image signature.
func (w *world) bundle(ref oci.Ref, s fixtureSigner, predicateType string, predicate any) {
	w.t.Helper()
	d, _ := ref.Name()
	var st []byte
	if predicateType == types.CosignSignPredicateType {
		st = []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` +
			strings.TrimPrefix(ref.Digest, "sha256:") + `"}}],"predicateType":"` + types.CosignSignPredicateType + `"}`)
	} else {
		st = statement(w.t, ref.Repository, ref.Digest, predicateType, predicate)
	}
	sig, err := s.sv(w.t).SignMessage(bytes.NewReader(attestationtest.PAE(types.IntotoPayloadType, st)))
	if err != nil {
		w.t.Fatal(err)
	}
	vm := &protobundle.VerificationMaterial{}
	if s.cert != nil {
		vm.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: s.cert.Raw}}
	} else {
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "release"}}
	}
	if s.tsa {
		ts, err := w.vs.TimestampResponse(sig)
		if err != nil {
			w.t.Fatal(err)
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts}}}
	}
	if s.tlog != nil {
		body, set, logID := w.rekorEntry(s, attestationtest.PAE(types.IntotoPayloadType, st), sig)
		rk := s.rekor
		if rk == nil {
			rk = w.vs
		}
		proof, err := rk.GetInclusionProof(body)
		if err != nil {
			w.t.Fatal(err)
		}
		root, _ := hex.DecodeString(*proof.RootHash)
		id, _ := hex.DecodeString(logID)
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{{
			LogIndex: 0, LogId: &protocommon.LogId{KeyId: id}, IntegratedTime: s.tlog.Unix(),
			KindVersion:       &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.1"},
			InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
			InclusionProof:    &protorekor.InclusionProof{LogIndex: *proof.LogIndex, RootHash: root, TreeSize: *proof.TreeSize, Checkpoint: &protorekor.Checkpoint{Envelope: *proof.Checkpoint}},
			CanonicalizedBody: body,
		}}
	}
	b := &protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: st, PayloadType: types.IntotoPayloadType, Signatures: []*protodsse.Signature{{Sig: sig}}}},
	}
	data, err := protojson.Marshal(b)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := ociremote.WriteAttestationNewBundleFormat(d, data, types.CosignSignPredicateType); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) verify(ref oci.Ref, p *policy.Policy, now time.Time) *Report {
	w.t.Helper()
	return w.verifyWith(ref, Options{Policy: p, TrustedMaterial: w.trust, Now: func() time.Time { return now }})
}

// verifyWith runs Verify on ref with o and fails the test on an error.
func (w *world) verifyWith(ref oci.Ref, o Options) *Report {
	w.t.Helper()
	rep, err := Verify(context.Background(), ref, o)
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

// Predicates of a fully attested image.

func cyclonedx() any {
	return map[string]any{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []any{}}
}

func vulnScan(finished time.Time, matches ...map[string]any) any {
	if matches == nil {
		matches = []map[string]any{}
	}
	return map[string]any{
		"invocation": map[string]any{"parameters": nil, "uri": "https://github.com/acme/widgets/actions/runs/1", "event_id": "1", "builder.id": "secure-gates"},
		"scanner": map[string]any{"uri": "pkg:golang/github.com/anchore/grype@v0.120.1", "version": "0.120.1",
			"db": map[string]any{"uri": "grype-db", "version": "6"}, "result": map[string]any{"matches": matches}},
		"metadata": map[string]any{"scanStartedOn": finished.Add(-time.Minute).Format(time.RFC3339), "scanFinishedOn": finished.Format(time.RFC3339)},
	}
}

func match(id, severity string, fixed bool) map[string]any {
	state := "not-fixed"
	var versions []string
	if fixed {
		state, versions = "fixed", []string{"9.9.9"}
	}
	return map[string]any{
		"vulnerability": map[string]any{"id": id, "severity": severity, "fix": map[string]any{"state": state, "versions": versions}},
		"artifact":      map[string]any{"name": "log4j-core", "version": "2.14.1", "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
	}
}

func codeScan(decision string, finished time.Time) any {
	return map[string]any{
		"tools":          []any{map[string]any{"name": "gitleaks", "version": "8.30.1"}},
		"rules":          map[string]any{"count": 10},
		"counts":         map[string]any{"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0, "unknown": 0},
		"sarif":          map[string]any{"digest": "sha256:" + strings.Repeat("a", 64)},
		"decision":       decision,
		"scanStartedOn":  finished.Add(-time.Minute).Format(time.RFC3339),
		"scanFinishedOn": finished.Format(time.RFC3339),
	}
}

func provenance(repo string) any {
	return map[string]any{
		"buildDefinition": map[string]any{
			"buildType":          "https://actions.github.io/buildtypes/workflow/v1",
			"externalParameters": map[string]any{"workflow": map[string]any{"repository": "https://github.com/" + repo, "path": ".github/workflows/release.yml", "ref": "refs/heads/main"}},
			"resolvedDependencies": []any{map[string]any{"uri": "git+https://github.com/" + repo + "@refs/heads/main",
				"digest": map[string]any{"gitCommit": strings.Repeat("c", 40)}}},
		},
		"runDetails": map[string]any{"builder": map[string]any{"id": "https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main"}},
	}
}

func exceptionPred(expires time.Time, scope string, ids ...string) any {
	p := map[string]any{"findings": ids, "reason": "no fix reachable in our use", "ticket": "SEC-42",
		"approver": "security@acme.example", "expires": expires.UTC().Format(time.RFC3339)}
	if scope != "" {
		p["scope"] = scope
	}
	return p
}

// attestAll attaches the four attestations keyPolicy requires, signed by s,
// all passing, the scans finished an hour before now.
func (w *world) attestAll(ref oci.Ref, s fixtureSigner, now time.Time) {
	w.t.Helper()
	w.attestRequired(ref, s, now.Add(-time.Hour), nil)
}

// attestRequired attaches the attestations keyPolicy requires, signed by s, in
// the order cyclonedx, vuln, code-scan, slsaprovenance: each passing, its scan
// finished at finished, unless preds has its predicate type — then preds'
// predicate, or none where that is nil.
func (w *world) attestRequired(ref oci.Ref, s fixtureSigner, finished time.Time, preds map[string]any) {
	w.t.Helper()
	for _, a := range []struct {
		typ  string
		pred any
	}{
		{attestation.PredicateCycloneDX, cyclonedx()},
		{attestation.PredicateVuln, vulnScan(finished)},
		{attestation.PredicateCodeScan, codeScan("pass", finished)},
		{attestation.PredicateSLSAProvenance, provenance("acme/widgets")},
	} {
		if p, ok := preds[a.typ]; ok {
			a.pred = p
		}
		if a.pred != nil {
			w.attest(ref, s, ref.Digest, a.typ, a.pred)
		}
	}
}

// signWithSBOM signs ref with s and attests a CycloneDX SBOM on it, both as
// Sigstore bundles or both in the legacy format.
func (w *world) signWithSBOM(ref oci.Ref, s fixtureSigner, bundle bool) {
	w.t.Helper()
	if bundle {
		w.bundle(ref, s, types.CosignSignPredicateType, nil)
		w.bundle(ref, s, attestation.PredicateCycloneDX, cyclonedx())
		return
	}
	w.sign(ref, s)
	w.attest(ref, s, ref.Digest, attestation.PredicateCycloneDX, cyclonedx())
}

// signedImage pushes acme/widgets and signs it (legacy .sig) with the release
// key, which it returns.
func (w *world) signedImage() (oci.Ref, fixtureSigner) {
	w.t.Helper()
	ref := w.image("acme/widgets")
	k := w.key("release", false)
	w.sign(ref, k)
	return ref, k
}

// release is signedImage with the four attestations keyPolicy requires, all
// passing (attestAll): a release that verifies.
func (w *world) release(now time.Time) (oci.Ref, fixtureSigner) {
	w.t.Helper()
	ref, k := w.signedImage()
	w.attestAll(ref, k, now)
	return ref, k
}

const keyPolicy = `apiVersion: secure-gates/v1
kind: Policy
mode: enforce
enforce-environments: [production]
identities:
  - key: release.pub
require:
  - type: cyclonedx
  - type: vuln
    max-age: 24h
    deny: {severity: critical, fixed-only: true}
  - type: code-scan
  - type: slsaprovenance
    source-repository: acme/widgets
exceptions:
  signers: [{key: security.pub}]
break-glass:
  signers: [{key: breakglass.pub}]
  ttl: 2h
`

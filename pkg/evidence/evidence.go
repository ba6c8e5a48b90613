// Package evidence makes and re-verifies SOC 2 evidence bundles of a release:
// for one image digest, everything the verification of its chain read from
// the registry (signatures, DSSE envelopes, Sigstore bundles, with their
// certificates, Rekor entries and RFC 3161 timestamps), the policy at its
// digest with its public keys, the Sigstore trusted root, the verification
// report and VSA, the SBOMs, the exceptions used (ticket, approver, expiry),
// and index.json: every file with its sha256 and the Trust Services Criteria
// the pipeline's evidence supports (CC6.8, CC7.1, CC8.1, CC9.1, CC9.2)
// mapped to the files that evidence them; the runtime criteria (CC6.1, CC6.6,
// CC7.2–CC7.4) are listed as outside the bundle with what would supply them.
//
// Collect verifies with pkg/verify through a recording transport: the bundle
// holds the bytes the verifier read, not a second download (a registry that
// answers one request differently on two reads gets no bundle). An image that
// does not verify gets no bundle (a policy error): there is no bundle claiming
// evidence for an unverified image. A bundle is re-verified offline (Check)
// before Collect returns it.
//
// Check re-verifies a bundle offline: it replays the recorded registry reads
// to pkg/verify with the bundle's policy and trust root at the recorded
// verification time, rebuilds every file from that and compares: a file
// altered, removed or added fails it. The bundle is not signed as a whole —
// what is signed is its evidence — so an auditor pins the trust root
// (Options.ExpectPolicy, ExpectTrustedRoot) or compares the fingerprints
// Check returns with the ones the organisation publishes.
package evidence

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// Options configures Collect.
type Options struct {
	// Policy is the policy file's bytes and PolicySource its path (recorded).
	Policy       []byte
	PolicySource string
	// BaseDir resolves the policy's key paths (policy.Options.BaseDir).
	BaseDir string
	// TrustedRoot is the Sigstore trusted_root.json the verification uses
	// (nil: keys only). It is recorded in the bundle.
	TrustedRoot []byte
	// Registry configures registry access.
	Registry oci.Options
	// Now is the verification time (default time.Now), kept to the second.
	Now func() time.Time
	// Version names the secure-gates version in meta.json and the VSA.
	Version string
	// Environment is the environment the release was deployed to (as
	// verify-and-deploy's environment input): a requirement that does not
	// apply to it (a dast requirement, in the environment its DAST runs in)
	// passes as not required. Recorded in meta.json.
	Environment string
}

// Bundle is a made bundle: its files by slash-separated path.
type Bundle struct {
	Files  map[string][]byte
	Report *verify.Report
}

// Collect verifies ref (repo@sha256:…) against the policy and returns its
// evidence bundle. When the chain does not verify it returns the report and
// the report's policy error (errkind.Policy), and no bundle.
func Collect(ctx context.Context, ref oci.Ref, o Options) (*Bundle, *verify.Report, error) {
	if ref.Digest == "" {
		return nil, nil, errkind.Input(fmt.Errorf("evidence: %q is not named by digest", ref.String()))
	}
	pol, err := policy.Parse(o.Policy, policy.Options{BaseDir: o.BaseDir})
	if err != nil {
		return nil, nil, errkind.Input(fmt.Errorf("policy %s: %w", o.PolicySource, err))
	}
	if err := offlineCheckable(pol); err != nil {
		return nil, nil, err
	}
	pol.Source = PolicyFile
	var trust root.TrustedMaterial
	if len(o.TrustedRoot) > 0 {
		tr, err := root.NewTrustedRootFromJSON(o.TrustedRoot)
		if err != nil {
			return nil, nil, errkind.Input(fmt.Errorf("trusted root: %w", err))
		}
		trust = tr
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	at := now().UTC().Truncate(time.Second)
	base := o.Registry.Transport
	if base == nil {
		base = netretry.BaseTransport(netretry.Options{ResponseHeaderTimeout: o.Registry.ResponseHeaderTimeout})
	}
	rec := &recorder{base: base}
	reg := o.Registry
	reg.Transport = rec
	rep, err := verify.Verify(ctx, ref, verify.Options{Policy: pol, Registry: reg, TrustedMaterial: trust, Now: func() time.Time { return at },
		Environment: o.Environment})
	if err != nil {
		return nil, nil, err
	}
	if !rep.Verified {
		return nil, rep, rep.Err()
	}
	exs, err := rec.exchanges()
	if err != nil {
		return nil, rep, errkind.Infra(fmt.Errorf("recording the evidence of %s: %w", ref, err))
	}
	meta := Meta{Schema: Schema, Image: ref.String(), VerifiedAt: at, PolicySource: o.PolicySource, Version: o.Version, Environment: o.Environment}
	files, err := build(material{meta: meta, policyBytes: o.Policy, pol: pol, trustedRoot: o.TrustedRoot, exchanges: exs, rep: rep})
	if err != nil {
		return nil, rep, fmt.Errorf("building the evidence bundle of %s: %w", ref, err)
	}
	// The bundle must stand on its own: it is re-verified offline, exactly as
	// `evidence verify` will, before anyone sees it.
	if _, err := Check(ctx, files, CheckOptions{}); err != nil {
		return nil, rep, errkind.Infra(fmt.Errorf("the evidence recorded for %s does not re-verify on its own (nothing written): %w", ref, err))
	}
	return &Bundle{Files: files, Report: rep}, rep, nil
}

// offlineCheckable refuses a policy whose keys live in a KMS: a bundle must
// re-verify offline from what it holds.
func offlineCheckable(p *policy.Policy) error {
	for _, id := range p.AllIdentities() {
		if id.IsKMS() {
			return errkind.Input(fmt.Errorf("policy identity key %q is a KMS URI: an evidence bundle must re-verify offline from the keys it holds; export the public key (cosign public-key --key %s > release.pub) and name the file in the policy", id.Key, id.Key))
		}
	}
	return nil
}

// CheckOptions configures Check.
type CheckOptions struct {
	// ExpectPolicy, when set, must equal the bundle's policy file byte for byte.
	ExpectPolicy []byte
	// ExpectTrustedRoot, when set, must equal the bundle's trusted root.
	ExpectTrustedRoot []byte
	// ExpectEnvironment, when set, must equal the environment the bundle
	// was verified for (meta.json): a bundle of a deploy to the environment
	// a dast requirement runs in does not evidence the promotion beyond it.
	ExpectEnvironment string
}

// Result is what Check established.
type Result struct {
	Image      string    `json:"image"`
	VerifiedAt time.Time `json:"verifiedAt"`
	// Files is the number of files checked (index.json included).
	Files int `json:"files"`
	// Inputs is the number of signatures and attestations that satisfied a
	// requirement on re-verification.
	Inputs int `json:"inputs"`
	// PolicySHA256 and TrustRoot are the fingerprints of the trust the bundle
	// records: compare them with the ones the organisation publishes.
	PolicySHA256 string    `json:"policySha256"`
	TrustRoot    []FileRef `json:"trustRoot"`
	// Environment is the environment the release was verified for ("" when
	// unnamed) and NotRequired the policy's requirements that did not apply
	// to it (a dast requirement, in the environment its DAST runs in): the
	// bundle evidences nothing about them.
	Environment string   `json:"environment,omitempty"`
	NotRequired []string `json:"notRequired,omitempty"`
}

// Check re-verifies the bundle's files offline (see the package doc). Every
// discrepancy is reported in one error (errkind.Policy); a bundle that cannot
// be read is errkind.Input.
func Check(ctx context.Context, files map[string][]byte, o CheckOptions) (*Result, error) {
	if err := checkLayout(files); err != nil {
		return nil, err
	}
	meta, ref, err := readMeta(files)
	if err != nil {
		return nil, err
	}
	problems := expectations(files, meta, o)
	exs, missing, err := readExchanges(files)
	if err != nil {
		return nil, err
	}
	problems = append(problems, missing...)
	pol, trust, err := bundleTrust(files)
	if err != nil {
		return nil, err
	}

	// The verification, replayed: no network.
	reg := oci.Options{Transport: newReplay(exs), Keychain: anonymous{}, Retries: -1}
	rep, err := verify.Verify(ctx, ref, verify.Options{Policy: pol, Registry: reg, TrustedMaterial: trust,
		Now: func() time.Time { return meta.VerifiedAt }, Environment: meta.Environment})
	if err != nil {
		problems = append(problems, "re-verification: "+err.Error())
		return nil, errkind.Policy(joinProblems(meta.Image, problems))
	}
	if !rep.Verified {
		problems = append(problems, "re-verification failed: "+strings.Join(rep.Failures(), "; "))
		return nil, errkind.Policy(joinProblems(meta.Image, problems))
	}
	problems = append(problems, sameBundle(files, material{meta: meta, policyBytes: files[PolicyFile], pol: pol,
		trustedRoot: files[TrustedRootFile], exchanges: exs, rep: rep, reportJSON: files[ReportFile]})...)
	if len(problems) > 0 {
		return nil, errkind.Policy(joinProblems(meta.Image, problems))
	}
	return result(files, meta, pol, rep), nil
}

// checkLayout refuses a bundle with too many files, a file whose name is not
// a plain relative path, or a required file missing.
func checkLayout(files map[string][]byte) error {
	if len(files) > MaxFiles {
		return errkind.Input(fmt.Errorf("evidence bundle: more than %d files", MaxFiles))
	}
	for p := range files {
		if err := checkName(p); err != nil {
			return errkind.Input(fmt.Errorf("evidence bundle: %w", err))
		}
	}
	for _, need := range []string{IndexFile, MetaFile, PolicyFile, ExchangesFile, ReportFile} {
		if _, ok := files[need]; !ok {
			return errkind.Policy(fmt.Errorf("evidence bundle: %s is missing", need))
		}
	}
	return nil
}

// readMeta reads meta.json and the image digest reference it names.
func readMeta(files map[string][]byte) (Meta, oci.Ref, error) {
	var meta Meta
	if err := strictJSON(files[MetaFile], &meta); err != nil {
		return Meta{}, oci.Ref{}, errkind.Policy(fmt.Errorf("evidence bundle: %s: %w", MetaFile, err))
	}
	if meta.Schema != Schema {
		return Meta{}, oci.Ref{}, errkind.Policy(fmt.Errorf("evidence bundle: %s schema %q, want %q", MetaFile, meta.Schema, Schema))
	}
	ref, err := oci.ParseDigestRef(meta.Image)
	if err != nil {
		return Meta{}, oci.Ref{}, errkind.Policy(fmt.Errorf("evidence bundle: %s image: %w", MetaFile, err))
	}
	return meta, ref, nil
}

// expectations lists how the bundle differs from what the caller expects of
// it: its policy, trusted root and environment.
func expectations(files map[string][]byte, meta Meta, o CheckOptions) []string {
	var problems []string
	if o.ExpectPolicy != nil && string(o.ExpectPolicy) != string(files[PolicyFile]) {
		problems = append(problems, fmt.Sprintf("%s is not the expected policy (sha256 %s, expected %s)",
			PolicyFile, hexOf(sha256Hex(files[PolicyFile])), hexOf(sha256Hex(o.ExpectPolicy))))
	}
	if o.ExpectTrustedRoot != nil && string(o.ExpectTrustedRoot) != string(files[TrustedRootFile]) {
		problems = append(problems, fmt.Sprintf("%s is not the expected trusted root", TrustedRootFile))
	}
	if o.ExpectEnvironment != "" && o.ExpectEnvironment != meta.Environment {
		problems = append(problems, fmt.Sprintf("the bundle was verified for a deploy to environment %+q, not %+q (%s environment): requirements that do not apply there (dast, in its own environment) were not checked",
			meta.Environment, o.ExpectEnvironment, MetaFile))
	}
	return problems
}

// readExchanges reads the registry record with the bodies the bundle holds,
// in replay order. A body missing or altered is a problem, and its exchange
// is left out of the replay.
func readExchanges(files map[string][]byte) ([]*Exchange, []string, error) {
	var exs []*Exchange
	if err := strictJSON(files[ExchangesFile], &exs); err != nil {
		return nil, nil, errkind.Policy(fmt.Errorf("evidence bundle: %s: %w", ExchangesFile, err))
	}
	if len(exs) > MaxRecordedResponses {
		return nil, nil, errkind.Policy(fmt.Errorf("evidence bundle: %s lists %d responses, over %d", ExchangesFile, len(exs), MaxRecordedResponses))
	}
	var problems []string
	for _, ex := range exs {
		if ex == nil {
			return nil, nil, errkind.Policy(fmt.Errorf("evidence bundle: %s holds a null entry", ExchangesFile))
		}
		if ex.File == "" {
			continue
		}
		b, ok := files[ex.File]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s (the body of %s %s%s) is missing", ex.File, ex.Method, ex.Host, ex.Path))
			continue
		}
		if sha256Hex(b) != ex.Digest {
			problems = append(problems, fmt.Sprintf("%s is altered: sha256 %s, the registry record says %s", ex.File, hexOf(sha256Hex(b)), hexOf(ex.Digest)))
			continue
		}
		ex.body = b
	}
	exs = slicesDeleteFunc(exs, func(ex *Exchange) bool { return ex.File != "" && ex.body == nil })
	sortExchanges(exs)
	return exs, problems, nil
}

// bundleTrust reads the bundle's policy, with its keys, and trusted root.
func bundleTrust(files map[string][]byte) (*policy.Policy, root.TrustedMaterial, error) {
	pol, err := bundlePolicy(files)
	if err != nil {
		return nil, nil, err
	}
	var trust root.TrustedMaterial
	if tb, ok := files[TrustedRootFile]; ok {
		tr, err := root.NewTrustedRootFromJSON(tb)
		if err != nil {
			return nil, nil, errkind.Policy(fmt.Errorf("evidence bundle: %s: %w", TrustedRootFile, err))
		}
		trust = tr
	}
	return pol, trust, nil
}

// bundlePolicy parses the bundle's policy with the key files under policy/.
func bundlePolicy(files map[string][]byte) (*policy.Policy, error) {
	dir, err := os.MkdirTemp("", "secure-gates-evidence-")
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("evidence: %w", err))
	}
	defer os.RemoveAll(dir)
	for p, b := range files {
		if strings.HasPrefix(p, "policy/") && p != PolicyFile {
			dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p, "policy/")))
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return nil, errkind.Infra(fmt.Errorf("evidence: %w", err))
			}
			if err := os.WriteFile(dst, b, 0o600); err != nil {
				return nil, errkind.Infra(fmt.Errorf("evidence: %w", err))
			}
		}
	}
	pol, err := policy.Parse(files[PolicyFile], policy.Options{BaseDir: dir})
	if err != nil {
		return nil, errkind.Policy(fmt.Errorf("evidence bundle: %s: %w", PolicyFile, err))
	}
	// Re-verification is offline: a KMS key (whose URI may name any
	// endpoint) would send requests, with the ambient cloud credentials.
	// Collect never writes one.
	if err := offlineCheckable(pol); err != nil {
		return nil, errkind.Policy(fmt.Errorf("evidence bundle: %s: %v (a bundle re-verifies offline: its KMS is never contacted)", PolicyFile, err))
	}
	pol.Source = PolicyFile
	return pol, nil
}

// sameBundle lists how the bundle's report and files differ from the ones
// the re-verification m builds.
func sameBundle(files map[string][]byte, m material) []string {
	var problems []string
	var stored verify.Report
	if err := strictJSON(files[ReportFile], &stored); err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", ReportFile, err))
	} else if why := sameOutcome(&stored, m.rep); why != "" {
		problems = append(problems, fmt.Sprintf("%s does not match the re-verification: %s", ReportFile, why))
	}
	rebuilt, err := build(m)
	if err != nil {
		return append(problems, fmt.Sprintf("rebuilding the bundle: %v", err))
	}
	return append(problems, compareFiles(files, rebuilt)...)
}

// result is what a bundle that re-verified establishes.
func result(files map[string][]byte, meta Meta, pol *policy.Policy, rep *verify.Report) *Result {
	res := &Result{Image: meta.Image, VerifiedAt: meta.VerifiedAt, Files: len(files), Inputs: len(rep.Inputs),
		PolicySHA256: hexOf(sha256Hex(files[PolicyFile])), Environment: meta.Environment}
	for _, req := range pol.Require {
		if ok, _ := req.AppliesTo(meta.Environment); !ok {
			res.NotRequired = append(res.NotRequired, req.Type)
		}
	}
	var idx Index
	if strictJSON(files[IndexFile], &idx) == nil {
		res.TrustRoot = idx.TrustRoot
	}
	return res
}

func joinProblems(image string, problems []string) error {
	if len(problems) > 20 {
		problems = append(problems[:20], fmt.Sprintf("and %d more", len(problems)-20))
	}
	return fmt.Errorf("evidence bundle of %s does not verify (%d problem(s)): %s", image, len(problems), strings.Join(problems, "; "))
}

// sameOutcome compares what a report says was verified, not its wording
// (a later secure-gates may phrase reasons differently).
func sameOutcome(a, b *verify.Report) string {
	switch {
	case a.Image != b.Image:
		return fmt.Sprintf("image %s, re-verified %s", a.Image, b.Image)
	case a.Verified != b.Verified:
		return fmt.Sprintf("verified %v, re-verified %v", a.Verified, b.Verified)
	case a.Policy.Digest != b.Policy.Digest:
		return fmt.Sprintf("policy %s, the bundle's policy is %s", a.Policy.Digest, b.Policy.Digest)
	case !a.VerifiedAt.Equal(b.VerifiedAt):
		return fmt.Sprintf("verified at %s, meta.json says %s", a.VerifiedAt, b.VerifiedAt)
	case len(a.Inputs) != len(b.Inputs):
		return fmt.Sprintf("%d inputs, re-verified %d", len(a.Inputs), len(b.Inputs))
	case len(a.ExceptionsUsed) != len(b.ExceptionsUsed):
		return fmt.Sprintf("%d exceptions used, re-verified %d", len(a.ExceptionsUsed), len(b.ExceptionsUsed))
	}
	for i := range a.Inputs {
		x, y := a.Inputs[i], b.Inputs[i]
		if x.Digest != y.Digest || x.PredicateType != y.PredicateType || x.Kind != y.Kind || x.Location != y.Location {
			return fmt.Sprintf("input %d is %s %s, re-verified %s %s", i, x.PredicateType, x.Digest, y.PredicateType, y.Digest)
		}
	}
	for i := range a.ExceptionsUsed {
		if a.ExceptionsUsed[i].ID != b.ExceptionsUsed[i].ID || a.ExceptionsUsed[i].FindingsWaived != b.ExceptionsUsed[i].FindingsWaived {
			return fmt.Sprintf("exception %s, re-verified %s", a.ExceptionsUsed[i].ID, b.ExceptionsUsed[i].ID)
		}
	}
	return ""
}

func compareFiles(have, want map[string][]byte) []string {
	var out []string
	for _, p := range sortedKeys(want) {
		b, ok := have[p]
		switch {
		case !ok:
			out = append(out, p+" is missing")
		case string(b) != string(want[p]):
			out = append(out, p+" is altered (sha256 "+hexOf(sha256Hex(b))+", expected "+hexOf(sha256Hex(want[p]))+")")
		}
	}
	for _, p := range sortedKeys(have) {
		if _, ok := want[p]; !ok {
			out = append(out, p+" was added (not part of the evidence)")
		}
	}
	return out
}

// anonymous is a keychain with no credentials (the replay needs none).
type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

var _ http.RoundTripper = (*replay)(nil)

func slicesDeleteFunc(l []*Exchange, del func(*Exchange) bool) []*Exchange {
	out := l[:0]
	for _, x := range l {
		if !del(x) {
			out = append(out, x)
		}
	}
	return out
}

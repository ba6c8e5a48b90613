package evidence

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// Paths of the bundle's fixed files.
const (
	IndexFile       = "index.json"
	MetaFile        = "meta.json"
	PolicyFile      = "policy/policy.yaml"
	TrustedRootFile = "trust/trusted_root.json"
	ExchangesFile   = "registry/exchanges.json"
	ReportFile      = "verification/report.json"
	VSAFile         = "verification/vsa.json"
	ExceptionsFile  = "exceptions/used.json"
)

// Schema is the index's schema URI.
const Schema = "https://secure-gates.dev/evidence/v1"

// Legacy cosign annotations on .sig/.att layers (cosign pkg/oci/static).
const (
	annSignature = "dev.cosignproject.cosign/signature"
	annCert      = "dev.sigstore.cosign/certificate"
	annChain     = "dev.sigstore.cosign/chain"
	annRekor     = "dev.sigstore.cosign/bundle"
	annRFC3161   = "dev.sigstore.cosign/rfc3161timestamp"
)

// Meta records how the bundle was made: the inputs of a re-verification
// besides the registry record, the policy and the trust root.
type Meta struct {
	Schema string `json:"schema"`
	// Image is repo@sha256:… as verified.
	Image string `json:"image"`
	// VerifiedAt is the verification time; a re-verification evaluates at it
	// (exception expiry, scan freshness, certificate validity).
	VerifiedAt time.Time `json:"verifiedAt"`
	// PolicySource is the policy's path when the bundle was made.
	PolicySource string `json:"policySource"`
	// Version is the secure-gates version that made the bundle.
	Version string `json:"version"`
	// Environment is the environment the verification was for ("" unnamed).
	Environment string `json:"environment,omitempty"`
}

// FileEntry is one file of the bundle in the index.
type FileEntry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
	// Role says what the file is (see the docs page).
	Role string `json:"role"`
	// PredicateType is an attestation's type (as verified for inputs).
	PredicateType string `json:"predicateType,omitempty"`
	// Use is input (satisfied a requirement), exception (waived findings),
	// or fetched (attached, read, not used; the report says why).
	Use string `json:"use,omitempty"`
}

// FileRef names a file by path and sha256.
type FileRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Control is one SOC 2 Trust Services Criterion and the files that evidence it.
type Control struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Evidence string    `json:"evidence"`
	Files    []FileRef `json:"files"`
}

// OutsideControl is a criterion this bundle cannot evidence, with what would.
type OutsideControl struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	SuppliedBy string `json:"suppliedBy"`
}

// Index is index.json: every other file with its sha256, and the SOC 2 map.
type Index struct {
	Schema       string           `json:"schema"`
	Image        string           `json:"image"`
	Digest       string           `json:"digest"`
	Verified     bool             `json:"verified"`
	VerifiedAt   time.Time        `json:"verifiedAt"`
	Policy       FileRef          `json:"policy"`
	TrustRoot    []FileRef        `json:"trustRoot"`
	Files        []FileEntry      `json:"files"`
	Controls     []Control        `json:"controls"`
	OutsideScope []OutsideControl `json:"outsideThisBundle"`
}

// UsedException is an exception that waived findings in the verification:
// the signed predicate's fields (ticket, approver, expiry...) inline beside
// its id, how many findings it waived and its file in the bundle.
type UsedException struct {
	ID string `json:"id"`
	attestation.Exception
	FindingsWaived int    `json:"findingsWaived"`
	File           string `json:"file"`
}

// material is everything a bundle is built from.
type material struct {
	meta        Meta
	policyBytes []byte
	pol         *policy.Policy
	trustedRoot []byte
	exchanges   []*Exchange
	rep         *verify.Report
	// reportJSON is the report as written ("" to marshal rep).
	reportJSON []byte
}

// attFile is an attestation or signature found in the record.
type attFile struct {
	path          string
	role          string
	digest        string // the digest verify names it by (Input.Digest)
	predicateType string
	predicate     json.RawMessage
	related       []relatedFile
}

// relatedFile is a file written beside an attestation or signature (its
// certificate, Rekor entry...), with its role in the index.
type relatedFile struct {
	path, role string
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func hexOf(d string) string { return strings.TrimPrefix(d, "sha256:") }

// build lays out the bundle's files from m. It is deterministic: a
// re-verification builds it again from the bundle's inputs and compares.
func build(m material) (map[string][]byte, error) {
	files, err := fixedFiles(m)
	if err != nil {
		return nil, err
	}
	atts := recordFiles(files, m.exchanges)
	if files[ExchangesFile], err = marshal(m.exchanges); err != nil {
		return nil, err
	}
	if err := verificationFiles(files, m); err != nil {
		return nil, err
	}
	u, err := usesOf(m.rep, atts)
	if err != nil {
		return nil, err
	}
	if files[ExceptionsFile], err = marshal(u.exceptions); err != nil {
		return nil, err
	}
	sboms := sbomFiles(files, u.inputs)
	idx := index(files, m, atts, u.use)
	idx.Controls = controls(files, u, sboms)
	idx.OutsideScope = outsideScope()
	if files[IndexFile], err = marshal(idx); err != nil {
		return nil, err
	}
	return files, nil
}

// fixedFiles lays out the files every bundle has besides the registry
// record: meta, the policy and its keys, the trusted root.
func fixedFiles(m material) (map[string][]byte, error) {
	files := map[string][]byte{}
	var err error
	if files[MetaFile], err = marshal(m.meta); err != nil {
		return nil, err
	}
	files[PolicyFile] = m.policyBytes
	for _, f := range policyKeys(m.pol) {
		files[f.path] = f.pem
	}
	if len(m.trustedRoot) > 0 {
		files[TrustedRootFile] = m.trustedRoot
	}
	return files, nil
}

// layerInfo is what a blob of the registry record is: the kind of the
// manifest that lists it (sig, att, bundle) and its annotations.
type layerInfo struct {
	kind string
	ann  map[string]string
}

// manifestKind says what a manifest of the record holds: sig, att, bundle or
// "" (anything else).
func manifestKind(p string, mf *v1.Manifest) string {
	switch {
	case strings.HasSuffix(p, ".sig"):
		return "sig"
	case strings.HasSuffix(p, ".att"):
		return "att"
	case len(mf.Layers) == 1 && strings.HasPrefix(string(mf.Layers[0].MediaType), "application/vnd.dev.sigstore.bundle"):
		return "bundle"
	}
	return ""
}

// recordLayers maps the blob digests the record's signature, attestation and
// bundle manifests list to what they are.
func recordLayers(exchanges []*Exchange) map[string]layerInfo {
	manifests := map[string]*v1.Manifest{}
	for _, ex := range exchanges {
		if !strings.Contains(ex.Path, "/manifests/") || ex.body == nil {
			continue
		}
		var mf v1.Manifest
		if json.Unmarshal(ex.body, &mf) != nil || mf.Layers == nil {
			continue
		}
		manifests[ex.Path] = &mf
	}
	mpaths := make([]string, 0, len(manifests))
	for p := range manifests {
		mpaths = append(mpaths, p)
	}
	sort.Strings(mpaths)
	layers := map[string]layerInfo{} // blob digest → what it is
	for _, p := range mpaths {
		k := manifestKind(p, manifests[p])
		if k == "" {
			continue
		}
		for _, l := range manifests[p].Layers {
			layers[l.Digest.String()] = layerInfo{kind: k, ann: l.Annotations}
		}
	}
	return layers
}

// recordFiles names every body of the registry record for what it holds
// (setting Exchange.File), writes it and the files derived from it, and
// returns the signatures and attestations found.
func recordFiles(files map[string][]byte, exchanges []*Exchange) []*attFile {
	layers := recordLayers(exchanges)
	var atts []*attFile
	for _, ex := range exchanges {
		if ex.body == nil {
			continue
		}
		if a := nameExchange(files, ex, layers); a != nil {
			atts = append(atts, a)
		}
		files[ex.File] = ex.body
	}
	return atts
}

// nameExchange sets ex.File from what its body is and returns the
// signature or attestation it holds (nil for anything else).
func nameExchange(files map[string][]byte, ex *Exchange, layers map[string]layerInfo) *attFile {
	h := hexOf(ex.Digest)
	switch {
	case strings.Contains(ex.Path, "/manifests/"):
		ex.File = "registry/manifests/" + h + ".json"
		return nil
	case strings.Contains(ex.Path, "/referrers/"):
		ex.File = "registry/referrers/" + h + ".json"
		return nil
	}
	li, known := layers[ex.Digest]
	switch {
	case known && li.kind == "sig":
		ex.File = "signatures/" + h + ".payload.json"
		a := &attFile{path: ex.File, role: "signature-payload", digest: ex.Digest}
		a.related = deriveAnnotations(files, "signatures/"+h, li.ann)
		return a
	case known && li.kind == "att":
		ex.File = "attestations/" + h + ".dsse.json"
		a := &attFile{path: ex.File, role: "dsse-envelope", digest: ex.Digest}
		a.predicateType, a.predicate = envelopeStatement(ex.body)
		a.related = deriveAnnotations(files, "attestations/"+h, li.ann)
		return a
	case known && li.kind == "bundle":
		ex.File = "bundles/" + h + ".sigstore.json"
		a := &attFile{path: ex.File, role: "sigstore-bundle"}
		a.digest, a.predicateType, a.predicate = bundleStatement(ex.body)
		if tr := bundleTransparency(ex.body); tr != nil {
			p := "bundles/" + h + ".transparency.json"
			files[p] = tr
			a.related = append(a.related, relatedFile{path: p, role: "transparency"})
		}
		return a
	}
	ex.File = "registry/blobs/" + h
	return nil
}

// verificationFiles writes what verify made of the record: the report (as
// written, or marshalled) and the VSA.
func verificationFiles(files map[string][]byte, m material) error {
	var err error
	if m.reportJSON != nil {
		files[ReportFile] = m.reportJSON
	} else if files[ReportFile], err = marshal(m.rep); err != nil {
		return err
	}
	vsa, err := m.rep.VSAStatement(m.pol, verify.VSAOptions{Version: m.meta.Version})
	if err != nil {
		return err
	}
	files[VSAFile], err = marshal(vsa)
	return err
}

// uses is how the verification used the record's attestations.
type uses struct {
	// use maps a file to input or exception.
	use map[string]string
	// inputs satisfied a requirement; exceptionFiles waived findings.
	inputs, exceptionFiles []*attFile
	// exceptions is exceptions/used.json (never nil).
	exceptions []UsedException
}

// usesOf finds the attestations the report's inputs and used exceptions name.
// A used exception missing from the record is an error.
func usesOf(rep *verify.Report, atts []*attFile) (uses, error) {
	byDigest := map[string]*attFile{}
	for _, a := range atts {
		if a.digest != "" {
			byDigest[a.digest] = a
		}
	}
	u := uses{use: map[string]string{}, exceptions: []UsedException{}}
	for _, in := range rep.Inputs {
		if a := byDigest[in.Digest]; a != nil {
			u.use[a.path] = "input"
			u.inputs = append(u.inputs, a)
		}
	}
	for _, e := range rep.ExceptionsUsed {
		a := byDigest[e.ID]
		if a == nil {
			return uses{}, fmt.Errorf("exception %s was used but is not in the registry record", e.ID)
		}
		u.use[a.path] = "exception"
		u.exceptionFiles = append(u.exceptionFiles, a)
		var p attestation.Exception
		_ = json.Unmarshal(a.predicate, &p) // verified and parsed by verify already
		u.exceptions = append(u.exceptions, UsedException{ID: e.ID, Exception: p, FindingsWaived: e.FindingsWaived, File: a.path})
	}
	return u, nil
}

// sbomFiles writes the SBOM predicates among the inputs under sboms/.
func sbomFiles(files map[string][]byte, inputs []*attFile) []string {
	var sboms []string
	for _, a := range inputs {
		name := sbomName(a.predicateType)
		if name == "" || len(a.predicate) == 0 {
			continue
		}
		p := "sboms/" + name + "-" + hexOf(a.digest)[:16] + ".json"
		files[p] = a.predicate
		sboms = append(sboms, p)
	}
	return sboms
}

// fileRef names the bundle file p by its sha256.
func fileRef(files map[string][]byte, p string) FileRef {
	return FileRef{Path: p, SHA256: hexOf(sha256Hex(files[p]))}
}

// index lists every file with its role and use, the policy and the trust
// root (the controls are added by the caller).
func index(files map[string][]byte, m material, atts []*attFile, use map[string]string) Index {
	rep := m.rep
	idx := Index{Schema: Schema, Image: rep.Image, Digest: rep.Digest, Verified: rep.Verified, VerifiedAt: rep.VerifiedAt}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	roleOf := map[string]string{}
	ptOf := map[string]string{}
	for _, a := range atts {
		roleOf[a.path] = a.role
		ptOf[a.path] = a.predicateType
		for _, r := range a.related {
			roleOf[r.path] = r.role
		}
	}
	for _, p := range paths {
		e := FileEntry{Path: p, SHA256: hexOf(sha256Hex(files[p])), Size: len(files[p]), Role: roleOf[p], PredicateType: ptOf[p]}
		if e.Role == "" {
			e.Role = fixedRole(p)
		}
		if e.Role == "signature-payload" || e.Role == "dsse-envelope" || e.Role == "sigstore-bundle" {
			e.Use = use[p]
			if e.Use == "" {
				e.Use = "fetched"
			}
		}
		idx.Files = append(idx.Files, e)
	}
	idx.Policy = fileRef(files, PolicyFile)
	idx.TrustRoot = []FileRef{}
	for _, f := range policyKeys(m.pol) {
		idx.TrustRoot = append(idx.TrustRoot, fileRef(files, f.path))
	}
	if _, ok := files[TrustedRootFile]; ok {
		idx.TrustRoot = append(idx.TrustRoot, fileRef(files, TrustedRootFile))
	}
	return idx
}

// withRelated lists the paths of the attestations keep selects, each
// followed by its related files.
func withRelated(list []*attFile, keep func(*attFile) bool) []string {
	var out []string
	for _, a := range list {
		if keep(a) {
			out = append(out, a.path)
			for _, r := range a.related {
				out = append(out, r.path)
			}
		}
	}
	return out
}

// isType selects attestations of one of the predicate types.
func isType(types ...string) func(*attFile) bool {
	return func(a *attFile) bool {
		return slices.Contains(types, a.predicateType)
	}
}

// isSig selects image signatures (legacy payloads and bundle signatures).
func isSig(a *attFile) bool {
	return a.role == "signature-payload" || a.predicateType == cosignSignPredicate
}

// anyAtt selects every attestation.
func anyAtt(*attFile) bool { return true }

// fileRefs names the listed paths that are in the bundle, each once, in order.
func fileRefs(files map[string][]byte, ps ...[]string) []FileRef {
	seen := map[string]bool{}
	out := []FileRef{}
	for _, l := range ps {
		for _, p := range l {
			if _, ok := files[p]; ok && !seen[p] {
				seen[p] = true
				out = append(out, fileRef(files, p))
			}
		}
	}
	return out
}

// controls maps the SOC 2 criteria the bundle evidences to its files.
func controls(files map[string][]byte, u uses, sboms []string) []Control {
	refs := func(ps ...[]string) []FileRef { return fileRefs(files, ps...) }
	inputs := u.inputs
	common := []string{ReportFile}
	return []Control{
		{ID: "CC6.8", Name: "Malware protection",
			Evidence: "the image's vulnerability scan, signed and verified against the policy's freshness and deny rules",
			Files:    refs(withRelated(inputs, isType(attestation.PredicateVuln)), common)},
		{ID: "CC7.1", Name: "Vulnerability detection",
			Evidence: "signed code (SAST, secrets, IaC, dependencies), image and DAST scan results the policy required, and their verdicts",
			Files:    refs(withRelated(inputs, isType(attestation.PredicateVuln, attestation.PredicateCodeScan, attestation.PredicateDAST)), common)},
		{ID: "CC8.1", Name: "Change management",
			Evidence: "the image signature, build provenance and threat model verified against the policy's identities; the policy at its digest and the verification summary (VSA)",
			Files: refs(withRelated(inputs, isSig), withRelated(inputs, isType(attestation.PredicateSLSAProvenance, attestation.PredicateThreatModel)),
				[]string{PolicyFile, VSAFile}, common)},
		{ID: "CC9.1", Name: "Risk mitigation",
			Evidence: "the exceptions that waived findings, each signed by an allowed exception signer, with ticket, approver and expiry (an empty list: none was used)",
			Files:    refs([]string{ExceptionsFile}, withRelated(u.exceptionFiles, anyAtt), []string{PolicyFile}, common)},
		{ID: "CC9.2", Name: "Vendor risk",
			Evidence: "the software bill of materials of the image (every third-party component), signed and verified",
			Files:    refs(sboms, withRelated(inputs, isType(attestation.PredicateCycloneDX, attestation.PredicateSPDX)))},
	}
}

// outsideScope lists the criteria a bundle cannot evidence and what would.
func outsideScope() []OutsideControl {
	return []OutsideControl{
		{ID: "CC6.1", Name: "Logical access", SuppliedBy: "the cloud's audit logs of OIDC role assumption (e.g. CloudTrail AssumeRoleWithWebIdentity)"},
		{ID: "CC6.6", Name: "Network boundaries", SuppliedBy: "Kubernetes NetworkPolicies and the admission controller's logs (e.g. Kyverno policy reports)"},
		{ID: "CC7.2", Name: "System monitoring", SuppliedBy: "runtime detection alerts and their retention (e.g. Falco alerts in a Wazuh indexer)"},
		{ID: "CC7.3", Name: "Anomaly evaluation", SuppliedBy: "the SIEM's correlation rules and the alerts they raised"},
		{ID: "CC7.4", Name: "Incident response", SuppliedBy: "pages (PagerDuty incidents, including the gates' page-on alerts), runbooks and postmortems"},
	}
}

// cosignSignPredicate is the predicate type of a bundle-format image signature.
const cosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"

type keyFile struct {
	path string
	pem  []byte
}

// policyKeys lists the public key files the policy names, under policy/.
func policyKeys(p *policy.Policy) []keyFile {
	seen := map[string]bool{}
	var out []keyFile
	for _, id := range p.AllIdentities() {
		if id.Key == "" || id.IsKMS() || len(id.KeyPEM) == 0 {
			continue
		}
		p := "policy/" + path.Clean(strings.ReplaceAll(id.Key, "\\", "/"))
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, keyFile{path: p, pem: id.KeyPEM})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// deriveAnnotations writes the legacy layer's signature, certificate, chain,
// Rekor entry and RFC 3161 timestamp as files next to it.
func deriveAnnotations(files map[string][]byte, base string, ann map[string]string) []relatedFile {
	var out []relatedFile
	for _, x := range []struct{ key, suffix, role string }{
		{annSignature, ".sig", "signature"},
		{annCert, ".cert.pem", "certificate"},
		{annChain, ".chain.pem", "certificate-chain"},
		{annRekor, ".rekor.json", "rekor-entry"},
		{annRFC3161, ".rfc3161.json", "rfc3161-timestamp"},
	} {
		if v, ok := ann[x.key]; ok && v != "" {
			files[base+x.suffix] = []byte(v)
			out = append(out, relatedFile{path: base + x.suffix, role: x.role})
		}
	}
	return out
}

// fixedRoles are the roles of the bundle's own files in the index, the first
// match winning; a path ending in "/" stands for every file below it.
var fixedRoles = []struct{ path, role string }{
	{MetaFile, "meta"},
	{PolicyFile, "policy"},
	{"policy/", "policy-key"},
	{TrustedRootFile, "trusted-root"},
	{ExchangesFile, "registry-record"},
	{"registry/manifests/", "registry-manifest"},
	{"registry/referrers/", "registry-referrers"},
	{"registry/blobs/", "registry-blob"},
	{ReportFile, "verification-report"},
	{VSAFile, "vsa"},
	{ExceptionsFile, "exceptions"},
	{"sboms/", "sbom"},
}

func fixedRole(p string) string {
	for _, f := range fixedRoles {
		if p == f.path || strings.HasSuffix(f.path, "/") && strings.HasPrefix(p, f.path) {
			return f.role
		}
	}
	return "other"
}

func sbomName(pt string) string {
	switch {
	case pt == attestation.PredicateCycloneDX:
		return "cyclonedx"
	case strings.HasPrefix(pt, "https://spdx.dev/Document"):
		return "spdx"
	}
	return ""
}

// envelopeStatement reads a legacy attestation layer's statement type and
// predicate (for naming; the verification decides what counts).
func envelopeStatement(body []byte) (string, json.RawMessage) {
	var env struct {
		Payload string `json:"payload"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", nil
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return "", nil
	}
	return statementOf(payload)
}

func statementOf(payload []byte) (string, json.RawMessage) {
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if json.Unmarshal(payload, &st) != nil {
		return "", nil
	}
	return st.PredicateType, st.Predicate
}

// bundleStatement reads a Sigstore bundle's DSSE payload: its digest (how
// verify names it), type and predicate.
func bundleStatement(body []byte) (digest, pt string, pred json.RawMessage) {
	var b struct {
		DSSE *struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if json.Unmarshal(body, &b) != nil || b.DSSE == nil {
		return "", "", nil
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		return "", "", nil
	}
	pt, pred = statementOf(payload)
	return sha256Hex(payload), pt, pred
}

// bundleTransparency extracts a bundle's Rekor entries and RFC 3161
// timestamps (nil when it has neither).
func bundleTransparency(body []byte) []byte {
	var b struct {
		VM struct {
			TlogEntries []json.RawMessage `json:"tlogEntries"`
			Timestamps  json.RawMessage   `json:"timestampVerificationData"`
		} `json:"verificationMaterial"`
	}
	if json.Unmarshal(body, &b) != nil || (len(b.VM.TlogEntries) == 0 && len(b.VM.Timestamps) == 0) {
		return nil
	}
	out, err := marshal(map[string]any{"tlogEntries": b.VM.TlogEntries, "timestampVerificationData": b.VM.Timestamps})
	if err != nil {
		return nil
	}
	return out
}

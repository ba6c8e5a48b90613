package pipeline

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// keyPair is an ephemeral signing key written to the work folder.
type keyPair struct {
	private, public string // file paths
	fingerprint     string // sha256 of the public key's DER
}

// newKey makes a P-256 key: the private key PEM (PKCS #8, readable by the
// owner only) and its public key PEM.
func newKey(dir, name string) (keyPair, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, errkind.Infra(fmt.Errorf("pipeline: making the %s key: %w", name, err))
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return keyPair{}, errkind.Infra(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return keyPair{}, errkind.Infra(err)
	}
	kp := keyPair{private: filepath.Join(dir, name+".key"), public: filepath.Join(dir, name+".pub"),
		fingerprint: fmt.Sprintf("sha256:%x", sha256.Sum256(pub))}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return keyPair{}, errkind.Infra(err)
	}
	if err := os.WriteFile(kp.private, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return keyPair{}, errkind.Infra(fmt.Errorf("pipeline: writing the %s key: %w", name, err))
	}
	if err := os.WriteFile(kp.public, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return keyPair{}, errkind.Infra(fmt.Errorf("pipeline: writing the %s public key: %w", name, err))
	}
	return kp, nil
}

// defaultPolicy is applied when the repository has no .secure-gates/policy.yaml:
// the paved road's requirements.
const defaultPolicy = `apiVersion: secure-gates/v1
kind: Policy
mode: enforce
require:
  - type: cyclonedx
  - type: spdx
  - type: vuln
    max-age: 24h
    deny: {severity: critical, fixed-only: true}
    on-scanner-outage: exception
  - type: code-scan
    on-scanner-outage: exception
  - type: slsaprovenance
    source-repository: %s
`

// localPolicy writes the policy verify-and-deploy applies in this run: the
// repository's own (or defaultPolicy), with its signer identities replaced by
// the run's release key and its exception signers by the run's security key.
// Break-glass is removed: nothing in the run signs one. Everything else — mode,
// requirements and their conditions — is the repository's.
func localPolicy(s *service, dst string, release, security keyPair) (source string, err error) {
	data := []byte(fmt.Sprintf(defaultPolicy, s.repository))
	source = "the default paved-road requirements (the repository has no .secure-gates/policy.yaml)"
	if s.policy != "" {
		if data, err = readfile.Bounded(s.policy, policy.MaxPolicyBytes); err != nil {
			return "", errkind.Input(fmt.Errorf("pipeline: reading %s: %w", s.policy, err))
		}
		// Check it as verify-and-deploy will, with the repository's own keys.
		if _, err := policy.Load(s.policy, policy.Options{BaseDir: s.dir}); err != nil {
			return "", fmt.Errorf("pipeline: the repository's policy does not load: %w", err)
		}
		source = s.policy
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil || doc == nil {
		return "", errkind.Input(fmt.Errorf("pipeline: parsing the policy: %v", err))
	}
	// Key paths are relative to the run's work folder (the workspace
	// verify-and-deploy resolves them in): a policy names no absolute key path.
	relKey := func(k keyPair) (string, error) {
		rel, err := filepath.Rel(filepath.Dir(dst), k.public)
		if err != nil || !filepath.IsLocal(rel) {
			return "", errkind.Infra(fmt.Errorf("pipeline: the key %s is not inside the run's folder %s", k.public, filepath.Dir(dst)))
		}
		return filepath.ToSlash(rel), nil
	}
	rk, err := relKey(release)
	if err != nil {
		return "", err
	}
	sk, err := relKey(security)
	if err != nil {
		return "", err
	}
	doc["identities"] = []any{map[string]any{"key": rk}}
	doc["exceptions"] = map[string]any{"signers": []any{map[string]any{"key": sk}}}
	delete(doc, "break-glass")
	out, err := yaml.Marshal(doc)
	if err != nil {
		return "", errkind.Infra(err)
	}
	header := "# The policy of this local run: " + source + "\n# with identities -> this run's release key, exceptions.signers -> its security key.\n"
	if err := os.WriteFile(dst, append([]byte(header), out...), 0o644); err != nil {
		return "", errkind.Infra(fmt.Errorf("pipeline: writing the run's policy: %w", err))
	}
	if _, err := policy.Load(dst, policy.Options{BaseDir: filepath.Dir(dst)}); err != nil {
		return "", fmt.Errorf("pipeline: the run's policy does not load: %w", err)
	}
	return source, nil
}

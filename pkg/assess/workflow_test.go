package assess

import (
	"slices"
	"testing"
)

// TestThirdPartyAction checks the capabilities read from known actions'
// inputs: a scanner gates only when its inputs make findings fail the step,
// and a cloud login counts as OIDC only without a long-lived key.
func TestThirdPartyAction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		action string
		with   map[string]string
		want   []capability
	}{
		{"trivy image gating", "aquasecurity/trivy-action", map[string]string{"image-ref": "x", "exit-code": "1"}, []capability{capImageScan, capImageScanGate}},
		{"trivy image exit-code 0", "aquasecurity/trivy-action", map[string]string{"scan-type": "image", "exit-code": "0"}, []capability{capImageScan}},
		{"trivy config", "aquasecurity/trivy-action", map[string]string{"scan-type": "config", "exit-code": "1"}, []capability{capIaC}},
		{"trivy fs gating", "aquasecurity/trivy-action", map[string]string{"exit-code": "2"}, []capability{capSCA, capSCAGate}},
		{"trivy fs", "aquasecurity/trivy-action", nil, []capability{capSCA}},
		{"grype image", "anchore/scan-action", map[string]string{"image": "x"}, []capability{capImageScan, capImageScanGate}},
		{"grype dir no fail", "anchore/scan-action", map[string]string{"fail-build": "false"}, []capability{capSCA}},
		{"aws role", "aws-actions/configure-aws-credentials", map[string]string{"role-to-assume": "r"}, []capability{capOIDCCloud}},
		{"aws role and key", "aws-actions/configure-aws-credentials", map[string]string{"role-to-assume": "r", "aws-secret-access-key": "k"}, nil},
		{"azure federated", "azure/login", map[string]string{"client-id": "c"}, []capability{capOIDCCloud}},
		{"azure creds", "azure/login", map[string]string{"client-id": "c", "creds": "x"}, nil},
		{"gcp wif", "google-github-actions/auth", map[string]string{"workload_identity_provider": "p"}, []capability{capOIDCCloud}},
		{"buildx sbom", "docker/build-push-action", map[string]string{"sbom": "True"}, []capability{capSBOM}},
		{"unknown", "actions/checkout", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []capability
			thirdPartyAction(tc.action, tc.with, func(c capability, _ string) { got = append(got, c) })
			if !slices.Equal(got, tc.want) {
				t.Errorf("thirdPartyAction(%s, %v) = %v, want %v", tc.action, tc.with, got, tc.want)
			}
		})
	}
}

// TestSecureGatesScan checks the scan gate's capabilities by its scanners
// input (default: all) and severity-cutoff (none: no gate).
func TestSecureGatesScan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		with map[string]string
		want []capability
	}{
		{"defaults", nil, []capability{capSecrets, capSCA, capSCAGate, capIaC}},
		{"sarif inputs", map[string]string{"sarif-inputs": "a.sarif"}, []capability{capSecrets, capSCA, capSCAGate, capIaC, capSAST}},
		{"deps without cutoff", map[string]string{"scanners": "deps", "severity-cutoff": "none"}, []capability{capSCA}},
		{"secrets only", map[string]string{"scanners": "secrets"}, []capability{capSecrets}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []capability
			secureGatesScan("secure-gates scan", tc.with, func(c capability, _ string) { got = append(got, c) })
			if !slices.Equal(got, tc.want) {
				t.Errorf("secureGatesScan(%v) = %v, want %v", tc.with, got, tc.want)
			}
		})
	}
}

package actiontest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/cosigntest"
)

const rescanPolicy = `apiVersion: secure-gates/v1
kind: Policy
identities:
  - key: cosign.pub
require:
  - type: cyclonedx
  - type: vuln
    max-age: 720h
    deny: {severity: critical}
`

// rescanWorld pushes the SBOM fixture image to a fresh loopback registry and
// returns it by digest (and the digest), with a workspace holding rescanPolicy and the cosign
// key pair it names (cosign.key, cosign.pub).
func rescanWorld(t *testing.T) (ref, digest, ws string) {
	t.Helper()
	tagRef, digest := testinfra.SBOMImage(t, testinfra.StartRegistry(t))
	ws = t.TempDir()
	cosigntest.KeyPair(t, ws, "")
	if err := os.WriteFile(filepath.Join(ws, "policy.yaml"), []byte(rescanPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(tagRef, ":v1") + "@" + digest, digest, ws
}

// TestSBOMRescanLeavesEvidence is the scheduled rescan as the template runs
// it: a digest released clean (its SBOM and a clean scan attested) is
// rescanned from its SBOM attestation against today's DB — nothing is pulled
// or catalogued — and the rescan's vuln predicate, attested on the digest,
// is the newest evidence: verify-and-deploy now refuses the digest.
func TestSBOMRescanLeavesEvidence(t *testing.T) {
	t.Parallel()
	ref, digest, ws := rescanWorld(t)
	db := testinfra.GrypeDB(t)

	// Release day: the SBOM, and a scan that found nothing (the advisories did
	// not exist yet), both attested.
	res := run(t, Step{Action: "sbom", Workspace: ws, With: map[string]string{"image": ref, "scan-vulns": "false", "upload-sarif": "false"}})
	if res.ExitCode != 0 {
		t.Fatalf("release sbom: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	finished := time.Now().UTC().Add(-48 * time.Hour).Format(time.RFC3339)
	clean := `{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},"scanner":{"uri":"pkg:golang/github.com/anchore/grype@v0.120.1","version":"0.120.1","db":{"uri":"grype-db","version":"6"},"result":{"matches":[]}},"metadata":{"scanStartedOn":"` + finished + `","scanFinishedOn":"` + finished + `"}}`
	if err := os.WriteFile(filepath.Join(ws, "release-vuln.json"), []byte(clean), 0o644); err != nil {
		t.Fatal(err)
	}
	attest := func(preds string) {
		t.Helper()
		res := run(t, Step{Action: "attest", Workspace: ws, With: map[string]string{"image": ref, "key": "cosign.key", "tlog-upload": "false", "predicates": preds}})
		if res.ExitCode != 0 {
			t.Fatalf("attest: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
		}
	}
	if res := run(t, Step{Action: "sign", Workspace: ws, With: map[string]string{"image": ref, "key": "cosign.key", "tlog-upload": "false"}}); res.ExitCode != 0 {
		t.Fatalf("sign: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	attest("cyclonedx=" + filepath.Join("sbom", "sbom.cdx.json") + "\nvuln=release-vuln.json")
	verifyStep := Step{Action: "verify-and-deploy", Workspace: ws, With: map[string]string{"image": ref, "policy": "policy.yaml", "attest-vsa": "false"}, Timeout: 3 * time.Minute}
	if res := run(t, verifyStep); res.ExitCode != 0 {
		t.Fatalf("the released digest does not verify: exit %d\n%s\n%s", res.ExitCode, res.Summary, res.Stderr)
	}

	// The rescan: the SBOM attestation against today's DB.
	res = run(t, Step{Action: "sbom", Workspace: ws, With: map[string]string{
		"image": ref, "sbom": "attestation", "policy": "policy.yaml", "db-dir": db, "upload-sarif": "false", "output-dir": "rescan"}})
	if res.ExitCode != 1 {
		t.Fatalf("rescan: exit %d, want 1 (new vulnerabilities above the cutoff)\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	out := res.Outputs
	if out["digest"] != digest || out["cyclonedx"] != "" || out["spdx"] != "" {
		t.Errorf("outputs %v: want the digest and no SBOM documents", out)
	}
	wantPkgs := len(testinfra.SBOMFixturePackages) + 2
	for k, want := range map[string]any{"critical": 1, "high": 2, "medium": 1, "packages": wantPkgs} {
		if out[k] != fmt.Sprint(want) {
			t.Errorf("%s output %q, want %v (the same findings as cataloguing the image)", k, out[k], want)
		}
	}
	if !strings.Contains(res.Log, "scanning the SBOM attestation sha256:") || !strings.Contains(res.Summary, "Scanned the SBOM (attestation) of "+ref) {
		t.Errorf("the log and summary do not say which attestation was scanned:\n%s\n%s", res.Log, res.Summary)
	}
	if _, err := os.Stat(filepath.Join(ws, "rescan", "sbom.cdx.json")); !os.IsNotExist(err) {
		t.Errorf("the rescan wrote an SBOM document (err %v)", err)
	}
	var pred struct {
		Invocation struct {
			Parameters struct{ Image string } `json:"parameters"`
		} `json:"invocation"`
	}
	readJSON(t, out["vuln-predicate"], &pred)
	if pred.Invocation.Parameters.Image != ref {
		t.Errorf("the rescan's predicate is about %q, want %s", pred.Invocation.Parameters.Image, ref)
	}

	// Attested on the digest, it is the newest evidence: the digest no longer deploys.
	attest("vuln=" + out["vuln-predicate"])
	res = run(t, verifyStep)
	if res.ExitCode != 1 || !strings.Contains(res.Summary, "GHSA-jfh8-c2jp-5v3q") || !strings.Contains(res.Summary, "superseded") {
		t.Fatalf("after the rescan: exit %d, want 1 naming the new critical with the release scan superseded\n%s\n%s", res.ExitCode, res.Summary, res.Stderr)
	}
}

// TestSBOMRescanRefuses: a rescan reads only an SBOM the policy's identities
// signed, and needs a registry image to be about.
func TestSBOMRescanRefuses(t *testing.T) {
	t.Parallel()
	ref, digest, ws := rescanWorld(t) // the policy's key signs nothing here
	other := t.TempDir()
	cosigntest.KeyPair(t, other, "")
	if res := run(t, Step{Action: "sbom", Workspace: ws, With: map[string]string{"image": ref, "scan-vulns": "false", "upload-sarif": "false"}}); res.ExitCode != 0 {
		t.Fatalf("sbom: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if res := run(t, Step{Action: "attest", Workspace: ws, With: map[string]string{"image": ref, "key": filepath.Join(other, "cosign.key"),
		"tlog-upload": "false", "predicates": "cyclonedx=" + filepath.Join("sbom", "sbom.cdx.json")}}); res.ExitCode != 0 {
		t.Fatalf("attest: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	db := testinfra.GrypeDB(t)
	for _, tt := range []struct {
		name string
		with map[string]string
		code int
		want string
	}{
		{"SBOM signed by a key the policy does not name", map[string]string{"image": ref, "sbom": "attestation", "policy": "policy.yaml"}, 1,
			"carries no CycloneDX or SPDX attestation that verifies with the policy's identities"},
		{"no image", map[string]string{"sbom": "sbom/sbom.cdx.json"}, 2, "give exactly one of image"},
		{"an image from a folder", map[string]string{"image": "oci-dir:sbom", "sbom": "sbom/sbom.cdx.json"}, 2, "scans an SBOM of a registry image"},
		{"not an SBOM", map[string]string{"image": ref, "sbom": "policy.yaml"}, 2, "not a readable SBOM"},
		{"scan-vulns off", map[string]string{"image": ref, "sbom": "attestation", "scan-vulns": "false"}, 2, "scan-vulns is false"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			with := map[string]string{"db-dir": db, "upload-sarif": "false", "output-dir": "out"}
			for k, v := range tt.with {
				with[k] = v
			}
			res := run(t, Step{Action: "sbom", Workspace: ws, With: with})
			if res.ExitCode != tt.code || !strings.Contains(res.Log+res.Stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q\n%s\n%s", res.ExitCode, tt.code, tt.want, res.Log, res.Stderr)
			}
		})
	}

	// A file SBOM is scanned as given.
	res := run(t, Step{Action: "sbom", Workspace: ws, With: map[string]string{"image": ref, "sbom": "sbom/sbom.cdx.json", "db-dir": db,
		"upload-sarif": "false", "output-dir": "out", "severity-cutoff": "none"}})
	if res.ExitCode != 0 || res.Outputs["critical"] != "1" || res.Outputs["digest"] != digest {
		t.Errorf("file SBOM: exit %d outputs %v\n%s", res.ExitCode, res.Outputs, res.Stderr)
	}
}

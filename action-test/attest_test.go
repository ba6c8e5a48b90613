package actiontest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/cosignlegacy"
	"github.com/secure-gates/secure-gates/internal/testinfra/cosigntest"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// sgPredicates copies the predicate files the gates write (pkg/attestation's
// examples) into ws and returns the predicates input for them.
func sgPredicates(t *testing.T, ws string, names ...string) string {
	t.Helper()
	var lines []string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "pkg", "attestation", "testdata", "predicates", n+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, n+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, n+"="+n+".json")
	}
	return strings.Join(lines, "\n")
}

type sgAttOutput struct {
	Type   string `json:"type"`
	Digest string `json:"digest"`
	Legacy string `json:"legacy"`
	Bundle string `json:"bundle"`
}

func TestAttestActionKey(t *testing.T) {
	t.Parallel()
	reg, ws, pub := sgSetup(t, "")
	ref := cosigntest.PushRandomImage(t, reg.Host, "acme/app", "v1")
	names := []string{"cyclonedx", "spdx", "vuln", "code-scan", "threat-model", "exception"}
	res := run(t, Step{Action: "attest", Workspace: ws, With: map[string]string{
		"image": reg.Host + "/acme/app:v1", "key": "cosign.key", "tlog-upload": "false",
		"predicates": sgPredicates(t, ws, names...), "provenance": "true",
	}, Env: map[string]string{"GITHUB_WORKFLOW_REF": "acme/widgets/.github/workflows/release.yml@refs/heads/main", "RUNNER_ENVIRONMENT": "github-hosted"}})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	if res.Outputs["digest"] != ref.Digest || res.Outputs["image-ref"] != ref.String() {
		t.Errorf("outputs = %v", res.Outputs)
	}
	var atts []sgAttOutput
	if err := json.Unmarshal([]byte(res.Outputs["attestations"]), &atts); err != nil {
		t.Fatal(err)
	}
	root := sgEmptyRoot(t)
	if len(atts) != len(names)+1 {
		t.Fatalf("%d attestations, want %d: %s", len(atts), len(names)+1, res.Outputs["attestations"])
	}
	for i, a := range atts {
		want := attestation.PredicateSLSAProvenance
		if i < len(names) {
			want, _ = attestation.ResolveType(names[i])
		}
		if a.Type != want || !strings.HasPrefix(a.Digest, "sha256:") || a.Legacy == "" || !strings.HasPrefix(a.Bundle, "sha256:") {
			t.Errorf("attestation %d = %+v, want type %s with both formats", i, a, want)
		}
		if !strings.Contains(res.Summary, a.Digest) || !strings.Contains(res.Summary, a.Type) {
			t.Errorf("summary lacks %s / %s", a.Type, a.Digest)
		}
		// The real cosign CLI verifies each one, in both formats, by full URI
		// (cosign's own short names only where they mean the same type).
		typ := a.Type
		if i < 3 && names[i] != "spdx" {
			typ = names[i]
		}
		cosigntest.MustPass(t, "verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--new-bundle-format", "--trusted-root", root, "--type", typ, ref.String())
		if err := cosignlegacy.Verify(t, ref, pub, a.Type, nil); err != nil {
			t.Errorf("legacy %s attestation: %v", a.Type, err)
		}
	}
	// The provenance is the job's.
	out, err := testinfra.RunCosign(t, nil, "verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--new-bundle-format", "--trusted-root", root, "--type", attestation.PredicateSLSAProvenance, ref.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main", "0123456789abcdef0123456789abcdef01234567"} {
		if !strings.Contains(decodePayloads(t, out), want) {
			t.Errorf("provenance lacks %q", want)
		}
	}
	_, otherPub := cosigntest.KeyPair(t, t.TempDir(), "")
	cosigntest.MustFail(t, "verify-attestation", "--key", otherPub, "--insecure-ignore-tlog", "--new-bundle-format", "--trusted-root", root, "--type", "cyclonedx", ref.String())
	if err := cosignlegacy.Verify(t, ref, otherPub, attestation.PredicateCycloneDX, nil); err == nil {
		t.Error("legacy attestation verified with the wrong key")
	}
}

// decodePayloads returns the decoded statements of cosign verify-attestation's
// JSON lines.
func decodePayloads(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		var env attestation.Envelope
		if json.Unmarshal([]byte(l), &env) != nil || env.Payload == "" {
			continue
		}
		st, err := attestation.OpenEnvelope(&env, attestation.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(st.Predicate)
	}
	return b.String()
}

func TestAttestActionAllOrNothing(t *testing.T) {
	t.Parallel()
	reg, ws, _ := sgSetup(t, "")
	good := sgPredicates(t, ws, "cyclonedx", "vuln")
	if err := os.WriteFile(filepath.Join(ws, "bad.json"), []byte(`{"bomFormat": "SPDX"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "notjson.json"), []byte(`{"scanner":`), 0o644); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, attestation.DefaultMaxPayloadBytes+1)
	if err := os.WriteFile(filepath.Join(ws, "big.json"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, extra, want string
	}{
		{"wrong document for its type", "cyclonedx=bad.json", "bad.json is not a valid cyclonedx predicate"},
		{"bad JSON", "vuln=notjson.json", "notjson.json"},
		{"oversized", "spdx=big.json", "big.json: larger than"},
		{"missing file", "spdx=nope.json", "nope.json"},
		{"unknown type", "sbom=bad.json", "bad.json"},
		{"not type=path", "cyclonedx", "expected type=path"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := cosigntest.PushRandomImage(t, reg.Host, "acme/aon", "v"+string(rune('a'+i)))
			res := run(t, Step{Action: "attest", Workspace: ws, With: map[string]string{
				"image": ref.String(), "key": "cosign.key", "tlog-upload": "false", "predicates": good + "\n" + tt.extra}})
			if res.ExitCode != 2 {
				t.Fatalf("exit %d, want 2\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
			}
			if !strings.Contains(res.Log+res.Stderr, tt.want) {
				t.Errorf("output lacks %q:\n%s\n%s", tt.want, res.Log, res.Stderr)
			}
			sgAssertNothingAttached(t, ref)
		})
	}
}

func sgAssertNothingAttached(t *testing.T, ref oci.Ref) {
	t.Helper()
	att, err := name.NewTag(ref.Repository + ":" + strings.Replace(ref.Digest, ":", "-", 1) + ".att")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(att); err == nil {
		t.Errorf("%s exists: something was pushed", att)
	}
	d, _ := ref.Name()
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	if im, _ := idx.IndexManifest(); im != nil && len(im.Manifests) != 0 {
		t.Errorf("%d referrers pushed", len(im.Manifests))
	}
}

func TestAttestActionPartialPush(t *testing.T) {
	t.Parallel()
	reg, ws, pub := sgSetup(t, "")
	ref := cosigntest.PushRandomImage(t, reg.Host, "acme/partial", "v1")
	host, _ := sgFlakyRegistry(t, reg.Host, func(r *http.Request) bool {
		// The .att manifest and the cyclonedx referrer land; the vuln referrer fails.
		if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/manifests/") {
			return false
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		return !strings.HasSuffix(r.URL.Path, ".att") && bytes.Contains(body, []byte(attestation.PredicateVuln))
	})
	res := run(t, Step{Action: "attest", Workspace: ws, With: map[string]string{
		"image": host + "/acme/partial@" + ref.Digest, "key": "cosign.key", "tlog-upload": "false",
		"predicates": sgPredicates(t, ws, "cyclonedx", "vuln")}})
	if res.ExitCode != 3 {
		t.Fatalf("exit %d, want 3\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	var atts []sgAttOutput
	if err := json.Unmarshal([]byte(res.Outputs["attestations"]), &atts); err != nil {
		t.Fatal(err)
	}
	// Exactly what landed: cyclonedx in both forms, vuln in the legacy form only.
	if len(atts) != 2 || atts[0].Type != attestation.PredicateCycloneDX || atts[0].Legacy == "" || atts[0].Bundle == "" ||
		atts[1].Type != attestation.PredicateVuln || atts[1].Legacy == "" || atts[1].Bundle != "" {
		t.Fatalf("attestations = %s, want cyclonedx (legacy+bundle) and vuln (legacy only)", res.Outputs["attestations"])
	}
	all := res.Log + res.Stderr + res.Summary
	if !strings.Contains(all, "NOT pushed: bundle of the "+attestation.PredicateVuln) {
		t.Errorf("output does not say the vuln bundle is missing:\n%s", all)
	}
	cosigntest.MustPass(t, "verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--new-bundle-format", "--trusted-root", sgEmptyRoot(t), "--type", "cyclonedx", ref.String())
	cosigntest.MustFail(t, "verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--new-bundle-format", "--trusted-root", sgEmptyRoot(t), "--type", "vuln", ref.String())
	if err := cosignlegacy.Verify(t, ref, pub, attestation.PredicateVuln, nil); err != nil {
		t.Errorf("the vuln attestation reported landed in the legacy form does not verify: %v", err)
	}
}

// The predicate the threat-model gate writes is attested as it is, the way a
// workflow chains the two steps.
func TestAttestActionTakesThreatModelGateOutput(t *testing.T) {
	t.Parallel()
	reg, ws, pub := sgSetup(t, "")
	ref := cosigntest.PushRandomImage(t, reg.Host, "acme/tm", "v1")
	runnerTemp := t.TempDir()
	tm := run(t, Step{Action: "threat-model", EventName: "pull_request", Event: prEvent(t, "good.md"), Token: "ghs_faketoken",
		Env: map[string]string{"RUNNER_TEMP": runnerTemp}})
	if tm.ExitCode != 0 || tm.Outputs["predicate"] == "" {
		t.Fatalf("threat-model: exit %d, predicate %q\n%s", tm.ExitCode, tm.Outputs["predicate"], tm.Stderr)
	}
	res := run(t, Step{Action: "attest", Workspace: ws, With: map[string]string{
		"image": ref.String(), "key": "cosign.key", "tlog-upload": "false", "signature-format": "legacy",
		"predicates": "threat-model=" + tm.Outputs["predicate"]}})
	if res.ExitCode != 0 {
		t.Fatalf("attest: exit %d\n%s\n%s", res.ExitCode, res.Log, res.Stderr)
	}
	out, err := testinfra.RunCosign(t, nil, "verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--type", attestation.PredicateThreatModel, ref.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(decodePayloads(t, out), `"result":"pass"`) {
		t.Errorf("attested threat model is not the gate's passing result:\n%s", decodePayloads(t, out))
	}
}

package evidencecmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/sigstore/cosign/v2/pkg/cosign"

	"github.com/secure-gates/secure-gates/internal/testinfra/cosigntest"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/evidence"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

const policyYAML = `apiVersion: secure-gates/v1
kind: Policy
mode: enforce
identities:
  - key: release.pub
require:
  - type: cyclonedx
  - type: vuln
    max-age: 24h
`

func cmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Command("test").Run(context.Background(), gha.New(gha.Options{Stdout: &out}), args)
	return out.String(), err
}

// TestEvidenceCommand runs `evidence` and `evidence verify` on a release
// signed and attested with pkg/signing (cosign's library) in Sigstore bundle
// format on go-containerregistry's in-process registry, next to an unsigned
// image.
func TestEvidenceCommand(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	dir := t.TempDir()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "release.pub"), kb.PublicBytes, 0o644)
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte(policyYAML), 0o644)

	signed := cosigntest.PushRandomImage(t, u.Host, "acme/widgets", "v1")
	unsigned := cosigntest.PushRandomImage(t, u.Host, "acme/widgets", "v2")
	opts := signing.Options{Key: string(kb.PrivateBytes), Format: signing.FormatBundle}
	ctx := context.Background()
	if _, err := signing.Sign(ctx, signed, opts); err != nil {
		t.Fatal(err)
	}
	scanned := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	vuln := `{"invocation":{"parameters":null,"uri":"u","event_id":"1","builder.id":"b"},"scanner":{"uri":"pkg:golang/github.com/anchore/grype@v0.120.1","version":"0.120.1","db":{"uri":"grype-db","version":"6"},"result":{"matches":[]}},"metadata":{"scanStartedOn":"` +
		scanned.Add(-time.Minute).Format(time.RFC3339) + `","scanFinishedOn":"` + scanned.Format(time.RFC3339) + `"}}`
	if _, err := signing.Attest(ctx, signed, []signing.Predicate{
		{Type: "cyclonedx", Data: []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}`)},
		{Type: "vuln", Data: []byte(vuln)},
	}, opts); err != nil {
		t.Fatal(err)
	}
	common := []string{"--policy", pol, "--base-dir", dir}

	// A tag is refused (exit 2), before anything is read.
	if _, err := cmd(t, append(common, "--image", u.Host+"/acme/widgets:v1", "--out", filepath.Join(dir, "x"))...); errkind.Of(err) != errkind.KindInput ||
		!strings.Contains(err.Error(), "digest") {
		t.Errorf("a tag: %v", err)
	}
	// The unsigned image: exit 1, nothing written.
	out := filepath.Join(dir, "unsigned.tar.gz")
	if _, err := cmd(t, append(common, "--image", unsigned.String(), "--out", out)...); errkind.Of(err) != errkind.KindPolicy {
		t.Errorf("unsigned: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a bundle was written for an unverified image: %v", err)
	}
	// The release: a bundle that verifies, and stops verifying once altered.
	out = filepath.Join(dir, "release.tar.gz")
	if stdout, err := cmd(t, append(common, "--image", signed.String(), "--out", out)...); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	stdout, err := cmd(t, "verify", "--policy", pol, out)
	if err != nil || !strings.Contains(stdout, "verifies") {
		t.Fatalf("verify: %v\n%s", err, stdout)
	}
	files, err := evidence.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	var idx evidence.Index
	json.Unmarshal(files[evidence.IndexFile], &idx)
	if len(idx.Files) == 0 || idx.Image != signed.String() {
		t.Fatalf("index: %s", files[evidence.IndexFile])
	}
	for p := range files {
		if strings.HasPrefix(p, "bundles/") && strings.HasSuffix(p, ".sigstore.json") {
			files[p] = bytes.Replace(files[p], []byte(`"`), []byte(` "`), 1)
			break
		}
	}
	tampered := filepath.Join(dir, "tampered.tar.gz")
	data, _ := evidence.Archive(files, time.Now())
	os.WriteFile(tampered, data, 0o644)
	if _, err := cmd(t, "verify", tampered); errkind.Of(err) != errkind.KindPolicy || !strings.Contains(err.Error(), "altered") {
		t.Errorf("tampered bundle: %v", err)
	}
	// Another policy pinned: refused.
	other := filepath.Join(dir, "other.yaml")
	os.WriteFile(other, []byte(policyYAML+"# another\n"), 0o644)
	if _, err := cmd(t, "verify", "--policy", other, out); errkind.Of(err) != errkind.KindPolicy {
		t.Errorf("another policy: %v", err)
	}

	// A sample: the release in the period, the unsigned image listed as not
	// verified, exit 1.
	list := filepath.Join(dir, "images.txt")
	os.WriteFile(list, []byte("# Q4\n"+signed.String()+"\n"+unsigned.String()+"\n"), 0o644)
	sample := filepath.Join(dir, "sample")
	from := scanned.Add(-24 * time.Hour).Format(time.DateOnly)
	_, err = cmd(t, append(common, "--images", list, "--from", from, "--out", sample)...)
	if errkind.Of(err) != errkind.KindPolicy {
		t.Errorf("sample with an unverified image: %v", err)
	}
	var s Sample
	b, _ := os.ReadFile(filepath.Join(sample, "sample.json"))
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Images) != 2 || s.Images[0].Status != "bundled" || !s.Images[0].ReleaseTime.Equal(scanned) || s.Images[1].Status != "not verified" ||
		!strings.Contains(s.Images[1].Reason, "not signed") {
		t.Fatalf("sample.json: %s", b)
	}
	if _, err := cmd(t, "verify", filepath.Join(sample, s.Images[0].Bundle)); err != nil {
		t.Errorf("the sample's bundle: %v", err)
	}
	// A period that ends before the release leaves it out.
	sample2 := filepath.Join(dir, "sample2")
	if _, err := cmd(t, append(common, "--image", signed.String(), "--to", scanned.Add(-48*time.Hour).Format(time.DateOnly), "--out", sample2)...); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(sample2, "sample.json"))
	if !strings.Contains(string(b), `"outside the period"`) {
		t.Errorf("sample2: %s", b)
	}
}

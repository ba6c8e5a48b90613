package verify

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

// cosignCLI runs the real cosign v2.6.5 CLI with a sealed environment.
func cosignCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testinfra.CosignCLI.Path(t), args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "COSIGN_PASSWORD=", "TUF_ROOT=" + filepath.Join(dir, "tuf"), "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestMadeByTheCosignCLI verifies what the real cosign CLI attaches in the legacy
// format (the .sig/.att tags Kyverno reads), against Debian's docker-registry.
func TestMadeByTheCosignCLI(t *testing.T) {
	t.Parallel()
	reg := testinfra.StartRegistry(t)
	dir := t.TempDir()
	cosignCLI(t, dir, "generate-key-pair")
	ref := oci.Ref{Repository: reg.Host + "/acme/widgets", Tag: "v1"}
	ref.Digest = testinfra.PushRandomImage(t, ref.Repository+":"+ref.Tag)
	ctx := context.Background()
	now := time.Now()
	cosignCLI(t, dir, "sign", "--yes", "--key", "cosign.key", "--tlog-upload=false", ref.String())
	preds := []struct {
		typ  string
		pred any
	}{
		{"cyclonedx", cyclonedx()},
		{"vuln", vulnScan(now.Add(-time.Hour), match("CVE-2021-44228", "Critical", true))},
		{attestation.PredicateCodeScan, codeScan("pass", now.Add(-time.Hour))},
		{attestation.PredicateSLSAProvenance, provenance("acme/widgets")},
	}
	for i, p := range preds {
		f := filepath.Join(dir, "p"+string(rune('0'+i))+".json")
		data, _ := json.Marshal(p.pred)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cosignCLI(t, dir, "attest", "--yes", "--key", "cosign.key", "--tlog-upload=false", "--type", p.typ, "--predicate", f, ref.String())
	}
	pol := strings.Replace(keyPolicy, "key: release.pub", "key: cosign.pub", 1)
	pol = strings.Replace(pol, "signers: [{key: security.pub}]", "signers: [{key: cosign.pub}]", 1)
	pol = strings.Replace(pol, "signers: [{key: breakglass.pub}]", "signers: [{key: cosign.pub}]", 1)
	p, err := policy.Parse([]byte(pol), policy.Options{BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(ctx, ref, Options{Policy: p, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// Everything verifies; only the critical CVE stands in the way.
	wantPass(t, rep, RequirementSignature, "cyclonedx", "code-scan", "slsaprovenance")
	wantFail(t, rep, "vuln", "CVE-2021-44228")

	// An exception made by the cosign CLI too waives it.
	exc := filepath.Join(dir, "exc.json")
	data, _ := json.Marshal(exceptionPred(now.Add(24*time.Hour), "", "CVE-2021-44228"))
	if err := os.WriteFile(exc, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cosignCLI(t, dir, "attest", "--yes", "--key", "cosign.key", "--tlog-upload=false", "--type", attestation.PredicateException, "--predicate", exc, ref.String())
	rep, err = Verify(ctx, ref, Options{Policy: p, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verified || len(rep.ExceptionsUsed) != 1 {
		t.Fatalf("verified %v, exceptions %+v: %v", rep.Verified, rep.ExceptionsUsed, rep.Failures())
	}
}

package attest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/internal/gate/gatetest"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/signing"
)

// Every input error, and every bad combination, is refused before the registry,
// the key or the OIDC token is touched; every bad predicate line is named.
func TestRefusedBeforeAnyWork(t *testing.T) {
	t.Parallel()
	tag := strings.TrimPrefix(gatetest.Untouched(t, "the registry"), "http://") + "/acme/app:v1"
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, attestation.DefaultMaxPayloadBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	gatetest.Refusals(t, Gate, nil, func(args []string) []string { return append(args, "--key", "absent.key", tag) }, []gatetest.Refusal{
		gatetest.Refuse("require-digest refuses a tag", []string{"--require-digest", "true", "--provenance", "true"}, "require-digest is true"),
		gatetest.Refuse("legacy with tlog upload", []string{"--signature-format", "legacy", "--provenance", "true"}, "legacy format carries no log entry"),
		gatetest.Refuse("nothing to attest", nil, "nothing to attest"),
		gatetest.Refuse("every bad line named", []string{"--predicates", "cyclonedx\nsbom=x.json\nspdx=" + filepath.Join(dir, "nope.json") + "\nspdx=" + big},
			`line "cyclonedx": expected type=path`, "x.json", "nope.json", "big.json: larger than"),
	}, nil)
}

// slsaprovenance=auto stands for the job's provenance, appended after the
// predicates read from files.
func TestAutoProvenance(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "vuln.json")
	if err := os.WriteFile(f, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	in := Inputs{Predicates: []string{"slsaprovenance=auto", "vuln=" + f}}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	if !in.Provenance || len(in.preds) != 1 || in.preds[0].Type != "vuln" {
		t.Errorf("provenance %v, predicates %+v", in.Provenance, in.preds)
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	ref := oci.Ref{Repository: "registry.test/acme/app", Digest: "sha256:" + strings.Repeat("ab", 32), Tag: "v1"}
	id := signing.Identity{KeyFingerprint: "sha256:feed"}
	atts := []signing.Attestation{
		{Type: attestation.PredicateVuln, Digest: "sha256:e1", Legacy: "registry.test/acme/app:sha256-abab.att", Bundle: "sha256:b1",
			Tlog: []signing.TlogEntry{{Kind: "dsse 0.0.2", LogIndex: 7, LogID: "c0ffee"}}},
		{Type: "https://example.test/custom/v1", Digest: "sha256:e2", Legacy: "registry.test/acme/app:sha256-abab.att"},
	}
	gatetest.Golden(t, "summary-key.md", Outputs{report: report{ref: ref, res: &signing.AttestResult{Identity: id, Attestations: atts}}}.Summary())
	gatetest.Golden(t, "summary-partial.md", Outputs{report: report{ref: ref, res: &signing.AttestResult{Identity: id, Attestations: atts[1:]},
		err: &signing.PartialError{NotPushed: []string{"bundle of " + attestation.PredicateVuln}, Err: errors.New("503")}}}.Summary())
	if got := (Outputs{}).Summary(); got != "" {
		t.Errorf("summary of nothing attested: %q", got)
	}
}

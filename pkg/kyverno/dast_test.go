package kyverno

import (
	"fmt"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

const dastPolicy = `apiVersion: secure-gates/v1
kind: Policy
identities: [{key: release.pub}]
require:
  - type: dast
    environment: Staging
    max-age: 72h
    deny: {risk: high}
`

// The dast requirement renders as an attestation condition: decision pass,
// the requirement's environment, no outage, no alert at or above the deny
// risk; it is left out (and named) for the cluster of its own environment.
func TestRenderDAST(t *testing.T) {
	t.Parallel()
	p, err := policy.Parse([]byte(dastPolicy), policy.Options{BaseDir: "testdata"})
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"", "production"} {
		m := decoded(t, p, Options{ImageReferences: []string{"ghcr.io/acme/widgets*"}, Environment: env, MaxAgeAtAdmission: true})
		a := dig(t, m, "spec", "rules", 0, "verifyImages", 0, "attestations", 0)
		if dig(t, a, "type") != attestation.PredicateDAST {
			t.Fatalf("%q: attestation %v", env, a)
		}
		var got []string
		for _, c := range dig(t, a, "conditions", 0, "all").([]any) {
			c := c.(map[string]any)
			got = append(got, c["key"].(string)+" "+c["operator"].(string)+" "+fmt.Sprint(c["value"]))
		}
		want := []string{
			"{{ decision }} Equals pass",
			"{{ to_lower(environment) }} Equals staging",
			"{{ length(outages || `[]`) }} Equals 0",
			"{{ length(alerts[?contains(['critical', 'high'], risk)]) }} Equals 0",
			"{{ alertsOmitted || `0` }} Equals 0",
			"{{ time_since('', scanFinishedOn || evaluatedOn, '') }} DurationLessThanOrEquals 72h0m0s",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%q: conditions\n%s\nwant\n%s", env, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	m := decoded(t, p, Options{ImageReferences: []string{"ghcr.io/acme/widgets*"}, Environment: "staging"})
	if atts := dig(t, m, "spec", "rules", 0, "verifyImages", 0, "attestations"); atts != nil {
		t.Errorf("staging cluster: attestations %v, want none (the DAST runs after admission there)", atts)
	}
	ann := dig(t, m, "metadata", "annotations", "secure-gates.dev/not-enforced-at-admission").(string)
	if !strings.Contains(ann, "require[0] (dast): not required for a deploy to Staging") {
		t.Errorf("annotation %q does not name the left-out requirement", ann)
	}
}

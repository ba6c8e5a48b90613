package attestation_test

import (
	"encoding/json"
	"fmt"

	"github.com/secure-gates/secure-gates/pkg/attestation"
)

func ExampleNewStatement() {
	digest, err := attestation.ParseDigest("sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
	if err != nil {
		fmt.Println(err)
		return
	}
	exception := attestation.Exception{
		Findings: []string{"CVE-2022-32149"},
		Scope:    "pkg:golang/golang.org/x/text",
		Reason:   "not reachable",
		Ticket:   "SEC-1234",
		Approver: "security-team@acme.example",
	}
	// Expires is required: the schema rejects the statement without it.
	_, err = attestation.NewStatement(
		[]attestation.Subject{{Name: "ghcr.io/acme/widgets", Digest: map[string]string{"sha256": digest.Hex()}}},
		attestation.PredicateException, exception)
	fmt.Println(err != nil)

	st, err := attestation.NewStatement(
		[]attestation.Subject{{Name: "ghcr.io/acme/widgets", Digest: map[string]string{"sha256": digest.Hex()}}},
		attestation.PredicateCycloneDX, json.RawMessage(`{"bomFormat": "CycloneDX", "specVersion": "1.6"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := st.Marshal()
	fmt.Println(string(out))
	fmt.Println(st.HasSubjectDigest(digest.String()))
	// Output:
	// true
	// {"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"ghcr.io/acme/widgets","digest":{"sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}}],"predicateType":"https://cyclonedx.org/bom","predicate":{"bomFormat":"CycloneDX","specVersion":"1.6"}}
	// true
}

func ExampleResolveType() {
	uri, _ := attestation.ResolveType("vuln")
	fmt.Println(uri)
	_, err := attestation.ResolveType("sbom")
	fmt.Println(err)
	// Output:
	// https://cosign.sigstore.dev/attestation/vuln/v1
	// unknown predicate type "sbom": want one of cyclonedx, spdx, vuln, slsaprovenance, vsa, code-scan, threat-model, exception, assessment, dast, vex, or its URI
}

func ExamplePredicateTypes() {
	for _, p := range attestation.PredicateTypes() {
		if p.Own {
			fmt.Printf("%-13s %s (schema %s)\n", p.Name, p.URI, p.SchemaFile())
		}
	}
	// Output:
	// code-scan     https://secure-gates.dev/attestation/code-scan/v1 (schema schema/code-scan.json)
	// threat-model  https://secure-gates.dev/attestation/threat-model/v1 (schema schema/threat-model.json)
	// exception     https://secure-gates.dev/attestation/exception/v1 (schema schema/exception.json)
	// assessment    https://secure-gates.dev/attestation/assessment/v1 (schema schema/assessment.json)
	// dast          https://secure-gates.dev/attestation/dast/v1 (schema schema/dast.json)
}

func ExampleParseDigest() {
	d, err := attestation.ParseDigest("sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
	fmt.Println(d.Hex()[:12], err)
	_, err = attestation.ParseDigest("ghcr.io/acme/widgets:latest")
	fmt.Println(err)
	// Output:
	// 5891b5b522d5 <nil>
	// parsing digest "ghcr.io/acme/widgets:latest": want "sha256:" followed by 64 lowercase hex characters
}

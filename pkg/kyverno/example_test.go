package kyverno_test

import (
	"fmt"

	"github.com/secure-gates/secure-gates/pkg/kyverno"
	"github.com/secure-gates/secure-gates/pkg/policy"
)

func ExampleRender() {
	p, err := policy.Parse([]byte(`
apiVersion: secure-gates/v1
kind: Policy
mode: audit
identities:
  - issuer: https://token.actions.githubusercontent.com
    subject-regexp: ^https://github\.com/acme/widgets/\.github/workflows/release\.yml@refs/heads/main$
    trigger: push
require:
  - type: code-scan
`), policy.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := kyverno.Render(p, kyverno.Options{ImageReferences: []string{"ghcr.io/acme/widgets*"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// apiVersion: kyverno.io/v1
	// kind: ClusterPolicy
	// metadata:
	//   name: secure-gates
	//   annotations:
	//     policies.kyverno.io/category: Software Supply Chain Security
	//     policies.kyverno.io/description: Admits only images signed by the secure-gates policy's identities and carrying its required attestations. Rendered by `secure-gates policy kyverno`; edit the policy file, not this.
	//     policies.kyverno.io/subject: Pod
	//     policies.kyverno.io/title: secure-gates supply-chain verification
	//     secure-gates.dev/policy-digest: sha256:844b5eb70fd58e7c8be66fd0ef0bc9071d60abc2d933a77c3b58fee3c6c5fe4d
	// spec:
	//   validationFailureAction: Audit
	//   background: false
	//   failurePolicy: Fail
	//   webhookTimeoutSeconds: 30
	//   rules:
	//     - name: verify-secure-gates-chain
	//       match:
	//         any:
	//           - resources:
	//               kinds:
	//                 - Pod
	//       verifyImages:
	//         - imageReferences:
	//             - ghcr.io/acme/widgets*
	//           failureAction: Audit
	//           required: true
	//           mutateDigest: false
	//           verifyDigest: true
	//           attestors:
	//             - count: 1
	//               entries:
	//                 - keyless:
	//                     issuer: https://token.actions.githubusercontent.com
	//                     subjectRegExp: ^https://github\.com/acme/widgets/\.github/workflows/release\.yml@refs/heads/main$
	//                     additionalExtensions:
	//                       githubWorkflowTrigger: push
	//                     rekor:
	//                       url: https://rekor.sigstore.dev
	//           attestations:
	//             - type: https://secure-gates.dev/attestation/code-scan/v1
	//               attestors:
	//                 - count: 1
	//                   entries:
	//                     - keyless:
	//                         issuer: https://token.actions.githubusercontent.com
	//                         subjectRegExp: ^https://github\.com/acme/widgets/\.github/workflows/release\.yml@refs/heads/main$
	//                         additionalExtensions:
	//                           githubWorkflowTrigger: push
	//                         rekor:
	//                           url: https://rekor.sigstore.dev
	//               conditions:
	//                 - all:
	//                     - key: '{{ decision }}'
	//                       operator: Equals
	//                       value: pass
	//                       message: the code-scan attestation's decision is not pass
	//                     - key: '{{ length(outages || `[]`) }}'
	//                       operator: Equals
	//                       value: 0
	//                       message: the code-scan attestation records a scanner that did not run (outage)
}

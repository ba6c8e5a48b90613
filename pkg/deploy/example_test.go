package deploy_test

import (
	"fmt"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/deploy"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// SetImage is what the GitOps deploy does to the kustomization before it commits:
// `kustomize edit set image` to the verified digest.
func ExampleSetImage() {
	k := []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\nimages:\n- name: widgets\n  newTag: v1\n")
	ref := oci.Ref{Repository: "ghcr.io/acme/widgets", Digest: "sha256:" + strings.Repeat("ab", 32)}
	out, err := deploy.SetImage(k, "widgets", ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	fmt.Println(deploy.ImageOf(out, "widgets") == ref.String())
	// Output:
	// apiVersion: kustomize.config.k8s.io/v1beta1
	// kind: Kustomization
	// resources: [deployment.yaml]
	// images:
	// - name: widgets
	//   newName: ghcr.io/acme/widgets
	//   digest: sha256:abababababababababababababababababababababababababababababababab
	// true
}

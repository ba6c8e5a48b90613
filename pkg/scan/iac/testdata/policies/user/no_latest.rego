# A user policy: refuse the :latest tag in Kubernetes and Dockerfiles.
package custom.no_latest

import data.secure_gates.lib.k8s

rules := {"custom-no-latest": {
	"severity": "critical",
	"title": "Image uses the latest tag",
	"description": "latest moves.",
	"remediation": "Pin a version and a digest.",
}}

deny contains {"id": "custom-no-latest", "msg": sprintf("image %q uses latest", [c.container.image]), "loc": array.concat(c.loc, ["image"])} if {
	some c in k8s.containers
	endswith(c.container.image, ":latest")
}

deny contains {"id": "custom-no-latest", "msg": sprintf("FROM %q uses latest", [st.image]), "line": st.line} if {
	input.type == "dockerfile"
	some st in input.content.stages
	endswith(st.image, ":latest")
}

# A rule without metadata in `rules` gets severity medium and its id as title.
deny contains {"id": "custom-pod-name", "msg": "pods must be named ok", "loc": ["metadata", "name"]} if {
	input.type == "kubernetes"
	input.content.kind == "Pod"
	input.content.metadata.name != "ok"
}

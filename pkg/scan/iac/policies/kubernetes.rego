# Bundled Kubernetes policies: input.type == "kubernetes", input.content is one resource.
package secure_gates.kubernetes

import data.secure_gates.lib.k8s

rules := {
	"k8s-run-as-non-root": {
		"severity": "high",
		"title": "Container may run as root",
		"description": "Neither the container nor the pod sets runAsNonRoot: true or a non-zero runAsUser, or runAsUser is 0: a process that escapes the application runs as root in the container.",
		"remediation": "Set securityContext.runAsNonRoot: true and a non-zero runAsUser on the pod or the container, and build the image with a non-root USER.",
	},
	"k8s-readonly-root-filesystem": {
		"severity": "medium",
		"title": "Container root filesystem is writable",
		"description": "securityContext.readOnlyRootFilesystem is not true: an attacker can modify binaries and configuration inside the running container.",
		"remediation": "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir for the paths the application must write.",
	},
	"k8s-privileged": {
		"severity": "critical",
		"title": "Privileged container",
		"description": "A privileged container has every capability and the host's devices: escaping it to the node is trivial.",
		"remediation": "Remove securityContext.privileged (or set it to false); grant only the specific capabilities needed.",
	},
	"k8s-host-path": {
		"severity": "high",
		"title": "hostPath volume",
		"description": "A hostPath volume exposes the node's filesystem to the pod.",
		"remediation": "Use emptyDir, a ConfigMap/Secret, or a PersistentVolumeClaim instead of hostPath.",
	},
	"k8s-host-namespace": {
		"severity": "high",
		"title": "Pod shares a host namespace",
		"description": "hostNetwork, hostPID or hostIPC lets the pod see and reach the node's network, processes or IPC.",
		"remediation": "Remove hostNetwork, hostPID and hostIPC (or set them to false).",
	},
	"k8s-resource-limits": {
		"severity": "medium",
		"title": "Container without resource limits",
		"description": "A container without CPU and memory limits can starve the node and its neighbours.",
		"remediation": "Set resources.limits.cpu and resources.limits.memory on every container.",
	},
	"k8s-image-digest": {
		"severity": "high",
		"title": "Image not pinned by digest",
		"description": "The image is referenced by tag: what runs can change without a change to the manifest, and the verified digest is not what is deployed.",
		"remediation": "Reference the image as repo@sha256:<digest> (kustomize images: digest, or the verify-and-deploy gate's rendered manifest).",
	},
}

deny contains {
	"id": "k8s-run-as-non-root",
	"msg": sprintf("%s: container %q may run as root (set runAsNonRoot: true and a non-zero runAsUser)", [k8s.resource, c.container.name]),
	"loc": array.concat(c.loc, ["securityContext"]),
} if {
	some c in k8s.containers
	not runs_as_non_root(c)
}

runs_as_non_root(c) if {
	u := k8s.security_setting(c, "runAsUser")
	is_number(u)
	u > 0
}

runs_as_non_root(c) if {
	k8s.security_setting(c, "runAsNonRoot") == true
	not uid_zero(c)
}

uid_zero(c) if k8s.security_setting(c, "runAsUser") == 0

deny contains {
	"id": "k8s-readonly-root-filesystem",
	"msg": sprintf("%s: container %q has a writable root filesystem (set readOnlyRootFilesystem: true)", [k8s.resource, c.container.name]),
	"loc": array.concat(c.loc, ["securityContext"]),
} if {
	some c in k8s.containers
	not c.container.securityContext.readOnlyRootFilesystem == true
}

deny contains {
	"id": "k8s-privileged",
	"msg": sprintf("%s: container %q runs privileged", [k8s.resource, c.container.name]),
	"loc": array.concat(c.loc, ["securityContext", "privileged"]),
} if {
	some c in k8s.containers
	c.container.securityContext.privileged == true
}

deny contains {
	"id": "k8s-host-path",
	"msg": sprintf("%s: volume %q mounts the host path %q", [k8s.resource, vol.name, object.get(vol.hostPath, "path", "")]),
	"loc": array.concat(ps.loc, ["volumes", i, "hostPath"]),
} if {
	some ps in k8s.pod_specs
	some i, vol in ps.spec.volumes
	vol.hostPath
}

deny contains {
	"id": "k8s-host-namespace",
	"msg": sprintf("%s: %s is true", [k8s.resource, field]),
	"loc": array.concat(ps.loc, [field]),
} if {
	some ps in k8s.pod_specs
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	ps.spec[field] == true
}

deny contains {
	"id": "k8s-resource-limits",
	"msg": sprintf("%s: container %q sets no %s limit", [k8s.resource, c.container.name, concat(" and ", sort(missing))]),
	"loc": c.loc,
} if {
	some c in k8s.containers
	c.field != "ephemeralContainers"
	missing := {r | some r in ["cpu", "memory"]; not has_limit(c.container, r)}
	count(missing) > 0
}

has_limit(ctr, r) if {
	l := ctr.resources.limits[r]
	l != null
	l != ""
}

deny contains {
	"id": "k8s-image-digest",
	"msg": sprintf("%s: container %q uses image %q, not pinned by digest", [k8s.resource, c.container.name, object.get(c.container, "image", "")]),
	"loc": array.concat(c.loc, ["image"]),
} if {
	some c in k8s.containers
	not k8s.by_digest(object.get(c.container, "image", ""))
}

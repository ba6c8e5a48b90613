# Helpers shared by the bundled policies; user policies may import them too
# (import data.secure_gates.lib.k8s).
package secure_gates.lib.k8s

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}

# pod_specs: every pod spec in the resource with its loc (path into input.content).
pod_specs contains {"spec": input.content.spec, "loc": ["spec"]} if {
	input.type == "kubernetes"
	input.content.kind == "Pod"
}

pod_specs contains {"spec": input.content.spec.template.spec, "loc": ["spec", "template", "spec"]} if {
	input.type == "kubernetes"
	input.content.kind in workload_kinds
}

pod_specs contains {"spec": spec, "loc": ["spec", "jobTemplate", "spec", "template", "spec"]} if {
	input.type == "kubernetes"
	input.content.kind == "CronJob"
	spec := input.content.spec.jobTemplate.spec.template.spec
}

pod_specs contains {"spec": input.content.template.spec, "loc": ["template", "spec"]} if {
	input.type == "kubernetes"
	input.content.kind == "PodTemplate"
}

# containers: every container (init, regular, ephemeral) with its pod spec and loc.
containers contains c if {
	some ps in pod_specs
	some field in ["initContainers", "containers", "ephemeralContainers"]
	some i, ctr in ps.spec[field]
	c := {"container": ctr, "pod": ps.spec, "field": field, "loc": array.concat(ps.loc, [field, i]), "pod_loc": ps.loc}
}

# resource names the resource in messages: Kind/name.
resource := sprintf("%s/%s", [input.content.kind, object.get(input.content, ["metadata", "name"], "<unnamed>")])

# security_setting returns a securityContext field, the container's value
# overriding the pod's.
security_setting(c, key) := c.container.securityContext[key]

security_setting(c, key) := c.pod.securityContext[key] if {
	not has_key(object.get(c.container, "securityContext", {}), key)
}

has_key(obj, key) if {
	_ = obj[key]
}

# by_digest holds for image references pinned by sha256 digest.
by_digest(image) if regex.match(`@sha256:[a-f0-9]{64}$`, image)

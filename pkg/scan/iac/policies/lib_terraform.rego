# Helpers for policies on Terraform (input.type == "terraform"); user
# policies may import them too (import data.secure_gates.lib.tf).
package secure_gates.lib.tf

# resources: every resource and data source of the module (or plan) with its
# index i (loc: ["resources", i, "values", ...]).
resources contains {"r": r, "i": i} if {
	input.type == "terraform"
	some i, r in input.content.resources
}

# managed(type) / data(type): the resources of one type.
managed(type) := {x | some x in resources; x.r.mode == "managed"; x.r.type == type}

data_sources(type) := {x | some x in resources; x.r.mode == "data"; x.r.type == type}

# unknown holds for a value the scanner could not evaluate statically
# ({"__unknown__": <expression>, "refs": [...]}).
unknown(v) if {
	is_object(v)
	_ = v.__unknown__
}

known(v) if not unknown(v)

# blocks: a nested block as a list (HCL and plans give lists; .tf.json may
# give one object).
blocks(v) := v if is_array(v)

blocks(v) := [v] if is_object(v)

blocks(v) := [] if {
	not is_array(v)
	not is_object(v)
}

# block(values, name): the blocks of one type in a resource's values.
block(values, name) := blocks(object.get(values, name, []))

# as_list: a string or a list of strings as a list.
as_list(v) := v if is_array(v)

as_list(v) := [v] if not is_array(v)

# json_value: a policy document as an object, from a JSON string (plans,
# heredocs) or from the object jsonencode() was given.
json_value(v) := json.unmarshal(v) if {
	is_string(v)
	json.is_valid(v)
}

json_value(v) := v if {
	is_object(v)
	not unknown(v)
}

# refers(v, r): the value v references the resource r (a reference in HCL),
# or equals r's bucket/name argument (a plan, where references are resolved).
refers(v, r) if {
	unknown(v)
	some ref in v.refs
	ref == sprintf("%s.%s", [r.type, r.name])
}

refers(v, r) if {
	is_string(v)
	some k in ["bucket", "name", "id"]
	v == r.values[k]
}

# unresolved(v): a reference the scanner could not resolve to any resource
# (a plan's "known after apply"): it may point at anything.
unresolved(v) if {
	unknown(v)
	count(v.refs) == 0
}

# statements: the Statement list of a policy document.
statements(doc) := as_list(doc.Statement)

name(x) := x.r.address

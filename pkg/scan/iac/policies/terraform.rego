# Bundled Terraform policies: input.type == "terraform", input.content is one
# module (a directory of .tf files, statically evaluated) or a plan. A value
# the scanner could not evaluate is an unknown marker (tf.unknown): rules
# never decide on one.
package secure_gates.terraform

import data.secure_gates.lib.tf

rules := {
	"tf-s3-public-access": {
		"severity": "critical",
		"title": "S3 bucket open to the public",
		"description": "The bucket (or its aws_s3_bucket_acl) grants a public canned ACL (public-read, public-read-write, authenticated-read), or its public access block turns one of its four protections off: anyone may read (or write) its objects. Checkov CKV_AWS_20, CKV_AWS_57, CKV_AWS_53..56; tfsec aws-s3-no-public-access-with-acl, aws-s3-block-public-acls, aws-s3-block-public-policy, aws-s3-ignore-public-acls, aws-s3-no-public-buckets.",
		"remediation": "Use the private ACL (or none: BucketOwnerEnforced) and set block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets to true; serve public content through CloudFront with an origin access control.",
	},
	"tf-s3-encryption": {
		"severity": "medium",
		"title": "S3 bucket without a server-side encryption configuration",
		"description": "No server_side_encryption_configuration (inline, or an aws_s3_bucket_server_side_encryption_configuration referencing the bucket) is declared: the bucket relies on the account default, and a KMS key (with its access policy and audit trail) is not used. Checkov CKV_AWS_19 (and CKV_AWS_145 for KMS); tfsec aws-s3-enable-bucket-encryption.",
		"remediation": "Add an aws_s3_bucket_server_side_encryption_configuration for the bucket, with sse_algorithm aws:kms and a customer-managed key.",
	},
	"tf-s3-versioning": {
		"severity": "low",
		"title": "S3 bucket without versioning",
		"description": "Versioning is not enabled (inline versioning, or an aws_s3_bucket_versioning referencing the bucket with status Enabled): an overwritten or deleted object cannot be recovered. Checkov CKV_AWS_21; tfsec aws-s3-enable-versioning.",
		"remediation": "Add an aws_s3_bucket_versioning for the bucket with versioning_configuration { status = \"Enabled\" }.",
	},
	"tf-sg-admin-port-open": {
		"severity": "high",
		"title": "Security group opens an administration or database port to the internet",
		"description": "An ingress rule allows 0.0.0.0/0 or ::/0 on a port range that includes SSH (22), telnet (23), RDP (3389), WinRM (5985/5986) or a database/cache port (MySQL 3306, PostgreSQL 5432, MSSQL 1433, Oracle 1521, MongoDB 27017, Redis 6379, Memcached 11211, Elasticsearch 9200). Checkov CKV_AWS_24 (22), CKV_AWS_25 (3389), CKV_AWS_260; tfsec aws-ec2-no-public-ingress-sgr.",
		"remediation": "Restrict the source to known CIDRs or a security group, or reach the hosts through SSM Session Manager or a bastion instead of a public port.",
	},
	"tf-iam-wildcard-admin": {
		"severity": "critical",
		"title": "IAM policy allows every action on every resource",
		"description": "A statement with Effect Allow, Action \"*\" and Resource \"*\" grants full administrative access. Checkov CKV_AWS_1, CKV_AWS_62, CKV_AWS_63, CKV_AWS_355; tfsec aws-iam-no-policy-wildcards.",
		"remediation": "Grant the specific actions on the specific resources the principal needs (least privilege); use AWS managed job-function policies as a starting point.",
	},
	"tf-unencrypted-storage": {
		"severity": "high",
		"title": "Storage or database not encrypted at rest",
		"description": "An EBS volume (encrypted), RDS instance or cluster (storage_encrypted) or EFS file system (encrypted) is not encrypted at rest: snapshots and disks can be read by whoever gets them. Checkov CKV_AWS_3, CKV_AWS_16, CKV_AWS_96, CKV_AWS_42; tfsec aws-ec2-enable-volume-encryption, aws-rds-encrypt-instance-storage-data, aws-rds-encrypt-cluster-storage-data, aws-efs-enable-at-rest-encryption.",
		"remediation": "Set encrypted / storage_encrypted = true (with a customer-managed kms_key_id where the data warrants it); an existing unencrypted database must be restored from an encrypted snapshot copy.",
	},
	"tf-db-public": {
		"severity": "critical",
		"title": "Database publicly accessible",
		"description": "publicly_accessible = true gives the RDS instance a public address: its port is reachable from the internet wherever the security groups allow it. Checkov CKV_AWS_17; tfsec aws-rds-no-public-db-access.",
		"remediation": "Set publicly_accessible = false and reach the database from inside the VPC (application subnets, a bastion, SSM port forwarding).",
	},
	"tf-kms-rotation": {
		"severity": "medium",
		"title": "KMS key without automatic rotation",
		"description": "A symmetric customer-managed KMS key does not set enable_key_rotation = true: its key material never changes. Checkov CKV_AWS_7; tfsec aws-kms-auto-rotate-keys.",
		"remediation": "Set enable_key_rotation = true (and rotation_period_in_days if the default year is too long).",
	},
	"tf-github-oidc-trust": {
		"severity": "critical",
		"title": "GitHub OIDC trust does not pin the repository and ref",
		"description": "A cloud role trusts GitHub Actions' OIDC tokens (token.actions.githubusercontent.com) without a subject condition, or with one that matches any repository (repo:acme/*, *) or any ref (repo:acme/app:*): every workflow of the organization — or of anyone on GitHub — can assume it. Covers aws_iam_role assume_role_policy (JSON, heredoc or jsonencode) and aws_iam_policy_document data sources, GCP google_iam_workload_identity_pool_provider attribute_condition, and Azure federated identity credentials' subject. Checkov CKV_AWS_358 (AWS) and CKV_GCP_125 (GCP); tfsec/Trivy have no equivalent.",
		"remediation": "Require token.actions.githubusercontent.com:sub to equal the exact subject (repo:ORG/REPO:ref:refs/heads/main or repo:ORG/REPO:environment:NAME) with StringEquals, or on GCP an attribute_condition with assertion.repository == 'ORG/REPO' (and the ref); use GitHub environments with protection rules for deploy roles.",
	},
}

# --- S3 ---------------------------------------------------------------------

public_acls := {"public-read", "public-read-write", "authenticated-read"}

deny contains {
	"id": "tf-s3-public-access",
	"msg": sprintf("%s: canned ACL %q makes the bucket public", [x.r.address, x.r.values.acl]),
	"loc": ["resources", x.i, "values", "acl"],
} if {
	some x in tf.resources
	x.r.mode == "managed"
	x.r.type in {"aws_s3_bucket", "aws_s3_bucket_acl"}
	x.r.values.acl in public_acls
}

deny contains {
	"id": "tf-s3-public-access",
	"msg": sprintf("%s: %s = false lets the bucket be made public", [x.r.address, k]),
	"loc": ["resources", x.i, "values", k],
} if {
	some x in tf.managed("aws_s3_bucket_public_access_block")
	some k in ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]
	x.r.values[k] == false
}

# companion(type, b): a resource of type that configures bucket b (or whose
# bucket argument cannot be resolved: it may).
companion(type, b) if {
	some c in tf.managed(type)
	tf.refers(c.r.values.bucket, b.r)
}

companion(type, _) if {
	some c in tf.managed(type)
	tf.unresolved(c.r.values.bucket)
}

deny contains {
	"id": "tf-s3-encryption",
	"msg": sprintf("%s: no server-side encryption configuration", [b.r.address]),
	"loc": ["resources", b.i],
} if {
	some b in tf.managed("aws_s3_bucket")
	count(tf.block(b.r.values, "server_side_encryption_configuration")) == 0
	not companion("aws_s3_bucket_server_side_encryption_configuration", b)
}

inline_versioning(b) if {
	some v in tf.block(b.r.values, "versioning")
	v.enabled == true
}

inline_versioning(b) if {
	some v in tf.block(b.r.values, "versioning")
	tf.unknown(v.enabled)
}

versioned(b) if {
	some c in tf.managed("aws_s3_bucket_versioning")
	tf.refers(c.r.values.bucket, b.r)
	some vc in tf.block(c.r.values, "versioning_configuration")
	not vc.status in {"Suspended", "Disabled"}
}

versioned(b) if {
	some c in tf.managed("aws_s3_bucket_versioning")
	tf.unresolved(c.r.values.bucket)
}

deny contains {
	"id": "tf-s3-versioning",
	"msg": sprintf("%s: versioning is not enabled", [b.r.address]),
	"loc": ["resources", b.i],
} if {
	some b in tf.managed("aws_s3_bucket")
	not inline_versioning(b)
	not versioned(b)
}

# --- security groups -----------------------------------------------------------

admin_ports := {22: "SSH", 23: "telnet", 3389: "RDP", 5985: "WinRM", 5986: "WinRM", 3306: "MySQL", 5432: "PostgreSQL", 1433: "MSSQL", 1521: "Oracle", 27017: "MongoDB", 6379: "Redis", 11211: "Memcached", 9200: "Elasticsearch"}

open_cidrs := {"0.0.0.0/0", "::/0"}

# open_ports(rule, from, to, proto): the admin ports a rule opens.
open_ports(from, to, proto) := {sprintf("%d (%s)", [p, n]) |
	some p, n in admin_ports
	covers(from, to, proto, p)
}

covers(_, _, proto, _) if proto in {"-1", "all", -1}

covers(from, to, proto, p) if {
	not proto in {"-1", "all", -1}
	is_number(from)
	is_number(to)
	from <= p
	p <= to
}

world(rule) := c if {
	some c in array.concat(object.get(rule, "cidr_blocks", []), object.get(rule, "ipv6_cidr_blocks", []))
	c in open_cidrs
}

deny contains {
	"id": "tf-sg-admin-port-open",
	"msg": sprintf("%s: ingress from %s on port %s", [x.r.address, cidr, concat(", ", sort(ports))]),
	"loc": ["resources", x.i, "values", "ingress", j],
} if {
	some x in tf.managed("aws_security_group")
	some j, rule in tf.block(x.r.values, "ingress")
	cidr := world(rule)
	ports := open_ports(rule.from_port, rule.to_port, object.get(rule, "protocol", ""))
	count(ports) > 0
}

deny contains {
	"id": "tf-sg-admin-port-open",
	"msg": sprintf("%s: ingress from %s on port %s", [x.r.address, cidr, concat(", ", sort(ports))]),
	"loc": ["resources", x.i, "values", "cidr_blocks"],
} if {
	some x in tf.managed("aws_security_group_rule")
	x.r.values.type == "ingress"
	cidr := world(x.r.values)
	ports := open_ports(x.r.values.from_port, x.r.values.to_port, object.get(x.r.values, "protocol", ""))
	count(ports) > 0
}

deny contains {
	"id": "tf-sg-admin-port-open",
	"msg": sprintf("%s: ingress from %s on port %s", [x.r.address, cidr, concat(", ", sort(ports))]),
	"loc": ["resources", x.i, "values", key],
} if {
	some x in tf.managed("aws_vpc_security_group_ingress_rule")
	some key in ["cidr_ipv4", "cidr_ipv6"]
	cidr := x.r.values[key]
	cidr in open_cidrs
	ports := open_ports(object.get(x.r.values, "from_port", -1), object.get(x.r.values, "to_port", -1), object.get(x.r.values, "ip_protocol", ""))
	count(ports) > 0
}

# --- IAM ----------------------------------------------------------------------

policy_types := {"aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"}

admin_statement(st) if {
	object.get(st, "Effect", "Allow") == "Allow"
	"*" in tf.as_list(st.Action)
	"*" in tf.as_list(st.Resource)
}

deny contains {
	"id": "tf-iam-wildcard-admin",
	"msg": sprintf("%s: a statement allows Action \"*\" on Resource \"*\"", [x.r.address]),
	"loc": ["resources", x.i, "values", "policy"],
} if {
	some x in tf.resources
	x.r.mode == "managed"
	x.r.type in policy_types
	some st in tf.statements(tf.json_value(x.r.values.policy))
	admin_statement(st)
}

deny contains {
	"id": "tf-iam-wildcard-admin",
	"msg": sprintf("%s: inline policy %q allows Action \"*\" on Resource \"*\"", [x.r.address, object.get(ip, "name", "")]),
	"loc": ["resources", x.i, "values", "inline_policy", j],
} if {
	some x in tf.managed("aws_iam_role")
	some j, ip in tf.block(x.r.values, "inline_policy")
	some st in tf.statements(tf.json_value(ip.policy))
	admin_statement(st)
}

deny contains {
	"id": "tf-iam-wildcard-admin",
	"msg": sprintf("%s: statement %d allows actions \"*\" on resources \"*\"", [x.r.address, j]),
	"loc": ["resources", x.i, "values", "statement", j],
} if {
	some x in tf.data_sources("aws_iam_policy_document")
	some j, st in tf.block(x.r.values, "statement")
	object.get(st, "effect", "Allow") == "Allow"
	"*" in object.get(st, "actions", [])
	"*" in object.get(st, "resources", [])
}

# --- encryption at rest, public databases, KMS ------------------------------------

encryption_attr := {"aws_ebs_volume": "encrypted", "aws_db_instance": "storage_encrypted", "aws_rds_cluster": "storage_encrypted", "aws_efs_file_system": "encrypted"}

deny contains {
	"id": "tf-unencrypted-storage",
	"msg": sprintf("%s: %s is not true", [x.r.address, attr]),
	"loc": loc,
} if {
	some type, attr in encryption_attr
	some x in tf.managed(type)
	not x.r.values[attr] == true
	not tf.unknown(object.get(x.r.values, attr, null))
	not inherits_encryption(x.r)
	loc := encryption_loc(x, attr)
}

# A read replica or a snapshot restore inherits its source's encryption.
inherits_encryption(r) if r.values.replicate_source_db
inherits_encryption(r) if r.values.snapshot_identifier
inherits_encryption(r) if r.values.snapshot_id
inherits_encryption(r) if {
	r.type == "aws_rds_cluster"
	r.values.engine_mode == "serverless"
}

encryption_loc(x, attr) := ["resources", x.i, "values", attr] if has(x.r.values, attr)

encryption_loc(x, attr) := ["resources", x.i] if not has(x.r.values, attr)

has(obj, k) if _ = obj[k]

deny contains {
	"id": "tf-db-public",
	"msg": sprintf("%s: publicly_accessible = true", [x.r.address]),
	"loc": ["resources", x.i, "values", "publicly_accessible"],
} if {
	some x in tf.resources
	x.r.mode == "managed"
	x.r.type in {"aws_db_instance", "aws_rds_cluster_instance"}
	x.r.values.publicly_accessible == true
}

deny contains {
	"id": "tf-kms-rotation",
	"msg": sprintf("%s: enable_key_rotation is not true", [x.r.address]),
	"loc": kms_loc(x),
} if {
	some x in tf.managed("aws_kms_key")
	not x.r.values.enable_key_rotation == true
	not tf.unknown(object.get(x.r.values, "enable_key_rotation", null))
	object.get(x.r.values, "customer_master_key_spec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
}

kms_loc(x) := ["resources", x.i, "values", "enable_key_rotation"] if has(x.r.values, "enable_key_rotation")

kms_loc(x) := ["resources", x.i] if not has(x.r.values, "enable_key_rotation")

# --- GitHub OIDC trust -------------------------------------------------------------

github_issuer := "token.actions.githubusercontent.com"

sub_key := "token.actions.githubusercontent.com:sub"

# wildcard(s): s contains an IAM/glob wildcard.
wildcard(s) if contains(s, "*")

wildcard(s) if contains(s, "?")

# broad(value) is why a subject pattern is too broad ("" when it is not).
broad(v) := "matches any subject" if {
	not startswith(v, "repo:")
	wildcard(v)
}

broad(v) := "matches any repository" if {
	startswith(v, "repo:")
	repo := split(substring(v, 5, -1), ":")[0]
	wildcard(repo)
}

broad(v) := "matches any ref" if {
	startswith(v, "repo:")
	parts := split(substring(v, 5, -1), ":")
	not wildcard(parts[0])
	rest := concat(":", array.slice(parts, 1, count(parts)))
	wildcard(rest)
}

severity_of(why) := "high" if why == "matches any ref"

severity_of(why) := "critical" if why != "matches any ref"

# like_op: condition operators under which * and ? are wildcards.
like_op(op) if contains(lower(op), "stringlike")

github_federated(p) if {
	some e in tf.as_list(p)
	federated_one(e)
}

federated_one(e) if {
	is_string(e)
	contains(lower(e), github_issuer)
}

federated_one(e) if {
	tf.unknown(e)
	contains(lower(e.__unknown__), "github")
}

# The statements of a JSON trust policy that trust GitHub's OIDC tokens.
github_trust(st) if {
	"sts:AssumeRoleWithWebIdentity" in tf.as_list(st.Action)
	github_federated(st.Principal.Federated)
}

github_trust(st) if {
	"sts:AssumeRoleWithWebIdentity" in tf.as_list(st.Action)
	some _, conds in st.Condition
	some k, _ in conds
	startswith(lower(k), github_issuer)
}

# sub_values(st): the subject patterns a JSON statement's conditions allow,
# with whether the operator treats wildcards as such.
sub_values(st) := {[v, like_op(op)] |
	some op, conds in st.Condition
	some k, vals in conds
	lower(k) == sub_key
	some v in tf.as_list(vals)
}

like_op(op) := false if not contains(lower(op), "stringlike")

deny contains {
	"id": "tf-github-oidc-trust",
	"msg": sprintf("%s: the GitHub OIDC trust policy has no %s condition: any repository on GitHub can assume the role", [x.r.address, sub_key]),
	"loc": ["resources", x.i, "values", "assume_role_policy"],
} if {
	some x in tf.managed("aws_iam_role")
	doc := tf.json_value(x.r.values.assume_role_policy)
	some st in tf.statements(doc)
	github_trust(st)
	not tf.unknown(object.get(st, "Condition", {}))
	count(sub_values(st)) == 0
	not unknown_sub(st)
}

unknown_sub(st) if {
	some _, conds in st.Condition
	tf.unknown(conds)
}

unknown_sub(st) if {
	some _, conds in st.Condition
	some k, vals in conds
	lower(k) == sub_key
	tf.unknown(vals)
}

deny contains {
	"id": "tf-github-oidc-trust",
	"msg": sprintf("%s: the GitHub OIDC subject %q %s: every workflow it matches can assume the role", [x.r.address, v, why]),
	"loc": ["resources", x.i, "values", "assume_role_policy"],
	"severity": severity_of(why),
} if {
	some x in tf.managed("aws_iam_role")
	doc := tf.json_value(x.r.values.assume_role_policy)
	some st in tf.statements(doc)
	github_trust(st)
	some [v, like] in sub_values(st)
	is_string(v)
	like_or_star(v, like)
	why := broad(v)
}

# Under StringEquals a wildcard is literal, except that "*" alone is still
# reported (it documents an intent to match anything).
like_or_star(_, true)

like_or_star(v, false) if v == "*"

# aws_iam_policy_document data sources.
doc_github_trust(st) if {
	"sts:AssumeRoleWithWebIdentity" in object.get(st, "actions", [])
	some p in tf.block(st, "principals")
	p.type == "Federated"
	some id in tf.as_list(p.identifiers)
	github_federated(id)
}

doc_github_trust(st) if {
	"sts:AssumeRoleWithWebIdentity" in object.get(st, "actions", [])
	some c in tf.block(st, "condition")
	startswith(lower(c.variable), github_issuer)
}

deny contains {
	"id": "tf-github-oidc-trust",
	"msg": sprintf("%s: statement %d trusts GitHub OIDC tokens without a %s condition: any repository on GitHub can assume the role", [x.r.address, j, sub_key]),
	"loc": ["resources", x.i, "values", "statement", j],
} if {
	some x in tf.data_sources("aws_iam_policy_document")
	some j, st in tf.block(x.r.values, "statement")
	doc_github_trust(st)
	not doc_has_sub(st)
}

doc_has_sub(st) if {
	some c in tf.block(st, "condition")
	lower(c.variable) == sub_key
}

doc_has_sub(st) if {
	some c in tf.block(st, "condition")
	tf.unknown(c.variable)
}

deny contains {
	"id": "tf-github-oidc-trust",
	"msg": sprintf("%s: statement %d's GitHub OIDC subject %q %s: every workflow it matches can assume the role", [x.r.address, j, v, why]),
	"loc": ["resources", x.i, "values", "statement", j, "condition", k],
	"severity": severity_of(why),
} if {
	some x in tf.data_sources("aws_iam_policy_document")
	some j, st in tf.block(x.r.values, "statement")
	doc_github_trust(st)
	some k, c in tf.block(st, "condition")
	lower(c.variable) == sub_key
	some v in tf.as_list(c.values)
	is_string(v)
	like_or_star(v, like_op(c.test))
	why := broad(v)
}

# GCP workload identity pool providers.
exact_repo_condition(cond) if {
	regex.match(`(assertion|attribute)\.(repository|repository_id|sub)\s*(==\s*['"][^'"*]+['"]|in\s*\[)`, cond)
	not contains(cond, "||")
	not regex.match(`(repository|sub)[^&]*\.(startsWith|matches|contains)\(`, cond)
}

deny contains {
	"id": "tf-github-oidc-trust",
	"msg": sprintf("%s: the GitHub workload identity provider has no attribute_condition pinning a repository: any repository on GitHub can impersonate its service accounts", [x.r.address]),
	"loc": ["resources", x.i, "values", "attribute_condition"],
} if {
	some x in tf.managed("google_iam_workload_identity_pool_provider")
	some o in tf.block(x.r.values, "oidc")
	contains(lower(sprintf("%v", [o.issuer_uri])), github_issuer)
	cond := object.get(x.r.values, "attribute_condition", "")
	not tf.unknown(cond)
	not exact_repo_condition(sprintf("%v", [cond]))
}

# Azure federated identity credentials.
azure_fic := {"azurerm_federated_identity_credential", "azuread_application_federated_identity_credential"}

deny contains {
	"id": "tf-github-oidc-trust",
	"msg": sprintf("%s: the GitHub federated credential's subject %q %s", [x.r.address, subj, why]),
	"loc": ["resources", x.i, "values", "subject"],
	"severity": severity_of(why),
} if {
	some x in tf.resources
	x.r.mode == "managed"
	x.r.type in azure_fic
	contains(lower(sprintf("%v", [x.r.values.issuer])), github_issuer)
	subj := object.get(x.r.values, "subject", "")
	not tf.unknown(subj)
	why := azure_broad(subj)
}

azure_broad(s) := "is empty: it constrains nothing" if s == ""

azure_broad(s) := why if {
	s != ""
	why := broad(s)
}

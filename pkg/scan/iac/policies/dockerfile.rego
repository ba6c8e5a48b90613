# Bundled Dockerfile policies: input.type == "dockerfile", input.content is the
# parsed Dockerfile (stages, instructions, args with lines).
package secure_gates.dockerfile

rules := {
	"docker-user": {
		"severity": "high",
		"title": "Image runs as root",
		"description": "The final stage sets no USER, or sets root/0: containers from the image run as root unless the orchestrator overrides it.",
		"remediation": "Add USER <non-root uid> (for example USER 65532:65532 on distroless) to the final stage.",
	},
	"docker-base-digest": {
		"severity": "high",
		"title": "Base image not pinned by digest",
		"description": "FROM names the image by tag: rebuilding the same commit can pull different contents.",
		"remediation": "Pin the base image as image:tag@sha256:<digest> and let a bot (Dependabot, Renovate) update the digest.",
	},
	"docker-add-url": {
		"severity": "medium",
		"title": "ADD from a URL",
		"description": "ADD <url> downloads content at build time without an integrity check in the Dockerfile's source of truth.",
		"remediation": "Download in a RUN step and verify a checksum, or COPY a vendored file.",
	},
	"docker-secret-env": {
		"severity": "high",
		"title": "Secret-like variable in ENV or ARG",
		"description": "ENV values are stored in the image config and ARG values in the build history: anyone who can pull the image can read them.",
		"remediation": "Use build secrets (RUN --mount=type=secret) at build time and inject runtime secrets from the platform, not the image.",
	},
}

final := input.content.stages[count(input.content.stages) - 1]

deny contains {
	"id": "docker-user",
	"msg": "the final stage sets no USER: the image runs as root",
	"line": final.line,
} if {
	input.type == "dockerfile"
	final.user == ""
}

deny contains {
	"id": "docker-user",
	"msg": sprintf("the final stage runs as %q (root)", [final.user]),
	"line": final.user_line,
} if {
	input.type == "dockerfile"
	is_root(final.user)
}

is_root(u) if {
	name := split(u, ":")[0]
	name == "root"
}

# A numeric user is parsed as a number: 00, +0 and -0 are uid 0.
is_root(u) if {
	regex.match(`^[+-]?0+$`, split(u, ":")[0])
}

deny contains {
	"id": "docker-base-digest",
	"msg": sprintf("stage %d: FROM %q is not pinned by digest", [st.index, st.image]),
	"line": st.line,
} if {
	input.type == "dockerfile"
	some st in input.content.stages
	st.base_stage == -1
	lower(st.image) != "scratch"
	not regex.match(`@sha256:[a-f0-9]{64}$`, st.image)
}

deny contains {
	"id": "docker-add-url",
	"msg": sprintf("ADD downloads %q", [src]),
	"line": ins.line,
} if {
	input.type == "dockerfile"
	some st in input.content.stages
	some ins in st.instructions
	ins.cmd == "ADD"
	some i, src in ins.args
	i < count(ins.args) - 1
	# BuildKit's remote sources: http(s) URLs, git URLs (git://, ssh://,
	# github.com/..., scp-style user@host:path, https://...git).
	regex.match(`(?i)^(https?|ftp|git|ssh)://|^github\.com/|^[a-z0-9_-]+@[a-z0-9.-]+:|\.git(#.*)?$`, src)
}

secret_name := `(?i)(passw(or)?d|token|secret|_key($|_)|^key$|api_?key|private_?key|credential)`

vars contains {"v": v, "cmd": "ARG"} if {
	input.type == "dockerfile"
	some v in input.content.args
}

vars contains {"v": v, "cmd": ins.cmd} if {
	input.type == "dockerfile"
	some st in input.content.stages
	some ins in st.instructions
	ins.cmd in {"ENV", "ARG"}
	some v in ins.vars
}

# The message names the variable, never its value.
deny contains {
	"id": "docker-secret-env",
	"msg": sprintf("%s %s looks like a secret: it is baked into the image", [x.cmd, x.v.name]),
	"line": x.v.line,
} if {
	some x in vars
	regex.match(secret_name, x.v.name)
}

# Bundled GitHub Actions workflow policies: input.type == "workflow",
# input.content is the workflow file.
package secure_gates.workflow

rules := {
	"gha-permissions": {
		"severity": "medium",
		"title": "GITHUB_TOKEN permissions not set",
		"description": "Neither the workflow nor the job sets permissions: the job gets the repository's default token permissions, which may be write-all.",
		"remediation": "Add a top-level `permissions: {contents: read}` (or `{}`) and grant more per job only where needed.",
	},
	"gha-pinned-actions": {
		"severity": "high",
		"title": "Action not pinned to a commit SHA",
		"description": "A tag or branch can be moved by whoever controls the action's repository: the workflow would run their new code with its secrets.",
		"remediation": "Pin every `uses:` to a full 40-character commit SHA with a version comment (`uses: actions/checkout@<sha> # v4.2.2`); docker:// images by digest. slsa-github-generator's reusable workflows are the one exception: they must be called by release tag (vX.Y.Z).",
	},
	"gha-pr-target-checkout": {
		"severity": "critical",
		"title": "pull_request_target checks out the pull request's code",
		"description": "pull_request_target runs with a write token and secrets; checking out and running the PR head gives an outside contributor code execution with them.",
		"remediation": "Use pull_request for building untrusted code, or split into a pull_request build and a workflow_run job that only consumes artifacts.",
	},
	"gha-script-injection": {
		"severity": "critical",
		"title": "Untrusted input expanded into a script",
		"description": "A `${{ }}` expression with attacker-controlled text (issue or PR title/body, comment, branch name, commit message …) is pasted into the script before it runs: a crafted value runs arbitrary commands.",
		"remediation": "Pass the value through an environment variable (`env: TITLE: ${{ github.event.issue.title }}`) and use \"$TITLE\" in the script.",
	},
}

jobs := object.get(input.content, "jobs", {})

triggers contains t if {
	t := input.content.on
	is_string(t)
}

triggers contains t if {
	some t in input.content.on
	is_array(input.content.on)
}

triggers contains t if {
	is_object(input.content.on)
	some t, _ in input.content.on
}

deny contains {
	"id": "gha-permissions",
	"msg": sprintf("job %q runs with default token permissions: no permissions at workflow or job level", [id]),
	"loc": ["jobs", id],
} if {
	input.type == "workflow"
	not "permissions" in object.keys(input.content)
	some id, job in jobs
	not "permissions" in object.keys(job)
}

pinned(u) if startswith(u, "./")

pinned(u) if regex.match(`^docker://[^\s]+@sha256:[a-f0-9]{64}$`, u)

pinned(u) if regex.match(`^[A-Za-z0-9_.-]+/[^@\s]+@[0-9a-f]{40}$`, u)

# slsa-github-generator's reusable workflows verify their own ref and must be
# called by release tag: a commit SHA is not supported by the project.
pinned(u) if regex.match(`^slsa-framework/slsa-github-generator/\.github/workflows/[^@\s]+@v[0-9]+\.[0-9]+\.[0-9]+$`, u)

uses contains {"uses": job.uses, "loc": ["jobs", id, "uses"]} if {
	some id, job in jobs
	is_string(job.uses)
}

uses contains {"uses": step.uses, "loc": ["jobs", id, "steps", i, "uses"]} if {
	some id, job in jobs
	some i, step in job.steps
	is_string(step.uses)
}

deny contains {
	"id": "gha-pinned-actions",
	"msg": sprintf("%q is not pinned to a full commit SHA", [u.uses]),
	"loc": u.loc,
} if {
	input.type == "workflow"
	some u in uses
	not pinned(u.uses)
}

pr_head := `github\.event\.pull_request\.head\.(sha|ref|repo\.full_name)|github\.head_ref|refs/pull/|github\.event\.workflow_run\.head_(sha|branch)`

deny contains {
	"id": "gha-pr-target-checkout",
	"msg": sprintf("job %q checks out the pull request head (%s) in a pull_request_target workflow", [id, what]),
	"loc": ["jobs", id, "steps", i],
} if {
	input.type == "workflow"
	"pull_request_target" in triggers
	some id, job in jobs
	some i, step in job.steps
	what := head_checkout(step)
}

head_checkout(step) := step.with.ref if {
	startswith(step.uses, "actions/checkout")
	regex.match(pr_head, sprintf("%v", [step.with.ref]))
} else := step.with.repository if {
	startswith(step.uses, "actions/checkout")
	regex.match(pr_head, sprintf("%v", [step.with.repository]))
} else := "gh pr checkout" if {
	regex.match(`gh\s+pr\s+checkout`, step.run)
} else := "git fetch/checkout of the PR head" if {
	regex.match(sprintf(`git\s+(fetch|checkout|pull)[^\n]*(%s|pull/)`, [pr_head]), step.run)
}

untrusted := `(?i)\bgithub\.(head_ref\b|event\.(issue\.(title|body)|pull_request\.(title|body|head\.(ref|label|repo\.default_branch))|comment\.body|review\.body|review_comment\.body|discussion\.(title|body)|discussion_comment\.body|pages\b[^}]*\.page_name|commits\b[^}]*\.(message|author\.(email|name)|committer\.(email|name))|head_commit\.(message|author\.(email|name)|committer\.(email|name))|workflow_run\.(head_branch|display_title|head_commit\.(message|author\.(email|name)|committer\.(email|name)))|[a-z_.*\[\]0-9'"]*\.(title|body|message|head_ref|head_branch|page_name)\b))`

scripts contains {"text": step.run, "where": "run", "loc": ["jobs", id, "steps", i, "run"]} if {
	some id, job in jobs
	some i, step in job.steps
	is_string(step.run)
}

scripts contains {"text": step["with"].script, "where": "github-script", "loc": ["jobs", id, "steps", i, "with", "script"]} if {
	some id, job in jobs
	some i, step in job.steps
	startswith(step.uses, "actions/github-script")
	is_string(step["with"].script)
}

deny contains {
	"id": "gha-script-injection",
	"msg": sprintf("%s expands %s into the script", [s.where, expr]),
	"loc": s.loc,
	"match": expr,
} if {
	input.type == "workflow"
	some s in scripts
	some expr in regex.find_n(`\$\{\{[^}]*\}\}`, s.text, -1)
	regex.match(untrusted, expr)
}

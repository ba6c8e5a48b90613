package actiontest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/exceptions"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/kyverno"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/scan/iac"
	"github.com/secure-gates/secure-gates/pkg/threatmodel"
)

// The starter workflows (workflows-templates/*.yml), the reusable workflows they call
// (.github/workflows/secure-gates*.yml, where GitHub requires a called workflow to live) and the example service's workflow are what a
// team copies: these tests hold them to the actions' contracts and to the rules the
// templates promise in their headers.

// ourActionRe matches a step that uses one of our actions in its published form.
var ourActionRe = regexp.MustCompile(`^secure-gates/secure-gates/actions/([a-z-]+)@([0-9a-f]{40})$`)

// ourWorkflowRe matches a job that calls one of our published reusable workflows.
var ourWorkflowRe = regexp.MustCompile(`^secure-gates/secure-gates/\.github/workflows/([a-z0-9-]+\.yml)@([0-9a-f]{40})$`)

// slsaGeneratorRe is the one reference pinned by tag, not SHA: slsa-github-generator
// refuses to run from a SHA and slsa-verifier checks the tag in the builder identity.
var slsaGeneratorRe = regexp.MustCompile(`^slsa-framework/slsa-github-generator/\.github/workflows/generator_container_slsa3\.yml@v[0-9]+\.[0-9]+\.[0-9]+$`)

// pinnedRe is a third-party reference pinned to a full commit SHA.
var pinnedRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@]+)?@[0-9a-f]{40}$`)

// versionCommentRe is the version comment a pinned reference carries.
var versionCommentRe = regexp.MustCompile(`^# v[0-9]+(\.[0-9]+)*\b`)

// thirdParty is the part of the third-party actions' public contract the templates
// use: their inputs and outputs as the actions' own action.yml declare them.
var thirdParty = map[string]struct{ inputs, outputs []string }{
	"actions/checkout":           {inputs: []string{"persist-credentials", "ref", "fetch-depth"}},
	"actions/upload-artifact":    {inputs: []string{"name", "path", "if-no-files-found", "retention-days"}},
	"actions/download-artifact":  {inputs: []string{"name", "path"}},
	"actions/cache/restore":      {inputs: []string{"path", "key", "restore-keys"}, outputs: []string{"cache-hit", "cache-primary-key", "cache-matched-key"}},
	"actions/cache/save":         {inputs: []string{"path", "key"}},
	"docker/setup-buildx-action": {},
	"docker/login-action":        {inputs: []string{"registry", "username", "password"}},
	"docker/build-push-action":   {inputs: []string{"context", "file", "push", "tags", "provenance", "sbom", "platforms"}, outputs: []string{"digest", "imageid", "metadata"}},
	// The ZAP actions' inputs at the pinned commits (v0.15.0, v0.10.0): their action.yml.
	"zaproxy/action-baseline": {inputs: []string{"token", "target", "rules_file_name", "docker_name", "cmd_options", "issue_title", "fail_action", "allow_issue_writing", "artifact_name"}},
	"zaproxy/action-api-scan": {inputs: []string{"token", "target", "format", "rules_file_name", "docker_name", "cmd_options", "issue_title", "fail_action", "allow_issue_writing", "artifact_name"}},
	"slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml": {inputs: []string{"image", "digest", "registry-username", "compile-generator"}, outputs: []string{"outcome"}},
}

// slsaGeneratorSecrets are the secrets generator_container_slsa3.yml declares.
var slsaGeneratorSecrets = []string{"image", "registry-username", "registry-password"}

type wfStep struct {
	ID   string            `yaml:"id"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	If   string            `yaml:"if"`
	With map[string]string `yaml:"with"`
}

type wfJob struct {
	Needs       yaml.Node         `yaml:"needs"`
	If          string            `yaml:"if"`
	Permissions yaml.Node         `yaml:"permissions"`
	Environment yaml.Node         `yaml:"environment"`
	Outputs     map[string]string `yaml:"outputs"`
	Uses        string            `yaml:"uses"`
	With        map[string]string `yaml:"with"`
	Secrets     yaml.Node         `yaml:"secrets"`
	Steps       []wfStep          `yaml:"steps"`
	Strategy    yaml.Node         `yaml:"strategy"`
	RunsOn      string            `yaml:"runs-on"`
	Concurrency yaml.Node         `yaml:"concurrency"`
}

type wfCall struct {
	Inputs  map[string]struct{ Required bool } `yaml:"inputs"`
	Secrets map[string]struct{ Required bool } `yaml:"secrets"`
	Outputs map[string]struct{ Value string }  `yaml:"outputs"`
}

type workflow struct {
	Name        string            `yaml:"name"`
	On          yaml.Node         `yaml:"on"`
	Permissions yaml.Node         `yaml:"permissions"`
	Env         map[string]string `yaml:"env"`
	Jobs        map[string]*wfJob `yaml:"jobs"`
}

func (w *workflow) call() *wfCall {
	if w.On.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(w.On.Content); i += 2 {
		if w.On.Content[i].Value == "workflow_call" {
			c := &wfCall{}
			if err := w.On.Content[i+1].Decode(c); err != nil {
				return nil
			}
			return c
		}
	}
	return nil
}

func (w *workflow) events() []string {
	var evs []string
	switch w.On.Kind {
	case yaml.ScalarNode:
		evs = append(evs, w.On.Value)
	case yaml.SequenceNode:
		for _, n := range w.On.Content {
			evs = append(evs, n.Value)
		}
	case yaml.MappingNode:
		for i := 0; i < len(w.On.Content); i += 2 {
			evs = append(evs, w.On.Content[i].Value)
		}
	}
	return evs
}

func (j *wfJob) needs() []string {
	switch j.Needs.Kind {
	case yaml.ScalarNode:
		return []string{j.Needs.Value}
	case yaml.SequenceNode:
		var out []string
		for _, n := range j.Needs.Content {
			out = append(out, n.Value)
		}
		return out
	}
	return nil
}

// wfPermissions returns the job's permissions map ("" scope for a string form).
func wfPermissions(n yaml.Node) (map[string]string, bool) {
	switch n.Kind {
	case 0:
		return nil, false
	case yaml.ScalarNode:
		return map[string]string{"": n.Value}, true
	}
	m := map[string]string{}
	if err := n.Decode(&m); err != nil {
		return nil, false
	}
	return m, true
}

// usesRef is one `uses:` value with the comment on its line.
type usesRef struct {
	value, comment string
	line           int
}

func collectUses(n *yaml.Node, out *[]usesRef) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "uses" && v.Kind == yaml.ScalarNode {
				*out = append(*out, usesRef{value: v.Value, comment: v.LineComment, line: v.Line})
			}
		}
	}
	for _, c := range n.Content {
		collectUses(c, out)
	}
}

// templateFiles lists every workflow the project ships as a template or example,
// relative to the repository root.
func templateFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, g := range []string{"workflows-templates/*.yml", ".github/workflows/secure-gates*.yml", "examples/.github/workflows/*.yml"} {
		m, err := filepath.Glob(filepath.Join(h.Root, g))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel(h.Root, f)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	if len(files) < 6 {
		t.Fatalf("found only %d template workflows (%v): the starter, paved-road, rescan, reusable and example workflows must all exist", len(files), files)
	}
	return files
}

var (
	stepOutRe   = regexp.MustCompile(`steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)`)
	needsOutRe  = regexp.MustCompile(`needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)`)
	jobsOutRe   = regexp.MustCompile(`jobs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)`)
	digestRefRe = regexp.MustCompile(`^\$\{\{ *(inputs|env)\.[A-Za-z0-9_-]+ *\}\}@\$\{\{ *needs\.[A-Za-z0-9_-]+\.outputs\.digest *\}\}$`)
)

// actionContract is the declared inputs/outputs of one of our actions.
func actionContract(gate string) (*gha.Action, error) {
	data, err := os.ReadFile(filepath.Join(h.Root, "actions", gate, "action.yml"))
	if err != nil {
		return nil, fmt.Errorf("no action %q: %w", gate, err)
	}
	return gha.ParseAction(data)
}

// reusableContract is the workflow_call interface of one of our reusable workflows.
func reusableContract(file string) (*wfCall, error) {
	data, err := os.ReadFile(filepath.Join(h.Root, ".github", "workflows", file))
	if err != nil {
		return nil, fmt.Errorf("no reusable workflow %q: %w", file, err)
	}
	var w workflow
	if err := yaml.Unmarshal(data, &w); err != nil {
		return nil, err
	}
	c := w.call()
	if c == nil {
		return nil, fmt.Errorf("%s has no on.workflow_call", file)
	}
	return c, nil
}

func wfStripRef(uses string) string {
	if i := strings.LastIndex(uses, "@"); i >= 0 {
		return uses[:i]
	}
	return uses
}

// checkContracts checks every with:/secrets: key and every steps/needs/jobs output
// reference of a workflow against what the action or workflow declares.
func checkContracts(name string, w *workflow) []string {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, name+": "+fmt.Sprintf(format, a...)) }

	jobOutputs := map[string]map[string]bool{}
	for jn, j := range w.Jobs {
		jobOutputs[jn] = map[string]bool{}
		for o := range j.Outputs {
			jobOutputs[jn][o] = true
		}
	}
	// Outputs of a job that calls a reusable workflow are its workflow's outputs.
	for jn, j := range w.Jobs {
		if m := ourWorkflowRe.FindStringSubmatch(j.Uses); m != nil {
			if c, err := reusableContract(m[1]); err == nil {
				for o := range c.Outputs {
					jobOutputs[jn][o] = true
				}
			}
		}
	}
	checkNeeds := func(where, text string, j *wfJob) {
		for _, m := range needsOutRe.FindAllStringSubmatch(text, -1) {
			if !slices.Contains(j.needs(), m[1]) {
				bad("%s references needs.%s but the job does not list %s in needs", where, m[1], m[1])
			} else if !jobOutputs[m[1]][m[2]] {
				bad("%s references needs.%s.outputs.%s, which job %s does not declare", where, m[1], m[2], m[1])
			}
		}
	}

	for jn, j := range w.Jobs {
		where := "job " + jn
		// A reusable workflow call.
		if j.Uses != "" {
			var inputs, secrets []string
			var required []string
			switch {
			case ourWorkflowRe.MatchString(j.Uses):
				c, err := reusableContract(ourWorkflowRe.FindStringSubmatch(j.Uses)[1])
				if err != nil {
					bad("%s: %v", where, err)
					continue
				}
				for k, v := range c.Inputs {
					inputs = append(inputs, k)
					if v.Required {
						required = append(required, k)
					}
				}
				for k := range c.Secrets {
					secrets = append(secrets, k)
				}
			case slsaGeneratorRe.MatchString(j.Uses):
				inputs = thirdParty[wfStripRef(j.Uses)].inputs
				secrets = slsaGeneratorSecrets
				required = []string{"digest"}
			default:
				bad("%s calls an unknown reusable workflow %q", where, j.Uses)
				continue
			}
			for k, v := range j.With {
				if !slices.Contains(inputs, k) {
					bad("%s passes input %q, which %s does not declare", where, k, j.Uses)
				}
				checkNeeds(where+" input "+k, v, j)
			}
			for _, r := range required {
				if _, ok := j.With[r]; !ok {
					bad("%s does not pass required input %q of %s", where, r, j.Uses)
				}
			}
			if j.Secrets.Kind == yaml.ScalarNode {
				bad("%s passes `secrets: %s`; name the secrets the workflow needs", where, j.Secrets.Value)
			} else if j.Secrets.Kind == yaml.MappingNode {
				for i := 0; i < len(j.Secrets.Content); i += 2 {
					if k := j.Secrets.Content[i].Value; !slices.Contains(secrets, k) {
						bad("%s passes secret %q, which %s does not declare", where, k, j.Uses)
					}
				}
			}
			continue
		}

		stepOutputs := map[string]func(string) bool{}
		for i, s := range j.Steps {
			swhere := fmt.Sprintf("%s step %d (%s)", where, i+1, s.Uses)
			var declaredIn, declaredOut []string
			switch m := ourActionRe.FindStringSubmatch(s.Uses); {
			case m != nil:
				a, err := actionContract(m[1])
				if err != nil {
					bad("%s: %v", swhere, err)
					continue
				}
				for _, in := range a.Inputs {
					declaredIn = append(declaredIn, in.Name)
					if in.Required && !in.HasDefault {
						if _, ok := s.With[in.Name]; !ok {
							bad("%s does not pass required input %q", swhere, in.Name)
						}
					}
				}
				for _, o := range a.Outputs {
					declaredOut = append(declaredOut, o.Name)
				}
			case s.Uses != "":
				c, ok := thirdParty[wfStripRef(s.Uses)]
				if !ok {
					bad("%s uses an action whose contract this test does not know; add it to thirdParty", swhere)
					continue
				}
				declaredIn, declaredOut = c.inputs, c.outputs
			}
			for k, v := range s.With {
				if s.Uses != "" && !slices.Contains(declaredIn, k) {
					bad("%s passes input %q, which the action does not declare", swhere, k)
				}
				for _, m := range stepOutRe.FindAllStringSubmatch(v, -1) {
					if ok, known := stepOutputs[m[1]]; !known || !ok(m[2]) {
						bad("%s input %q references steps.%s.outputs.%s, which no earlier step declares", swhere, k, m[1], m[2])
					}
				}
				checkNeeds(swhere+" input "+k, v, j)
			}
			for _, m := range stepOutRe.FindAllStringSubmatch(s.Run+s.If, -1) {
				if ok, known := stepOutputs[m[1]]; !known || !ok(m[2]) {
					bad("%s references steps.%s.outputs.%s, which no earlier step declares", swhere, m[1], m[2])
				}
			}
			checkNeeds(swhere, s.Run+s.If, j)
			if s.ID != "" {
				out := declaredOut
				stepOutputs[s.ID] = func(o string) bool { return slices.Contains(out, o) }
			}
		}
		for o, v := range j.Outputs {
			for _, m := range stepOutRe.FindAllStringSubmatch(v, -1) {
				if ok, known := stepOutputs[m[1]]; !known || !ok(m[2]) {
					bad("%s output %q references steps.%s.outputs.%s, which the job's steps do not declare", where, o, m[1], m[2])
				}
			}
		}
		checkNeeds(where+" if", j.If, j)
	}
	if c := w.call(); c != nil {
		for o, v := range c.Outputs {
			for _, m := range jobsOutRe.FindAllStringSubmatch(v.Value, -1) {
				if !jobOutputs[m[1]][m[2]] {
					bad("workflow_call output %q references jobs.%s.outputs.%s, which is not declared", o, m[1], m[2])
				}
			}
		}
	}
	sort.Strings(probs)
	return probs
}

// signingGates are our actions that sign with the job's OIDC identity.
var signingGates = []string{"sign", "attest", "verify-and-deploy"}

// checkRules checks the security rules every template promises.
func checkRules(name string, raw []byte, w *workflow, root *yaml.Node) []string {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, name+": "+fmt.Sprintf(format, a...)) }

	if slices.Contains(w.events(), "pull_request_target") {
		bad("uses pull_request_target (runs fork code with a write token)")
	}
	if p, ok := wfPermissions(w.Permissions); !ok || len(p) != 0 {
		bad("workflow-level permissions must be `{}` (each job asks for what it needs)")
	}

	// Pinning: every uses: is a full SHA with a version comment; our own actions all
	// use one placeholder constant, which the header names.
	var uses []usesRef
	collectUses(root, &uses)
	ourSHAs := map[string]bool{}
	for _, u := range uses {
		switch {
		case strings.HasPrefix(u.value, "./"):
			bad("line %d: %q is a local reference; templates reference the published actions", u.line, u.value)
		case slsaGeneratorRe.MatchString(u.value):
			// The documented exception: by tag, and the header explains why.
			if !strings.Contains(string(raw), "ONE DOCUMENTED EXCEPTION") {
				bad("line %d: slsa-github-generator by tag without the documented exception in the header", u.line)
			}
		case !pinnedRe.MatchString(u.value):
			bad("line %d: %q is not pinned to a full commit SHA", u.line, u.value)
		case !versionCommentRe.MatchString(u.comment):
			bad("line %d: %q has no version comment (# vX.Y.Z)", u.line, u.value)
		}
		if m := ourActionRe.FindStringSubmatch(u.value); m != nil {
			ourSHAs[m[2]] = true
		}
		if m := ourWorkflowRe.FindStringSubmatch(u.value); m != nil {
			ourSHAs[m[2]] = true
		}
	}
	if len(ourSHAs) > 1 {
		bad("our actions are pinned to %d different commits; use the one placeholder constant", len(ourSHAs))
	}
	for sha := range ourSHAs {
		if !strings.Contains(string(raw), "PLACEHOLDER SHA: "+sha) {
			bad("the header does not name the placeholder commit %s for the platform team to replace", sha)
		}
	}

	for jn, j := range w.Jobs {
		perms, ok := wfPermissions(j.Permissions)
		if !ok {
			bad("job %s has no permissions block", jn)
		}
		signs := slsaGeneratorRe.MatchString(j.Uses)
		cache := false
		for _, s := range j.Steps {
			if m := ourActionRe.FindStringSubmatch(s.Uses); m != nil && slices.Contains(signingGates, m[1]) {
				signs = true
			}
			if strings.HasPrefix(s.Uses, "actions/cache") || s.With["cache-from"] != "" || s.With["cache-to"] != "" {
				cache = true
			}
			// A cache a pull request saves, a later run restores: caches are saved only
			// from pushes to the default branch (actions/cache saves from every run).
			if strings.HasPrefix(s.Uses, "actions/cache@") {
				bad("job %s: actions/cache saves from every run, pull requests included; restore with actions/cache/restore and save with actions/cache/save", jn)
			}
			if strings.HasPrefix(s.Uses, "actions/cache/save@") && (!strings.Contains(s.If, "github.event_name == 'push'") ||
				!strings.Contains(s.If, "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)")) {
				bad("job %s: a cache saved from runs other than pushes to the default branch", jn)
			}
			if m := ourActionRe.FindStringSubmatch(s.Uses); m != nil && m[1] == "scan" && s.With["cache-secret"] == "" && s.With["cache-dir"] != "none" {
				bad("job %s: scan without cache-secret (the key of its cache's MAC) and its cache on", jn)
			}
			if strings.HasPrefix(s.Uses, "actions/checkout@") && s.With["persist-credentials"] != "false" {
				bad("job %s: checkout without persist-credentials: false", jn)
			}
			if strings.Contains(s.Run, "${{") {
				bad("job %s: an expression inside run: (pass it through env:)", jn)
			}
			// The digest, never a tag, is what later jobs sign, attest and deploy.
			if m := ourActionRe.FindStringSubmatch(s.Uses); m != nil && m[1] != "scan" && m[1] != "threat-model" && m[1] != "policy-check" {
				img := s.With["image"]
				if !digestRefRe.MatchString(img) && !((name == "workflows-templates/scheduled-rescan.yml" || name == "workflows-templates/posture.yml") && img == "${{ matrix.image }}") {
					bad("job %s: %s image %q is not repo@${{ needs.<build>.outputs.digest }}", jn, m[1], img)
				}
				if (m[1] == "sign" || m[1] == "attest") && s.With["require-digest"] != "true" {
					bad("job %s: %s without require-digest: \"true\"", jn, m[1])
				}
			}
		}
		if perms["id-token"] == "write" && !signs && !ourWorkflowRe.MatchString(j.Uses) {
			bad("job %s has id-token: write but signs nothing", jn)
		}
		if signs && perms["id-token"] != "write" {
			bad("job %s signs but lacks id-token: write", jn)
		}
		if cache && (perms["id-token"] == "write" || j.Environment.Kind != 0) {
			bad("job %s uses a cache and signs or deploys", jn)
		}
		for p, v := range perms {
			if v == "write" && !slices.Contains([]string{"id-token", "security-events", "packages"}, p) {
				bad("job %s asks for %s: write", jn, p)
			}
			if p == "" && v != "" {
				bad("job %s uses the %q shorthand; list permissions", jn, v)
			}
		}
	}
	sort.Strings(probs)
	return probs
}

func parseWorkflow(t *testing.T, data []byte) (*workflow, *yaml.Node) {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := root.Decode(&w); err != nil {
		t.Fatal(err)
	}
	return &w, &root
}

func readTemplate(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.Root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Every template, reusable workflow and example workflow passes actionlint.
func TestTemplatesActionlint(t *testing.T) {
	t.Parallel()
	for _, f := range templateFiles(t) {
		t.Run(f, func(t *testing.T) {
			for _, e := range lint(t, ".github/workflows/"+filepath.Base(f), readTemplate(t, f)) {
				t.Errorf("actionlint: %s", e.Error())
			}
		})
	}
}

// Every with: key is an input the action (or called workflow) declares, every
// required input is passed, and every steps/needs/jobs output reference resolves to
// a declared output.
func TestTemplatesMatchActionContracts(t *testing.T) {
	t.Parallel()
	for _, f := range templateFiles(t) {
		t.Run(f, func(t *testing.T) {
			w, _ := parseWorkflow(t, readTemplate(t, f))
			for _, p := range checkContracts(f, w) {
				t.Error(p)
			}
		})
	}
}

// Every template keeps the rules its header promises: pinned SHAs, least privilege,
// id-token only where something is signed, the digest between jobs, no caches where
// it signs or deploys, no pull_request_target, persist-credentials: false.
func TestTemplatesSecurityRules(t *testing.T) {
	t.Parallel()
	for _, f := range templateFiles(t) {
		t.Run(f, func(t *testing.T) {
			raw := readTemplate(t, f)
			w, root := parseWorkflow(t, raw)
			for _, p := range checkRules(f, raw, w, root) {
				t.Error(p)
			}
		})
	}
}

// The checks above are live: each break of a rule or a contract is reported.
func TestTemplatesChecksCatchBreakage(t *testing.T) {
	t.Parallel()
	base := "workflows-templates/secure-pipeline.yml"
	orig := string(readTemplate(t, base))
	tests := []struct {
		name, old, new, want string
	}{
		{"undeclared input", "          require-digest: \"true\"\n          provenance:", "          require-digest: \"true\"\n          no-such-input: x\n          provenance:", `passes input "no-such-input"`},
		{"undeclared output", "steps.scan.outputs.code-scan-predicate", "steps.scan.outputs.no-such-output", "steps.scan.outputs.no-such-output"},
		{"needs chain to undeclared job output", "needs.sbom.outputs.cyclonedx", "needs.sbom.outputs.sbom-path", "needs.sbom.outputs.sbom-path"},
		{"needs chain to a job not needed", "needs: [build, sign-attest]", "needs: [sign-attest]", "does not list build in needs"},
		{"tag instead of digest", "image: ${{ env.IMAGE }}@${{ needs.build.outputs.digest }}\n          require-digest: \"true\"\n          registry-username", "image: ${{ env.IMAGE }}:${{ github.sha }}\n          require-digest: \"true\"\n          registry-username", "is not repo@"},
		{"unpinned action", "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", "actions/checkout@v4", "is not pinned"},
		{"no version comment", "docker/login-action@74a5d142397b4f367a81961eba4e8cd7edddf772 # v3.4.0", "docker/login-action@74a5d142397b4f367a81961eba4e8cd7edddf772", "no version comment"},
		{"persisted credentials", "persist-credentials: false\n      # The scan cache", "persist-credentials: true\n      # The scan cache", "persist-credentials"},
		{"id-token where nothing is signed", "      contents: read\n      security-events: write\n    outputs:\n      verdict", "      contents: read\n      id-token: write\n      security-events: write\n    outputs:\n      verdict", "signs nothing"},
		{"signing without id-token", "      id-token: write\n      packages: write\n    outputs:\n      image-ref", "      packages: write\n    outputs:\n      image-ref", "lacks id-token"},
		{"pull_request_target", "  pull_request:\n", "  pull_request_target:\n", "pull_request_target"},
		{"cache in a signing job", "      - id: sign\n", "      - uses: actions/cache@5a3ec84eff668545956fd18022155c47e93e2684 # v4.2.3\n      - id: sign\n", "uses a cache"},
		{"cache saved from pull requests", "!cancelled() && github.event_name == 'push' &&", "!cancelled() &&", "saved from runs other than pushes"},
		{"cache saved from every run", "uses: actions/cache/restore@", "uses: actions/cache@", "actions/cache saves from every run"},
		{"scan without cache-secret", "          cache-secret: ${{ secrets.SECURE_GATES_CACHE_SECRET }}\n", "", "scan without cache-secret"},
		{"expression in run", "      - id: sign\n", "      - run: echo \"${{ github.event.head_commit.message }}\"\n      - id: sign\n", "expression inside run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(orig, tt.old) {
				t.Fatalf("%s no longer contains %q; update the test", base, tt.old)
			}
			raw := []byte(strings.Replace(orig, tt.old, tt.new, 1))
			w, root := parseWorkflow(t, raw)
			probs := append(checkContracts(base, w), checkRules(base, raw, w, root)...)
			if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("no problem containing %q reported; got %q", tt.want, probs)
			}
		})
	}
}

// Each starter workflow comes with the properties file GitHub's template chooser
// reads, and the paved road is one job of at most 20 lines.
func TestTemplatesProperties(t *testing.T) {
	t.Parallel()
	ymls, _ := filepath.Glob(filepath.Join(h.Root, "workflows-templates", "*.yml"))
	props, _ := filepath.Glob(filepath.Join(h.Root, "workflows-templates", "*.properties.json"))
	if len(ymls) < 3 || len(ymls) != len(props) {
		t.Fatalf("%d starter workflows, %d properties files: every *.yml needs its *.properties.json", len(ymls), len(props))
	}
	for _, y := range ymls {
		p := strings.TrimSuffix(y, ".yml") + ".properties.json"
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var pr struct {
				Name         string   `json:"name"`
				Description  string   `json:"description"`
				IconName     string   `json:"iconName"`
				Categories   []string `json:"categories"`
				FilePatterns []string `json:"filePatterns"`
			}
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&pr); err != nil {
				t.Fatal(err)
			}
			if pr.Name == "" || pr.Description == "" || pr.IconName == "" || len(pr.Categories) == 0 || len(pr.FilePatterns) == 0 {
				t.Errorf("incomplete properties: %+v", pr)
			}
			for _, fp := range pr.FilePatterns {
				if _, err := regexp.Compile(fp); err != nil {
					t.Errorf("filePattern %q: %v", fp, err)
				}
			}
		})
	}
	for _, f := range []string{"workflows-templates/paved-road.yml", "examples/.github/workflows/secure-gates.yml"} {
		t.Run("one job "+f, func(t *testing.T) {
			w, root := parseWorkflow(t, readTemplate(t, f))
			if len(w.Jobs) != 1 {
				t.Fatalf("%d jobs, want the one reusable-workflow job", len(w.Jobs))
			}
			for jn, j := range w.Jobs {
				if !ourWorkflowRe.MatchString(j.Uses) {
					t.Errorf("job %s does not call our reusable workflow: %q", jn, j.Uses)
				}
			}
			// Lines of the job: from its key to the end of the document.
			jobs := root.Content[0]
			for i := 0; i+1 < len(jobs.Content); i += 2 {
				if jobs.Content[i].Value == "jobs" {
					first := jobs.Content[i+1].Content[0].Line
					lines := strings.Split(strings.TrimRight(string(readTemplate(t, f)), "\n"), "\n")
					if n := len(lines) - first + 1; n > 20 {
						t.Errorf("the job is %d lines; the paved road promises at most 20", n)
					}
				}
			}
		})
	}
}

// ---- The example service (examples/) ----

func examplePath(parts ...string) string {
	return filepath.Join(append([]string{h.Root, "examples"}, parts...)...)
}

// The example's policy loads with the verify-and-deploy gate's own loader and asks
// for the whole chain.
func TestExamplePolicyLoads(t *testing.T) {
	t.Parallel()
	p, err := policy.Load(examplePath(".secure-gates", "policy.yaml"), policy.Options{BaseDir: examplePath()})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != policy.ModeEnforce || !slices.Contains(p.EnforceEnvironments, "production") {
		t.Errorf("mode %q, enforce-environments %v", p.Mode, p.EnforceEnvironments)
	}
	for _, typ := range []string{attestation.PredicateCycloneDX, attestation.PredicateSPDX, attestation.PredicateVuln, attestation.PredicateCodeScan, attestation.PredicateSLSAProvenance, attestation.PredicateDAST} {
		if _, ok := p.Requirement(typ); !ok {
			t.Errorf("the example policy does not require %s", typ)
		}
	}
	// The identity is the reusable workflow the example's workflow calls.
	wf := string(readTemplate(t, "examples/.github/workflows/secure-gates.yml"))
	m := ourWorkflowRe.FindStringSubmatch(regexp.MustCompile(`uses: (\S+)`).FindStringSubmatch(wf)[1])
	if m == nil {
		t.Fatal("the example workflow does not call our reusable workflow")
	}
	subject := "https://github.com/secure-gates/secure-gates/.github/workflows/" + m[1] + "@" + m[2]
	id := p.Identities[0]
	if ok, _ := regexp.MatchString(id.SubjectRegexp, subject); !ok || id.Repository != "acme/widgets" || id.Trigger != "push" {
		t.Errorf("identity %s does not match the certificate the example workflow gets (%s, acme/widgets, push)", id, subject)
	}
}

// The example's exceptions file loads, and every entry carries what a reviewer needs.
func TestExampleExceptionsLoad(t *testing.T) {
	t.Parallel()
	set, err := exceptions.Load(examplePath(".secure-gates", "exceptions.yaml"), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), exceptions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Entries) == 0 {
		t.Fatal("no entries: the example should show the format")
	}
	for _, e := range set.Entries {
		if e.ID == "" || e.Scope == "" || e.Reason == "" || e.Ticket == "" || e.Expires.IsZero() {
			t.Errorf("entry %s lacks id, scope, reason, ticket or expires: %+v", e.Name(), e)
		}
	}
}

// The PR template asks the four questions: left as is it fails the threat-model
// gate, answered it passes.
func TestExamplePRTemplate(t *testing.T) {
	t.Parallel()
	tmpl := string(readTemplate(t, "examples/.github/pull_request_template.md"))
	res, err := threatmodel.Check(tmpl, threatmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pass || len(res.Missing()) != 4 {
		t.Fatalf("the unfilled template passed or missed %v, want all four questions unanswered", res.Missing())
	}
	for _, q := range res.Questions {
		if q.Status != threatmodel.StatusPlaceholder {
			t.Errorf("%q: status %s, want placeholder (the question must be in the template, unanswered)", q.Question, q.Status)
		}
	}
	answers := []string{
		"The widgets API gains a bulk import endpoint that reads CSV uploads from signed-in users.",
		"A huge or malformed CSV could exhaust memory, and a crafted cell could inject formulas into exports.",
		"We cap uploads at 5 MB, stream-parse rows, and prefix cells starting with = + - @ with a quote.",
		"Fuzz tests on the parser and a 50 MB upload test in staging show the limits hold.",
	}
	filled := tmpl
	for _, a := range answers {
		filled = strings.Replace(filled, "<!-- answer here -->", a, 1)
	}
	res, err = threatmodel.Check(filled, threatmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pass {
		t.Errorf("the filled template fails: %v", res.Missing())
	}
}

// Both overlays build with kustomize into a Deployment that runs the image by
// digest, as non-root, on a read-only root filesystem.
func TestExampleKustomizeOverlays(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"staging", "production"} {
		t.Run(env, func(t *testing.T) {
			k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
			resMap, err := k.Run(filesys.MakeFsOnDisk(), examplePath("deploy", "overlays", env))
			if err != nil {
				t.Fatal(err)
			}
			out, err := resMap.AsYaml()
			if err != nil {
				t.Fatal(err)
			}
			var deploy struct {
				Kind     string
				Metadata struct{ Namespace string }
				Spec     struct {
					Template struct {
						Spec struct {
							AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
							SecurityContext              struct {
								RunAsNonRoot *bool `yaml:"runAsNonRoot"`
							} `yaml:"securityContext"`
							Containers []struct {
								Image           string
								SecurityContext struct {
									ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
									AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
									Capabilities             struct{ Drop []string }
								} `yaml:"securityContext"`
							}
						}
					}
				}
			}
			found := false
			for _, doc := range strings.Split(string(out), "\n---\n") {
				if !strings.Contains(doc, "kind: Deployment") {
					continue
				}
				if err := yaml.Unmarshal([]byte(doc), &deploy); err != nil {
					t.Fatal(err)
				}
				found = true
			}
			if !found {
				t.Fatalf("no Deployment in\n%s", out)
			}
			if deploy.Metadata.Namespace != "widgets-"+env {
				t.Errorf("namespace %q", deploy.Metadata.Namespace)
			}
			ps := deploy.Spec.Template.Spec
			if ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot || ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
				t.Error("pod must set runAsNonRoot: true and automountServiceAccountToken: false")
			}
			for _, c := range ps.Containers {
				if !regexp.MustCompile(`^ghcr\.io/acme/widgets@sha256:[0-9a-f]{64}$`).MatchString(c.Image) {
					t.Errorf("image %q is not by digest", c.Image)
				}
				sc := c.SecurityContext
				if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !slices.Contains(sc.Capabilities.Drop, "ALL") {
					t.Errorf("container %+v: want readOnlyRootFilesystem, no privilege escalation, drop ALL", sc)
				}
			}
		})
	}
}

// The example image is multi-stage, pinned by digest, distroless and non-root.
func TestExampleDockerfile(t *testing.T) {
	t.Parallel()
	ins := instructions(t, examplePath("Dockerfile"))
	pinned := regexp.MustCompile(`^\S+@sha256:[0-9a-f]{64}(\s+AS\s+\S+)?$`)
	var froms []string
	user := ""
	for _, in := range ins {
		switch in[0] {
		case "FROM":
			froms = append(froms, in[1])
			if !pinned.MatchString(in[1]) {
				t.Errorf("FROM %s is not pinned by digest", in[1])
			}
			user = ""
		case "USER":
			user = in[1]
		case "ADD":
			t.Errorf("ADD %s: use COPY", in[1])
		}
	}
	if len(froms) < 2 || !strings.HasPrefix(froms[len(froms)-1], "gcr.io/distroless/") {
		t.Errorf("want a multi-stage build ending on distroless, got FROM %v", froms)
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("final stage USER %q: want a non-root numeric user", user)
	}
}

// The sample service is a module of its own (the main module's ./... skips it);
// its tests pass.
func TestExampleServiceTests(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "test", "-count=1", "./...")
	cmd.Dir = examplePath()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test in examples/: %v\n%s", err, out)
	}
}

// The example's Kyverno ClusterPolicy is the one rendered from its policy file
// (regenerate with the command in examples/README.md, or -update).
func TestExampleKyvernoPolicyUpToDate(t *testing.T) {
	t.Parallel()
	p, err := policy.Load(examplePath(".secure-gates", "policy.yaml"), policy.Options{BaseDir: examplePath()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := kyverno.Render(p, exampleKyvernoOptions)
	if err != nil {
		t.Fatal(err)
	}
	path := examplePath("kyverno", "clusterpolicy.yaml")
	if *updateExamples {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("examples/kyverno/clusterpolicy.yaml is not what the policy renders; regenerate it:\n%s", got)
	}
}

// exampleKyvernoOptions are the flags examples/README.md gives `policy kyverno`.
var exampleKyvernoOptions = kyverno.Options{Name: "widgets", ImageReferences: []string{"ghcr.io/acme/widgets*"}, Environment: "production"}

var updateExamples = flag.Bool("update-examples", false, "rewrite examples/kyverno/clusterpolicy.yaml")

// iacWorkflowRoot lays the given workflows out as .github/workflows/ of a fresh
// tree, where the IaC scanner looks for workflow files.
func iacWorkflowRoot(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	wf := filepath.Join(root, ".github", "workflows")
	if err := os.MkdirAll(wf, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(wf, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// Every template passes the project's own IaC workflow rules (pinned actions,
// permissions, pull_request_target, script injection), the ones the scan gate
// applies to users' workflows, and the example service passes the IaC scan as a
// whole (Dockerfile, kustomize overlays, workflow).
func TestTemplatesPassIaCRules(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{}
	for _, f := range templateFiles(t) {
		files[strings.ReplaceAll(f, "/", "__")] = readTemplate(t, f)
	}
	findings, err := iac.Scan(context.Background(), iacWorkflowRoot(t, files), iac.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		path := strings.ReplaceAll(f.Path, "__", "/")
		// The one documented exception (see the L3 template's header): the SLSA
		// generator must be referenced by tag, which gha-pinned-actions reports.
		// A service adopting the L3 variant waives it in .secure-gates/exceptions.yaml.
		if strings.HasSuffix(path, ".github/workflows/secure-gates-slsa3.yml") && f.RuleID == "gha-pinned-actions" && strings.Contains(f.Message, "slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@v") {
			continue
		}
		t.Errorf("%s:%d: %s: %s", path, f.StartLine, f.RuleID, f.Message)
	}

	// The rules are live on these files: an unpinned action and an event field in
	// run: are reported.
	bad := strings.Replace(string(files["workflows-templates__secure-pipeline.yml"]), "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", "actions/checkout@v4", 1)
	bad = strings.Replace(bad, "      - id: sign\n", "      - run: echo \"${{ github.event.head_commit.message }}\"\n      - id: sign\n", 1)
	findings, err = iac.Scan(context.Background(), iacWorkflowRoot(t, map[string][]byte{"bad.yml": []byte(bad)}), iac.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) < 2 {
		t.Errorf("a template with an unpinned action and a run: injection got %d IaC findings, want both reported: %+v", len(findings), findings)
	}

	findings, err = iac.Scan(context.Background(), examplePath(), iac.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("examples/%s:%d: %s: %s", f.Path, f.StartLine, f.RuleID, f.Message)
	}
}

// The example service passes our own scan gate (secrets, licenses, IaC) the way
// its workflow runs it. Dependencies are not scanned here: the service uses only
// the standard library and the vulnerability DB needs a download.
func TestExamplePassesScan(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	res := run(t, Step{Action: "scan", Workspace: examplePath(), With: map[string]string{
		"scanners": "secrets,license,iac", "upload-sarif": "false", "output-dir": out,
	}})
	if res.ExitCode != 0 || res.Outputs["verdict"] != "pass" {
		t.Fatalf("scan of examples/: exit %d, verdict %q\n%s\n%s", res.ExitCode, res.Outputs["verdict"], res.Log, res.Stderr)
	}
	for _, k := range []string{"critical", "high", "medium", "secrets"} {
		if res.Outputs[k] != "0" {
			t.Errorf("%s = %q, want 0\n%s", k, res.Outputs[k], res.Log)
		}
	}
}

// projectWorkflows lists the project's own workflows (.github/workflows/*.yml),
// without the reusable workflows users call (secure-gates*.yml), which
// templateFiles holds to the templates' rules.
func projectWorkflows(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(h.Root, ".github", "workflows", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range m {
		if strings.HasPrefix(filepath.Base(f), "secure-gates") {
			continue
		}
		rel, _ := filepath.Rel(h.Root, f)
		files = append(files, filepath.ToSlash(rel))
	}
	if len(files) < 2 {
		t.Fatalf("found %v: the project's ci.yml and release.yml must exist", files)
	}
	return files
}

var localActionRe = regexp.MustCompile(`(?m)uses: \./actions/([a-z-]+)$`)

// TestProjectWorkflows holds the project's own workflows to the templates' bar:
// actionlint, the action contracts and the security rules. They use the local
// ./actions/<gate> of the commit under test (dogfood), which the checks read as
// our published actions; the release's pin job is the one job allowed
// contents: write (it commits the pinned action.yml files and moves the tag).
func TestProjectWorkflows(t *testing.T) {
	t.Parallel()
	zero := strings.Repeat("0", 40)
	for _, f := range projectWorkflows(t) {
		t.Run(f, func(t *testing.T) {
			raw := readTemplate(t, f)
			for _, e := range lint(t, f, raw) {
				t.Errorf("actionlint: %s", e.Error())
			}
			asPublished := localActionRe.ReplaceAll(raw, []byte("uses: secure-gates/secure-gates/actions/$1@"+zero+" # v1"))
			asPublished = append([]byte("# PLACEHOLDER SHA: "+zero+"\n"), asPublished...)
			w, root := parseWorkflow(t, asPublished)
			for _, p := range checkContracts(f, w) {
				// The build job's run: step writes digest to GITHUB_OUTPUT itself
				// (release image prints it); a run: step declares no outputs.
				if p == f+`: job build output "digest" references steps.image.outputs.digest, which the job's steps do not declare` {
					continue
				}
				t.Error(p)
			}
			for _, p := range checkRules(f, asPublished, w, root) {
				if f == ".github/workflows/release.yml" && p == f+": job pin asks for contents: write" {
					continue
				}
				t.Error(p)
			}
		})
	}
}

// The scan gate's own workflow rules (pinned actions, permissions,
// pull_request_target, script injection) pass on every workflow of
// .github/workflows/ — ci.yml, release.yml and the reusable workflows — except
// the one documented exception (slsa-github-generator by tag); an event field
// put into release.yml's run: script is reported.
func TestProjectWorkflowsPassIaCRules(t *testing.T) {
	t.Parallel()
	m, err := filepath.Glob(filepath.Join(h.Root, ".github", "workflows", "*.yml"))
	if err != nil || len(m) < 4 {
		t.Fatalf("found %v (%v): want ci.yml, release.yml and the two reusable workflows", m, err)
	}
	files := map[string][]byte{}
	for _, f := range m {
		files[filepath.Base(f)] = readTemplate(t, filepath.Join(".github", "workflows", filepath.Base(f)))
	}
	findings, err := iac.Scan(context.Background(), iacWorkflowRoot(t, files), iac.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.RuleID == "gha-pinned-actions" && strings.Contains(f.Message, "slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@v") {
			continue
		}
		t.Errorf("%s:%d: %s: %s", f.Path, f.StartLine, f.RuleID, f.Message)
	}
	const anchor = "          set -euo pipefail\n          sg="
	if !strings.Contains(string(files["release.yml"]), anchor) {
		t.Fatalf("release.yml's pin step no longer starts with %q; update the test", anchor)
	}
	bad := strings.Replace(string(files["release.yml"]), anchor, "          set -euo pipefail\n          echo \"${{ github.event.head_commit.message }}\"\n          sg=", 1)
	findings, err = iac.Scan(context.Background(), iacWorkflowRoot(t, map[string][]byte{"release.yml": []byte(bad)}), iac.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(findings, func(f finding.Finding) bool { return f.RuleID == "gha-script-injection" }) {
		t.Errorf("an event field in release.yml's run: script is not reported: %+v", findings)
	}
}

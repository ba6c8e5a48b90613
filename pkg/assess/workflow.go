package assess

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// capability is something a workflow step does that a question asks about.
type capability string

const (
	capSAST           capability = "sast"
	capSecrets        capability = "secrets"
	capSCA            capability = "sca"
	capSCAGate        capability = "sca-gate" // SCA whose findings fail the step
	capIaC            capability = "iac"
	capSBOM           capability = "sbom"
	capSBOMAttest     capability = "sbom-attest"
	capImageScan      capability = "image-scan"
	capImageScanGate  capability = "image-scan-gate"
	capSign           capability = "sign"
	capVerify         capability = "verify"
	capProvenance     capability = "provenance"
	capVerifyProv     capability = "verify-provenance"
	capAttest         capability = "attest"
	capOIDCCloud      capability = "oidc-cloud"
	capStaticCreds    capability = "static-creds"
	capSecureGates    capability = "secure-gates-action"
	capPavedRoad      capability = "paved-road"
	capContinuousScan capability = "continuous-scan"
)

// use is one occurrence of a capability: where, on which events, in which job.
type use struct {
	cap    capability
	file   string
	line   int
	what   string // e.g. "github/codeql-action/analyze", "secure-gates scan"
	events []string
	checks []string // the names GitHub gives the job's check run
	// policyDecides is set on verify uses: verify-and-deploy evaluates the policy file.
	policyDecides bool
}

// runner is one job's runs-on.
type runner struct {
	file, job string
	line      int
	labels    []string
	expr      bool
}

// workflowFacts is what the workflows of a repository do.
type workflowFacts struct {
	files   int // parsed
	listed  int
	uses    []use
	runners []runner
	idToken []Evidence // where id-token: write is granted
	errors  []string
}

func (w *workflowFacts) find(c capability, events ...string) []use {
	var out []use
	for _, u := range w.uses {
		if u.cap != c {
			continue
		}
		if len(events) == 0 || slices.ContainsFunc(u.events, func(e string) bool { return slices.Contains(events, e) }) {
			out = append(out, u)
		}
	}
	return out
}

// The event groups the questions ask about.
var (
	prEvents    = []string{"pull_request", "pull_request_target"}
	buildEvents = []string{"push", "release", "workflow_dispatch"}
)

// maxCallDepth bounds local reusable-workflow expansion.
const maxCallDepth = 4

type workflowAnalyzer struct {
	snap      *snapshot
	pavedRoad []string // owner/repo hosting the paved road and the actions
	parsed    map[string]*actionlint.Workflow
	facts     *workflowFacts
}

func analyzeWorkflows(snap *snapshot, pavedRoad []string) *workflowFacts {
	a := &workflowAnalyzer{snap: snap, pavedRoad: pavedRoad, parsed: map[string]*actionlint.Workflow{}, facts: &workflowFacts{}}
	var names []string
	for _, f := range snap.files {
		if path.Dir(f) == ".github/workflows" && (strings.HasSuffix(f, ".yml") || strings.HasSuffix(f, ".yaml")) {
			names = append(names, f)
		}
	}
	a.facts.listed = len(names)
	for _, f := range names {
		wf := a.parse(f)
		if wf == nil {
			continue
		}
		a.facts.files++
		var events []string
		for _, e := range wf.On {
			if e.EventName() != "workflow_call" {
				events = append(events, e.EventName())
			}
		}
		if len(events) == 0 {
			continue // only reachable through a caller
		}
		a.workflow(f, wf, events, "", 0)
	}
	return a.facts
}

func (a *workflowAnalyzer) parse(f string) *actionlint.Workflow {
	if wf, ok := a.parsed[f]; ok {
		return wf
	}
	a.parsed[f] = nil
	data, ok := a.snap.content[f]
	if !ok {
		return nil
	}
	wf, errs := actionlint.Parse(data)
	if wf == nil || (len(errs) > 0 && len(wf.Jobs) == 0) {
		msg := "unparsable"
		if len(errs) > 0 {
			msg = fmt.Sprintf("line %d: %s", errs[0].Line, errs[0].Message)
		}
		a.facts.errors = append(a.facts.errors, fmt.Sprintf("%s: not a workflow (%s): not counted as evidence", f, textclip.Clip(msg, 200)))
		return nil
	}
	a.parsed[f] = wf
	return wf
}

func line(p *actionlint.Pos) int {
	if p == nil {
		return 0
	}
	return p.Line
}

func str(s *actionlint.String) string {
	if s == nil {
		return ""
	}
	return s.Value
}

// workflow records the capabilities of wf's jobs, run on events. prefix is the
// caller job's check name for a called workflow.
func (a *workflowAnalyzer) workflow(file string, wf *actionlint.Workflow, events []string, prefix string, depth int) {
	if perm := wf.Permissions; perm != nil && grantsIDToken(perm) {
		a.facts.idToken = append(a.facts.idToken, Evidence{File: file, Line: line(perm.Pos), Text: "permissions: id-token: write"})
	}
	ids := make([]string, 0, len(wf.Jobs))
	for id := range wf.Jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		job := wf.Jobs[id]
		if job == nil {
			continue
		}
		name := id
		if n := str(job.Name); n != "" && !strings.Contains(n, "${{") {
			name = n
		}
		checks := []string{name, id}
		if prefix != "" {
			checks = []string{prefix + " / " + name, prefix + " / " + id}
		}
		if job.Permissions != nil && grantsIDToken(job.Permissions) {
			a.facts.idToken = append(a.facts.idToken, Evidence{File: file, Line: line(job.Permissions.Pos), Text: fmt.Sprintf("job %s: permissions: id-token: write", id)})
		}
		if job.WorkflowCall != nil {
			a.call(file, id, job, events, checks[0], depth)
			continue
		}
		if job.RunsOn != nil {
			r := runner{file: file, job: id, line: line(job.Pos), expr: job.RunsOn.LabelsExpr != nil}
			for _, l := range job.RunsOn.Labels {
				r.labels = append(r.labels, l.Value)
				if strings.Contains(l.Value, "${{") {
					r.expr = true
				}
			}
			a.facts.runners = append(a.facts.runners, r)
		}
		for _, st := range job.Steps {
			a.step(file, st, events, checks)
		}
		a.envCreds(file, job.Env, events, checks)
	}
}

func grantsIDToken(p *actionlint.Permissions) bool {
	if p.All != nil && p.All.Value == "write-all" {
		return true
	}
	if s, ok := p.Scopes["id-token"]; ok && s != nil && str(s.Value) == "write" {
		return true
	}
	return false
}

var pavedRoadWorkflow = regexp.MustCompile(`^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/\.github/workflows/(secure-gates|secure-gates-slsa3)\.ya?ml@[A-Za-z0-9_.-]+$`)

// call handles a job that calls a reusable workflow.
func (a *workflowAnalyzer) call(file, id string, job *actionlint.Job, events []string, check string, depth int) {
	uses := str(job.WorkflowCall.Uses)
	ln := line(job.WorkflowCall.Uses.Pos)
	add := func(c capability, what string, ev []string) {
		a.facts.uses = append(a.facts.uses, use{cap: c, file: file, line: ln, what: what, events: ev, checks: []string{check}})
	}
	for name, s := range job.WorkflowCall.Secrets {
		if s != nil && staticCredName(name, str(s.Value)) {
			add(capStaticCreds, fmt.Sprintf("job %s passes secret %s to %s", id, name, uses), events)
		}
	}
	if m := pavedRoadWorkflow.FindStringSubmatch(uses); m != nil && slices.Contains(a.pavedRoad, m[1]) {
		// The paved road's jobs (.github/workflows/secure-gates.yml):
		// on pull requests threat-model and scan; on push scan, build, sbom (which
		// scans the image), sign, attest (SBOMs, vuln, code-scan, provenance) and
		// verify-and-deploy. All on GitHub-hosted runners.
		what := "paved road " + m[1] + " " + m[2] + ".yml"
		add(capPavedRoad, what, events)
		add(capSecureGates, what, events)
		for _, c := range []capability{capSecrets, capSCA, capSCAGate, capIaC} {
			add(c, what+": scan job", events)
		}
		if push := intersect(events, []string{"push"}); len(push) > 0 {
			add(capSBOM, what+": sbom job", push)
			add(capImageScan, what+": sbom job (image scan)", push)
			for _, c := range []capability{capSign, capAttest, capSBOMAttest, capProvenance} {
				add(c, what+": sign-attest job", push)
			}
			a.facts.uses = append(a.facts.uses, use{cap: capVerify, file: file, line: ln, what: what + ": deploy job (verify-and-deploy)", events: push, checks: []string{check}, policyDecides: true})
		}
		a.facts.runners = append(a.facts.runners, runner{file: file, job: id + " (paved road)", line: ln, labels: []string{"ubuntu-latest"}})
		return
	}
	if strings.HasPrefix(uses, "slsa-framework/slsa-github-generator/.github/workflows/generator_") {
		add(capProvenance, "slsa-github-generator "+strings.TrimPrefix(uses, "slsa-framework/slsa-github-generator/.github/workflows/"), events)
		add(capSign, "slsa-github-generator (signed provenance)", events)
		return
	}
	if strings.HasPrefix(uses, "./") && depth < maxCallDepth {
		target := path.Clean(strings.TrimPrefix(uses, "./"))
		if wf := a.parse(target); wf != nil {
			a.workflow(target, wf, events, check, depth+1)
		}
	}
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

var (
	secretRef      = regexp.MustCompile(`secrets\.([A-Za-z0-9_-]+)`)
	staticCredPat  = regexp.MustCompile(`(?i)(aws_secret_access_key|aws_access_key_id|secret_access_key|access_key_id|gcp_sa_key|gcp_credentials|google_credentials|google_application_credentials|service_account_key|sa_key|credentials_json|azure_credentials|azure_client_secret|arm_client_secret|arm_access_key|azure_storage_key|do_token|digitalocean_access_token)`)
	staticCredKeys = []string{"aws-secret-access-key", "aws-access-key-id", "credentials_json", "creds", "client-secret"}
)

// staticCredName reports whether a secret or input name, or the secrets a
// value references, look like a long-lived cloud key.
func staticCredName(name, value string) bool {
	if staticCredPat.MatchString(name) && strings.Contains(value, "secrets.") {
		return true
	}
	for _, m := range secretRef.FindAllStringSubmatch(value, -1) {
		if staticCredPat.MatchString(m[1]) {
			return true
		}
	}
	return false
}

func (a *workflowAnalyzer) envCreds(file string, env *actionlint.Env, events, checks []string) {
	if env == nil {
		return
	}
	for _, v := range env.Vars {
		if v != nil && staticCredName(str(v.Name), str(v.Value)) {
			a.facts.uses = append(a.facts.uses, use{cap: capStaticCreds, file: file, line: line(v.Name.Pos), what: "env " + str(v.Name) + " from a secret", events: events, checks: checks})
		}
	}
}

// step records a step's capabilities.
func (a *workflowAnalyzer) step(file string, st *actionlint.Step, events, checks []string) {
	if st == nil || st.Exec == nil {
		return
	}
	ln := line(st.Pos)
	add := func(c capability, what string) {
		a.facts.uses = append(a.facts.uses, use{cap: c, file: file, line: ln, what: what, events: events, checks: checks})
	}
	a.envCreds(file, st.Env, events, checks)
	switch ex := st.Exec.(type) {
	case *actionlint.ExecAction:
		uses := str(ex.Uses)
		with := map[string]string{}
		for k, in := range ex.Inputs {
			if in != nil {
				with[strings.ToLower(k)] = str(in.Value)
			}
		}
		for k, v := range with {
			if slices.Contains(staticCredKeys, k) && strings.Contains(v, "secrets.") {
				add(capStaticCreds, fmt.Sprintf("%s with %s from a secret", actionName(uses), k))
			} else if staticCredName(k, v) {
				add(capStaticCreds, fmt.Sprintf("%s input %s from a secret", actionName(uses), k))
			}
		}
		a.action(uses, with, add)
	case *actionlint.ExecRun:
		a.run(str(ex.Run), add)
	}
}

// actionName is uses without its ref.
func actionName(uses string) string {
	n, _, _ := strings.Cut(uses, "@")
	return strings.ToLower(n)
}

var secureGatesAction = regexp.MustCompile(`^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/actions/([a-z-]+)$`)

// action records the capabilities of a uses: step: a secure-gates gate of
// the paved road's repositories, or a known third-party action.
func (a *workflowAnalyzer) action(uses string, with map[string]string, add func(capability, string)) {
	name := actionName(uses)
	if m := secureGatesAction.FindStringSubmatch(name); m != nil && slices.ContainsFunc(a.pavedRoad, func(r string) bool { return strings.EqualFold(r, m[1]) }) {
		secureGatesGate(m[2], with, add)
		return
	}
	thirdPartyAction(name, with, add)
}

// secureGatesGate records what a secure-gates gate does with its inputs.
func secureGatesGate(gate string, with map[string]string, add func(capability, string)) {
	what := "secure-gates " + gate
	add(capSecureGates, what)
	switch gate {
	case "scan":
		secureGatesScan(what, with, add)
	case "sbom":
		add(capSBOM, what)
		add(capImageScan, what+" (image vulnerability scan)")
		if c := with["severity-cutoff"]; c != "none" {
			add(capImageScanGate, what+" (severity-cutoff "+orDefault(c, "high")+")")
		}
	case "sign":
		add(capSign, what)
	case "attest":
		add(capAttest, what)
		p := strings.ToLower(with["predicates"])
		if strings.Contains(p, "cyclonedx=") || strings.Contains(p, "spdx=") {
			add(capSBOMAttest, what+" (SBOM predicates)")
		}
		if b := strings.ToLower(with["provenance"]); b == "true" {
			add(capProvenance, what+" (provenance: true)")
		}
	case "verify-and-deploy":
		add(capVerify, what)
	}
}

// secureGatesScan records the scanners the scan gate runs.
func secureGatesScan(what string, with map[string]string, add func(capability, string)) {
	scanners := with["scanners"]
	if scanners == "" {
		scanners = "secrets,deps,license,iac,sarif"
	}
	if strings.Contains(scanners, "secrets") {
		add(capSecrets, what+" (secrets)")
	}
	if strings.Contains(scanners, "deps") {
		add(capSCA, what+" (deps)")
		if with["severity-cutoff"] != "none" {
			add(capSCAGate, what+" (deps, severity-cutoff "+orDefault(with["severity-cutoff"], "high")+")")
		}
	}
	if strings.Contains(scanners, "iac") {
		add(capIaC, what+" (iac)")
	}
	if strings.Contains(scanners, "sarif") && with["sarif-inputs"] != "" {
		add(capSAST, what+" (sarif-inputs "+textclip.Clip(with["sarif-inputs"], 60)+")")
	}
}

// thirdPartyAction records the capabilities of the known actions of other
// publishers (name is uses without its ref, lower case).
func thirdPartyAction(name string, with map[string]string, add func(capability, string)) {
	switch {
	case strings.HasPrefix(name, "github/codeql-action/analyze"), strings.HasPrefix(name, "github/codeql-action/init"):
		add(capSAST, name)
	case name == "returntocorp/semgrep-action", name == "semgrep/semgrep-action", name == "securego/gosec", strings.HasPrefix(name, "sonarsource/sonarcloud-github-action"), strings.HasPrefix(name, "sonarsource/sonarqube-scan-action"):
		add(capSAST, name)
	case name == "gitleaks/gitleaks-action", strings.HasPrefix(name, "trufflesecurity/trufflehog"), name == "gitguardian/ggshield-action":
		add(capSecrets, name)
	case name == "actions/dependency-review-action":
		add(capSCA, name)
		add(capSCAGate, name)
	case strings.HasPrefix(name, "snyk/actions/"), name == "google/osv-scanner-action", strings.HasPrefix(name, "google/osv-scanner-action/"):
		add(capSCA, name)
		add(capSCAGate, name)
	case name == "aquasecurity/trivy-action":
		trivyAction(name, with, add)
	case name == "anchore/scan-action":
		grypeAction(name, with, add)
	case name == "bridgecrewio/checkov-action", name == "aquasecurity/tfsec-action", name == "checkmarx/kics-github-action", name == "stackrox/kube-linter-action":
		add(capIaC, name)
	case name == "anchore/sbom-action":
		add(capSBOM, name)
	case name == "actions/attest-sbom":
		add(capSBOMAttest, name)
		add(capAttest, name)
	case name == "actions/attest-build-provenance":
		add(capProvenance, name)
		add(capAttest, name)
	case name == "docker/build-push-action":
		if b := strings.ToLower(with["sbom"]); b == "true" {
			add(capSBOM, name+" (sbom: true, unsigned)")
		}
	default:
		cloudLoginAction(name, with, add)
	}
}

// trivyAction records Trivy's scan: image, config (IaC) or filesystem
// (SCA), gating when exit-code is non-zero.
func trivyAction(name string, with map[string]string, add func(capability, string)) {
	gate := with["exit-code"] != "" && with["exit-code"] != "0"
	switch {
	case with["image-ref"] != "" || with["scan-type"] == "image":
		add(capImageScan, name+" (image)")
		if gate {
			add(capImageScanGate, name+" (image, exit-code "+with["exit-code"]+")")
		}
	case with["scan-type"] == "config":
		add(capIaC, name+" (config)")
	default:
		add(capSCA, name+" (fs)")
		if gate {
			add(capSCAGate, name+" (fs, exit-code "+with["exit-code"]+")")
		}
	}
}

// grypeAction records anchore/scan-action's scan: an image or a directory,
// gating unless fail-build is false.
func grypeAction(name string, with map[string]string, add func(capability, string)) {
	gate := with["fail-build"] != "false"
	if with["image"] != "" {
		add(capImageScan, name+" (image)")
		if gate {
			add(capImageScanGate, name+" (image, fail-build)")
		}
		return
	}
	add(capSCA, name)
	if gate {
		add(capSCAGate, name+" (fail-build)")
	}
}

// cloudLoginAction records a cloud login through OIDC (no long-lived key).
func cloudLoginAction(name string, with map[string]string, add func(capability, string)) {
	switch {
	case name == "aws-actions/configure-aws-credentials":
		if with["role-to-assume"] != "" && with["aws-secret-access-key"] == "" {
			add(capOIDCCloud, name+" (role-to-assume)")
		}
	case name == "google-github-actions/auth":
		if with["workload_identity_provider"] != "" {
			add(capOIDCCloud, name+" (workload_identity_provider)")
		}
	case name == "azure/login":
		if with["client-id"] != "" && with["creds"] == "" && with["client-secret"] == "" {
			add(capOIDCCloud, name+" (federated client-id)")
		}
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// runPatterns are shell commands that show a capability in a run: step.
var runPatterns = []struct {
	cap capability
	re  *regexp.Regexp
}{
	{capSAST, regexp.MustCompile(`(?m)\b(semgrep\s+(ci|scan|--config)|codeql\s+database\s+analyze|gosec\s|bandit\s+-r|brakeman\b)`)},
	{capSecrets, regexp.MustCompile(`(?m)\b(gitleaks\s+(detect|git|dir|protect)|trufflehog\s)`)},
	{capSCA, regexp.MustCompile(`(?m)\b(osv-scanner\s|trivy\s+(fs|repo)\s|grype\s+dir:|govulncheck\b|pip-audit\b|npm\s+audit\b)`)},
	{capIaC, regexp.MustCompile(`(?m)\b(checkov\s|tfsec\s|trivy\s+config\s|kics\s+scan|conftest\s+test|kube-linter\s+lint)`)},
	{capSBOM, regexp.MustCompile(`(?m)\bsyft\s`)},
	{capSBOMAttest, regexp.MustCompile(`(?m)\bcosign\s+attest\b.*--type[ =](cyclonedx|spdx|spdxjson)\b`)},
	{capImageScan, regexp.MustCompile(`(?m)\b(trivy\s+image\s|grype\s+(registry:|docker:)?[a-z0-9.-]+(\.[a-z]+)?/)`)},
	{capImageScanGate, regexp.MustCompile(`(?m)\b(trivy\s+image\s.*--exit-code[ =][1-9]|grype\s.*--fail-on[ =])`)},
	{capSign, regexp.MustCompile(`(?m)\b(cosign\s+sign\s|notation\s+sign\s)`)},
	{capVerify, regexp.MustCompile(`(?m)\b(cosign\s+verify\s|notation\s+verify\s|gh\s+attestation\s+verify\s)`)},
	{capVerifyProv, regexp.MustCompile(`(?m)\b(slsa-verifier\s+verify-(image|artifact)|gh\s+attestation\s+verify\s|cosign\s+verify-attestation\s.*--type[ =]slsaprovenance)`)},
}

func (a *workflowAnalyzer) run(script string, add func(capability, string)) {
	if len(script) > 64<<10 {
		script = script[:64<<10]
	}
	for _, p := range runPatterns {
		if m := p.re.FindString(script); m != "" {
			add(p.cap, "run: "+textclip.Line(m, 60))
		}
	}
	for _, m := range secretRef.FindAllStringSubmatch(script, -1) {
		if staticCredPat.MatchString(m[1]) {
			add(capStaticCreds, "run: uses secrets."+m[1])
		}
	}
}

// ephemeral reports whether a runner's labels name a GitHub-hosted image or an
// ephemeral self-hosted runner.
func (r runner) ephemeral() bool {
	if r.expr || len(r.labels) == 0 {
		return false
	}
	self := false
	for _, l := range r.labels {
		ll := strings.ToLower(l)
		if ll == "self-hosted" {
			self = true
		}
		if strings.Contains(ll, "ephemeral") {
			return true
		}
	}
	if self {
		return false
	}
	l := strings.ToLower(r.labels[0])
	return githubHosted.MatchString(l)
}

var githubHosted = regexp.MustCompile(`^(ubuntu|windows|macos)-[a-z0-9.-]+$`)

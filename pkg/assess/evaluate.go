package assess

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// Evidence is one piece of evidence: a file and line, an API fact, or an
// assessment.yaml answer.
type Evidence struct {
	// File is the path in the repository ("" for an API fact).
	File string
	// Line is the line in File (0 when not known, e.g. a rendered manifest).
	Line int
	// API is set for a fact read from the GitHub API.
	API bool
	// Text says what was found.
	Text string
}

// String renders the evidence as "file:line: text", "API: text" or "text".
func (e Evidence) String() string {
	switch {
	case e.API:
		return "API: " + e.Text
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Text)
	case e.File != "":
		return e.File + ": " + e.Text
	}
	return e.Text
}

// Protection is what the GitHub API says about the default branch: the checks
// that must pass before merging (branch protection and rulesets together).
type Protection struct {
	// Branch is the default branch.
	Branch string
	// RequiredChecks are the required status check contexts.
	RequiredChecks []string
	// CodeScanningRequired is set when a ruleset has a code_scanning rule.
	CodeScanningRequired bool
	// Sources say where each fact came from (for evidence).
	Sources []string
	// Unreadable notes what could not be read (e.g. branch protection without
	// admin access), so "not required" is not claimed from a 403.
	Unreadable []string
}

// Options configures Evaluate.
type Options struct {
	// Now is the assessment time (answers are aged against it).
	Now time.Time
	// Reassessment is how long an assessment.yaml answer counts
	// (default DefaultReassessment).
	Reassessment time.Duration
	// PavedRoad lists the owner/repo that hosts the paved-road reusable
	// workflow and the secure-gates actions (default secure-gates/secure-gates).
	PavedRoad []string
	// Protection is the default branch's required checks, when known (nil:
	// not read; required-check facts cannot be established).
	Protection *Protection
	// Repository names the repository in the report.
	Repository string
}

// DefaultPavedRoad is where the paved road and the actions are published.
var DefaultPavedRoad = []string{"secure-gates/secure-gates"}

// Question is one scored question of a report.
type Question struct {
	ID       int      `json:"id"`
	Question string   `json:"question"`
	Score    int      `json:"score"`
	Evidence []string `json:"evidence"`
	NextStep string   `json:"next-step,omitempty"`
	// Source is "repository", "api" or "assessment.yaml": what decided the score.
	Source string `json:"source"`
	// Fact is the rule's fact that held ("" for 0).
	Fact string `json:"fact,omitempty"`
	// Trend is the change since the previous report ("" without one).
	Trend string `json:"trend,omitempty"`
}

// Report is one repository's assessment.
type Report struct {
	Repository string     `json:"repository,omitempty"`
	AssessedAt time.Time  `json:"assessed-at"`
	Total      int        `json:"total"`
	Tier       int        `json:"tier"`
	TierName   string     `json:"tier-name"`
	Questions  []Question `json:"questions"`
	Notes      []string   `json:"notes,omitempty"`
	// TotalTrend is the change of the total since the previous report.
	TotalTrend string `json:"total-trend,omitempty"`
	// Error is set in an organization report for a repository that could not
	// be assessed.
	Error string `json:"error,omitempty"`
	// AnswersError is set when .secure-gates/assessment.yaml is invalid (its
	// answers are then ignored).
	AnswersError string `json:"answers-error,omitempty"`
}

// facts is what Evaluate found: evidence per fact, and why a fact is absent.
type facts struct {
	found   map[Fact][]Evidence
	missing map[Fact]string
	source  map[Fact]string
}

func (f *facts) add(k Fact, src string, ev ...Evidence) {
	if len(ev) == 0 {
		return
	}
	if _, ok := f.found[k]; !ok {
		f.source[k] = src
	}
	f.found[k] = append(f.found[k], ev...)
}

func (f *facts) miss(k Fact, why string) {
	if _, ok := f.missing[k]; !ok {
		f.missing[k] = why
	}
}

// Evaluate assesses the repository in t: it reads the files that can hold
// evidence (bounded; nothing is executed, nothing is fetched), derives the
// facts and scores every rule of Rules. An invalid assessment.yaml is reported
// in Report.AnswersError and its answers are ignored; other unreadable or
// unparsable files are notes. The error is for a tree that cannot be read.
func Evaluate(ctx context.Context, t Tree, opts Options) (*Report, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Reassessment <= 0 {
		opts.Reassessment = DefaultReassessment
	}
	if len(opts.PavedRoad) == 0 {
		opts.PavedRoad = DefaultPavedRoad
	}
	snap, err := takeSnapshot(ctx, t)
	if err != nil {
		return nil, err
	}
	rep := &Report{Repository: opts.Repository, AssessedAt: opts.Now.UTC().Truncate(time.Second), Notes: snap.notes}
	f := &facts{found: map[Fact][]Evidence{}, missing: map[Fact]string{}, source: map[Fact]string{}}
	wf := analyzeWorkflows(snap, opts.PavedRoad)
	rep.Notes = append(rep.Notes, wf.errors...)
	pol, polNote := loadPolicy(snap)
	if polNote != "" {
		rep.Notes = append(rep.Notes, polNote)
	}
	docs, notes := loadManifests(snap)
	rep.Notes = append(rep.Notes, notes...)

	workflowRules(f, wf, pol, opts.Protection)
	manifestRules(f, snap, docs, wf, pol)
	repoRules(f, snap, wf)
	answers := map[int]SignedAnswer{}
	if data, ok := snap.content[answersFile]; ok {
		af, err := ParseAnswers(data, opts.Now)
		if err != nil {
			rep.AnswersError = fmt.Sprintf("%s: %v", answersFile, err)
		} else {
			for _, a := range af.Answers {
				answers[a.Question] = a
			}
		}
	}

	for _, r := range Rules {
		q := score(r, f, answers[r.ID], opts)
		rep.Questions = append(rep.Questions, q)
		rep.Total += q.Score
	}
	rep.Tier = attestation.AssessmentTier(rep.Total)
	rep.TierName = TierName(rep.Tier)
	return rep, nil
}

func score(r Rule, f *facts, ans SignedAnswer, opts Options) Question {
	q := Question{ID: r.ID, Question: r.Question, Source: "repository"}
	fresh := ans.Question == r.ID && !ans.On.IsZero() && opts.Now.Sub(ans.On) <= opts.Reassessment
	answerFact := map[int]Fact{1: FactAnswered1, 2: FactAnswered2}
	holds := func(k Fact) ([]Evidence, string, bool) {
		if k == FactAnswered1 || k == FactAnswered2 {
			if fresh && answerFact[ans.Score] == k {
				txt := fmt.Sprintf("answered %d by %s on %s: %s", ans.Score, ans.Owner, ans.Date, ans.Evidence)
				if ans.Note != "" {
					txt += " (" + ans.Note + ")"
				}
				return []Evidence{{File: answersFile, Line: ans.Line, Text: txt}}, "assessment.yaml", true
			}
			return nil, "", false
		}
		ev, ok := f.found[k]
		return ev, f.source[k], ok
	}
	for _, lvl := range []struct {
		score int
		facts []Fact
	}{{2, r.Two}, {1, r.One}} {
		for _, k := range lvl.facts {
			if ev, src, ok := holds(k); ok {
				q.Score, q.Fact, q.Source = lvl.score, string(k), src
				for i, e := range ev {
					if i == 5 {
						q.Evidence = append(q.Evidence, fmt.Sprintf("… and %d more", len(ev)-5))
						break
					}
					q.Evidence = append(q.Evidence, e.String())
				}
				break
			}
		}
		if q.Score > 0 {
			break
		}
	}
	// Say why the next level was not reached.
	var next []Fact
	switch q.Score {
	case 0:
		next = append(slices.Clone(r.One), r.Two...)
		q.NextStep = r.StepTo1
	case 1:
		next = r.Two
		q.NextStep = r.StepTo2
	}
	// Why the next level was not reached: the first reason of each level.
	for _, level := range [][]Fact{r.One, r.Two} {
		for _, k := range level {
			if !slices.Contains(next, k) {
				continue
			}
			if why, ok := f.missing[k]; ok {
				if !slices.Contains(q.Evidence, why) {
					q.Evidence = append(q.Evidence, why)
				}
				break
			}
		}
	}
	if ans.Question == r.ID && !fresh && !ans.On.IsZero() {
		q.Evidence = append(q.Evidence, fmt.Sprintf("%s:%d: the answer of %s is older than %d days: re-assess and update its date", answersFile, ans.Line, ans.Date, int(opts.Reassessment.Hours()/24)))
	}
	if len(q.Evidence) == 0 {
		q.Evidence = []string{"no evidence found"}
	}
	return q
}

// loadPolicy parses .secure-gates/policy.yaml with the verify-and-deploy
// loader. Key files it names are not read (keys do not matter here): key
// identities are replaced by a placeholder before validation.
func loadPolicy(snap *snapshot) (*policy.Policy, string) {
	data, ok := snap.content[policyFile]
	if !ok {
		return nil, ""
	}
	clean, err := withoutKeys(data)
	if err != nil {
		return nil, fmt.Sprintf("%s: %v: not counted as evidence", policyFile, err)
	}
	p, err := policy.Parse(clean, policy.Options{BaseDir: "/nonexistent-secure-gates-assess"})
	if err != nil {
		return nil, fmt.Sprintf("%s: %s: not counted as evidence", policyFile, textclip.Clip(err.Error(), 300))
	}
	return p, ""
}

// withoutKeys rewrites `key:` identity entries (file paths, KMS URIs) into a
// keyless identity, so parsing the policy never opens a file the scanned
// repository names.
func withoutKeys(data []byte) ([]byte, error) {
	if len(data) > policy.MaxPolicyBytes {
		return nil, fmt.Errorf("larger than %d bytes", policy.MaxPolicyBytes)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return data, nil // the loader reports the error with its own words
	}
	changed := false
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "key" && n.Content[i+1].Kind == yaml.ScalarNode {
					n.Content[i].Value = "issuer"
					n.Content[i+1].Value = "https://key.invalid"
					n.Content = append(n.Content,
						&yaml.Node{Kind: yaml.ScalarNode, Value: "subject"},
						&yaml.Node{Kind: yaml.ScalarNode, Value: "key-identity"})
					changed = true
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	if !changed {
		return data, nil
	}
	return yaml.Marshal(&root)
}

func evs(us []use) []Evidence {
	out := make([]Evidence, 0, len(us))
	seen := map[string]bool{}
	for _, u := range us {
		e := Evidence{File: u.file, Line: u.line, Text: fmt.Sprintf("%s on %s", u.what, strings.Join(u.events, ", "))}
		if !seen[e.String()] {
			seen[e.String()] = true
			out = append(out, e)
		}
	}
	return out
}

func requires(p *policy.Policy, predicateType string) (policy.Requirement, bool) {
	if p == nil {
		return policy.Requirement{}, false
	}
	return p.Requirement(predicateType)
}

func policyEvidence(what string) Evidence { return Evidence{File: policyFile, Text: what} }

// workflowRules derives the facts read from workflows and the policy file,
// question by question (the order matters: the first reason a fact is
// missing is the one reported).
func workflowRules(f *facts, wf *workflowFacts, pol *policy.Policy, prot *Protection) {
	r := workflowRuleSet{f: f, wf: wf, pol: pol, prot: prot, noWF: noWorkflowReason(wf)}
	for _, rule := range []func(){
		r.sast, r.secrets, r.sca, r.sbom, r.imageScan, r.iac, r.runners,
		r.staticCredentials, r.signed, r.provenance, r.continuousEvidence, r.onboarding,
	} {
		rule()
	}
}

// workflowRuleSet holds what the workflow rules read.
type workflowRuleSet struct {
	f    *facts
	wf   *workflowFacts
	pol  *policy.Policy
	prot *Protection
	// noWF says why there is no workflow to read ("" when there is one).
	noWF string
}

// noWorkflowReason says why the repository has no workflow to read, or "".
func noWorkflowReason(wf *workflowFacts) string {
	switch {
	case wf.files > 0:
		return ""
	case wf.listed > 0:
		return "no parsable workflow in .github/workflows (see the notes)"
	}
	return "no workflow in .github/workflows"
}

// or is why, unless there is no workflow at all (then that is the reason).
func (r workflowRuleSet) or(why string) string {
	if r.noWF != "" {
		return r.noWF
	}
	return why
}

// verifies lists the steps that verify the image before deploy.
func (r workflowRuleSet) verifies() []use { return r.wf.find(capVerify, buildEvents...) }

// found adds the fact k from the steps doing c (on one of the events, if
// any), or records why (or that there is no workflow) it is missing. It
// returns the steps.
func (r workflowRuleSet) found(k Fact, why string, c capability, events ...string) []use {
	s := r.wf.find(c, events...)
	if len(s) == 0 {
		r.f.miss(k, r.or(why))
		return nil
	}
	r.f.add(k, "repository", evs(s)...)
	return s
}

// rung is one score of a question decided by a capability alone: its fact
// holds when the capability is found on the events (any event when none),
// and why says what is missing when it is not.
type rung struct {
	fact   Fact
	c      capability
	events []string
	why    string
}

// twoOrOne scores a question of two rungs: two's fact when it is found, else
// one's (noting why two is missing), else why one is missing.
func (r workflowRuleSet) twoOrOne(two, one rung) {
	if s := r.wf.find(two.c, two.events...); len(s) > 0 {
		r.f.add(two.fact, "repository", evs(s)...)
	} else if s := r.wf.find(one.c, one.events...); len(s) > 0 {
		r.f.add(one.fact, "repository", evs(s)...)
		r.f.miss(two.fact, two.why)
	} else {
		r.f.miss(one.fact, r.or(one.why))
	}
}

// sast is question 1: SAST on pull requests, required by branch protection.
func (r workflowRuleSet) sast() {
	f, wf, prot := r.f, r.wf, r.prot
	sast := wf.find(capSAST, prEvents...)
	if len(sast) == 0 {
		if other := wf.find(capSAST); len(other) > 0 {
			f.miss(FactSASTOnPR, fmt.Sprintf("SAST runs (%s) but not on pull_request", evs(other)[0]))
		} else {
			f.miss(FactSASTOnPR, r.or("no workflow runs a SAST tool (CodeQL, Semgrep, gosec, SonarQube) on pull_request"))
		}
		return
	}
	f.add(FactSASTOnPR, "repository", evs(sast)...)
	if prot == nil {
		f.miss(FactSASTOnPRRequired, "required checks not read: assess through the API (token and repository, or --org) to score 2")
		return
	}
	if ev := requiredEvidence(sast, prot); len(ev) > 0 {
		f.add(FactSASTOnPRRequired, "api", append(evs(sast), ev...)...)
		return
	}
	why := fmt.Sprintf("the SAST check is not required on %s (required: %s)", prot.Branch, orNone(prot.RequiredChecks))
	if len(prot.Unreadable) > 0 {
		why += "; not readable: " + strings.Join(prot.Unreadable, "; ")
	}
	f.miss(FactSASTOnPRRequired, why)
}

// secrets is question 2: secrets scanning in CI (pre-commit is a repository fact).
func (r workflowRuleSet) secrets() {
	r.found(FactSecretsInCI, "no workflow runs a secrets scanner", capSecrets)
}

// sca is question 3: dependency scanning, gating with an SLA.
func (r workflowRuleSet) sca() {
	f, wf := r.f, r.wf
	if r.found(FactSCA, "no workflow runs SCA (scan gate deps, Trivy fs, OSV-Scanner, dependency-review)", capSCA) == nil {
		return
	}
	gate := wf.find(capSCAGate, prEvents...)
	req, ok := requires(r.pol, "https://cosign.sigstore.dev/attestation/vuln/v1")
	switch {
	case len(gate) == 0:
		f.miss(FactSCAWithSLA, "no SCA step fails a pull request on findings")
	case !ok || req.Deny == nil || req.MaxAge.IsZero():
		f.miss(FactSCAWithSLA, "no SLA: "+policyFile+" does not require vuln with deny and max-age")
	default:
		f.add(FactSCAWithSLA, "repository", append(evs(gate), policyEvidence(fmt.Sprintf("require vuln: deny %s%s, max-age %s", req.Deny.Severity, fixedOnly(req.Deny.FixedOnly), req.MaxAge.String())))...)
	}
}

// sbom is question 4: an SBOM at build, attested.
func (r workflowRuleSet) sbom() {
	f, wf := r.f, r.wf
	s := r.found(FactSBOM, "no workflow generates an SBOM on push or release", capSBOM, buildEvents...)
	if s == nil {
		return
	}
	if a := wf.find(capSBOMAttest, buildEvents...); len(a) > 0 {
		f.add(FactSBOMSigned, "repository", append(evs(s), evs(a)...)...)
	} else {
		f.miss(FactSBOMSigned, "the SBOM is not attested (signed)")
	}
}

// imageScan is question 5: the image scanned at build, gating (in the
// workflow, or by the policy verify-and-deploy enforces).
func (r workflowRuleSet) imageScan() {
	f, wf, pol := r.f, r.wf, r.pol
	s := r.found(FactImageScan, "no workflow scans the image at build (sbom gate, Trivy image, Grype)", capImageScan, buildEvents...)
	if s == nil {
		return
	}
	gate := wf.find(capImageScanGate, buildEvents...)
	req, ok := requires(pol, "https://cosign.sigstore.dev/attestation/vuln/v1")
	switch {
	case len(gate) > 0:
		f.add(FactImageScanGate, "repository", evs(gate)...)
	case ok && req.Deny != nil && len(r.verifies()) > 0 && pol.Mode != policy.ModeAudit:
		f.add(FactImageScanGate, "repository", append(evs(s), policyEvidence(fmt.Sprintf("require vuln: deny %s%s (verify-and-deploy, mode %s)", req.Deny.Severity, fixedOnly(req.Deny.FixedOnly), orDefault(string(pol.Mode), "enforce"))))...)
	default:
		f.miss(FactImageScanGate, "the image scan does not gate: no failing threshold and no policy deny enforced at deploy")
	}
}

// iac is question 7: IaC scanning, on pull requests.
func (r workflowRuleSet) iac() {
	r.twoOrOne(rung{FactIaCOnPR, capIaC, prEvents, "the IaC scanner does not run on pull_request"},
		rung{FactIaC, capIaC, nil, "no workflow runs an IaC scanner (scan gate iac, Checkov, tfsec, Trivy config, KICS)"})
}

// runners is question 8: jobs on ephemeral runners.
func (r workflowRuleSet) runners() {
	f, wf := r.f, r.wf
	var eph, persistent []Evidence
	for _, rn := range wf.runners {
		e := Evidence{File: rn.file, Line: rn.line, Text: fmt.Sprintf("job %s runs-on %s", rn.job, strings.Join(rn.labels, ", "))}
		if rn.expr {
			e.Text = fmt.Sprintf("job %s runs-on an expression (runner unknown)", rn.job)
		}
		if rn.ephemeral() {
			eph = append(eph, e)
		} else {
			persistent = append(persistent, e)
		}
	}
	switch {
	case len(wf.runners) == 0:
		f.miss(FactEphemeralSome, r.or("no job with runs-on"))
	case len(persistent) == 0:
		f.add(FactEphemeralAll, "repository", Evidence{Text: fmt.Sprintf("every job (%d) on GitHub-hosted or ephemeral runners", len(eph))})
		f.found[FactEphemeralAll] = append(f.found[FactEphemeralAll], eph...)
	case len(eph) > 0:
		f.add(FactEphemeralSome, "repository", persistent...)
		f.miss(FactEphemeralAll, fmt.Sprintf("%d of %d jobs on self-hosted runners without an ephemeral label", len(persistent), len(wf.runners)))
	default:
		f.miss(FactEphemeralSome, fmt.Sprintf("every job runs on a self-hosted runner without an ephemeral label (%s)", persistent[0]))
	}
}

// staticCredentials is question 9: no long-lived cloud keys, OIDC instead.
func (r workflowRuleSet) staticCredentials() {
	f, wf := r.f, r.wf
	switch s := wf.find(capStaticCreds); {
	case len(s) > 0:
		f.miss(FactNoStaticCreds, "long-lived cloud credentials reach a step: "+evs(s)[0].String())
	case wf.files == 0:
		f.miss(FactNoStaticCreds, r.noWF)
	default:
		oidc := evs(wf.find(capOIDCCloud))
		oidc = append(oidc, wf.idToken...)
		if len(oidc) > 0 {
			f.add(FactNoStaticCredsOIDC, "repository", append([]Evidence{{Text: "no long-lived cloud key passed to any step"}}, oidc...)...)
		} else {
			f.add(FactNoStaticCreds, "repository", Evidence{Text: "no long-lived cloud key passed to any step"})
			f.miss(FactNoStaticCredsOIDC, "no OIDC: no id-token: write and no cloud role assumption")
		}
	}
}

// signed is question 10: the image signed at build, verified before deploy.
func (r workflowRuleSet) signed() {
	f := r.f
	s := r.found(FactSigned, "no workflow signs the image on push or release", capSign, buildEvents...)
	if s == nil {
		return
	}
	if verifies := r.verifies(); len(verifies) > 0 {
		f.add(FactSignedVerified, "repository", append(evs(s), evs(verifies)...)...)
	} else {
		f.miss(FactSignedVerified, "no verification before deploy (verify-and-deploy, cosign verify, or a Kyverno verifyImages policy)")
	}
}

// provenance is question 11: SLSA provenance at build, verified.
func (r workflowRuleSet) provenance() {
	f, wf := r.f, r.wf
	s := r.found(FactProvenance, "no workflow generates SLSA provenance on push or release", capProvenance, buildEvents...)
	if s == nil {
		return
	}
	_, required := requires(r.pol, "https://slsa.dev/provenance/v1")
	var ver []Evidence
	if required {
		for _, v := range r.verifies() {
			if v.policyDecides || strings.Contains(v.what, "verify-and-deploy") {
				ver = append(ver, evs([]use{v})...)
			}
		}
		if len(ver) > 0 {
			ver = append(ver, policyEvidence("require slsaprovenance"))
		}
	}
	ver = append(ver, evs(wf.find(capVerifyProv))...)
	if len(ver) > 0 {
		f.add(FactProvenanceVerified, "repository", append(evs(s), ver...)...)
	} else {
		f.miss(FactProvenanceVerified, "provenance is not verified: require slsaprovenance in the policy and deploy with verify-and-deploy, or run slsa-verifier")
	}
}

// continuousEvidence is question 16: releases attested and re-scanned on a
// schedule.
func (r workflowRuleSet) continuousEvidence() {
	f, wf := r.f, r.wf
	att := wf.find(capAttest, buildEvents...)
	var sched []use
	for _, c := range []capability{capSCA, capImageScan, capSBOM, capSecureGates} {
		sched = append(sched, wf.find(c, "schedule")...)
	}
	switch {
	case len(att) > 0 && len(sched) > 0:
		f.add(FactEvidenceContinuous, "repository", append(evs(att), evs(sched)...)...)
	case len(att) > 0 || len(sched) > 0:
		f.add(FactEvidencePartial, "repository", append(evs(att), evs(sched)...)...)
		if len(att) == 0 {
			f.miss(FactEvidenceContinuous, "releases are not attested")
		} else {
			f.miss(FactEvidenceContinuous, "no scheduled re-scan workflow")
		}
	default:
		f.miss(FactEvidencePartial, r.or("no attestations on release and no scheduled re-scan"))
	}
}

// onboarding is question 20: the paved road, or the gates by hand.
func (r workflowRuleSet) onboarding() {
	r.twoOrOne(rung{FactPavedRoad, capPavedRoad, nil, "the paved-road reusable workflow is not called"},
		rung{FactGatesByHand, capSecureGates, nil, "no workflow uses secure-gates"})
}

func fixedOnly(b bool) string {
	if b {
		return " (fixed only)"
	}
	return ""
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// requiredEvidence returns API evidence that one of the SAST jobs' checks is
// required.
func requiredEvidence(sast []use, prot *Protection) []Evidence {
	if prot.CodeScanningRequired {
		return []Evidence{{API: true, Text: fmt.Sprintf("ruleset on %s requires code scanning results", prot.Branch)}}
	}
	for _, rc := range prot.RequiredChecks {
		l := strings.ToLower(rc)
		for _, u := range sast {
			for _, c := range u.checks {
				if strings.EqualFold(rc, c) {
					return []Evidence{{API: true, Text: fmt.Sprintf("%s requires the check %q", prot.Branch, rc)}}
				}
			}
		}
		if strings.Contains(l, "codeql") || strings.Contains(l, "semgrep") || strings.Contains(l, "sast") {
			return []Evidence{{API: true, Text: fmt.Sprintf("%s requires the check %q", prot.Branch, rc)}}
		}
	}
	return nil
}

// manifestRules derives the facts read from manifests and Dockerfiles.
func manifestRules(f *facts, snap *snapshot, docs []doc, wf *workflowFacts, pol *policy.Policy) {
	nonRootRules(f, snap, docs)
	admissionRules(f, admissionPoliciesOf(docs), pol)
	monitoringRules(f, snap, docs)
}

// workloadPosture sorts the workloads by how they run: every container
// non-root and read-only (good), non-root but writable (partial), or
// possibly root (bad). workloads counts the documents with a pod spec.
func workloadPosture(docs []doc) (good, partial, bad []Evidence, workloads int) {
	for _, d := range docs {
		spec := podSpec(d)
		if spec == nil {
			continue
		}
		workloads++
		n, rootful, writable := containerPosture(spec)
		e := d.where()
		switch {
		case n == 0:
			continue
		case len(rootful) == 0 && len(writable) == 0:
			e.Text += ": every container non-root with a read-only root filesystem"
			good = append(good, e)
		case len(rootful) == 0:
			e.Text += ": non-root, writable root filesystem in " + strings.Join(writable, ", ")
			partial = append(partial, e)
		default:
			e.Text += ": may run as root: " + strings.Join(rootful, ", ")
			bad = append(bad, e)
		}
	}
	return good, partial, bad, workloads
}

// nonRootRules is question 6: workloads non-root with a read-only root
// filesystem (Dockerfiles' USER when there are no manifests).
func nonRootRules(f *facts, snap *snapshot, docs []doc) {
	good, partial, bad, workloads := workloadPosture(docs)
	users := dockerUsers(snap)
	switch {
	case workloads > 0 && len(good) > 0 && len(partial) == 0 && len(bad) == 0:
		f.add(FactNonRootReadOnly, "repository", good...)
	case len(good) > 0 || len(partial) > 0:
		f.add(FactNonRootPartial, "repository", append(partial, good...)...)
		f.miss(FactNonRootReadOnly, "not every workload is non-root with a read-only root filesystem: "+firstOr(append(bad, partial...)))
	case workloads == 0 && len(users.nonRoot) > 0 && len(users.root) == 0:
		f.add(FactNonRootPartial, "repository", users.nonRoot...)
		f.miss(FactNonRootReadOnly, "no workload manifests: the read-only root filesystem cannot be shown")
	default:
		why := "no workload manifests and no Dockerfile with a non-root USER"
		if len(bad) > 0 {
			why = bad[0].String()
		} else if len(users.root) > 0 {
			why = users.root[0].String()
		}
		f.miss(FactNonRootPartial, why)
	}
}

// admissionPolicies are the repository's admission policies: enforcing or
// auditing, and the Kyverno verifyImages rules (those requiring SLSA
// provenance in verifyProv).
type admissionPolicies struct {
	enforce, audit, verifyImages, verifyProv []Evidence
}

// admissionPoliciesOf reads the Kyverno, Gatekeeper and
// ValidatingAdmissionPolicy documents.
func admissionPoliciesOf(docs []doc) admissionPolicies {
	var a admissionPolicies
	for _, d := range docs {
		av, kind := d.apiVersion(), d.kind()
		switch {
		case strings.HasPrefix(av, "kyverno.io/") && (kind == "ClusterPolicy" || kind == "Policy"):
			a.kyverno(d)
		case strings.HasPrefix(av, "constraints.gatekeeper.sh/"):
			action, _ := m(d.obj, "spec", "enforcementAction").(string)
			if action == "" || action == "deny" {
				a.add(d, true, ": enforcementAction deny")
			} else {
				a.add(d, false, ": enforcementAction "+action)
			}
		case strings.HasPrefix(av, "admissionregistration.k8s.io/") && kind == "ValidatingAdmissionPolicyBinding":
			acts := list(m(d.obj, "spec", "validationActions"))
			if slices.ContainsFunc(acts, func(a any) bool { return a == "Deny" }) {
				a.add(d, true, ": validationActions Deny")
			} else {
				a.add(d, false, ": not Deny")
			}
		}
	}
	return a
}

// add records d as enforcing or auditing, with what says so.
func (a *admissionPolicies) add(d doc, enforce bool, what string) {
	e := d.where()
	e.Text += what
	if enforce {
		a.enforce = append(a.enforce, e)
	} else {
		a.audit = append(a.audit, e)
	}
}

// kyverno records a Kyverno policy and its verifyImages rules.
func (a *admissionPolicies) kyverno(d doc) {
	if kyvernoEnforces(d.obj) {
		a.add(d, true, ": Enforce")
	} else {
		a.add(d, false, ": Audit")
	}
	for _, r := range list(m(d.obj, "spec", "rules")) {
		for _, vi := range list(m(r, "verifyImages")) {
			ve := d.where()
			ve.Text += ": verifyImages"
			a.verifyImages = append(a.verifyImages, ve)
			for _, at := range list(m(vi, "attestations")) {
				t, _ := m(at, "type").(string)
				if t == "" {
					t, _ = m(at, "predicateType").(string)
				}
				if strings.HasPrefix(t, "https://slsa.dev/provenance/") {
					pe := d.where()
					pe.Text += ": verifyImages requires " + t
					a.verifyProv = append(a.verifyProv, pe)
				}
			}
		}
	}
}

// admissionRules is question 12 (admission policies enforced), and
// completes 10 and 11: an enforced verifyImages policy verifies signatures
// and provenance at admission.
func admissionRules(f *facts, a admissionPolicies, pol *policy.Policy) {
	switch {
	case len(a.enforce) > 0 && len(a.audit) == 0:
		f.add(FactAdmissionEnforce, "repository", a.enforce...)
	case len(a.audit) > 0:
		f.add(FactAdmissionAudit, "repository", append(a.audit, a.enforce...)...)
		f.miss(FactAdmissionEnforce, fmt.Sprintf("%d admission policies in audit", len(a.audit)))
	case pol != nil && pol.Mode != policy.ModeAudit:
		f.add(FactAdmissionAudit, "repository", policyEvidence("mode enforce (verify-and-deploy), but no admission policy in the repository"))
		f.miss(FactAdmissionEnforce, "no Kyverno, Gatekeeper or ValidatingAdmissionPolicy in the repository")
	default:
		f.miss(FactAdmissionAudit, "no Kyverno, Gatekeeper or ValidatingAdmissionPolicy in the repository")
	}
	if len(a.enforce) == 0 {
		return
	}
	verifiedAtAdmission(f, FactSigned, FactSignedVerified, a.verifyImages)
	verifiedAtAdmission(f, FactProvenance, FactProvenanceVerified, a.verifyProv)
}

// verifiedAtAdmission adds the fact verified (unless found already) when
// made is found and an enforced admission policy checks it (ev).
func verifiedAtAdmission(f *facts, made, verified Fact, ev []Evidence) {
	if len(ev) == 0 {
		return
	}
	if _, ok := f.found[made]; !ok {
		return
	}
	if _, ok := f.found[verified]; !ok {
		f.add(verified, "repository", append(f.found[made], ev...)...)
	}
}

// monitoringRules are questions 13 (Falco) and 14 (alerts with runbooks).
func monitoringRules(f *facts, snap *snapshot, docs []doc) {
	falco, alerts, linked := monitoringOf(docs)
	if len(falco) > 0 {
		f.add(FactFalcoDeployed, "repository", falco...)
	}
	if r := falcoRules(snap); len(r) > 0 {
		f.add(FactFalcoRules, "repository", r...)
		f.miss(FactFalcoDeployed, "Falco rules are kept, but no manifest deploys Falco")
	} else {
		f.miss(FactFalcoRules, "no Falco deployment or rules in the repository")
	}
	switch {
	case len(linked) > 0 && len(alerts) == 0:
		f.add(FactAlertsRunbooks, "repository", linked...)
	case len(linked) > 0 || len(alerts) > 0:
		f.add(FactRunbooks, "repository", append(alerts, linked...)...)
		f.miss(FactAlertsRunbooks, fmt.Sprintf("%d alerts without annotations.runbook_url", len(alerts)))
	}
	if rb := folderEvidence(snap, []string{"runbooks", "docs/runbooks", "playbooks", "docs/playbooks"}); len(rb) > 0 {
		f.add(FactRunbooks, "repository", rb...)
		f.miss(FactAlertsRunbooks, "runbooks are kept, but no alerting rule links to one (annotations.runbook_url)")
	}
	f.miss(FactRunbooks, "no alerting rules and no runbooks folder")
}

// monitoringOf lists the Falco workloads and the Prometheus alerting rules,
// without and with a runbook link.
func monitoringOf(docs []doc) (falco, alerts, linked []Evidence) {
	for _, d := range docs {
		if isFalcoWorkload(d) {
			e := d.where()
			e.Text += ": Falco"
			falco = append(falco, e)
		}
		if d.kind() != "PrometheusRule" {
			continue
		}
		for _, g := range list(m(d.obj, "spec", "groups")) {
			for _, r := range list(m(g, "rules")) {
				name, ok := m(r, "alert").(string)
				if !ok {
					continue
				}
				e := d.where()
				e.Text += ": alert " + name
				if u, _ := m(r, "annotations", "runbook_url").(string); u != "" {
					linked = append(linked, e)
				} else {
					alerts = append(alerts, e)
				}
			}
		}
	}
	return falco, alerts, linked
}

func firstOr(ev []Evidence) string {
	if len(ev) == 0 {
		return ""
	}
	return ev[0].String()
}

func kyvernoEnforces(obj map[string]any) bool {
	enf := func(v any) bool { s, _ := v.(string); return strings.EqualFold(s, "enforce") }
	if enf(m(obj, "spec", "validationFailureAction")) {
		return true
	}
	rules := list(m(obj, "spec", "rules"))
	if len(rules) == 0 {
		return false
	}
	for _, r := range rules {
		ok := false
		if enf(m(r, "validate", "failureAction")) {
			ok = true
		}
		vis := list(m(r, "verifyImages"))
		if len(vis) > 0 {
			ok = true
			for _, vi := range vis {
				if !enf(m(vi, "failureAction")) {
					ok = false
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func isFalcoWorkload(d doc) bool {
	switch d.kind() {
	case "HelmRelease":
		c, _ := m(d.obj, "spec", "chart", "spec", "chart").(string)
		return c == "falco"
	case "Application":
		c, _ := m(d.obj, "spec", "source", "chart").(string)
		return c == "falco"
	}
	spec := podSpec(d)
	for _, c := range list(spec["containers"]) {
		img, _ := m(c, "image").(string)
		if strings.Contains(img, "falcosecurity/falco") && !strings.Contains(img, "falcosidekick") {
			return true
		}
	}
	return false
}

var falcoRuleLine = regexp.MustCompile(`(?m)^- rule:\s*\S`)

func falcoRules(snap *snapshot) []Evidence {
	var out []Evidence
	for _, f := range snap.files {
		data, ok := snap.content[f]
		if !ok || !(strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")) {
			continue
		}
		if loc := falcoRuleLine.FindIndex(data); loc != nil && strings.Contains(string(data), "condition:") {
			out = append(out, Evidence{File: f, Line: 1 + strings.Count(string(data[:loc[0]]), "\n"), Text: "Falco rule"})
		}
	}
	return out
}

// folderEvidence returns evidence for the first of dirs holding documents.
func folderEvidence(snap *snapshot, dirs []string) []Evidence {
	for _, d := range dirs {
		n := 0
		for _, f := range snap.files {
			if strings.HasPrefix(f, d+"/") && !strings.HasPrefix(path.Base(f), ".") && !strings.EqualFold(path.Base(f), "README.md") {
				n++
			}
		}
		if n > 0 {
			return []Evidence{{File: d + "/", Text: fmt.Sprintf("%d documents", n)}}
		}
	}
	return nil
}

type dockerUserFacts struct{ root, nonRoot []Evidence }

var userLine = regexp.MustCompile(`(?i)^\s*USER\s+(\S+)`)
var fromLine = regexp.MustCompile(`(?i)^\s*FROM\s`)

// dockerUsers reads the final stage's USER of every Dockerfile.
func dockerUsers(snap *snapshot) dockerUserFacts {
	var out dockerUserFacts
	for _, f := range snap.files {
		b := strings.ToLower(path.Base(f))
		if !(b == "dockerfile" || strings.HasPrefix(b, "dockerfile.") || strings.HasSuffix(b, ".dockerfile") || b == "containerfile") {
			continue
		}
		data, ok := snap.content[f]
		if !ok {
			continue
		}
		user, ln := "", 0
		for i, l := range strings.Split(string(data), "\n") {
			if fromLine.MatchString(l) {
				user, ln = "", i+1
			}
			if mm := userLine.FindStringSubmatch(l); mm != nil {
				user, ln = mm[1], i+1
			}
		}
		u, _, _ := strings.Cut(user, ":")
		switch {
		case user == "" || u == "root" || u == "0":
			txt := "final stage has no USER: runs as root"
			if user != "" {
				txt = "final stage USER " + user
			}
			out.root = append(out.root, Evidence{File: f, Line: ln, Text: txt})
		default:
			out.nonRoot = append(out.nonRoot, Evidence{File: f, Line: ln, Text: "final stage USER " + user})
		}
	}
	return out
}

// repoRules derives the facts read from other repository files.
func repoRules(f *facts, snap *snapshot, wf *workflowFacts) {
	// 2 pre-commit.
	for name, data := range snap.contents(".pre-commit-config.yaml", ".pre-commit-config.yml") {
		var cfg struct {
			Repos []struct {
				Repo  string `yaml:"repo"`
				Hooks []struct {
					ID string `yaml:"id"`
				} `yaml:"hooks"`
			} `yaml:"repos"`
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil || root.Decode(&cfg) != nil {
			f.miss(FactSecretsPreCommit, name+": unparsable")
			continue
		}
		for _, r := range cfg.Repos {
			for _, h := range r.Hooks {
				if secretHooks[h.ID] {
					ln := findLine(data, "id: "+h.ID)
					f.add(FactSecretsPreCommit, "repository", Evidence{File: name, Line: ln, Text: "pre-commit hook " + h.ID})
				}
			}
		}
		f.miss(FactSecretsPreCommit, name+" has no secrets hook (secure-gates-secrets, gitleaks, trufflehog, detect-secrets, ggshield)")
	}
	f.miss(FactSecretsPreCommit, "no .pre-commit-config.yaml")
	// 15 postmortems, 17 game days.
	if ev := folderEvidence(snap, []string{"postmortems", "docs/postmortems", "post-mortems", "docs/post-mortems", "incidents", "docs/incidents"}); len(ev) > 0 {
		f.add(FactPostmortems, "repository", ev...)
	} else {
		f.miss(FactPostmortems, "no postmortems folder")
	}
	if ev := folderEvidence(snap, []string{"game-days", "gamedays", "docs/game-days", "docs/gamedays"}); len(ev) > 0 {
		f.add(FactGameDays, "repository", ev...)
	} else {
		f.miss(FactGameDays, "no game-day records")
	}
	trustRules(f, snap)
	depsRules(f, snap, wf)
}

var secretHooks = map[string]bool{
	"secure-gates-secrets": true, "gitleaks": true, "gitleaks-docker": true, "gitleaks-system": true,
	"trufflehog": true, "detect-secrets": true, "ggshield": true,
}

func findLine(data []byte, needle string) int {
	i := strings.Index(string(data), needle)
	if i < 0 {
		return 0
	}
	return 1 + strings.Count(string(data[:i]), "\n")
}

// subCondition finds token.actions.githubusercontent.com:sub conditions and
// their values, in JSON, YAML or Terraform text.
var (
	subKey    = regexp.MustCompile(`token\.actions\.githubusercontent\.com:sub`)
	subValue  = regexp.MustCompile(`repo:[^"'\s,\]]+`)
	gcpRepoEq = regexp.MustCompile(`assertion\.repository\s*==`)
	gcpRefEq  = regexp.MustCompile(`assertion\.(ref|environment)\s*==`)
)

// trustRules derives question 18 from cloud trust policies kept in the
// repository. Terraform is matched as text (the IaC engine's Terraform parser
// is not used yet).
func trustRules(f *facts, snap *snapshot) {
	var scoped, repoOnly, wide []Evidence
	for name, data := range snap.contents(snap.files...) {
		ext := path.Ext(name)
		if ext != ".json" && ext != ".tf" && ext != ".yaml" && ext != ".yml" {
			continue
		}
		text := string(data)
		if strings.HasPrefix(name, ".github/") {
			continue
		}
		for _, loc := range subKey.FindAllStringIndex(text, 50) {
			// The values follow the key within the same condition.
			end := min(len(text), loc[1]+600)
			window := text[loc[1]:end]
			if j := strings.Index(window, "}"); j >= 0 {
				window = window[:j]
			}
			ln := 1 + strings.Count(text[:loc[0]], "\n")
			vals := subValue.FindAllString(window, 20)
			if len(vals) == 0 {
				continue
			}
			for _, v := range vals {
				e := Evidence{File: name, Line: ln, Text: "sub " + textclip.Clip(v, 120)}
				switch subScope(v) {
				case 2:
					scoped = append(scoped, e)
				case 1:
					repoOnly = append(repoOnly, e)
				default:
					wide = append(wide, e)
				}
			}
		}
		if ext == ".tf" || ext == ".json" || ext == ".yaml" || ext == ".yml" {
			for _, loc := range gcpRepoEq.FindAllStringIndex(text, 20) {
				ln := 1 + strings.Count(text[:loc[0]], "\n")
				lineEnd := strings.IndexByte(text[loc[0]:], '\n')
				if lineEnd < 0 {
					lineEnd = len(text) - loc[0]
				}
				cond := text[loc[0] : loc[0]+lineEnd]
				e := Evidence{File: name, Line: ln, Text: "attribute condition " + textclip.Clip(strings.TrimSpace(cond), 120)}
				if gcpRefEq.MatchString(cond) {
					scoped = append(scoped, e)
				} else {
					repoOnly = append(repoOnly, e)
				}
			}
		}
	}
	switch {
	case len(wide) > 0:
		f.miss(FactOIDCRepoOnly, "a trust condition does not pin a repository: "+wide[0].String())
	case len(repoOnly) > 0:
		f.add(FactOIDCRepoOnly, "repository", repoOnly...)
		f.miss(FactOIDCScoped, "a trust condition allows any ref: "+repoOnly[0].String())
	case len(scoped) > 0:
		f.add(FactOIDCScoped, "repository", scoped...)
	default:
		f.miss(FactOIDCRepoOnly, "no cloud trust policy with a token.actions.githubusercontent.com:sub condition in the repository (Terraform parsing: pending; Terraform is matched as text)")
	}
}

// subScope rates one sub value: 2 repository and ref/environment pinned, 1
// repository pinned, 0 wildcard owner or repository.
func subScope(v string) int {
	rest := strings.TrimPrefix(v, "repo:")
	repo, ctx, _ := strings.Cut(rest, ":")
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.ContainsAny(repo, "*?") {
		return 0
	}
	if ctx == "" || strings.ContainsAny(ctx, "*?") {
		return 1
	}
	kind, val, _ := strings.Cut(ctx, ":")
	switch kind {
	case "ref", "environment":
		if val != "" {
			return 2
		}
	}
	return 1
}

// ecosystems maps a file name to the Dependabot ecosystem it belongs to.
func ecosystemOf(p string) string {
	b := path.Base(p)
	switch {
	case b == "go.mod":
		return "gomod"
	case b == "package.json":
		return "npm"
	case b == "requirements.txt" || b == "pyproject.toml" || b == "setup.py" || b == "Pipfile":
		return "pip"
	case b == "Gemfile":
		return "bundler"
	case b == "pom.xml":
		return "maven"
	case b == "build.gradle" || b == "build.gradle.kts":
		return "gradle"
	case b == "Cargo.toml":
		return "cargo"
	case b == "composer.json":
		return "composer"
	case strings.HasSuffix(b, ".csproj"):
		return "nuget"
	case strings.HasSuffix(b, ".tf"):
		return "terraform"
	case strings.EqualFold(b, "dockerfile") || strings.HasPrefix(strings.ToLower(b), "dockerfile."):
		return "docker"
	case strings.HasPrefix(p, ".github/workflows/"):
		return "github-actions"
	}
	return ""
}

func depsRules(f *facts, snap *snapshot, wf *workflowFacts) {
	have := map[string]string{}
	for _, p := range snap.files {
		if strings.Contains(p, "/testdata/") || strings.HasPrefix(p, "testdata/") || strings.Contains(p, "node_modules/") {
			continue
		}
		if e := ecosystemOf(p); e != "" {
			if _, ok := have[e]; !ok {
				have[e] = p
			}
		}
	}
	var ecos []string
	for e := range have {
		ecos = append(ecos, e)
	}
	slices.Sort(ecos)
	covered := map[string]Evidence{}
	all := false
	var cfgEv []Evidence
	for name, data := range snap.contents(".github/dependabot.yml", ".github/dependabot.yaml") {
		var cfg struct {
			Updates []struct {
				Ecosystem string `yaml:"package-ecosystem"`
			} `yaml:"updates"`
		}
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			f.miss(FactDepsSome, name+": unparsable")
			continue
		}
		for _, u := range cfg.Updates {
			e := u.Ecosystem
			if e == "pip" || e == "uv" || e == "poetry" {
				e = "pip"
			}
			covered[e] = Evidence{File: name, Line: findLine(data, "package-ecosystem: "+u.Ecosystem), Text: "dependabot " + u.Ecosystem}
			cfgEv = append(cfgEv, covered[e])
		}
	}
	for name, data := range snap.contents(slices.Sorted(maps.Keys(renovateFiles))...) {
		ev := Evidence{File: name, Text: "Renovate configuration"}
		var cfg struct {
			EnabledManagers []string `json:"enabledManagers"`
		}
		if json.Unmarshal(data, &cfg) == nil && len(cfg.EnabledManagers) > 0 {
			for _, mgr := range cfg.EnabledManagers {
				e := renovateManager(mgr)
				covered[e] = ev
			}
			cfgEv = append(cfgEv, ev)
		} else {
			all = true
			ev.Text += " (every manager)"
			cfgEv = append(cfgEv, ev)
		}
	}
	if len(cfgEv) == 0 {
		f.miss(FactDepsSome, fmt.Sprintf("no Dependabot or Renovate configuration (ecosystems found: %s)", orNone(ecos)))
		return
	}
	var missing []string
	for _, e := range ecos {
		if _, ok := covered[e]; !ok && !all {
			missing = append(missing, fmt.Sprintf("%s (%s)", e, have[e]))
		}
	}
	if len(missing) == 0 {
		f.add(FactDepsAllEcosystems, "repository", cfgEv...)
		return
	}
	f.add(FactDepsSome, "repository", cfgEv...)
	f.miss(FactDepsAllEcosystems, "not covered: "+strings.Join(missing, ", "))
}

func renovateManager(m string) string {
	switch m {
	case "gomod", "npm", "bundler", "maven", "gradle", "cargo", "composer", "nuget", "terraform":
		return m
	case "pip_requirements", "pip_setup", "pipenv", "poetry", "pep621":
		return "pip"
	case "dockerfile":
		return "docker"
	case "github-actions":
		return "github-actions"
	}
	return m
}

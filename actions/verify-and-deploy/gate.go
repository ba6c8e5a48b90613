// Package verifyanddeploy is the verify-and-deploy action (gate 4): it resolves
// the image to its digest once, checks the whole attestation chain of that digest
// against the policy file with pkg/verify (every failure listed), writes the JSON
// report and a SLSA VSA, attests the VSA when a signing identity is available,
// and deploys the verified digest with pkg/deploy (kubectl or GitOps) — or, in
// audit mode, verifies and reports without ever blocking.
package verifyanddeploy

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/deploy"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/netretry"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/page"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/signing"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

//go:embed action.yml
var actionYAML []byte

// Gate is the verify-and-deploy subcommand.
var Gate = gate.Gate{Name: "verify-and-deploy", ActionYAML: actionYAML, Positional: "image", Run: run, Inputs: Inputs{}}

// Inputs are the action's inputs; the tags are the names in action.yml.
type Inputs struct {
	Image          string        `input:"image"`
	Policy         string        `input:"policy"`
	Environment    string        `input:"environment"`
	TrustedRoot    string        `input:"trusted-root"`
	Deploy         string        `input:"deploy"`
	DryRun         bool          `input:"dry-run"`
	Kubeconfig     string        `input:"kubeconfig"`
	Namespace      string        `input:"namespace"`
	Workload       string        `input:"workload"`
	Container      string        `input:"container"`
	RolloutTimeout time.Duration `input:"rollout-timeout"`
	Timeout        time.Duration `input:"timeout"`
	GitopsRepo     string        `input:"gitops-repo"`
	GitopsPath     string        `input:"gitops-path"`
	GitopsBranch   string        `input:"gitops-branch"`
	GitopsImage    string        `input:"gitops-image"`
	Token          string        `input:"token,secret"`
	Report         string        `input:"report"`
	AttestVSA      string        `input:"attest-vsa"`
	VSAKey         string        `input:"vsa-key,pem"`
	VSAKeyPassword string        `input:"vsa-key-password,secret"`
	SigningConfig  string        `input:"signing-config"`
	oci.RegistryInputs
	page.PagingInputs
}

// Version is recorded in the VSA's verifier.version.
var Version = "dev"

// maxSummaryRows bounds the tables of ignored items.
const maxSummaryRows = 50

// outcome is what the run did, for the summary and outputs.
type outcome struct {
	in         Inputs
	pol        *policy.Policy
	ref        oci.Ref
	rep        *verify.Report
	reportPath string
	vsaPath    string
	vsaNote    string
	deployNote []string
	blocked    bool
	modeNote   string // why the policy's audit mode does not apply, if it does not
}

// enforcedNote says why audit mode does not apply to environment.
func enforcedNote(environment string) string {
	if strings.TrimSpace(environment) == "" {
		return "this run ENFORCES: no environment was given, and the policy's enforce-environments allow audit only for a named environment outside the list"
	}
	return fmt.Sprintf("this run ENFORCES: environment %q is in the policy's enforce-environments (compared case-insensitively, as GitHub compares environment names)", environment)
}

func run(ctx context.Context, rt *gha.Runtime, raw gha.RawInputs) (err error) {
	var in Inputs
	for _, s := range gha.Secrets(raw, &in) {
		rt.AddMask(s)
	}
	if err := gha.Decode(raw, &in); err != nil {
		return errkind.Input(err)
	}
	if err := checkDeployInputs(in); err != nil {
		return err
	}
	pc, err := in.PagingInputs.Config()
	if err != nil {
		return errkind.Input(err)
	}
	var (
		rep *verify.Report
		pol *policy.Policy
	)
	defer func() { pageOutcome(ctx, rt, pc, in, rep, pol, err) }()
	ctx, cancel, err := gate.WithTimeout(ctx, in.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	// Key files the policy names are relative to the workspace (the repository
	// root; on a runner, the working directory) and must stay inside it.
	base := rt.Context().Workspace
	if base == "" {
		base = "."
	}
	pol, err = policy.Load(in.Policy, policy.Options{BaseDir: base})
	if err != nil {
		return err
	}
	// The one place the mode of this run is decided: audit in the file applies
	// only where the policy allows it for this environment; everywhere else the
	// run enforces, and the report, VSA and summary say so.
	var modeNote string
	if eff := pol.EffectiveMode(in.Environment); eff != pol.Mode {
		modeNote = enforcedNote(in.Environment)
		rt.Infof("policy %s is in audit mode; %s", in.Policy, modeNote)
		pol.Mode = eff
	}
	reg := oci.Options{Username: in.RegistryUsername, Password: in.RegistryPassword, UserAgent: "secure-gates"}
	// The one resolution: from here on only ref (repo@sha256:…) is used.
	ref, err := oci.Resolve(ctx, in.Image, reg)
	if err != nil {
		return err
	}
	if ref.Tag != "" {
		rt.Infof("resolved %s to %s; the tag is not used again", in.Image, ref)
	}
	trust, err := trustedMaterial(ctx, in.TrustedRoot, pol)
	if err != nil {
		return err
	}
	rep, err = verify.Verify(ctx, ref, verify.Options{Policy: pol, Registry: reg, TrustedMaterial: trust, Environment: in.Environment})
	if err != nil {
		return err
	}
	o := &outcome{in: in, pol: pol, ref: ref, rep: rep, reportPath: in.Report, modeNote: modeNote}
	o.vsaPath = filepath.Join(filepath.Dir(in.Report), "vsa.json")
	if err := writeJSON(o.reportPath, rep); err != nil {
		return err
	}
	vsa := rep.VSA(pol, verify.VSAOptions{Version: Version})
	if err := writeJSON(o.vsaPath, vsa); err != nil {
		return err
	}
	audit := pol.Mode == policy.ModeAudit
	o.blocked = !rep.Verified && !audit
	var deployErr error
	if !o.blocked {
		if rep.Verified {
			o.vsaNote, err = attestVSA(ctx, rt, in, ref, vsa)
			if err != nil {
				return err
			}
		} else {
			o.vsaNote = "not attested: the verification failed (audit mode)"
		}
		o.deployNote, deployErr = doDeploy(ctx, rt, in, ref, rep)
	} else {
		o.vsaNote = "not attested: the verification failed"
		if in.Deploy != "none" {
			o.deployNote = []string{"Deploy (" + in.Deploy + ") BLOCKED: the image is not verified."}
		}
	}
	if err := report(rt, o); err != nil {
		return err
	}
	if deployErr != nil {
		return deployErr
	}
	if o.blocked {
		return rep.Err()
	}
	return nil
}

// pageOutcome pages on-call when the deploy is blocked (the chain does not
// verify: severity high, one alert per digest) or the verification could not
// run (an outage); a later verified run resolves it (docs/paging.md). Audit
// mode blocks nothing and pages nothing. It sets the paged and page-failures
// outputs.
func pageOutcome(ctx context.Context, rt *gha.Runtime, pc page.Config, in Inputs, rep *verify.Report, pol *policy.Policy, err error) {
	var res page.Result
	switch {
	case !pc.Enabled():
	case rep == nil:
		res = gate.PageInfra(ctx, rt, pc, "verify-and-deploy", in.Image, err)
	default:
		blocked := !rep.Verified && pol != nil && pol.Mode != policy.ModeAudit
		o := page.Outcome{Gate: "verify-and-deploy", Subject: rep.Image, Key: rep.Digest, Failed: blocked, FailedSeverity: finding.High,
			Ran: []string{"verify-and-deploy"}}
		if blocked {
			f := rep.Failures()
			if len(f) > 5 {
				f = append(f[:5], fmt.Sprintf("and %d more", len(f)-5))
			}
			o.FailedSummary = "deploy to " + cmp.Or(in.Environment, "the environment") + " BLOCKED: " + strings.Join(f, "; ")
		}
		res = gate.Page(ctx, rt, pc, o)
	}
	var out page.PagingOutputs
	out.SetPageResult(res)
	if kvs, err := gha.Outputs(out); err == nil {
		for _, kv := range kvs {
			_ = rt.SetOutput(kv.Name, kv.Value)
		}
	}
}

func checkDeployInputs(in Inputs) error {
	switch in.Deploy {
	case "none":
	case "kubectl":
		if _, _, err := deploy.ParseWorkload(in.Workload); err != nil {
			return errkind.Input(fmt.Errorf("deploy: kubectl needs the workload input: %w", err))
		}
		if !in.DryRun && in.Timeout > 0 && in.RolloutTimeout >= in.Timeout {
			return errkind.Input(fmt.Errorf("rollout-timeout (%s) is not shorter than timeout (%s), which bounds the whole gate: raise timeout above rollout-timeout plus the verification's time",
				in.RolloutTimeout, in.Timeout))
		}
	case "gitops":
		if in.GitopsRepo == "" {
			return errkind.Input(errors.New("deploy: gitops needs the gitops-repo input (URL or path)"))
		}
	default:
		return errkind.Input(fmt.Errorf("deploy is %q, want none, kubectl or gitops", in.Deploy))
	}
	switch in.AttestVSA {
	case "auto", "true", "false":
	default:
		return errkind.Input(fmt.Errorf("attest-vsa is %q, want auto, true or false", in.AttestVSA))
	}
	if strings.TrimSpace(in.Report) == "" {
		return errkind.Input(errors.New("report: a path is required"))
	}
	return nil
}

// trustedMaterial loads the trusted root: the trusted-root input, or, when the
// policy names keyless identities, the public-good instance through TUF.
func trustedMaterial(ctx context.Context, path string, pol *policy.Policy) (root.TrustedMaterial, error) {
	if path != "" {
		st, err := os.Stat(path)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("trusted-root: %w", err))
		}
		if st.Size() > signing.MaxConfigBytes {
			return nil, errkind.Input(fmt.Errorf("trusted-root %s is larger than %d bytes", path, signing.MaxConfigBytes))
		}
		tr, err := root.NewTrustedRootFromPath(path)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("trusted-root %s: %w", path, err))
		}
		return tr, nil
	}
	if !needsKeyless(pol) {
		return nil, nil
	}
	// TUF's fetcher takes no context: its client carries the gate's deadline.
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPClient(ctxClient{ctx: ctx, c: netretry.DefaultClient})
	tr, err := root.FetchTrustedRootWithOptions(tuf.DefaultOptions().WithFetcher(f))
	if err != nil {
		doing := "fetching the public-good Sigstore trusted root through TUF (or pass trusted-root)"
		if e := netretry.Explain(doing, err); e != nil {
			return nil, errkind.Infra(e)
		}
		return nil, errkind.Infra(fmt.Errorf("%s: %w", doing, err))
	}
	return tr, nil
}

// ctxClient sends every request under ctx.
type ctxClient struct {
	ctx context.Context
	c   *http.Client
}

func (c ctxClient) Do(req *http.Request) (*http.Response, error) {
	return c.c.Do(req.WithContext(c.ctx))
}

func needsKeyless(p *policy.Policy) bool {
	ids := append([]policy.Identity{}, p.Identities...)
	if p.Exceptions != nil {
		ids = append(ids, p.Exceptions.Signers...)
	}
	if p.BreakGlass != nil {
		ids = append(ids, p.BreakGlass.Signers...)
	}
	for _, id := range ids {
		if !id.IsKey() {
			return true
		}
	}
	return false
}

// attestVSA attests the VSA on the digest with pkg/signing when an identity is
// available, and says what happened.
func attestVSA(ctx context.Context, rt *gha.Runtime, in Inputs, ref oci.Ref, vsa attestation.VSA) (string, error) {
	if in.AttestVSA == "false" {
		return "not attested (attest-vsa: false)", nil
	}
	keyless := in.VSAKey == ""
	if keyless && (rt.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || rt.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "") {
		if in.AttestVSA == "true" {
			return "", errkind.Input(errors.New("attest-vsa is true but there is no signing identity: set vsa-key, or give the job `permissions: id-token: write` for keyless"))
		}
		return "not attested: no signing identity (set vsa-key, or `permissions: id-token: write` for keyless)", nil
	}
	id := signing.Inputs{Key: in.VSAKey, KeyPassword: in.VSAKeyPassword, TrustedRoot: in.TrustedRoot, SigningConfig: in.SigningConfig, TlogUpload: keyless}
	sref, opts, err := signing.Prepare(ctx, signing.Target{Image: ref.String(), Registry: in.RegistryInputs.Options()}, id, rt.SigstoreIDToken)
	if err != nil {
		return "", fmt.Errorf("attesting the VSA: %w", err)
	}
	data, err := json.Marshal(vsa)
	if err != nil {
		return "", errkind.Infra(err)
	}
	res, err := signing.Attest(ctx, sref, []signing.Predicate{{Type: attestation.PredicateVSA, Data: data, Source: "vsa"}}, opts)
	if err != nil {
		return "", fmt.Errorf("attesting the VSA on %s: %w", sref, err)
	}
	where := ""
	if len(res.Attestations) > 0 {
		a := res.Attestations[0]
		where = " (envelope " + a.Digest
		if a.Bundle != "" {
			where += ", bundle " + a.Bundle
		}
		where += ")"
	}
	return "attested on the digest by " + res.Identity.String() + where, nil
}

func doDeploy(ctx context.Context, rt *gha.Runtime, in Inputs, ref oci.Ref, rep *verify.Report) ([]string, error) {
	verdict := "PASSED"
	if !rep.Verified {
		verdict = "FAILED (audit mode: deployed anyway)"
	}
	if rep.BreakGlass {
		verdict += " BREAK-GLASS"
	}
	verdict += " policy " + rep.Policy.URI + " " + rep.Policy.Digest
	switch in.Deploy {
	case "kubectl":
		res, err := deploy.Kubectl(ctx, deploy.KubectlOptions{Kubeconfig: in.Kubeconfig, Namespace: in.Namespace, Workload: in.Workload,
			Container: in.Container, Image: ref, DryRun: in.DryRun, RolloutTimeout: in.RolloutTimeout})
		if err != nil {
			return []string{"kubectl deploy FAILED: " + err.Error()}, err
		}
		readBack := ""
		if !in.DryRun {
			readBack = "Read back: " + res.ReadBack + "."
			if len(res.Pods) > 0 {
				pods := make([]string, 0, len(res.Pods))
				for i, p := range res.Pods {
					if i == maxSummaryRows {
						pods = append(pods, fmt.Sprintf("and %d more", len(res.Pods)-maxSummaryRows))
						break
					}
					pods = append(pods, p.Pod)
				}
				readBack = fmt.Sprintf("Read back: the running pods report %s (%s).", ref.Digest, strings.Join(pods, ", "))
			}
		}
		lines := []string{fmt.Sprintf("kubectl: %s/%s in %s, container %s: %s → %s", res.Kind, res.Name, res.Namespace, res.Container, res.Previous, ref)}
		switch {
		case in.DryRun && res.Changed:
			lines = append(lines, "DRY RUN: strategic-merge patch that would be sent:", "```json\n"+res.Patch+"\n```")
		case !res.Changed:
			lines = append(lines, "Already running this digest: nothing to change.")
		default:
			lines = append(lines, "Patched; rollout complete: "+fmt.Sprint(res.RolledOut))
		}
		if readBack != "" {
			lines = append(lines, readBack)
		}
		return lines, nil
	case "gitops":
		res, err := deploy.GitOps(ctx, deploy.GitOpsOptions{Repo: in.GitopsRepo, Path: in.GitopsPath, Branch: in.GitopsBranch,
			Token: in.Token, Image: ref, ImageName: in.GitopsImage, SourceCommit: rt.Context().SHA, Verification: verdict, DryRun: in.DryRun,
			Env: os.Environ()})
		if err != nil {
			return []string{"GitOps deploy FAILED: " + err.Error()}, err
		}
		lines := []string{fmt.Sprintf("GitOps: %s in %s (branch %s), images entry %s: %s → %s", res.File, in.GitopsRepo, in.GitopsBranch,
			strings.Join(res.Entries, ", "), nonEmpty(res.Previous, "(unset)"), ref)}
		uses := make([]string, 0, len(res.Uses))
		for i, u := range res.Uses {
			if i == maxSummaryRows {
				uses = append(uses, fmt.Sprintf("and %d more", len(res.Uses)-maxSummaryRows))
				break
			}
			uses = append(uses, u.Resource+" "+u.Field)
		}
		lines = append(lines, fmt.Sprintf("Rendered with kustomize: %d image field(s) run the digest: %s.", len(res.Uses), strings.Join(uses, ", ")))
		switch {
		case !res.Changed:
			lines = append(lines, "The kustomization already names this digest: nothing to commit.")
		case in.DryRun:
			lines = append(lines, "DRY RUN: the change that would be committed:", "```diff\n"+strings.TrimSpace(res.Diff)+"\n```")
		default:
			lines = append(lines, fmt.Sprintf("Committed %s and pushed (attempt %d).", res.Commit, res.Attempts))
		}
		return lines, nil
	}
	return nil, nil
}

func report(rt *gha.Runtime, o *outcome) error {
	rep := o.rep
	audit := o.pol.Mode == policy.ModeAudit
	var s gha.Summary
	title := "✓ verified"
	if !rep.Verified {
		title = "✗ NOT verified"
	}
	if rep.BreakGlass {
		title += " — BREAK-GLASS"
	}
	if audit {
		title += " — AUDIT MODE"
	}
	s.Heading(2, "Verify and deploy: "+title)
	if audit {
		msg := "AUDIT MODE: this run verifies and reports but never blocks the deploy."
		if !rep.Verified {
			msg += " In enforce mode it would have been BLOCKED."
		}
		s.Para(msg)
	}
	if rep.BreakGlass {
		s.Para("BREAK-GLASS: the image passed the signature requirement only through a break-glass signer. " +
			requirementDetail(rep, verify.RequirementSignature))
	}
	for _, r := range rep.Requirements {
		if r.Waived != "" {
			s.Para("SCANNER OUTAGE: requirement " + r.Name + " passed only through a signed outage exception, not a scan. " + r.Waived)
		}
	}
	info := [][]string{{"Image", rep.Image}, {"Digest", rep.Digest}}
	if o.ref.Tag != "" {
		info = append(info, []string{"Resolved from tag", o.ref.Tag + " (not used again)"})
	}
	mode := rep.Mode
	if o.modeNote != "" {
		mode += " (the policy says audit; " + o.modeNote + ")"
	}
	info = append(info, []string{"Policy", rep.Policy.URI + " (" + rep.Policy.Digest + ")"}, []string{"Mode", mode})
	if o.in.Environment != "" {
		info = append(info, []string{"Environment", o.in.Environment})
	}
	s.Table([]string{"", ""}, info)
	rows := make([][]string, 0, len(rep.Requirements))
	for _, r := range rep.Requirements {
		mark, why := "✓", r.Detail
		if !r.Passed {
			mark, why = "✗", strings.Join(r.Reasons, "; ")
		} else if r.Waived != "" {
			mark = "⚠ waived (outage)"
		}
		rows = append(rows, []string{r.Name, mark, why})
	}
	s.Heading(3, "Requirements")
	s.Table([]string{"Requirement", "", "Detail / reason"}, rows)
	if len(rep.ExceptionsUsed) > 0 {
		s.Heading(3, "Exceptions used")
		var er [][]string
		for _, e := range rep.ExceptionsUsed {
			er = append(er, []string{e.ID, fmt.Sprint(e.FindingsWaived), e.Ticket, e.Reason, e.Expires.UTC().Format(time.RFC3339)})
		}
		s.Table([]string{"Exception", "Findings waived", "Ticket", "Reason", "Expires"}, er)
	}
	if len(rep.ExceptionsRefused) > 0 {
		s.Heading(3, "Exceptions refused (waive nothing)")
		s.Table([]string{"Where", "Reason"}, ignoredRows(rep.ExceptionsRefused, false))
	}
	if len(rep.Superseded) > 0 {
		s.Heading(3, "Superseded (a newer attestation of the type decides)")
		var sr [][]string
		for i, o := range rep.Superseded {
			if i == maxSummaryRows {
				sr = append(sr, []string{fmt.Sprintf("… %d more in the JSON report", len(rep.Superseded)-maxSummaryRows), "", "", ""})
				break
			}
			sr = append(sr, []string{o.Requirement, o.Location, o.Time.UTC().Format(time.RFC3339) + " (" + o.TimeSource + ")",
				o.SupersededBy + " at " + o.NewestTime.UTC().Format(time.RFC3339)})
		}
		s.Table([]string{"Requirement", "Where", "Evidence time", "Superseded by"}, sr)
	}
	if len(rep.Ignored) > 0 {
		s.Heading(3, "Ignored signatures and attestations")
		s.Table([]string{"Kind", "Format", "Type (claimed)", "Where", "Reason"}, ignoredRows(rep.Ignored, true))
	}
	s.Heading(3, "Deploy")
	if o.in.Deploy == "none" {
		s.Para("deploy: none — nothing deployed.")
	}
	for _, l := range o.deployNote {
		if strings.HasPrefix(l, "```") {
			s.Raw(l + "\n")
		} else {
			s.Para(l)
		}
	}
	s.Para("Report: " + o.reportPath + ". VSA (" + attestation.PredicateVSA + "): " + o.vsaPath + ", " + o.vsaNote + ".")
	if err := rt.WriteSummary(s.String()); err != nil {
		return errkind.Infra(err)
	}
	level := gha.LevelError
	if audit {
		level = gha.LevelWarning
	}
	for _, f := range rep.Failures() {
		rt.Annotate(gha.Annotation{Level: level, Title: "verify-and-deploy", Message: f})
	}
	if rep.BreakGlass {
		rt.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "BREAK-GLASS", Message: requirementDetail(rep, verify.RequirementSignature)})
	}
	for _, r := range rep.Requirements {
		if r.Waived != "" {
			rt.Annotate(gha.Annotation{Level: gha.LevelWarning, Title: "SCANNER OUTAGE: " + r.Name + " not scanned", Message: r.Waived})
		}
	}
	exc, err := json.Marshal(nonNilExceptions(rep.ExceptionsUsed))
	if err != nil {
		return errkind.Infra(err)
	}
	for _, kv := range []gha.KeyValue{
		{Name: "verified", Value: fmt.Sprint(rep.Verified)},
		{Name: "digest", Value: rep.Digest},
		{Name: "report", Value: o.reportPath},
		{Name: "vsa", Value: o.vsaPath},
		{Name: "break-glass", Value: fmt.Sprint(rep.BreakGlass)},
		{Name: "exceptions-used", Value: string(exc)},
	} {
		if err := rt.SetOutput(kv.Name, kv.Value); err != nil {
			return errkind.Infra(err)
		}
	}
	return nil
}

func requirementDetail(rep *verify.Report, name string) string {
	for _, r := range rep.Requirements {
		if r.Name == name {
			return r.Detail
		}
	}
	return ""
}

func ignoredRows(list []verify.Ignored, full bool) [][]string {
	var rows [][]string
	for i, ig := range list {
		if i == maxSummaryRows {
			rows = append(rows, []string{fmt.Sprintf("… %d more in the JSON report", len(list)-maxSummaryRows), "", "", "", ""}[:cols(full)])
			break
		}
		if full {
			rows = append(rows, []string{ig.Kind, ig.Format, ig.PredicateType, ig.Location, ig.Reason})
		} else {
			rows = append(rows, []string{ig.Location, ig.Reason})
		}
	}
	return rows
}

func cols(full bool) int {
	if full {
		return 5
	}
	return 2
}

func nonNilExceptions(e []attestation.AppliedException) []attestation.AppliedException {
	if e == nil {
		return []attestation.AppliedException{}
	}
	return e
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writeJSON writes v as indented JSON to path atomically (temp + rename).
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return errkind.Infra(err)
	}
	return errkind.Infra(atomicfile.Write(path, append(data, '\n')))
}

package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/internal/gate"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gha"
	"github.com/secure-gates/secure-gates/pkg/gitcmd"
	"github.com/secure-gates/secure-gates/pkg/readfile"
	"github.com/secure-gates/secure-gates/pkg/textclip"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// outageTTL is how long the run's outage exception lasts: long enough to
// deploy, short enough that the image must be scanned soon.
const outageTTL = 24 * time.Hour

type runner struct {
	o    Options
	svc  *service
	work string
	res  *Result
	env  map[string]string
	vsa  string // where the VSA went
}

// printf prints a progress line; its arguments may quote a gate's error or
// findings from the tree, so every line goes through gha.SafeLine.
func (r *runner) printf(format string, args ...any) {
	lines := strings.Split(fmt.Sprintf(format, args...), "\n")
	for i, l := range lines {
		lines[i] = gha.SafeLine(l)
	}
	_, _ = io.WriteString(r.o.Out, strings.Join(lines, "\n"))
}

// runKeys are the run's ephemeral keys and the policy that trusts them.
type runKeys struct {
	release, security keyPair
	policyPath        string
}

func (r *runner) run(ctx context.Context) error {
	host, stop, err := startRegistry()
	if err != nil {
		return err
	}
	defer stop()
	k, err := r.prepare(host)
	if err != nil {
		return err
	}
	db := r.dbInputs()
	exceptions, err := r.writeExceptions()
	if err != nil {
		return err
	}
	scan, scanOutage, err := r.scanSource(ctx, db, exceptions)
	if err != nil {
		return err
	}
	img, err := r.build(ctx, host)
	if err != nil {
		return err
	}
	sbom, sbomOutage, err := r.scanImage(ctx, img, db, exceptions)
	if err != nil {
		return err
	}
	signing := map[string]string{"key": k.release.private, "tlog-upload": "false", "signature-format": "both", "require-digest": "true"}
	if err := r.signAndAttest(ctx, img, signing, scan, sbom); err != nil {
		return err
	}
	if err := r.outage(ctx, img, k.security, scanOutage, sbomOutage); err != nil {
		return err
	}
	bare, err := r.verifyStaging(ctx, img, k)
	if err != nil {
		return err
	}
	return r.promote(ctx, img, filepath.Join(r.work, "build", r.svc.name), k.policyPath, signing, bare)
}

// prepare makes the run's keys and policy and its runner environment, and
// prints what the run uses.
func (r *runner) prepare(host string) (runKeys, error) {
	s := r.svc
	keys := filepath.Join(r.work, "keys")
	release, err := newKey(keys, "release")
	if err != nil {
		return runKeys{}, err
	}
	security, err := newKey(keys, "security")
	if err != nil {
		return runKeys{}, err
	}
	policyPath := filepath.Join(r.work, "policy.yaml")
	source, err := localPolicy(s, policyPath, release, security)
	if err != nil {
		return runKeys{}, err
	}
	r.env = r.runnerEnv()
	if err := os.MkdirAll(r.env["RUNNER_TEMP"], 0o700); err != nil {
		return runKeys{}, errkind.Infra(err)
	}

	r.printf("secure-gates pipeline: %s (module %s, repository %s, commit %s)\n", s.dir, s.module, s.repository, short(s.sha))
	r.printf("  registry   %s (in-process, this run only)\n", host)
	r.printf("  keys       release %s, security %s (ephemeral: trusted by this run's policy only)\n", short(release.fingerprint), short(security.fingerprint))
	r.printf("  policy     %s\n             signers replaced by the release key, exception signers by the security key: %s\n", source, policyPath)
	r.printf("  work       %s%s\n\n", r.work, map[bool]string{true: " (kept)", false: " (removed at the end; --keep keeps it)"}[r.o.Keep || r.o.WorkDir != ""])
	return runKeys{release: release, security: security, policyPath: policyPath}, nil
}

// dbInputs are the vulnerability DB inputs of the scan and sbom gates.
func (r *runner) dbInputs() map[string]string {
	db := map[string]string{"on-scanner-outage": r.o.OnScannerOutage}
	if r.o.DBDir != "" {
		db["db-dir"] = r.o.DBDir
	}
	if r.o.DBCache != "" {
		db["db-cache"] = r.o.DBCache // else both gates use their shared default
	}
	return db
}

// writeExceptions returns the exceptions file the gates read, writing an
// empty one when the service has none.
func (r *runner) writeExceptions() (string, error) {
	exceptions := r.exceptionsFile()
	if r.svc.exceptions == "" {
		if err := os.WriteFile(exceptions, []byte("exceptions: []\n"), 0o644); err != nil {
			return "", errkind.Infra(err)
		}
	}
	return exceptions, nil
}

// scanSource runs gates 1 and 2 at the source; outage says why the code
// scan did not run ("" when it did).
func (r *runner) scanSource(ctx context.Context, db map[string]string, exceptions string) (scan GateResult, outage string, err error) {
	scan, err = r.gate(ctx, "scan", merge(db, map[string]string{
		"path": r.svc.dir, "output-dir": filepath.Join(r.work, "scan"), "upload-sarif": "false", "exceptions": exceptions,
	}))
	if err != nil {
		return GateResult{}, "", err
	}
	outage = codeScanOutage(scan.Outputs["code-scan-predicate"])
	r.verdict("scan", scan, fmt.Sprintf("%s — critical %s, high %s, medium %s, low %s, secrets %s", scan.Outputs["verdict"],
		scan.Outputs["critical"], scan.Outputs["high"], scan.Outputs["medium"], scan.Outputs["low"], scan.Outputs["secrets"]), outage)
	return scan, outage, nil
}

// build builds the service's image, without Docker, and pushes it to the
// run's registry; it returns the image by digest.
func (r *runner) build(ctx context.Context, host string) (string, error) {
	s := r.svc
	ref, err := buildImage(ctx, s, r.work, host+"/"+s.repository, short(s.sha))
	if err != nil {
		r.printf("✗ build      %v\n", err)
		return "", err
	}
	r.res.Image = ref.String()
	r.printf("✓ build      %s (go build → one layer, non-root; tag %s resolved once, never used again)\n", ref, ref.Tag)
	return ref.String(), nil
}

// scanImage runs gate 2 at the image; outage says why the image
// vulnerability scan did not run ("" when it did).
func (r *runner) scanImage(ctx context.Context, img string, db map[string]string, exceptions string) (sbom GateResult, outage string, err error) {
	sbom, err = r.gate(ctx, "sbom", merge(db, map[string]string{
		"image": img, "output-dir": filepath.Join(r.work, "sbom"), "upload-sarif": "false", "exceptions": exceptions,
	}))
	if err != nil {
		return GateResult{}, "", err
	}
	if sbom.Outputs["vuln-predicate"] == "" {
		outage = "the image vulnerability scan did not run (the same DB; " + sbom.Log + ")"
	}
	r.verdict("sbom", sbom, fmt.Sprintf("%s packages; CycloneDX %s, SPDX %s; vulnerabilities: critical %s, high %s",
		sbom.Outputs["packages"], rel(r.work, sbom.Outputs["cyclonedx"]), rel(r.work, sbom.Outputs["spdx"]), cmp.Or(sbom.Outputs["critical"], "-"), cmp.Or(sbom.Outputs["high"], "-")), outage)
	return sbom, outage, nil
}

// signAndAttest runs gate 3: sign the image, attest the scans, SBOMs and
// provenance.
func (r *runner) signAndAttest(ctx context.Context, img string, signing map[string]string, scan, sbom GateResult) error {
	sign, err := r.gate(ctx, "sign", merge(signing, map[string]string{"image": img}))
	if err != nil {
		return err
	}
	r.verdict("sign", sign, "signed by "+sign.Outputs["signer"]+" (legacy .sig tag and Sigstore bundle referrer)", "")
	preds := []string{"code-scan=" + scan.Outputs["code-scan-predicate"], "cyclonedx=" + sbom.Outputs["cyclonedx"], "spdx=" + sbom.Outputs["spdx"]}
	if v := sbom.Outputs["vuln-predicate"]; v != "" {
		preds = append(preds, "vuln="+v)
	}
	attest, err := r.gate(ctx, "attest", merge(signing, map[string]string{"image": img, "provenance": "true", "predicates": strings.Join(preds, "\n")}))
	if err != nil {
		return err
	}
	r.verdict("attest", attest, attestedTypes(attest.Outputs["attestations"])+" (provenance from this run: SLSA Build L2 shape, ephemeral key)", "")
	return nil
}

// outageIDs are the requirements an outage exception waives: the code scan
// needs the vulnerability scan waived too (both read the same DB).
func outageIDs(scanOutage, sbomOutage string) []string {
	var outages []string
	if sbomOutage != "" {
		outages = append(outages, "outage:vuln")
	}
	if scanOutage != "" {
		outages = append(outages, "outage:code-scan")
		if sbomOutage == "" {
			outages = append(outages, "outage:vuln")
		}
	}
	return outages
}

// outage runs the scanner-outage procedure when a scanner did not run: page
// security, record the skip as a signed, short-lived exception.
func (r *runner) outage(ctx context.Context, img string, security keyPair, scanOutage, sbomOutage string) error {
	outages := outageIDs(scanOutage, sbomOutage)
	if len(outages) == 0 {
		return nil
	}
	r.res.Outage = strings.Join(nonEmpty(scanOutage, sbomOutage), "; ")
	exc, err := r.outageException(ctx, img, security, outages)
	if err != nil {
		return err
	}
	r.verdict("outage", exc, fmt.Sprintf("PAGE SECURITY: scanners did not run; outage exception for %s signed by the security key, expires in %s",
		strings.Join(outages, ", "), outageTTL), "the image must be scanned before the exception expires")
	return nil
}

// verifyStaging runs gate 4: verify the whole chain, deploy by digest to
// staging (through a GitOps repository when the service has an overlay,
// whose path it returns). Its error is the gate's.
func (r *runner) verifyStaging(ctx context.Context, img string, k runKeys) (bare string, err error) {
	s := r.svc
	with := map[string]string{"image": img, "policy": k.policyPath, "environment": "staging", "report": filepath.Join(r.work, "verify", "report.json"),
		"vsa-key": k.release.private}
	if s.overlay != "" {
		if bare, err = gitopsRepo(ctx, s, r.work); err != nil {
			return "", err
		}
		with["deploy"], with["gitops-repo"], with["gitops-path"], with["gitops-image"] = "gitops", bare, s.overlay, s.imageName
	}
	// The run's policy names its keys relative to the work folder: that is the
	// workspace verify-and-deploy resolves them in.
	vd, vdErr := r.gateEnv(ctx, "verify-and-deploy", with, map[string]string{"GITHUB_WORKSPACE": r.work})
	rep := readReport(with["report"])
	if rep != nil {
		r.res.Verified = rep.Verified
	}
	if p := vd.Outputs["vsa"]; p != "" {
		r.vsa = p
		if rep != nil && rep.Verified && with["vsa-key"] != "" {
			r.vsa += " (attested on the digest with the release key)"
		}
	}
	if vdErr == nil {
		if err := r.stagingVerdict(ctx, vd, rep, bare); err != nil {
			return "", err
		}
	}
	r.chain(rep, bare)
	return bare, vdErr
}

// stagingVerdict prints the staging verification's verdict, reading the
// deployed kustomization back from the GitOps repository bare (if any).
func (r *runner) stagingVerdict(ctx context.Context, vd GateResult, rep *verify.Report, bare string) error {
	detail := "verified"
	if rep != nil && len(rep.OutagesWaived) > 0 {
		detail += " — SCANNER OUTAGE waived by a signed exception for: " + strings.Join(rep.OutagesWaived, ", ")
	}
	if bare != "" {
		k, err := git(ctx, bare, "show", "main:"+r.svc.overlay+"/kustomization.yaml")
		if err != nil {
			return errkind.Infra(fmt.Errorf("pipeline: reading the deployed kustomization: %w", err))
		}
		r.res.Deployed = k
		detail += "; deployed " + r.svc.overlay + " in " + bare
	}
	r.verdict("verify", vd, detail, "")
	return nil
}

// gate runs one gate in this process, as a runner would run its action: inputs
// through the same collection path (action.yml defaults for what with leaves
// out), the run's GITHUB_* context, a step summary file, outputs captured.
// A gate that fails stops the chain: its verdict line is printed here.
func (r *runner) gate(ctx context.Context, name string, with map[string]string) (GateResult, error) {
	return r.gateEnv(ctx, name, with, nil)
}

// gateEnv is gate with variables added to the run's environment for this gate.
func (r *runner) gateEnv(ctx context.Context, name string, with, extraEnv map[string]string) (GateResult, error) {
	res := GateResult{Name: name, Log: filepath.Join(r.work, "logs", name+".log"), Summary: filepath.Join(r.work, "summaries", name+".md")}
	for _, d := range []string{filepath.Dir(res.Log), filepath.Dir(res.Summary)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return res, errkind.Infra(err)
		}
	}
	var g *gate.Gate
	for i := range r.o.Gates {
		if r.o.Gates[i].Name == name {
			g = &r.o.Gates[i]
		}
	}
	if g == nil {
		return res, errkind.Infra(fmt.Errorf("pipeline: this binary has no %s gate", name))
	}
	a, err := gha.ParseAction(g.ActionYAML)
	if err != nil {
		return res, errkind.Infra(fmt.Errorf("pipeline: reading the %s action: %w", name, err))
	}
	logf, err := os.Create(res.Log)
	if err != nil {
		return res, errkind.Infra(err)
	}
	defer logf.Close()
	var out io.Writer = logf
	if r.o.Verbose {
		out = io.MultiWriter(logf, prefixWriter{w: r.o.Out, prefix: "  " + name + " | "})
	}
	env := merge(merge(r.env, extraEnv), map[string]string{"GITHUB_STEP_SUMMARY": res.Summary})
	rt := gha.New(gha.Options{Getenv: func(k string) string { return env[k] }, Stdout: out})
	var args []string
	keys := make([]string, 0, len(with))
	for k := range with {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--"+k+"="+with[k])
	}
	raw, err := rt.CollectInputs(a, args, "")
	if err != nil {
		return res, errkind.Infra(fmt.Errorf("pipeline: inputs of %s: %w", name, err))
	}
	res.Err = g.Run(ctx, rt, raw)
	res.Outputs = map[string]string{}
	for _, kv := range rt.LocalOutputs() {
		res.Outputs[kv.Name] = kv.Value
	}
	r.res.Gates = append(r.res.Gates, res)
	if res.Err != nil {
		r.verdict(name, res, "", "")
		return res, fmt.Errorf("%s: %w", name, res.Err)
	}
	return res, nil
}

// verdict prints a gate's line: ✓, ⚠ (passed with an outage) or ✗ with the
// error and where its log and summary are.
func (r *runner) verdict(name string, g GateResult, detail, outage string) {
	switch {
	case g.Err != nil:
		code := errkind.ExitCode(g.Err)
		r.printf("✗ %-10s %s (exit %d)\n", name, textclip.Fold(g.Err.Error()), code)
		r.printf("             log %s, summary %s\n", g.Log, g.Summary)
		if tail := lastLines(g.Log, 15); tail != "" {
			r.printf("%s", indent(tail, "             | "))
		}
	case outage != "":
		r.printf("⚠ %-10s %s\n             SCANNER OUTAGE: %s\n", name, detail, textclip.Line(outage, 400))
	default:
		r.printf("✓ %-10s %s\n", name, detail)
	}
}

// chain prints what verify-and-deploy found: each requirement and what
// satisfied it.
func (r *runner) chain(rep *verify.Report, bare string) {
	if rep == nil {
		return
	}
	r.printf("\nAttestation chain of %s (policy %s):\n", rep.Image, short(rep.Policy.Digest))
	for _, q := range rep.Requirements {
		mark, why := q.Mark()
		r.printf("  %s %-16s %s\n", mark, q.Name, textclip.Line(why, 240))
	}
	for _, in := range rep.Inputs {
		what := in.Kind
		if in.PredicateType != "" {
			what = in.PredicateType
		}
		r.printf("    input  %-52s %s %s\n", what, in.Format, short(in.Digest))
	}
	for _, o := range rep.Superseded {
		r.printf("    superseded %-16s %s %s (%s), newer evidence decides\n", o.Requirement, o.Format, short(o.Digest), o.Time.UTC().Format(time.RFC3339))
	}
	for _, e := range rep.ExceptionsUsed {
		r.printf("    exception %s: ticket %s, expires %s, waived %d\n", short(e.ID), e.Ticket, e.Expires.UTC().Format(time.RFC3339), e.FindingsWaived)
	}
	if r.vsa != "" {
		r.printf("    VSA    %s\n", r.vsa)
	}
	if rep.Verified {
		r.printf("\nVERIFIED")
		if r.res.Deployed != "" {
			r.printf(" and DEPLOYED by digest: %s in %s now names %s", r.svc.overlay, bare, rep.Digest)
		}
		r.printf(".\n")
	} else {
		r.printf("\nNOT VERIFIED: the digest was not deployed.\n")
	}
}

// outageException signs the run's outage exception with the security key: the
// security team's part of the scanner-outage procedure.
func (r *runner) outageException(ctx context.Context, img string, security keyPair, ids []string) (GateResult, error) {
	pred := attestation.Exception{
		Findings: ids,
		Reason:   "scanner outage during a local pipeline run: " + textclip.Line(r.res.Outage, 200),
		Ticket:   "LOCAL-OUTAGE-" + r.env["GITHUB_RUN_ID"],
		Approver: "security (this run's ephemeral security key)",
		Expires:  time.Now().Add(outageTTL).UTC().Truncate(time.Second),
	}
	data, err := json.MarshalIndent(pred, "", "  ")
	if err != nil {
		return GateResult{}, errkind.Infra(err)
	}
	p := filepath.Join(r.work, "outage-exception.json")
	if err := os.WriteFile(p, append(data, '\n'), 0o644); err != nil {
		return GateResult{}, errkind.Infra(err)
	}
	return r.gate(ctx, "attest", map[string]string{"image": img, "key": security.private, "tlog-upload": "false",
		"signature-format": "both", "require-digest": "true", "predicates": "exception=" + p})
}

// runnerEnv is the GitHub context the gates see: the repository's identity and
// commit, a push to its branch, this machine as a self-described local runner.
// GITHUB_ACTIONS stays unset: the gates run in their local mode (no workflow
// commands, no code-scanning upload).
func (r *runner) runnerEnv() map[string]string {
	s := r.svc
	return map[string]string{
		"GITHUB_REPOSITORY":   s.repository,
		"GITHUB_SHA":          s.sha,
		"GITHUB_REF":          s.ref,
		"GITHUB_EVENT_NAME":   "push",
		"GITHUB_SERVER_URL":   "https://github.com",
		"GITHUB_RUN_ID":       strconv.FormatInt(time.Now().Unix(), 10),
		"GITHUB_RUN_ATTEMPT":  "1",
		"GITHUB_WORKFLOW":     "secure-gates pipeline (local)",
		"GITHUB_WORKFLOW_REF": s.repository + "/" + s.workflow + "@" + cmp.Or(s.ref, "refs/heads/main"),
		"GITHUB_ACTOR":        "local",
		"GITHUB_JOB":          "pipeline",
		"RUNNER_ENVIRONMENT":  "local",
		"RUNNER_OS":           runtime.GOOS,
		"RUNNER_ARCH":         runtime.GOARCH,
		"RUNNER_TEMP":         filepath.Join(r.work, "tmp"),
		"HOME":                os.Getenv("HOME"),
		"PATH":                os.Getenv("PATH"),
	}
}

// gitopsRepo makes a bare repository holding the service's deploy/ folder: the
// GitOps repository verify-and-deploy commits the digest to.
func gitopsRepo(ctx context.Context, s *service, work string) (string, error) {
	bare := filepath.Join(work, "gitops.git")
	seed := filepath.Join(work, "gitops-seed")
	steps := [][]string{
		{"init", "--quiet", "--bare", "--initial-branch=main", bare},
		{"init", "--quiet", "--initial-branch=main", seed},
	}
	for _, a := range steps {
		if _, err := git(ctx, work, a...); err != nil {
			return "", err
		}
	}
	if err := os.CopyFS(filepath.Join(seed, "deploy"), os.DirFS(filepath.Join(s.dir, "deploy"))); err != nil {
		return "", errkind.Infra(fmt.Errorf("pipeline: copying deploy/ into the GitOps repository: %w", err))
	}
	for _, a := range [][]string{{"add", "."}, {"commit", "--quiet", "-m", "seed: " + s.repository + " deploy/"}, {"push", "--quiet", bare, "HEAD:main"}} {
		if _, err := git(ctx, seed, a...); err != nil {
			return "", err
		}
	}
	return bare, nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := gitcmd.Git{Dir: dir, ExtraEnv: []string{"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=secure-gates pipeline", "GIT_AUTHOR_EMAIL=pipeline@secure-gates.invalid",
		"GIT_COMMITTER_NAME=secure-gates pipeline", "GIT_COMMITTER_EMAIL=pipeline@secure-gates.invalid"}}.Combined(ctx, nil, args...)
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return "", errkind.Input(fmt.Errorf("pipeline: the GitOps deploy needs git on PATH: %w", err))
		}
		return "", errkind.Infra(fmt.Errorf("pipeline: git %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(string(out))))
	}
	return string(out), nil
}

// codeScanOutage reads the outages the scan recorded in its code-scan predicate.
func codeScanOutage(path string) string {
	data, err := readfile.Bounded(path, attestation.DefaultMaxPayloadBytes)
	if err != nil {
		return ""
	}
	var p attestation.CodeScan
	if json.Unmarshal(data, &p) != nil {
		return ""
	}
	var l []string
	for _, o := range p.Outages {
		l = append(l, o.Scanner+" did not run: "+o.Reason)
	}
	return strings.Join(l, "; ")
}

func readReport(path string) *verify.Report {
	data, err := readfile.Bounded(path, 64<<20)
	if err != nil {
		return nil
	}
	var rep verify.Report
	if json.Unmarshal(data, &rep) != nil {
		return nil
	}
	return &rep
}

func attestedTypes(outputJSON string) string {
	var list []struct {
		Type string `json:"type"`
	}
	if json.Unmarshal([]byte(outputJSON), &list) != nil || len(list) == 0 {
		return "nothing attested"
	}
	names := make([]string, 0, len(list))
	for _, a := range list {
		n := a.Type
		for _, p := range attestation.PredicateTypes() {
			if p.URI == a.Type {
				n = p.Name
			}
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

func lastLines(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// prefixWriter prefixes each line written (the --verbose gate logs).
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	s := strings.TrimRight(string(b), "\n")
	_, err := io.WriteString(p.w, p.prefix+strings.ReplaceAll(s, "\n", "\n"+p.prefix)+"\n")
	return len(b), err
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func rel(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func short(d string) string {
	if strings.HasPrefix(d, "sha256:") && len(d) > 19 {
		return d[:19]
	}
	if len(d) == 40 || len(d) == 64 {
		return d[:12]
	}
	return d
}

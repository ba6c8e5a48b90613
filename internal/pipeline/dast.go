package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/policy"
	"github.com/secure-gates/secure-gates/pkg/textclip"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// The promotion stage (gate 4's second half), played locally: once the digest
// is deployed to staging, the service's binary — the one in the image — runs on
// loopback as the staging environment, wapiti attacks it, the dast gate decides
// on wapiti's real report, attest signs the verdict on the digest (a failing one
// too: it is evidence), and verify-and-deploy promotes the digest to production
// only when the policy's dast requirement holds.

// The DAST modes (Options.DAST).
const (
	// DASTAuto runs the stage when the policy requires dast and wapiti is
	// on PATH, and says why when it does not.
	DASTAuto = "auto"
	// DASTOn runs the stage when the policy requires dast; a missing wapiti
	// is an input error.
	DASTOn = "on"
	// DASTOff never runs it.
	DASTOff = "off"
)

// wapitiModules are the attack modules run: injections that a small HTTP
// service can have, within maxScanTime.
const (
	wapitiModules = "xss,sql,exec,file,redirect,crlf"
	maxScanTime   = 120 * time.Second
)

// dastRequirement returns the policy's dast requirement, if any.
func dastRequirement(policyPath string) (policy.Requirement, bool) {
	p, err := policy.Load(policyPath, policy.Options{BaseDir: filepath.Dir(policyPath)})
	if err != nil {
		return policy.Requirement{}, false
	}
	return p.Requirement(attestation.PredicateDAST)
}

// promote runs the stage after the staging deploy of img. bin is the service
// binary in the image. It returns the error that stopped it.
func (r *runner) promote(ctx context.Context, img, bin, policyPath string, signing map[string]string, bare string) error {
	req, ok := dastRequirement(policyPath)
	if !ok || r.o.DAST == DASTOff {
		return nil
	}
	r.printf("\nPromotion: the policy requires a passing DAST of this digest in %s before any other environment.\n", req.Environment)
	wapiti, err := r.dastScanner(req)
	if wapiti == "" {
		return err
	}

	// Staging: the image's binary on loopback.
	url, stop, err := r.startService(ctx, bin)
	if err != nil {
		return err
	}
	defer stop()
	r.printf("✓ staging    %s runs %s (the image's binary on loopback)\n", url, img)

	report, err := r.attack(ctx, wapiti, url)
	if err != nil {
		return err
	}
	d, dErr := r.dastGate(ctx, req, img, url, report)
	pred := d.Outputs["dast-predicate"]
	if pred == "" {
		return dErr
	}
	// Attested whatever it decided: production's verify-and-deploy refuses a
	// failing DAST with the reason.
	att, err := r.gate(ctx, "attest", merge(signing, map[string]string{"image": img, "predicates": "dast=" + pred}))
	if err != nil {
		return err
	}
	r.verdict("attest", att, "dast verdict "+d.Outputs["verdict"]+" attested on the digest", "")

	vdErr := r.production(ctx, req, img, policyPath, signing["key"], bare)
	if dErr != nil && vdErr == nil {
		// Cannot happen with a consistent policy: a failing DAST is never a pass.
		return dErr
	}
	return vdErr
}

// dastScanner finds wapiti on a machine that can run the staging stand-in.
// It returns "" when DAST cannot run: with an error under --dast on, else
// after printing why it is skipped.
func (r *runner) dastScanner(req policy.Requirement) (string, error) {
	wapiti, err := exec.LookPath("wapiti")
	if err != nil {
		if r.o.DAST == DASTOn {
			return "", errkind.Input(errors.New("pipeline: --dast on needs wapiti on PATH (Debian: apt-get install wapiti)"))
		}
		r.printf("- dast       skipped: wapiti is not on PATH (apt-get install wapiti, or --dast off); the digest stays in %s\n", req.Environment)
		return "", nil
	}
	if runtime.GOOS != "linux" {
		if r.o.DAST == DASTOn {
			return "", errkind.Input(fmt.Errorf("pipeline: --dast on runs the image's linux binary as the staging service; this machine runs %s", runtime.GOOS))
		}
		r.printf("- dast       skipped: the staging stand-in runs the image's linux binary, and this machine runs %s\n", runtime.GOOS)
		return "", nil
	}
	return wapiti, nil
}

// attack runs wapiti against the staging service at url and returns its
// report's path.
func (r *runner) attack(ctx context.Context, wapiti, url string) (string, error) {
	dir := filepath.Join(r.work, "dast")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", errkind.Infra(err)
	}
	report := filepath.Join(dir, "wapiti.json")
	if err := runWapiti(ctx, wapiti, url, report, filepath.Join(dir, "home")); err != nil {
		r.printf("✗ wapiti     %v\n", err)
		return "", err
	}
	r.printf("✓ wapiti     modules %s against %s (report %s)\n", wapitiModules, url, rel(r.work, report))
	return report, nil
}

// dastGate runs the dast gate on wapiti's report. The gate decides at the
// policy's deny risk, so its verdict and the promotion rule agree.
func (r *runner) dastGate(ctx context.Context, req policy.Requirement, img, url, report string) (GateResult, error) {
	failOn := "high"
	if req.Deny != nil && req.Deny.Risk != "" {
		failOn = req.Deny.Risk
	}
	with := map[string]string{"report": report, "environment": req.Environment, "target": url, "image": img,
		"fail-on": failOn, "output-dir": filepath.Join(r.work, "dast", "out"), "exceptions": r.exceptionsFile()}
	if rules := filepath.Join(r.svc.dir, ".zap", "rules.tsv"); fileExists(rules) {
		with["rules-file"] = rules // ZAP's rules file, as the reusable workflow passes it
	}
	d, err := r.gate(ctx, "dast", with)
	if err == nil && d.Outputs["dast-predicate"] != "" {
		r.verdict("dast", d, fmt.Sprintf("%s — high %s, medium %s, low %s (fail-on %s)", d.Outputs["verdict"], d.Outputs["high"], d.Outputs["medium"], d.Outputs["low"], failOn), "")
	}
	return d, err
}

// production verifies img for production (deploying it through the GitOps
// repository bare when the service has a production overlay) and prints
// whether it was promoted. Its error is the gate's.
func (r *runner) production(ctx context.Context, req policy.Requirement, img, policyPath, vsaKey, bare string) error {
	with := map[string]string{"image": img, "policy": policyPath, "environment": "production", "report": filepath.Join(r.work, "verify-production", "report.json"),
		"vsa-key": vsaKey}
	overlay := strings.Replace(r.svc.overlay, "staging", "production", 1)
	if bare != "" && overlay != r.svc.overlay {
		if _, err := os.Stat(filepath.Join(r.svc.dir, overlay, "kustomization.yaml")); err == nil {
			with["deploy"], with["gitops-repo"], with["gitops-path"], with["gitops-image"] = "gitops", bare, overlay, r.svc.imageName
		}
	}
	vd, vdErr := r.gateEnv(ctx, "verify-and-deploy", with, map[string]string{"GITHUB_WORKSPACE": r.work})
	rep := readReport(with["report"])
	r.res.Promoted = vdErr == nil && rep != nil && rep.Verified
	if vdErr == nil {
		detail := "verified for production"
		if with["deploy"] == "gitops" {
			detail += "; deployed " + overlay + " in " + bare
		}
		r.verdict("production", vd, detail, "")
	}
	if rep != nil {
		r.dastRequirements(rep)
	}
	if r.res.Promoted {
		r.printf("\nPROMOTED to production by digest %s.\n", rep.Digest)
	} else {
		r.printf("\nNOT PROMOTED: the digest stays in %s.\n", req.Environment)
	}
	return vdErr
}

// dastRequirements prints the verdict of the report's dast requirements.
func (r *runner) dastRequirements(rep *verify.Report) {
	for _, q := range rep.Requirements {
		if q.PredicateType != attestation.PredicateDAST {
			continue
		}
		mark, why := "✓", q.Detail
		if !q.Passed {
			mark, why = "✗", strings.Join(q.Reasons, "; ")
		}
		r.printf("  %s %-16s %s\n", mark, q.Name, textclip.Line(why, 400))
	}
}

// exceptionsFile is the exceptions file the gates read.
func (r *runner) exceptionsFile() string {
	if r.svc.exceptions != "" {
		return r.svc.exceptions
	}
	return filepath.Join(r.work, "no-exceptions.yaml")
}

// startService runs bin listening on a loopback port and waits until it
// answers HTTP. The address is given the usual ways a service reads it: PORT,
// ADDR and <NAME>_ADDR (the example reads WIDGETS_ADDR).
func (r *runner) startService(ctx context.Context, bin string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, errkind.Infra(fmt.Errorf("pipeline: finding a loopback port for staging: %w", err))
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PORT=" + port, "ADDR=" + addr,
		strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(r.svc.name)) + "_ADDR=" + addr}
	logf, err := os.Create(filepath.Join(r.work, "logs", "staging-service.log"))
	if err != nil {
		return "", nil, errkind.Infra(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", nil, errkind.Infra(fmt.Errorf("pipeline: starting the service as staging: %w", err))
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	}
	url := "http://" + addr + "/"
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return url, stop, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", nil, errkind.Infra(fmt.Errorf("pipeline: the service did not answer on %s within 20s (it reads its address from PORT, ADDR or %s_ADDR; log %s): %v",
				addr, strings.ToUpper(r.svc.name), filepath.Join(r.work, "logs", "staging-service.log"), err))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runWapiti attacks url with wapiti's injection modules, bounded in time, and
// writes its JSON report.
func runWapiti(ctx context.Context, wapiti, url, report, home string) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return errkind.Infra(err)
	}
	ctx, cancel := context.WithTimeout(ctx, maxScanTime+60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wapiti, "-u", url, "--scope", "folder", "-m", wapitiModules, "--flush-session",
		"--max-scan-time", fmt.Sprint(int(maxScanTime.Seconds())), "-f", "json", "-o", report)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errkind.Infra(fmt.Errorf("pipeline: wapiti against %s: %w\n%s", url, err, lastN(string(out), 15)))
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func lastN(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

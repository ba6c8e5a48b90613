package actiontest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/attestation"
	"github.com/secure-gates/secure-gates/pkg/verify"
)

// staging is the staging environment of the promotion test: a stable URL
// (a reverse proxy on loopback) in front of the service binary of the digest
// the GitOps repository's staging overlay names, started when it is scanned.
type staging struct {
	t    *testing.T
	mu   sync.Mutex
	bins map[string]string // digest → the service binary in that image
	back *url.URL
	url  string
}

func newStaging(t *testing.T) *staging {
	s := &staging{t: t, bins: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		back := s.back
		s.mu.Unlock()
		if back == nil {
			http.Error(w, "staging runs nothing", http.StatusBadGateway)
			return
		}
		httputil.NewSingleHostReverseProxy(back).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/"
	return s
}

// run starts bin as the staging service until the returned stop.
func (s *staging) run(bin string) func() {
	s.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"WIDGETS_ADDR=" + addr}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		s.mu.Lock()
		s.back = nil
		s.mu.Unlock()
	}
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i == 100 {
			stop()
			s.t.Fatalf("the staging service did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.mu.Lock()
	s.back = &url.URL{Scheme: "http", Host: addr}
	s.mu.Unlock()
	return stop
}

// buildService builds the service in dir as the image's binary and returns
// the binary and its layer.
func buildService(t *testing.T, dir string) (bin, layer string) {
	t.Helper()
	rootfs := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(rootfs, "widgets"), ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the service: %v\n%s", err, out)
	}
	return filepath.Join(rootfs, "widgets"), testinfra.LayerFromDir(t, rootfs)
}

// xssVariant is the example service with a regression: a search page that
// reflects its q parameter unescaped, linked from /.
func xssVariant(t *testing.T, src string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "widgets-xss")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "main.go")
	data, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	handlers := "\tmux.HandleFunc(\"GET /{$}\", func(w http.ResponseWriter, _ *http.Request) {\n" +
		"\t\tw.Header().Set(\"Content-Type\", \"text/html; charset=utf-8\")\n" +
		"\t\t_, _ = w.Write([]byte(`<html><body><a href=\"/search?q=sprocket\">search</a></body></html>`))\n\t})\n" +
		"\tmux.HandleFunc(\"GET /search\", func(w http.ResponseWriter, r *http.Request) {\n" +
		"\t\tw.Header().Set(\"Content-Type\", \"text/html; charset=utf-8\")\n" +
		"\t\t_, _ = w.Write([]byte(\"<html><body><p>Results for \" + r.URL.Query().Get(\"q\") + \"</p></body></html>\"))\n\t})\n"
	patched := strings.Replace(string(data), "\treturn mux\n", handlers+"\treturn mux\n", 1)
	if patched == string(data) {
		t.Fatal("the example's main.go no longer ends newMux with `return mux`: update the variant")
	}
	if err := os.WriteFile(main, []byte(patched), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (w *e2eWorld) deployedIn(overlay string) string {
	w.t.Helper()
	m := stagingDigest.FindStringSubmatch(vdShow(w.t, w.bare, "overlays/"+overlay+"/kustomization.yaml"))
	if m == nil {
		return ""
	}
	return m[1]
}

// TestPromotionWorkflow runs the reusable workflow's staging → DAST →
// production path offline, as the runner would: the digest is deployed to
// staging through GitOps, the service binary of the digest staging names runs
// behind the staging URL and is attacked for real by wapiti (standing in for
// zaproxy/action-baseline, which writes report_json.json the same way), the
// dast gate decides on wapiti's real report, attest signs the verdict on the
// digest keylessly, and verify-and-deploy promotes to production only when the
// policy's dast requirement holds:
//  1. the example service passes its DAST and is promoted: production names
//     the digest;
//  2. a build with a reflected XSS is deployed to staging, fails its DAST
//     (attested all the same) and stops at verify-and-deploy to production
//     with the reason; production still names the first digest;
//  3. re-running the production job once the passing DAST of the first digest
//     is older than max-age stops at verify-and-deploy with the reason.
func TestPromotionWorkflow(t *testing.T) {
	t.Parallel()
	wapiti, err := exec.LookPath("wapiti")
	if err != nil {
		t.Skip("wapiti is not installed (apt-get install wapiti; scripts/test installs it): the promotion workflow test is skipped")
	}
	w := newE2EWorld(t)
	w.bare = vdGitOpsRepo(t, w.image, "staging", "production")
	policy := func(maxAge string) {
		data, err := os.ReadFile(filepath.Join(w.source, ".secure-gates", "policy.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		if i := strings.Index(s, "  - type: dast\n"); i >= 0 {
			j := strings.Index(s[i:], "exceptions:")
			s = s[:i] + s[i+j:]
		}
		// wapiti rates a reflected XSS medium (level 2): the bar is medium.
		s = strings.Replace(s, "exceptions:", "  - type: dast\n    environment: staging\n    max-age: "+maxAge+"\n    deny: {risk: medium}\nexceptions:", 1)
		if err := os.WriteFile(filepath.Join(w.source, ".secure-gates", "policy.yaml"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	policy("1h")
	st := newStaging(t)
	cleanBin, cleanLayer := buildService(t, w.source)
	variant := xssVariant(t, w.source)
	xssBin, xssLayer := buildService(t, variant)

	scans := 0
	promote := func(source, bin, layer string) (map[string]*JobResult, string, *WorkflowRun) {
		var digest string
		wr := w.workflowRun([]string{layer}, &digest)
		wr.Source = source
		wr.Inputs["staging-url"] = st.url
		wr.Inputs["dast-fail-on"] = "medium"
		wr.Inputs["production-gitops-path"] = "overlays/production"
		build := wr.Build
		wr.Build = func(with map[string]string) (map[string]string, error) {
			out, err := build(with)
			st.bins[digest] = bin
			return out, err
		}
		wr.DAST = func(action string, with map[string]string, ws string) error {
			if action != "zaproxy/action-baseline" || with["target"] != st.url || with["fail_action"] != "false" || with["allow_issue_writing"] != "false" {
				t.Errorf("%s with %v: want the baseline scan of %s that neither fails nor writes issues", action, with, st.url)
			}
			scans++
			deployed := w.deployedIn("staging")
			bin, ok := st.bins[deployed]
			if !ok {
				return fmt.Errorf("staging runs %q, which no build made", deployed)
			}
			stop := st.run(bin)
			defer stop()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, wapiti, "-u", with["target"], "--scope", "folder", "-m", "xss", "--flush-session",
				"--max-scan-time", "45", "-f", "json", "-o", filepath.Join(ws, "report_json.json"))
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("wapiti: %v\n%s", err, out)
			}
			return nil
		}
		jobs, err := wr.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return jobs, digest, wr
	}

	// 1. The example service: staging, a passing DAST, production.
	jobs, clean, wr1 := promote(w.source, cleanBin, cleanLayer)
	run1 := jobs
	wantJobs(t, jobs, map[string]string{"scan": "success", "build": "success", "sbom": "success", "sign-attest": "success",
		"deploy": "success", "dast": "success", "production": "success"})
	if t.Failed() {
		t.FailNow()
	}
	if got := w.deployedIn("staging"); got != clean {
		t.Errorf("staging names %s, want %s", got, clean)
	}
	if got := w.deployedIn("production"); got != clean {
		t.Errorf("production names %s, want the promoted %s", got, clean)
	}
	if jobs["dast"].Outputs["verdict"] != "pass" || jobs["production"].Outputs["verified"] != "true" || scans != 1 {
		t.Errorf("dast outputs %v, production outputs %v, %d scans", jobs["dast"].Outputs, jobs["production"].Outputs, scans)
	}
	// (Each job runs on a fresh runner: the predicate file went with the dast
	// job's workspace; what was attested is in the production report.)
	if s := jobs["dast"].Steps["dast"].Summary; !strings.Contains(s, "Target `"+st.url+"`, environment `staging`") {
		t.Errorf("the dast summary does not name the staging URL and environment:\n%s", s)
	}
	var prod verify.Report
	readJSON(t, filepath.Join(w.ws, jobs["production"].Steps["verify"].Outputs["report"]), &prod)
	if !slices.ContainsFunc(prod.Inputs, func(in verify.Input) bool { return in.PredicateType == attestation.PredicateDAST }) {
		t.Errorf("the production verification's inputs lack the dast attestation: %+v", prod.Inputs)
	}
	if s := jobs["deploy"].Steps["verify"].Summary; !strings.Contains(s, "not required for a deploy to staging") {
		t.Errorf("the staging deploy does not say the DAST is not required there:\n%s", s)
	}
	if s := jobs["production"].Steps["verify"].Summary; !strings.Contains(s, "DAST of "+st.url+" (staging)") {
		t.Errorf("the production deploy does not show the DAST it relied on:\n%s", s)
	}
	if n := len(w.cs.uploads); n != 3 {
		t.Errorf("%d SARIF uploads, want 3 (scan, sbom, dast)", n)
	}

	// 2. A reflected XSS: staging takes it, its DAST fails and is attested,
	// production refuses it with the reason.
	jobs, xss, _ := promote(variant, xssBin, xssLayer)
	wantJobs(t, jobs, map[string]string{"build": "success", "sign-attest": "success", "deploy": "success", "dast": "failure", "production": "failure"})
	if xss == clean {
		t.Fatal("the variant has the clean digest")
	}
	if got := w.deployedIn("staging"); got != xss {
		t.Errorf("staging names %s, want the variant %s", got, xss)
	}
	if got := w.deployedIn("production"); got != clean {
		t.Errorf("production names %s after a refused promotion, want still %s", got, clean)
	}
	if a := jobs["dast"].Steps["attest"]; a == nil || a.ExitCode != 0 {
		t.Errorf("the failing DAST was not attested: %+v", a)
	}
	if d := jobs["dast"].Steps["dast"]; d.ExitCode != 1 || d.Outputs["verdict"] != "fail" || !strings.Contains(d.Summary, "Cross Site Scripting") {
		t.Errorf("dast: exit %d, verdict %q\n%s", d.ExitCode, d.Outputs["verdict"], d.Summary)
	}
	vd := jobs["production"].Steps["verify"]
	for _, want := range []string{`DAST decision is "fail"`, "Cross Site Scripting", "BLOCKED"} {
		if vd.ExitCode != 1 || !strings.Contains(vd.Summary, want) {
			t.Errorf("production verify-and-deploy: exit %d, want 1 naming %q:\n%s", vd.ExitCode, want, vd.Summary)
		}
	}

	// 3. The first digest's passing DAST goes stale: re-running its production
	// job after max-age refuses it with the reason.
	policy("1s")
	time.Sleep(2 * time.Second) // the DAST is now older than 1s, whatever the machine's speed
	wr1.Previous, wr1.Rerun = run1, []string{"production"}
	rerun, err := wr1.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantJobs(t, rerun, map[string]string{"production": "failure"})
	vd = rerun["production"].Steps["verify"]
	for _, want := range []string{"DAST scan is", "older than max-age 1s"} {
		if vd.ExitCode != 1 || !strings.Contains(vd.Summary, want) {
			t.Errorf("stale DAST: exit %d, want 1 naming %q:\n%s", vd.ExitCode, want, vd.Summary)
		}
	}
	if scans != 2 {
		t.Errorf("%d scans, want 2: the re-run runs the production job only", scans)
	}
}

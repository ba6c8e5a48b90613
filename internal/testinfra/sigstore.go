package testinfra

import (
	"bufio"
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Sigstore is a running local keyless Sigstore stack: a GitHub-shaped OIDC
// issuer, Fulcio with an ephemeral CA, an RFC 3161 timestamp authority and Rekor
// v2 (POSIX tiles), all on loopback — shared/recipes/sigstore/stack.sh in Go.
type Sigstore struct {
	// Dir holds the stack's state, logs and the files below.
	Dir string
	// Issuer is the OIDC issuer URL (the certificate's issuer).
	Issuer string
	// TokenURL and RequestToken are what a runner puts in
	// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN.
	TokenURL, RequestToken string
	// FulcioURL, TimestampURL (the full /api/v1/timestamp endpoint) and RekorURL
	// (API v2) are the services.
	FulcioURL, TimestampURL, RekorURL string
	// TrustedRoot and SigningConfig are paths to trusted_root.json and
	// signing_config.json describing the stack.
	TrustedRoot, SigningConfig string
	// FulcioChain and TSAChain are PEM certificate chains (paths).
	FulcioChain, TSAChain string
	// Identity is the certificate identity tokens of this stack get:
	// https://github.com/<repo>/<workflow>@<ref>.
	Identity string
}

// SigstoreOptions shape the tokens the issuer mints.
type SigstoreOptions struct {
	// Repo is owner/name (default acme/widgets).
	Repo string
	// Workflow is the workflow path (default .github/workflows/release.yml).
	Workflow string
	// Ref is the git ref (default refs/heads/main).
	Ref string
}

// StartSigstore builds (once per machine) and starts the stack; it is stopped
// when t ends. Every service listens on a port of its own on loopback, so
// stacks of parallel tests and test binaries run side by side.
func StartSigstore(t testing.TB, o SigstoreOptions) *Sigstore {
	t.Helper()
	o.Repo = cmp.Or(o.Repo, "acme/widgets")
	o.Workflow = cmp.Or(o.Workflow, ".github/workflows/release.yml")
	o.Ref = cmp.Or(o.Ref, "refs/heads/main")
	bins := map[string]string{
		"fulcio": Fulcio.Path(t), "tsa": TimestampServer.Path(t), "rekor": RekorTiles.Path(t), "cosign": CosignCLI.Path(t),
		"oidc": buildFakeOIDC(t),
	}
	k := newSigstoreStack(t, bins)
	ports := freePorts(t, 7)
	k.startOIDC(o)
	k.startFulcio(ports[0], ports[1], ports[2])
	k.startTSA(ports[3])
	rekorPub := k.startRekor(ports[4], ports[5], ports[6])
	k.writeChains(fmt.Sprintf("127.0.0.1:%d", ports[4]))
	k.writeTrustConfig(rekorPub)
	return k.s
}

// sigstoreStack starts the processes of a Sigstore stack, logging each to
// log/<name>.log in its folder, and stops them when the test ends.
type sigstoreStack struct {
	t     testing.TB
	s     *Sigstore
	bins  map[string]string // a service's name: its binary
	logs  string
	procs []*exec.Cmd
}

func newSigstoreStack(t testing.TB, bins map[string]string) *sigstoreStack {
	t.Helper()
	k := &sigstoreStack{t: t, s: &Sigstore{Dir: t.TempDir(), RequestToken: "test-request-token"}, bins: bins}
	t.Cleanup(func() {
		for i := len(k.procs) - 1; i >= 0; i-- {
			stop(k.procs[i])
		}
	})
	k.logs = filepath.Join(k.s.Dir, "log")
	if err := os.Mkdir(k.logs, 0o755); err != nil {
		t.Fatal(err)
	}
	return k
}

// fail fails the test with the last lines of every service's log.
func (k *sigstoreStack) fail(format string, args ...any) {
	k.t.Helper()
	var tails []string
	entries, _ := os.ReadDir(k.logs)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(k.logs, e.Name()))
		tails = append(tails, "== "+e.Name()+" ==\n"+lastLines(string(b), 15))
	}
	k.t.Fatalf("sigstore stack: "+format+"\n%s", append(args, strings.Join(tails, "\n"))...)
}

// start starts the service name with args in the stack's folder, its output
// to its log (stdout to stdout when set).
func (k *sigstoreStack) start(name string, stdout io.Writer, args ...string) *exec.Cmd {
	k.t.Helper()
	f, err := os.Create(filepath.Join(k.logs, name+".log"))
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(func() { f.Close() })
	cmd := exec.Command(k.bins[name], args...)
	cmd.Dir = k.s.Dir
	cmd.Stderr = f
	cmd.Stdout = f
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if err := cmd.Start(); err != nil {
		k.fail("starting %s: %v", name, err)
	}
	k.procs = append(k.procs, cmd)
	return cmd
}

// startOIDC starts the OIDC issuer minting o's tokens and sets the issuer,
// token URL and identity: its first stdout line is the issuer URL.
func (k *sigstoreStack) startOIDC(o SigstoreOptions) {
	k.t.Helper()
	s := k.s
	pr, pw := io.Pipe()
	k.start("oidc", pw, "-addr", "127.0.0.1:0", "-repo", o.Repo, "-workflow", o.Workflow, "-ref", o.Ref, "-request-token", s.RequestToken)
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case s.Issuer = <-line:
	case <-time.After(10 * time.Second):
	}
	if !strings.HasPrefix(s.Issuer, "http://127.0.0.1:") {
		k.fail("the OIDC issuer did not start (got %q)", s.Issuer)
	}
	s.TokenURL = s.Issuer + "/token?api-version=2.0"
	s.Identity = "https://github.com/" + o.Repo + "/" + o.Workflow + "@" + o.Ref
}

// startFulcio starts Fulcio with an ephemeral CA, trusting the issuer as a
// GitHub workflow issuer.
func (k *sigstoreStack) startFulcio(port, grpcPort, metricsPort int) {
	k.t.Helper()
	s := k.s
	fulcioCfg := filepath.Join(s.Dir, "fulcio.json")
	cfg, _ := json.Marshal(map[string]any{"OIDCIssuers": map[string]any{s.Issuer: map[string]string{
		"IssuerURL": s.Issuer, "ClientID": "sigstore", "Type": "github-workflow"}}})
	writeFile(k.t, fulcioCfg, cfg)
	s.FulcioURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	k.start("fulcio", nil, "serve", "--ca", "ephemeralca", "--config-path", fulcioCfg, "--host", "127.0.0.1",
		"--port", fmt.Sprint(port), "--grpc-host", "127.0.0.1", "--grpc-port", fmt.Sprint(grpcPort),
		"--metrics-port", fmt.Sprint(metricsPort), "--ct-log-url", "", "--legacy-unix-domain-socket", filepath.Join(s.Dir, "fulcio.sock"))
}

// startTSA starts the timestamp authority.
func (k *sigstoreStack) startTSA(port int) {
	k.t.Helper()
	k.s.TimestampURL = fmt.Sprintf("http://127.0.0.1:%d", port) + "/api/v1/timestamp"
	k.start("tsa", nil, "-host", "127.0.0.1", "-port", fmt.Sprint(port))
}

// startRekor starts Rekor v2 with a fresh Ed25519 signer and returns the path
// of its public key.
func (k *sigstoreStack) startRekor(port, grpcPort, metricsPort int) string {
	t := k.t
	t.Helper()
	s := k.s
	rekorDir := filepath.Join(s.Dir, "rekor")
	if err := os.MkdirAll(filepath.Join(rekorDir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privDER, _ := x509.MarshalPKCS8PrivateKey(priv)
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	pubPath := filepath.Join(rekorDir, "pub.pem")
	writeFile(t, filepath.Join(rekorDir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	writeFile(t, pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	s.RekorURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	k.start("rekor", nil, "serve", "--hostname", "127.0.0.1", "--storage-dir", filepath.Join(rekorDir, "data"),
		"--signer-filepath", filepath.Join(rekorDir, "key.pem"), "--http-address", "127.0.0.1", "--http-port", fmt.Sprint(port),
		"--grpc-address", "127.0.0.1", "--grpc-port", fmt.Sprint(grpcPort), "--http-metrics-port", fmt.Sprint(metricsPort),
		"--checkpoint-interval", "1s")
	return pubPath
}

// writeChains waits for Fulcio and the timestamp authority to serve their
// certificate chains, writes them, and waits for Rekor to listen on rekorAddr.
func (k *sigstoreStack) writeChains(rekorAddr string) {
	k.t.Helper()
	s := k.s
	bundle, err := waitGet(s.FulcioURL + "/api/v2/trustBundle")
	if err != nil {
		k.fail("Fulcio: %v", err)
	}
	var tb struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	if err := json.Unmarshal(bundle, &tb); err != nil || len(tb.Chains) == 0 {
		k.fail("Fulcio trust bundle %q: %v", bundle, err)
	}
	s.FulcioChain = filepath.Join(s.Dir, "fulcio-chain.pem")
	writeFile(k.t, s.FulcioChain, []byte(strings.Join(tb.Chains[0].Certificates, "")))
	chain, err := waitGet(s.TimestampURL + "/certchain")
	if err != nil {
		k.fail("timestamp authority: %v", err)
	}
	s.TSAChain = filepath.Join(s.Dir, "tsa-chain.pem")
	writeFile(k.t, s.TSAChain, chain)
	if err := waitTCP(rekorAddr); err != nil {
		k.fail("Rekor: %v", err)
	}
}

// writeTrustConfig has cosign itself make the trusted root and the signing
// config of the stack (rekorPub: Rekor's public key).
func (k *sigstoreStack) writeTrustConfig(rekorPub string) {
	k.t.Helper()
	s := k.s
	s.TrustedRoot = filepath.Join(s.Dir, "trusted_root.json")
	s.SigningConfig = filepath.Join(s.Dir, "signing_config.json")
	const start2024 = "start-time=2024-01-01T00:00:00Z"
	for _, args := range [][]string{
		{"trusted-root", "create", "--out", s.TrustedRoot,
			"--fulcio=url=" + s.FulcioURL + ",certificate-chain=" + s.FulcioChain,
			"--tsa=url=" + s.TimestampURL + ",certificate-chain=" + s.TSAChain,
			"--rekor=url=" + s.RekorURL + ",public-key=" + rekorPub + "," + start2024 + ",origin=127.0.0.1"},
		{"signing-config", "create", "--out", s.SigningConfig,
			"--fulcio=url=" + s.FulcioURL + ",api-version=1," + start2024 + ",operator=local",
			"--oidc-provider=url=" + s.Issuer + ",api-version=1," + start2024 + ",operator=local",
			"--rekor=url=" + s.RekorURL + ",api-version=2," + start2024 + ",operator=local", "--rekor-config=ANY",
			"--tsa=url=" + s.TimestampURL + ",api-version=1," + start2024 + ",operator=local", "--tsa-config=ANY"},
	} {
		cmd := exec.Command(k.bins["cosign"], args...)
		cmd.Env = []string{"HOME=" + s.Dir, "TUF_ROOT=" + filepath.Join(s.Dir, "tuf"), "PATH=" + os.Getenv("PATH")}
		if out, err := cmd.CombinedOutput(); err != nil {
			k.fail("cosign %s: %v\n%s", args[0], err, out)
		}
	}
}

// Token fetches an ID token the way a runner's toolkit does.
func (s *Sigstore) Token(t testing.TB, audience string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.TokenURL+"&audience="+audience, nil)
	req.Header.Set("Authorization", "Bearer "+s.RequestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Value == "" {
		t.Fatalf("token request: %s %v", resp.Status, err)
	}
	return v.Value
}

// buildFakeOIDC builds internal/testinfra/fakeghoidc from this checkout.
func buildFakeOIDC(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "fakeghoidc")
	cmd := exec.Command("go", "build", "-o", bin, "./internal/testinfra/fakeghoidc")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building fakeghoidc: %v\n%s", err, out)
	}
	return bin
}

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func waitGet(url string) ([]byte, error) {
	var last error
	for range 300 {
		resp, err := http.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				return b, nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("not ready after 30 s: %w", last)
}

func waitTCP(addr string) error {
	var last error
	for range 300 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening after 30 s: %w", addr, last)
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

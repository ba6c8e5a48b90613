package deploy

import (
	"context"
	"errors"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
)

// smartHTTP serves bare over git's smart HTTP protocol (git http-backend), and
// hangs every receive-pack request (a push) until the test ends.
func smartHTTP(t *testing.T, bare string) *httptest.Server {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git --exec-path: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skipf("no git-http-backend: %v", err)
	}
	git(t, bare, "config", "http.receivepack", "true")
	h := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(bare), "GIT_HTTP_EXPORT_ALL=1"}}
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack" {
			select {
			case <-done:
			case <-r.Context().Done():
			}
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

// TestGitOpsHungRemote: a git remote that accepts and never answers ends the
// deploy within the deadline with an infrastructure error naming its host, on
// the clone and on the push.
func TestGitOpsHungRemote(t *testing.T) {
	t.Parallel()
	hung := testinfra.SilentServer(t)
	bare, _ := bareRepo(t)
	pushHangs := smartHTTP(t, bare)
	tests := []struct {
		name, repo, host, doing string
	}{
		{name: "clone from a silent server", repo: "http://" + hung + "/gitops.git", host: hung, doing: "cloning"},
		{name: "push to a server that hangs on receive-pack", repo: pushHangs.URL + "/" + filepath.Base(bare),
			host: strings.TrimPrefix(pushHangs.URL, "http://"), doing: "pushing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := netretry.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			opts := gitopsOpts(tc.repo)
			opts.WorkDir = t.TempDir()
			err := testinfra.Within(t, time.Minute, "GitOps (2s deadline)", func() error {
				_, err := GitOps(ctx, opts)
				return err
			})
			if err == nil {
				t.Fatal("GitOps succeeded against a hung remote")
			}
			if errkind.Of(err) != errkind.KindInfra {
				t.Errorf("kind %v, want infrastructure: %v", errkind.Of(err), err)
			}
			for _, want := range []string{tc.doing, tc.host + ": no answer within the 2s timeout"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
			}
		})
	}
}

func TestRemoteHost(t *testing.T) {
	t.Parallel()
	for repo, want := range map[string]string{
		"https://github.com/acme/gitops.git":           "github.com",
		"https://x-access-token:s3cret@github.com/a/b": "github.com",
		"http://127.0.0.1:8080/gitops.git":             "127.0.0.1:8080",
		"git@github.com:acme/gitops.git":               "github.com",
		"ssh://git@example.com:2222/acme/gitops.git":   "example.com:2222",
		"/tmp/gitops.git":                              "the local repository",
		"../gitops.git":                                "the local repository",
		"file:///srv/git/gitops.git":                   "the local repository",
		"relative/path/with@sign/gitops.git":           "the local repository",
	} {
		if got := remoteHost(repo); got != want {
			t.Errorf("remoteHost(%q) = %q, want %q", repo, got, want)
		}
	}
}

package actiontest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// netFront is a loopback registry front: it proxies to the real registry at
// upstream, except that requests for which hang returns true never get an
// answer, and the first fail503 requests get a 503.
func netFront(t *testing.T, upstream string, hang func(*http.Request) bool, fail503 int32) (host string, requests *atomic.Int32) {
	t.Helper()
	u, _ := url.Parse("http://" + upstream)
	proxy := httputil.NewSingleHostReverseProxy(u)
	done := make(chan struct{})
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= fail503 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if hang != nil && hang(r) {
			select {
			case <-done:
			case <-r.Context().Done():
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return strings.TrimPrefix(srv.URL, "http://"), &n
}

// A registry that accepts connections and never answers ends verify-and-deploy
// within its timeout input with exit 3, naming the host and what was being done
// (it used to wait for the job's own timeout); a registry that answers 503 for a
// while is retried through; one that keeps failing ends in exit 3.
func TestVerifyAndDeployNetworkFailures(t *testing.T) {
	t.Parallel()
	w := vdNewWorld(t, "enforce")
	ref := w.push("acme/widgets", "v1")
	w.attestAll(ref, true)
	digest := ref.Digest
	hung := testinfra.SilentServer(t)
	// Resolution of the digest passes; the cosign .sig/.att tags hang.
	attHangs, _ := netFront(t, w.host, func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/manifests/sha256-") }, 0)
	flaky, flakyRequests := netFront(t, w.host, nil, 2)
	down, downRequests := netFront(t, w.host, nil, 1<<30)

	for _, tc := range []struct {
		name    string
		with    map[string]string
		exit    int
		want    []string
		minReqs int32
		reqs    *atomic.Int32
		// exactReqs, when set, is the number of requests reqs must have seen.
		exactReqs int32
	}{
		{name: "hung registry", exit: 3,
			with: map[string]string{"image": hung + "/acme/widgets@" + digest, "timeout": "2s"},
			want: []string{"resolving image " + hung + "/acme/widgets@" + digest, "from " + hung + ": no answer within the 2s timeout"}},
		{name: "registry hangs on the signatures", exit: 3,
			with: map[string]string{"image": attHangs + "/acme/widgets@" + digest, "timeout": "3s"},
			want: []string{"reading signatures from " + attHangs + "/acme/widgets:sha256-", "from " + attHangs + ": no answer within the 3s timeout"}},
		{name: "503 twice, then the registry answers", exit: 0, reqs: flakyRequests, minReqs: 3,
			with: map[string]string{"image": flaky + "/acme/widgets@" + digest, "timeout": "2m"}},
		// The permanent 503 is retried a bounded number of times: 4 attempts of
		// the first request (resolution, 1 + 3 retries), then the gate ends.
		{name: "permanent 503: bounded retries, then exit 3", exit: 3, reqs: downRequests, minReqs: 4, exactReqs: 4,
			with: map[string]string{"image": down + "/acme/widgets@" + digest, "timeout": "2m"},
			want: []string{"resolving image " + down + "/acme/widgets@" + digest, "registry error (HTTP 503)"}},
		{name: "a timeout of zero is refused", exit: 2,
			with: map[string]string{"image": ref.String(), "timeout": "0s"}, want: []string{"timeout is 0s"}},
		{name: "a rollout longer than the gate is refused", exit: 2,
			with: map[string]string{"image": ref.String(), "deploy": "kubectl", "workload": "deployment/widgets", "rollout-timeout": "20m"},
			want: []string{"rollout-timeout (20m0s) is not shorter than timeout (15m0s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			step := vdStep(w, tc.with)
			step.Workspace = vdCopyWorkspace(t, w)
			res := run(t, step)
			out := res.Log + res.Stderr
			if res.ExitCode != tc.exit {
				t.Fatalf("exit %d, want %d\n%s", res.ExitCode, tc.exit, out)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("the log does not say %q:\n%s", want, out)
				}
			}
			if tc.reqs != nil {
				if got := tc.reqs.Load(); got < tc.minReqs {
					t.Errorf("the registry got %d requests, want at least %d", got, tc.minReqs)
				}
				if got := tc.reqs.Load(); tc.exactReqs != 0 && got != tc.exactReqs {
					t.Errorf("the failing registry got %d requests, want %d", got, tc.exactReqs)
				}
			}
			if tc.exit == 0 && res.Outputs["verified"] != "true" {
				t.Errorf("verified = %q after the retries\n%s", res.Outputs["verified"], out)
			}
		})
	}
}

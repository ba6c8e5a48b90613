package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// RunningImage reads back the digest a workload's own live pods report,
// without patching anything, and refuses to name one when the environment
// does not run exactly one.
func TestRunningImage(t *testing.T) {
	t.Parallel()
	want := "ghcr.io/acme/widgets@" + tagDigest
	for _, kind := range []string{"deployment", "statefulset", "daemonset"} {
		a, kc := newAPIServer(t)
		r, err := RunningImage(context.Background(), KubectlOptions{Kubeconfig: kc, Namespace: "shop", Workload: kind + "/web", Container: "app"})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if r.Image.String() != want || len(r.Pods) != 2 || !strings.Contains(r.Detail, "2 pod(s) of "+kind+"/web in shop report "+want) {
			t.Errorf("%s: %+v", kind, r)
		}
		if len(a.patches) != 0 {
			t.Errorf("%s: patched %v", kind, a.patches)
		}
	}
	other := "ghcr.io/acme/widgets@sha256:" + strings.Repeat("1", 64)
	for _, tc := range []struct {
		name  string
		setup func(a *apiServer)
		opts  KubectlOptions
		code  int
		want  string
	}{
		{name: "pods run two digests", setup: func(a *apiServer) {
			n := 0
			a.imageID = func(image string) string {
				n++
				if n%2 == 0 {
					return other
				}
				return kubeletImageID(image)
			}
		}, code: errkind.ExitPolicy, want: "run 2 different images"},
		{name: "a local image ID only", setup: func(a *apiServer) {
			a.imageID = func(string) string { return "sha256:" + strings.Repeat("2", 64) }
		}, code: errkind.ExitPolicy, want: "names no repository digest"},
		{name: "a pod not started", setup: func(a *apiServer) { a.pendingLists = 1 }, code: errkind.ExitPolicy, want: "have not reported the image"},
		{name: "rollout in progress", setup: func(a *apiServer) {
			a.neverRoll = true
			meta := a.objects["/apis/apps/v1/namespaces/shop/deployments/web"]["metadata"].(map[string]any)
			meta["generation"] = 2
		}, code: errkind.ExitPolicy, want: "still rolling out"},
		{name: "two containers, none named", opts: KubectlOptions{Container: ""}, code: errkind.ExitInput, want: "name one in the container input"},
		{name: "no such workload", opts: KubectlOptions{Workload: "deployment/api", Container: "app"}, code: errkind.ExitInput, want: "not found"},
		{name: "bad workload", opts: KubectlOptions{Workload: "pod/web"}, code: errkind.ExitInput, want: "kind must be deployment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, kc := newAPIServer(t)
			if tc.setup != nil {
				tc.setup(a)
			}
			o := tc.opts
			if o.Workload == "" {
				o.Workload = "deployment/web"
			}
			if tc.setup != nil {
				o.Container = "app"
			}
			o.Kubeconfig, o.Namespace = kc, "shop"
			r, err := RunningImage(context.Background(), o)
			if err == nil {
				t.Fatalf("read %+v; want an error", r)
			}
			if errkind.ExitCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v (exit %d), want exit %d naming %q", err, errkind.ExitCode(err), tc.code, tc.want)
			}
		})
	}
}

package deploy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// apiServer is a Kubernetes API double for apps/v1 workloads: it serves GET and
// checks that PATCH is a strategic-merge patch that sets one container's image
// to a digest reference, then reports the rollout after `rollAfter` polls.
//
// It also serves the namespace's pods, as the kubelet would report them: two
// pods per workload, owned by it (a Deployment through its ReplicaSet
// web-<pod-template-hash>), whose status.containerStatuses[].imageID is what the
// container runtime pulled for the template's image — the digest for a digest
// reference, the digest the tag resolved to (tagDigest) for a tag. Besides
// them, a pod being deleted and a pod of another workload with the same labels,
// both running something else, which the read-back must skip. It checks that
// pods are listed with the workload's selector.
type apiServer struct {
	t         *testing.T
	mu        sync.Mutex
	objects   map[string]map[string]any // path → object
	patches   []string
	gets      int
	rollAfter int
	neverRoll bool

	// imageID, when set, is what the kubelet reports for an image (a lying
	// runtime, a mutating webhook).
	imageID func(image string) string
	// pendingLists is how many pod lists report no image ID yet.
	pendingLists int
	// forbidPods answers pod lists with 403.
	forbidPods bool
	podLists   int
}

const tagDigest = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

// kubeletImageID is the imageID a runtime reports for image: containerd's
// repo@digest, the digest a tag resolved to for a tag.
func kubeletImageID(image string) string {
	if strings.Contains(image, "@") {
		return image
	}
	repo := image
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo = image[:i]
	}
	return repo + "@" + tagDigest
}

func (a *apiServer) pods(w http.ResponseWriter, r *http.Request) {
	a.podLists++
	if r.Method != http.MethodGet {
		a.t.Errorf("pods: method %s", r.Method)
	}
	if sel := r.URL.Query().Get("labelSelector"); sel != "app=web" {
		a.t.Errorf("pods listed with labelSelector %q, want the workload's selector app=web", sel)
	}
	if a.forbidPods {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods is forbidden: cannot list resource \"pods\"","reason":"Forbidden","code":403}`)
		return
	}
	var items []any
	pod := func(name string, owner map[string]any, labels map[string]any, image string, extra map[string]any) {
		id := kubeletImageID(image)
		if a.imageID != nil {
			id = a.imageID(image)
		}
		if a.podLists <= a.pendingLists {
			id = ""
		}
		meta := map[string]any{"name": name, "namespace": "shop", "labels": labels, "ownerReferences": []any{owner}}
		for k, v := range extra {
			meta[k] = v
		}
		items = append(items, map[string]any{"metadata": meta,
			"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": image}}},
			"status": map[string]any{"phase": "Running", "containerStatuses": []any{
				map[string]any{"name": "app", "image": image, "imageID": id, "ready": true},
				map[string]any{"name": "sidecar", "image": "envoy:1", "imageID": "docker.io/library/envoy@sha256:" + strings.Repeat("f", 64), "ready": true},
			}}})
	}
	for path, obj := range a.objects {
		kind := obj["kind"].(string)
		image := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"].(string)
		owner := map[string]any{"apiVersion": "apps/v1", "kind": kind, "name": "web", "uid": path, "controller": true}
		labels := map[string]any{"app": "web"}
		if kind == "Deployment" {
			owner = map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d4f8", "uid": "rs", "controller": true}
			labels = map[string]any{"app": "web", "pod-template-hash": "5d4f8"}
		}
		for i := 0; i < 2; i++ {
			pod(fmt.Sprintf("web-%s-%d", strings.ToLower(kind), i), owner, labels, image, nil)
		}
		pod("web-"+strings.ToLower(kind)+"-old", owner, labels, "ghcr.io/acme/widgets:v0", map[string]any{"deletionTimestamp": "2026-01-01T00:00:00Z"})
	}
	pod("web-canary-7f9c-0", map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-canary-7f9c", "uid": "c", "controller": true},
		map[string]any{"app": "web", "pod-template-hash": "7f9c"}, "ghcr.io/acme/widgets:canary", nil)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"kind": "PodList", "apiVersion": "v1", "metadata": map[string]any{}, "items": items})
}

func newAPIServer(t *testing.T) (*apiServer, string) {
	a := &apiServer{t: t, objects: map[string]map[string]any{}, rollAfter: 2}
	for _, k := range []string{"deployments", "statefulsets", "daemonsets"} {
		a.objects["/apis/apps/v1/namespaces/shop/"+k+"/web"] = workloadObject(k)
	}
	// TLS: client-go sends a bearer token only over https.
	srv := httptest.NewTLSServer(a)
	t.Cleanup(srv.Close)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	conf := `apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "` + srv.URL + `", certificate-authority-data: ` + base64.StdEncoding.EncodeToString(caPEM) + `}}]
users: [{name: test, user: {token: kube-token}}]
contexts: [{name: test, context: {cluster: test, user: test, namespace: shop}}]
current-context: test
`
	if err := os.WriteFile(kc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return a, kc
}

func workloadObject(resource string) map[string]any {
	kind := map[string]string{"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet"}[resource]
	return map[string]any{
		"apiVersion": "apps/v1", "kind": kind,
		"metadata": map[string]any{"name": "web", "namespace": "shop", "generation": 1},
		"spec": map[string]any{"replicas": 2, "selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}, "template": map[string]any{"spec": map[string]any{"containers": []any{
			map[string]any{"name": "app", "image": "ghcr.io/acme/widgets:v1"},
			map[string]any{"name": "sidecar", "image": "envoy:1"},
		}}}},
		"status": map[string]any{"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 2,
			"desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 2},
	}
}

func (a *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer kube-token" {
		http.Error(w, `{"kind":"Status","status":"Failure","code":401}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Path == "/api/v1/namespaces/shop/pods" {
		a.pods(w, r)
		return
	}
	obj, ok := a.objects[r.URL.Path]
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"not found","reason":"NotFound","code":404}`)
		return
	}
	switch r.Method {
	case http.MethodGet:
		a.gets++
		meta := obj["metadata"].(map[string]any)
		st := obj["status"].(map[string]any)
		if meta["generation"].(int) > 1 && !a.neverRoll {
			a.rollAfter--
			if a.rollAfter <= 0 {
				st["observedGeneration"] = meta["generation"]
				st["updatedReplicas"], st["availableReplicas"], st["readyReplicas"], st["updatedNumberScheduled"], st["numberAvailable"] = 2, 2, 2, 2, 2
			}
		}
	case http.MethodPatch:
		if ct := r.Header.Get("Content-Type"); ct != "application/strategic-merge-patch+json" {
			a.t.Errorf("PATCH content type %q, want a strategic merge patch", ct)
		}
		if fm := r.URL.Query().Get("fieldManager"); fm != "secure-gates" {
			a.t.Errorf("PATCH fieldManager %q", fm)
		}
		body, _ := io.ReadAll(r.Body)
		a.patches = append(a.patches, string(body))
		var p struct {
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Name  string `json:"name"`
							Image string `json:"image"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(body, &p); err != nil || len(p.Spec.Template.Spec.Containers) != 1 {
			a.t.Errorf("PATCH body %s is not a one-container image patch: %v", body, err)
			http.Error(w, "bad patch", http.StatusUnprocessableEntity)
			return
		}
		c := p.Spec.Template.Spec.Containers[0]
		if !strings.Contains(c.Image, "@sha256:") || strings.Contains(c.Image, ":v") {
			a.t.Errorf("PATCH sets image %q, not a digest reference", c.Image)
		}
		for _, x := range obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any) {
			if m := x.(map[string]any); m["name"] == c.Name {
				m["image"] = c.Image
			}
		}
		meta := obj["metadata"].(map[string]any)
		meta["generation"] = meta["generation"].(int) + 1
		st := obj["status"].(map[string]any)
		st["updatedReplicas"], st["availableReplicas"], st["readyReplicas"], st["updatedNumberScheduled"], st["numberAvailable"] = 0, 1, 1, 0, 1
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(obj)
}

func TestKubectlPatchesTheDigestAndWaits(t *testing.T) {
	for _, kind := range []string{"deployment", "statefulset", "daemonset"} {
		t.Run(kind, func(t *testing.T) {
			a, kc := newAPIServer(t)
			res, err := Kubectl(context.Background(), KubectlOptions{Kubeconfig: kc, Namespace: "shop", Workload: kind + "/web",
				Container: "app", Image: testImage, PollInterval: 10 * time.Millisecond, RolloutTimeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if len(a.patches) != 1 || !strings.Contains(a.patches[0], testImage.String()) {
				t.Fatalf("patches = %v", a.patches)
			}
			if !res.RolledOut || !res.Changed || res.Previous != "ghcr.io/acme/widgets:v1" {
				t.Errorf("result %+v", res)
			}
			// Read back: the workload's two live pods, each running the digest.
			if len(res.Pods) != 2 || !strings.Contains(res.ReadBack, "2 pod(s) report "+testImage.Digest) {
				t.Errorf("read back %+v (%s)", res.Pods, res.ReadBack)
			}
			for _, p := range res.Pods {
				if p.Digest != testImage.Digest || p.Container != "app" || !strings.HasPrefix(p.Pod, "web-"+kind) {
					t.Errorf("pod %+v", p)
				}
			}
		})
	}
}

func TestKubectlDryRunSendsNothing(t *testing.T) {
	a, kc := newAPIServer(t)
	res, err := Kubectl(context.Background(), KubectlOptions{Kubeconfig: kc, Namespace: "shop", Workload: "deploy/web", Container: "app", Image: testImage, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.patches) != 0 {
		t.Errorf("dry run sent %v", a.patches)
	}
	want := `{"spec":{"template":{"spec":{"containers":[{"image":"` + testImage.String() + `","name":"app"}]}}}}`
	if res.Patch != want {
		t.Errorf("patch %s, want %s", res.Patch, want)
	}
}

func TestKubectlErrors(t *testing.T) {
	webhook := func(string) string { return "ghcr.io/acme/widgets@sha256:" + strings.Repeat("66", 32) }
	app := KubectlOptions{Workload: "deployment/web", Container: "app", RolloutTimeout: 5 * time.Second}
	tests := []struct {
		name     string
		opts     KubectlOptions
		never    bool
		imageID  func(string) string
		pending  int
		forbid   bool
		running  string
		wantKind errkind.Kind
		want     string
	}{
		{name: "a webhook rewrote the image", opts: app, imageID: webhook, wantKind: errkind.KindPolicy,
			want: "deployment/web in shop does not run the verified " + testImage.Digest + ": pod web-deployment-0 container app runs sha256:6666"},
		{name: "a statefulset's pods run another digest", opts: KubectlOptions{Workload: "sts/web", Container: "app", RolloutTimeout: 5 * time.Second},
			imageID: webhook, wantKind: errkind.KindPolicy, want: "pod web-statefulset-1 container app runs sha256:6666"},
		{name: "the runtime reports a local image ID, not a digest", opts: app, imageID: func(string) string { return "sha256:" + strings.Repeat("12", 32) },
			wantKind: errkind.KindPolicy, want: `runs no repository digest (imageID "sha256:1212`},
		{name: "already named, yet the pods run the tag's digest", opts: app, running: testImage.String(),
			imageID: func(string) string { return "docker-pullable://ghcr.io/acme/widgets@" + tagDigest }, wantKind: errkind.KindPolicy,
			want: "runs " + tagDigest},
		{name: "the pods never report an image", opts: KubectlOptions{Workload: "deployment/web", Container: "app", RolloutTimeout: 200 * time.Millisecond},
			pending: 1 << 30, wantKind: errkind.KindInfra, want: "did not all report the image they run"},
		{name: "pods may not be listed", opts: app, forbid: true, wantKind: errkind.KindInput, want: "pods is forbidden"},
		{name: "ambiguous container", opts: KubectlOptions{Workload: "deployment/web"}, never: false, wantKind: errkind.KindInput, want: "name one in the container input"},
		{name: "unknown container", opts: KubectlOptions{Workload: "deployment/web", Container: "nope"}, never: false, wantKind: errkind.KindInput, want: `no container "nope"`},
		{name: "missing workload", opts: KubectlOptions{Workload: "deployment/api", Container: "app"}, never: false, wantKind: errkind.KindInput, want: "not found"},
		{name: "bad kind", opts: KubectlOptions{Workload: "cronjob/web"}, never: false, wantKind: errkind.KindInput, want: "kind must be"},
		{name: "rollout never completes", opts: KubectlOptions{Workload: "deployment/web", Container: "app", RolloutTimeout: 100 * time.Millisecond}, never: true, wantKind: errkind.KindInfra, want: "did not complete within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, kc := newAPIServer(t)
			a.neverRoll = tt.never
			o := tt.opts
			o.Kubeconfig, o.Namespace, o.Image, o.PollInterval = kc, "shop", testImage, 10*time.Millisecond
			a.imageID, a.pendingLists, a.forbidPods = tt.imageID, tt.pending, tt.forbid
			if tt.running != "" {
				// The workload already names the digest: no patch, still read back.
				for _, obj := range a.objects {
					obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = tt.running
				}
			}
			_, err := Kubectl(context.Background(), o)
			if errkind.Of(err) != tt.wantKind || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v (kind %v), want %v naming %q", err, errkind.Of(err), tt.wantKind, tt.want)
			}
		})
	}
}

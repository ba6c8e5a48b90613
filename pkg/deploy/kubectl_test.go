package deploy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
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
type apiServer struct {
	t         *testing.T
	mu        sync.Mutex
	objects   map[string]map[string]any // path → object
	patches   []string
	gets      int
	rollAfter int
	neverRoll bool
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
		"spec": map[string]any{"replicas": 2, "template": map[string]any{"spec": map[string]any{"containers": []any{
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
	tests := []struct {
		name     string
		opts     KubectlOptions
		never    bool
		wantKind errkind.Kind
		want     string
	}{
		{"ambiguous container", KubectlOptions{Workload: "deployment/web"}, false, errkind.KindInput, "name one in the container input"},
		{"unknown container", KubectlOptions{Workload: "deployment/web", Container: "nope"}, false, errkind.KindInput, `no container "nope"`},
		{"missing workload", KubectlOptions{Workload: "deployment/api", Container: "app"}, false, errkind.KindInput, "not found"},
		{"bad kind", KubectlOptions{Workload: "cronjob/web"}, false, errkind.KindInput, "kind must be"},
		{"rollout never completes", KubectlOptions{Workload: "deployment/web", Container: "app", RolloutTimeout: 100 * time.Millisecond}, true, errkind.KindInfra, "did not complete within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, kc := newAPIServer(t)
			a.neverRoll = tt.never
			o := tt.opts
			o.Kubeconfig, o.Namespace, o.Image, o.PollInterval = kc, "shop", testImage, 10*time.Millisecond
			_, err := Kubectl(context.Background(), o)
			if errkind.Of(err) != tt.wantKind || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v (kind %v), want %v naming %q", err, errkind.Of(err), tt.wantKind, tt.want)
			}
		})
	}
}

package kpi

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestParseImages(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     []Running
		err      string
	}{
		{"refs and environments", "# comment\n\nreg/a@sha256:aa production\n  reg/b:v1\n", []Running{
			{Ref: "reg/a@sha256:aa", Environment: "production", Source: "f:3"}, {Ref: "reg/b:v1", Source: "f:4"}}, ""},
		{"three fields", "reg/a prod extra\n", nil, "f:1: want \"REFERENCE [ENVIRONMENT]\""},
		{"empty", "# nothing\n", nil, "lists no image"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseImages([]byte(tt.in), "f")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("%+v, %v", got, err)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("%+v, want %+v", got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParsePods(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	in := `{"apiVersion":"v1","kind":"List","items":[
{"kind":"Pod","metadata":{"name":"web-1","namespace":"prod"},"spec":{"containers":[{"name":"web","image":"reg/web@` + d + `"}],"initContainers":[{"name":"init","image":"reg/init:v1"}]},
 "status":{"containerStatuses":[{"name":"web","imageID":"reg/web@` + d + `"}],"initContainerStatuses":[{"name":"init","imageID":"docker-pullable://reg/init@` + d + `"}]}}]}`
	got, err := ParsePods([]byte(in), "pods.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Ref != "reg/web@"+d || got[0].Environment != "prod" || got[1].Ref != "reg/init:v1" || !strings.Contains(got[1].Source, "(status: "+d+")") {
		t.Errorf("%+v", got)
	}
	// An item that is not a Pod is refused, not skipped: skipped, what it
	// runs would drop out of the coverage's denominator unnoticed.
	notPod := `{"kind":"List","items":[{"kind":"Pod","metadata":{"name":"a","namespace":"prod"},"spec":{"containers":[{"name":"c","image":"reg/a@` + d + `"}]}},` +
		`{"kind":"pod","metadata":{"name":"b","namespace":"prod"},"spec":{"containers":[{"name":"c","image":"reg/unsigned:latest"}]}}]}`
	for _, bad := range []string{`{"kind":"Deployment"}`, `[`, `{"kind":"List","items":[]}`, notPod} {
		if _, err := ParsePods([]byte(bad), "pods.json"); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestParseGitOps(t *testing.T) {
	got, err := ParseGitOps(filepath.Join("..", "..", "examples", "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	envs := map[string]int{}
	for _, r := range got {
		envs[r.Environment]++
		if r.Ref == "" || !strings.Contains(r.Source, "Deployment/") {
			t.Errorf("%+v", r)
		}
	}
	if envs["production"] == 0 || envs["staging"] == 0 || len(envs) != 2 {
		t.Errorf("environments %v, want the example's production and staging overlays", envs)
	}
	if _, err := ParseGitOps(t.TempDir()); err == nil || !strings.Contains(err.Error(), "holds no kustomization") {
		t.Errorf("empty dir: %v", err)
	}
}

// TestGrafanaDashboard: the example dashboard is JSON whose queries use only
// metrics Prometheus writes.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "grafana", "secure-gates-kpi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	r := 0.5
	out := Prometheus(&Report{CoverageBy: []Coverage{{Environment: "prod", Running: 2, Covered: 1, Ratio: &r}}, EscapesBySev: map[string]int{}, PresentBySev: map[string]int{}})
	n := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range regexp.MustCompile(`secure_gates_[a-z_]+`).FindAllString(tg.Expr, -1) {
				n++
				if !strings.Contains(out, "# TYPE "+m+" ") {
					t.Errorf("panel %q queries %s, which kpi.Prometheus does not write", p.Title, m)
				}
			}
		}
	}
	if n < 8 {
		t.Errorf("only %d metric references in the dashboard", n)
	}
}

// TestParseCluster lists the pods of every namespace, page by page, from an
// API server double that checks the request (GET /api/v1/pods with a limit,
// the kubeconfig's token).
func TestParseCluster(t *testing.T) {
	d := "sha256:" + strings.Repeat("b", 64)
	pages := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/pods" || r.Method != http.MethodGet || r.Header.Get("Authorization") != "Bearer kube-token" || r.URL.Query().Get("limit") != "500" {
			t.Errorf("request %s %s (auth %q)", r.Method, r.URL, r.Header.Get("Authorization"))
			http.Error(w, `{"kind":"Status","code":403}`, http.StatusForbidden)
			return
		}
		pages++
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("continue") == "" {
			fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"next"},"items":[{"metadata":{"name":"a","namespace":"prod"},"spec":{"containers":[{"name":"c","image":"reg/a@%s"}]}}]}`, d)
			return
		}
		fmt.Fprint(w, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"b","namespace":"staging"},"spec":{"containers":[{"name":"c","image":"reg/b:v1"}]}}]}`)
	}))
	defer srv.Close()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, certificate-authority-data: %s}}]
users: [{name: u, user: {token: kube-token}}]
contexts: [{name: other, context: {cluster: c, user: nobody}}, {name: ctx, context: {cluster: c, user: u}}]
current-context: other
`, srv.URL, base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ParseCluster(t.Context(), kc, "ctx")
	if err != nil {
		t.Fatal(err)
	}
	if pages != 2 || len(got) != 2 || got[0].Ref != "reg/a@"+d || got[0].Environment != "prod" || got[1].Ref != "reg/b:v1" || got[1].Environment != "staging" {
		t.Errorf("%d pages, %+v", pages, got)
	}
	if _, err := ParseCluster(t.Context(), filepath.Join(t.TempDir(), "none"), ""); err == nil {
		t.Error("a missing kubeconfig loaded")
	}
}

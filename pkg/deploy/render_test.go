package deploy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// podSpec is a pod spec running image in container app.
func deploymentOf(name, image string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ` + name + `}
spec:
  selector: {matchLabels: {app: ` + name + `}}
  template:
    metadata: {labels: {app: ` + name + `}}
    spec:
      containers:
        - name: app
          image: ` + image + `
`
}

// laughs is a ConfigMap whose aliases expand to 9^9 strings.
func laughs() string {
	s := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		s += "  " + n + ": &" + n + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+", ", 9), ", ") + "]\n"
		prev = n
	}
	return s
}

const kzHead = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"

// TestGitOpsDeployTakesEffectOrFails is the regression corpus of issue 13,
// observation 10: a GitOps deploy either sets the digest that the rendered
// overlay's containers run, or fails with exit code 2 and pushes nothing.
func TestGitOpsDeployTakesEffectOrFails(t *testing.T) {
	t.Parallel()
	// A web server standing in for a remote base: the render must never ask it.
	var remoteHits atomic.Int64
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remoteHits.Add(1)
		w.Write([]byte(deploymentOf("remote", "ghcr.io/acme/widgets:v1")))
	}))
	t.Cleanup(remote.Close)
	outside := filepath.Join(t.TempDir(), "outside.yaml")
	if err := os.WriteFile(outside, []byte(deploymentOf("outside", "ghcr.io/acme/widgets:v1")), 0o644); err != nil {
		t.Fatal(err)
	}
	usual := kzHead + "resources: [deployment.yaml]\nimages:\n  - name: app\n    newName: ghcr.io/acme/widgets\n    newTag: v1\n"
	tests := []struct {
		name      string
		files     map[string]string
		imageName string
		path      string
		// wantErr is empty for a deploy that must succeed.
		wantErr  string
		wantUses int
		wantK    string // the committed kustomization contains this
	}{
		{
			name:     "the usual shape without gitops-image",
			files:    map[string]string{"o/kustomization.yaml": usual, "o/deployment.yaml": deploymentOf("web", "app")},
			wantUses: 1, wantK: "- name: app\n  newName: ghcr.io/acme/widgets\n  digest: " + testImage.Digest,
		},
		{
			name:      "the usual shape with gitops-image",
			files:     map[string]string{"o/kustomization.yaml": usual, "o/deployment.yaml": deploymentOf("web", "app")},
			imageName: "app", wantUses: 1, wantK: testImage.Digest,
		},
		{
			name:      "gitops-image typo",
			files:     map[string]string{"o/kustomization.yaml": usual, "o/deployment.yaml": deploymentOf("web", "app")},
			imageName: "aap", wantErr: `no images entry is named "aap" (gitops-image); its images entries are app → ghcr.io/acme/widgets:v1: set gitops-image to the name of the entry the containers use (e.g. gitops-image: app)`,
		},
		{
			name: "no entry for the repository (it used to be appended)",
			files: map[string]string{"o/kustomization.yaml": kzHead + "resources: [deployment.yaml]\nimages: [{name: app, newTag: v1}]\n",
				"o/deployment.yaml": deploymentOf("web", "app")},
			wantErr: "no images entry has name or newName ghcr.io/acme/widgets; its images entries are app:v1: set gitops-image: app",
		},
		{
			name: "the entry is used by no container",
			files: map[string]string{"o/kustomization.yaml": usual,
				"o/deployment.yaml": deploymentOf("web", "ghcr.io/acme/gadgets:v1")},
			wantErr: "no container in the render of o uses ghcr.io/acme/widgets (the images entries updated: app; the render uses only ghcr.io/acme/gadgets:v1): set gitops-image",
		},
		{
			name: "the entry is used by no container (found by name)",
			files: map[string]string{"o/kustomization.yaml": kzHead + "resources: [deployment.yaml]\nimages: [{name: ghcr.io/acme/widgets, newTag: v1}]\n",
				"o/deployment.yaml": deploymentOf("web", "app:v1")},
			wantErr: "no container in the render of o uses ghcr.io/acme/widgets",
		},
		{
			name: "a transformer rewrites the image after the images entry",
			files: map[string]string{"o/kustomization.yaml": usual + "transformers: [pin.yaml]\n", "o/deployment.yaml": deploymentOf("web", "app"),
				"o/pin.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: pin}\ntarget: {kind: Deployment}\n" +
					"patch: '[{\"op\": \"replace\", \"path\": \"/spec/template/spec/containers/0/image\", \"value\": \"ghcr.io/acme/widgets:evil\"}]'\n"},
			wantErr: `does not run ghcr.io/acme/widgets@sha256:abab`,
		},
		{
			name: "the images entry is in the base, not in the overlay deployed",
			files: map[string]string{
				"base/kustomization.yaml": usual, "base/deployment.yaml": deploymentOf("web", "app"),
				"o/kustomization.yaml": kzHead + "resources: [../base]\npatches:\n  - target: {kind: Deployment}\n    patch: |\n      - {op: replace, path: /spec/template/spec/containers/0/image, value: 'ghcr.io/acme/widgets:v0'}\n",
			},
			wantErr: "no images entry has name or newName", // the overlay itself has no entry
		},
		{
			name: "an overlay entry over a base entry, and a patch adding a container",
			files: map[string]string{
				"base/kustomization.yaml": kzHead + "resources: [deployment.yaml]\n", "base/deployment.yaml": deploymentOf("web", "app"),
				"mid/kustomization.yaml": usual[:len(kzHead)] + "resources: [../base]\nimages:\n  - name: app\n    newName: ghcr.io/acme/widgets\n    newTag: v1\n",
				"o/kustomization.yaml":   kzHead + "resources: [../mid]\nimages: [{name: ghcr.io/acme/widgets, newTag: v0}]\npatches:\n  - target: {kind: Deployment}\n    patch: |\n      - {op: add, path: /spec/template/spec/initContainers, value: [{name: init, image: 'ghcr.io/acme/widgets:v0'}]}\n",
			},
			wantUses: 2, wantK: testImage.Digest,
		},
		{
			name: "every kind of workload and container list",
			files: map[string]string{"o/kustomization.yaml": kzHead + "resources: [all.yaml]\nimages: [{name: app, newName: ghcr.io/acme/widgets, newTag: v1}]\n",
				"o/all.yaml": deploymentOf("web", "app") + "---\n" + `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          initContainers: [{name: migrate, image: "app:v1"}]
          containers: [{name: run, image: app}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: canary}
spec:
  template:
    spec:
      containers: [{name: app, image: app}]
`},
			wantUses: 4, wantK: testImage.Digest,
		},
		{
			name: "an ephemeral container the images transformer does not cover",
			files: map[string]string{"o/kustomization.yaml": usual, "o/deployment.yaml": deploymentOf("web", "app") + "---\n" +
				"apiVersion: v1\nkind: Pod\nmetadata: {name: debug}\nspec:\n  containers: [{name: app, image: app}]\n  ephemeralContainers: [{name: dbg, image: 'ghcr.io/acme/widgets:debug'}]\n"},
			wantErr: `Pod/debug spec.ephemeralContainers[dbg].image is "ghcr.io/acme/widgets:debug"`,
		},
		{
			name: "a custom resource's image field the transformer does not cover",
			files: map[string]string{"o/kustomization.yaml": usual, "o/deployment.yaml": deploymentOf("web", "app") + "---\n" +
				"apiVersion: acme.io/v1\nkind: Worker\nmetadata: {name: w}\nspec: {image: app}\n"},
			wantErr: `Worker/w spec.image is "app"`,
		},
		{
			name: "two entries for the repository, both updated",
			files: map[string]string{"o/kustomization.yaml": kzHead + "resources: [a.yaml, b.yaml]\nimages:\n- {name: app, newName: ghcr.io/acme/widgets, newTag: v1}\n- {name: migrate, newName: ghcr.io/acme/widgets, newTag: v1}\n",
				"o/a.yaml": deploymentOf("a", "app"), "o/b.yaml": deploymentOf("b", "migrate")},
			wantUses: 2, wantK: "{name: migrate, newName: ghcr.io/acme/widgets, digest: '" + testImage.Digest + "'}",
		},
		{
			name: "gitops-image picks one of two entries, the other still runs a tag",
			files: map[string]string{"o/kustomization.yaml": kzHead + "resources: [a.yaml, b.yaml]\nimages:\n- {name: app, newName: ghcr.io/acme/widgets, newTag: v1}\n- {name: migrate, newName: ghcr.io/acme/widgets, newTag: v1}\n",
				"o/a.yaml": deploymentOf("a", "app"), "o/b.yaml": deploymentOf("b", "migrate")},
			imageName: "app", wantErr: `Deployment/b spec.template.spec.containers[app].image is "ghcr.io/acme/widgets:v1"`,
		},
		{
			name:    "the same entry listed twice",
			files:   map[string]string{"o/kustomization.yaml": usual + "  - name: app\n    newTag: v2\n", "o/deployment.yaml": deploymentOf("web", "app")},
			wantErr: `lists image "app" twice`,
		},
		{
			name:     "a component adds a container using the entry",
			files:    map[string]string{"o/kustomization.yaml": usual + "components: [../sidecar]\n", "o/deployment.yaml": deploymentOf("web", "app"), "sidecar/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - target: {kind: Deployment}\n    patch: |\n      - {op: add, path: /spec/template/spec/initContainers, value: [{name: warm, image: 'app:v1'}]}\n"},
			wantUses: 2, wantK: testImage.Digest,
		},
		{
			name:  "kustomization.yml",
			files: map[string]string{"o/kustomization.yml": usual, "o/deployment.yaml": deploymentOf("web", "app")}, wantUses: 1,
		},
		{
			name:  "Kustomization",
			files: map[string]string{"o/Kustomization": usual, "o/deployment.yaml": deploymentOf("web", "app")}, wantUses: 1,
		},
		{
			name:    "two kustomization files",
			files:   map[string]string{"o/Kustomization": usual, "o/kustomization.yaml": usual, "o/deployment.yaml": deploymentOf("web", "app")},
			wantErr: "more than one kustomization file",
		},
		{
			name:    "a remote resource over HTTP",
			files:   map[string]string{"o/kustomization.yaml": kzHead + "resources: [" + remote.URL + "/deployment.yaml]\nimages: [{name: app, newName: ghcr.io/acme/widgets}]\n"},
			wantErr: "names the remote \"" + remote.URL + "/deployment.yaml\": the deploy renders the overlay offline",
		},
		{
			name: "a remote git base in a local base",
			files: map[string]string{"o/kustomization.yaml": usual + "components: [../b]\n", "o/deployment.yaml": deploymentOf("web", "app"),
				"b/kustomization.yaml": "resources: ['github.com/acme/bases//web?ref=v1']\n"},
			wantErr: `names the remote "github.com/acme/bases//web?ref=v1"`,
		},
		{
			name: "a remote patch file in a transformer configuration",
			files: map[string]string{"o/kustomization.yaml": usual + "transformers: [t.yaml]\n", "o/deployment.yaml": deploymentOf("web", "app"),
				"o/t.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + remote.URL + "/patch.yaml\n"},
			wantErr: "names the remote",
		},
		{
			name: "a file:// git base",
			files: map[string]string{"o/kustomization.yaml": kzHead + "resources: [deployment.yaml, 'file:///tmp/x.git//base']\nimages: [{name: app, newName: ghcr.io/acme/widgets}]\n",
				"o/deployment.yaml": deploymentOf("web", "app")},
			wantErr: `the deploy renders the overlay offline`,
		},
		{
			name: "a resource symlinked out of the repository",
			files: map[string]string{"o/kustomization.yaml": kzHead + "resources: [deployment.yaml, leak.yaml]\nimages: [{name: app, newName: ghcr.io/acme/widgets}]\n",
				"o/deployment.yaml": deploymentOf("web", "app"), "o/leak.yaml": "symlink:" + outside},
			wantErr: `resources "leak.yaml" leaves the repository`,
		},
		{
			name: "a base outside the repository",
			files: map[string]string{"o/kustomization.yaml": kzHead + "resources: [deployment.yaml, ../../../../../../../../" + filepath.Dir(outside) + "]\nimages: [{name: app, newName: ghcr.io/acme/widgets}]\n",
				"o/deployment.yaml": deploymentOf("web", "app")},
			wantErr: `leaves the repository`,
		},
		{
			name: "a Helm chart",
			files: map[string]string{"o/kustomization.yaml": usual + "helmCharts: [{name: web, repo: 'https://charts.example'}]\n",
				"o/deployment.yaml": deploymentOf("web", "app")},
			wantErr: "inflates Helm charts",
		},
		{
			name:    "a billion laughs in a resource",
			files:   map[string]string{"o/kustomization.yaml": usual, "o/deployment.yaml": deploymentOf("web", "app") + "---\n" + laughs()},
			wantErr: "aliases expand the files of the render to more than 1000000 nodes",
		},
		{
			name:    "a render that fails",
			files:   map[string]string{"o/kustomization.yaml": usual},
			wantErr: "kustomize build o failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bare, _ := bareRepoWith(t, tt.files)
			before := git(t, bare, "for-each-ref")
			opts := gitopsOpts(bare)
			opts.Path = "o"
			if tt.path != "" {
				opts.Path = tt.path
			}
			opts.ImageName = tt.imageName
			res, err := GitOps(context.Background(), opts)
			after := git(t, bare, "for-each-ref")
			if tt.wantErr != "" {
				if errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v (%v), want an input error naming %q", err, errkind.Of(err), tt.wantErr)
				}
				if after != before {
					t.Errorf("a refused deploy pushed:\n%s\n→\n%s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if after == before || res.Commit == "" {
				t.Fatalf("nothing pushed: %+v", res)
			}
			if len(res.Uses) != tt.wantUses {
				t.Errorf("uses = %+v, want %d", res.Uses, tt.wantUses)
			}
			for _, u := range res.Uses {
				if u.Image != testImage.String() {
					t.Errorf("use %+v", u)
				}
			}
			k := git(t, bare, "show", "main:"+res.File)
			if !strings.Contains(k, tt.wantK) || strings.Contains(k, "newTag: v1") {
				t.Errorf("committed kustomization:\n%s\nwant it to contain %q", k, tt.wantK)
			}
			// Deploying again: nothing to change, and still render-checked.
			res, err = GitOps(context.Background(), opts)
			if err != nil || res.Changed || res.Commit != "" || len(res.Uses) != tt.wantUses {
				t.Errorf("second deploy: %+v, %v", res, err)
			}
		})
	}
	if n := remoteHits.Load(); n != 0 {
		t.Errorf("the render fetched a remote resource %d times", n)
	}
}

// A kustomization that already names the digest is still render-checked: the
// deploy cannot report "nothing to change" for an overlay whose containers do
// not run it.
func TestGitOpsAlreadySetStillChecked(t *testing.T) {
	t.Parallel()
	k := kzHead + "resources: [deployment.yaml]\nimages: [{name: app, newName: ghcr.io/acme/widgets, digest: " + testImage.Digest + "}]\n"
	bare, _ := bareRepoWith(t, map[string]string{"o/kustomization.yaml": k, "o/deployment.yaml": deploymentOf("web", "other")})
	opts := gitopsOpts(bare)
	opts.Path = "o"
	_, err := GitOps(context.Background(), opts)
	if errkind.Of(err) != errkind.KindInput || !strings.Contains(err.Error(), "no container in the render") {
		t.Fatalf("err = %v", err)
	}
}

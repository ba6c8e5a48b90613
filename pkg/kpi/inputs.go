package kpi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/deploy"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// Bounds of the inputs.
const (
	// MaxInputBytes caps an images list or a pod list file.
	MaxInputBytes = 64 << 20
	// MaxImages caps the image references read from one input.
	MaxImages = 100000
)

// ParseImages reads an images list: one reference per line, optionally
// followed by whitespace and the environment it runs in; blank lines and
// lines starting with # are skipped. what names the input in errors.
func ParseImages(data []byte, what string) ([]Running, error) {
	if len(data) > MaxInputBytes {
		return nil, errkind.Input(fmt.Errorf("%s: larger than %d bytes", what, MaxInputBytes))
	}
	var out []Running
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		if len(f) > 2 {
			return nil, errkind.Input(fmt.Errorf("%s:%d: want \"REFERENCE [ENVIRONMENT]\", got %d fields", what, line, len(f)))
		}
		r := Running{Ref: f[0], Source: fmt.Sprintf("%s:%d", what, line)}
		if len(f) == 2 {
			r.Environment = f[1]
		}
		out = append(out, r)
		if len(out) > MaxImages {
			return nil, errkind.Input(fmt.Errorf("%s: more than %d images", what, MaxImages))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, errkind.Input(fmt.Errorf("%s:%d: %w (a line over 64 KiB?)", what, line+1, err))
	}
	if len(out) == 0 {
		return nil, errkind.Input(fmt.Errorf("%s lists no image: give one reference (repo@sha256:…) per line", what))
	}
	return out, nil
}

// ParsePods reads `kubectl get pods -A -o json` output: every container,
// init container and ephemeral container of every pod, its environment the
// pod's namespace. The reference is the spec's image: a pod running a tag
// counts as running by tag even when its status reports the digest pulled
// (the status digest is then named in Source).
func ParsePods(data []byte, what string) ([]Running, error) {
	if len(data) > MaxInputBytes {
		return nil, errkind.Input(fmt.Errorf("%s: larger than %d bytes", what, MaxInputBytes))
	}
	type container struct {
		Name  string `json:"name"`
		Image string `json:"image"`
	}
	type status struct {
		Name    string `json:"name"`
		ImageID string `json:"imageID"`
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			Spec struct {
				Containers          []container `json:"containers"`
				InitContainers      []container `json:"initContainers"`
				EphemeralContainers []container `json:"ephemeralContainers"`
			} `json:"spec"`
			Status struct {
				ContainerStatuses          []status `json:"containerStatuses"`
				InitContainerStatuses      []status `json:"initContainerStatuses"`
				EphemeralContainerStatuses []status `json:"ephemeralContainerStatuses"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, errkind.Input(fmt.Errorf("%s: not the JSON of `kubectl get pods -A -o json`: %w", what, err))
	}
	if list.Kind != "List" && list.Kind != "PodList" {
		return nil, errkind.Input(fmt.Errorf("%s: kind %q, want the List of `kubectl get pods -A -o json`", what, list.Kind))
	}
	var out []Running
	for i, p := range list.Items {
		if p.Kind != "" && p.Kind != "Pod" {
			// Not skipped: what it runs would drop out of the coverage.
			return nil, errkind.Input(fmt.Errorf("%s: items[%d] (%q in %q) is of kind %q, not Pod: give the output of `kubectl get pods -A -o json`",
				what, i, p.Metadata.Name, p.Metadata.Namespace, p.Kind))
		}
		ids := map[string]string{}
		for _, s := range append(append(p.Status.ContainerStatuses, p.Status.InitContainerStatuses...), p.Status.EphemeralContainerStatuses...) {
			ids[s.Name] = deploy.ImageIDDigest(s.ImageID)
		}
		for _, c := range append(append(p.Spec.Containers, p.Spec.InitContainers...), p.Spec.EphemeralContainers...) {
			if c.Image == "" {
				continue
			}
			src := fmt.Sprintf("%s: pod %s/%s container %s", what, p.Metadata.Namespace, p.Metadata.Name, c.Name)
			if d := ids[c.Name]; d != "" && !strings.Contains(c.Image, "@"+d) {
				src += " (status: " + d + ")"
			}
			out = append(out, Running{Ref: c.Image, Environment: p.Metadata.Namespace, Source: src})
			if len(out) > MaxImages {
				return nil, errkind.Input(fmt.Errorf("%s: more than %d containers", what, MaxImages))
			}
		}
	}
	if len(out) == 0 {
		return nil, errkind.Input(fmt.Errorf("%s: no pod with a container", what))
	}
	return out, nil
}

// kustomizationFiles are the names kustomize reads a kustomization from.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func hasKustomization(dir string) bool {
	for _, f := range kustomizationFiles {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// ParseGitOps lists the images a GitOps repository deploys: each overlay —
// every directory directly under DIR/overlays holding a kustomization, named
// by its directory, or else DIR itself when it holds one — rendered with
// kustomize's API exactly as verify-and-deploy renders it (pkg/deploy: no
// remote bases, no plugins, nothing read from outside DIR), and every image
// field of the render listed with the overlay as its environment.
func ParseGitOps(dir string) ([]Running, error) {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, errkind.Input(fmt.Errorf("gitops: %s is not a directory", dir))
	}
	var overlays []string
	if entries, err := os.ReadDir(filepath.Join(dir, "overlays")); err == nil {
		for _, e := range entries {
			if e.IsDir() && hasKustomization(filepath.Join(dir, "overlays", e.Name())) {
				overlays = append(overlays, filepath.Join(dir, "overlays", e.Name()))
			}
		}
	}
	if len(overlays) == 0 {
		if !hasKustomization(dir) {
			return nil, errkind.Input(fmt.Errorf("gitops: %s holds no kustomization and no overlays/<environment>/ with one", dir))
		}
		overlays = []string{dir}
	}
	var out []Running
	for _, o := range overlays {
		uses, err := deploy.RenderImages(dir, o)
		if err != nil {
			return nil, err
		}
		env := filepath.Base(o)
		for _, u := range uses {
			out = append(out, Running{Ref: u.Image, Environment: env, Source: fmt.Sprintf("%s: %s %s", o, u.Resource, u.Field)})
		}
	}
	if len(out) == 0 {
		return nil, errkind.Input(fmt.Errorf("gitops: no image in the render of %s", dir))
	}
	return out, nil
}

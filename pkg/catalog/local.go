package catalog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// refNameAnnotation is the OCI annotation naming an image in a layout.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// openLayout opens the one image of an OCI layout directory. A layout holding
// several images must hold exactly one for this machine's platform.
func openLayout(dir string) (v1.Image, oci.Ref, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, oci.Ref{}, errkind.Input(fmt.Errorf("oci-dir:%s: expected an OCI image layout directory", dir))
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, oci.Ref{}, errkind.Input(fmt.Errorf("oci-dir:%s: not an OCI image layout: %w", dir, err))
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, oci.Ref{}, errkind.Input(fmt.Errorf("oci-dir:%s: reading index.json: %w", dir, err))
	}
	img, desc, err := pickImage(idx, 0)
	if err != nil {
		return nil, oci.Ref{}, errkind.Input(fmt.Errorf("oci-dir:%s: %w", dir, err))
	}
	repo := repoFromRefName(desc.Annotations[refNameAnnotation])
	if repo == "" {
		repo = filepath.Base(filepath.Clean(dir))
	}
	return img, oci.Ref{Repository: repo, Digest: desc.Digest.String()}, nil
}

// pickImage finds the image of an index: its only image manifest, or the one for
// this machine's platform, descending into nested indexes.
func pickImage(idx v1.ImageIndex, depth int) (v1.Image, v1.Descriptor, error) {
	if depth > 4 {
		return nil, v1.Descriptor{}, errors.New("image indexes nested too deep")
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("reading the image index: %w", err)
	}
	var cands []v1.Descriptor
	for _, d := range m.Manifests {
		if d.MediaType.IsImage() || d.MediaType.IsIndex() {
			cands = append(cands, d)
		}
	}
	if len(cands) > 1 {
		var match []v1.Descriptor
		for _, d := range cands {
			if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH {
				match = append(match, d)
			}
		}
		cands = match
	}
	if len(cands) != 1 {
		return nil, v1.Descriptor{}, fmt.Errorf("expected one image (or one for linux/%s), found %d", runtime.GOARCH, len(cands))
	}
	d := cands[0]
	if d.MediaType.IsIndex() {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, v1.Descriptor{}, fmt.Errorf("reading nested index %s: %w", d.Digest, err)
		}
		img, _, err := pickImage(child, depth+1)
		// the outer digest names the image, as a registry reference to it would
		return img, d, err
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return nil, v1.Descriptor{}, fmt.Errorf("reading image %s: %w", d.Digest, err)
	}
	return img, d, nil
}

// openArchive opens the one image of a docker-archive tarball (docker save).
func openArchive(path string) (v1.Image, oci.Ref, error) {
	if fi, err := os.Stat(path); err != nil || fi.IsDir() {
		return nil, oci.Ref{}, errkind.Input(fmt.Errorf("docker-archive:%s: expected a docker save tarball", path))
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return nil, oci.Ref{}, errkind.Input(fmt.Errorf("docker-archive:%s: reading manifest.json: %w", path, err))
	}
	if len(m) != 1 {
		return nil, oci.Ref{}, errkind.Input(fmt.Errorf("docker-archive:%s: expected one image, found %d", path, len(m)))
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return nil, oci.Ref{}, errkind.Input(fmt.Errorf("docker-archive:%s: %w", path, err))
	}
	d, err := img.Digest()
	if err != nil {
		return nil, oci.Ref{}, errkind.Input(fmt.Errorf("docker-archive:%s: computing the manifest digest: %w", path, err))
	}
	repo := ""
	if len(m[0].RepoTags) > 0 {
		repo = repoFromRefName(m[0].RepoTags[0])
	}
	if repo == "" {
		repo = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return img, oci.Ref{Repository: repo, Digest: d.String()}, nil
}

// repoFromRefName returns the repository of a full reference (registry/repo:tag),
// or "" when s is not one (a bare tag such as "v1" in an OCI layout).
func repoFromRefName(s string) string {
	if s == "" || !strings.ContainsAny(s, "/:") {
		return ""
	}
	r, err := name.ParseReference(s)
	if err != nil {
		return ""
	}
	return r.Context().Name()
}

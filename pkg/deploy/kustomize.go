package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// MaxKustomizationBytes caps the kustomization file read.
const MaxKustomizationBytes = 1 << 20

// FindKustomization returns the kustomization file in dir (kustomization.yaml,
// kustomization.yml or Kustomization, as kustomize looks for them).
func FindKustomization(dir string) (string, error) {
	var found []string
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, n)
		if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return "", errkind.Input(fmt.Errorf("no kustomization file (%s) in %s",
			strings.Join(konfig.RecognizedKustomizationFileNames(), ", "), dir))
	case 1:
		return found[0], nil
	}
	return "", errkind.Input(fmt.Errorf("%s holds more than one kustomization file: %s", dir, strings.Join(found, ", ")))
}

// SetImage sets the verified digest in the kustomization's images entries that
// name the image, as `kustomize edit set image NAME=REPO@DIGEST` does: with
// imageName, the entry whose name is imageName; without it, every entry whose
// name or newName is ref's repository (compared as image references, so
// docker.io/library/x and x are one). Each entry gets digest DIGEST, newName REPO
// unless its name or newName already is REPO, and loses newTag and tagSuffix (with
// both, kustomize would render repo:tag@digest; the digest alone is what runs).
// Comments and the other fields are kept. The result is checked by decoding it
// into kustomize's own types.Kustomization.
//
// No matching entry is an input error listing the entries there are and the
// gitops-image that would select one: an entry is never added, since nothing
// says a container would use it.
func SetImage(data []byte, imageName string, ref oci.Ref) ([]byte, error) {
	out, _, err := setImages(data, imageName, ref)
	return out, err
}

// sameRepository reports whether the image names a and b are one repository
// (go-containerregistry's normalisation: index.docker.io/library/x is x).
func sameRepository(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	ra, errA := name.NewRepository(a)
	rb, errB := name.NewRepository(b)
	return errA == nil && errB == nil && ra.Name() == rb.Name()
}

// matchImages returns the names of the images entries to update (see SetImage).
func matchImages(k *types.Kustomization, imageName string, ref oci.Ref) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	for _, im := range k.Images {
		match := im.Name == imageName
		if imageName == "" {
			match = sameRepository(im.Name, ref.Repository) || sameRepository(im.NewName, ref.Repository)
		}
		if !match {
			continue
		}
		if seen[im.Name] {
			return nil, errkind.Input(fmt.Errorf("kustomization lists image %q twice: keep one entry", im.Name))
		}
		seen[im.Name] = true
		names = append(names, im.Name)
	}
	if len(names) > 0 {
		count := map[string]int{}
		for _, im := range k.Images {
			if seen[im.Name] {
				if count[im.Name]++; count[im.Name] > 1 {
					return nil, errkind.Input(fmt.Errorf("kustomization lists image %q twice: keep one entry", im.Name))
				}
			}
		}
		return names, nil
	}
	var have []string
	for _, im := range k.Images {
		have = append(have, describeEntry(im))
	}
	hint := ""
	if len(k.ImageTags) > 0 {
		hint = " (its imageTags list is deprecated and not edited: move the entries to images)"
	}
	listed := "it has no images entries" + hint
	if len(have) > 0 {
		listed = "its images entries are " + strings.Join(have, ", ") + hint
	}
	if imageName != "" {
		fix := "set gitops-image to the name of the entry the containers use"
		if len(k.Images) > 0 {
			fix += fmt.Sprintf(" (e.g. gitops-image: %s)", k.Images[0].Name)
		}
		return nil, errkind.Input(fmt.Errorf("no images entry is named %q (gitops-image); %s: %s", imageName, listed, fix))
	}
	fix := fmt.Sprintf("set gitops-image to the name of the entry the containers use, or add an entry {name: <the image name in the manifests>, newName: %s}", ref.Repository)
	if len(k.Images) == 1 {
		fix = fmt.Sprintf("set gitops-image: %s if the containers use that entry, or add an entry {name: <the image name in the manifests>, newName: %s}", k.Images[0].Name, ref.Repository)
	}
	return nil, errkind.Input(fmt.Errorf("no images entry has name or newName %s; %s: %s", ref.Repository, listed, fix))
}

func describeEntry(im types.Image) string {
	s := im.Name
	if im.NewName != "" {
		s += " → " + im.NewName
	}
	switch {
	case im.Digest != "":
		s += "@" + im.Digest
	case im.NewTag != "":
		s += ":" + im.NewTag
	}
	return s
}

func setImages(data []byte, imageName string, ref oci.Ref) ([]byte, []string, error) {
	if ref.Repository == "" || !strings.HasPrefix(ref.Digest, "sha256:") {
		return nil, nil, errkind.Input(fmt.Errorf("set image: %q is not a digest reference", ref.String()))
	}
	if len(data) > MaxKustomizationBytes {
		return nil, nil, errkind.Input(fmt.Errorf("kustomization is larger than %d bytes", MaxKustomizationBytes))
	}
	var before types.Kustomization
	if err := yaml.UnmarshalStrict(data, &before); err != nil {
		return nil, nil, errkind.Input(fmt.Errorf("parsing the kustomization: %w", err))
	}
	names, err := matchImages(&before, imageName, ref)
	if err != nil {
		return nil, nil, err
	}
	node, err := kyaml.Parse(string(data))
	if err != nil {
		return nil, nil, errkind.Input(fmt.Errorf("parsing the kustomization: %w", err))
	}
	images, err := node.Pipe(kyaml.Lookup("images"))
	if err != nil || images == nil {
		return nil, nil, errkind.Input(fmt.Errorf("kustomization images: %v", err))
	}
	elems, err := images.Elements()
	if err != nil {
		return nil, nil, errkind.Input(fmt.Errorf("kustomization images: %w", err))
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, e := range elems {
		n := e.Field("name")
		if n == nil || !want[kyaml.GetValue(n.Value)] {
			continue
		}
		entryName := kyaml.GetValue(n.Value)
		for _, f := range []string{"newTag", "tagSuffix"} {
			if _, err := e.Pipe(kyaml.Clear(f)); err != nil {
				return nil, nil, err
			}
		}
		newName := ""
		if f := e.Field("newName"); f != nil {
			newName = kyaml.GetValue(f.Value)
		}
		switch {
		case newName != "" && sameRepository(newName, ref.Repository):
			// Already the repository (perhaps spelled differently): keep it.
		case newName == "" && sameRepository(entryName, ref.Repository):
		default:
			if err := e.PipeE(kyaml.SetField("newName", kyaml.NewScalarRNode(ref.Repository))); err != nil {
				return nil, nil, err
			}
		}
		if err := e.PipeE(kyaml.SetField("digest", kyaml.NewScalarRNode(ref.Digest))); err != nil {
			return nil, nil, err
		}
	}
	s, err := node.String()
	if err != nil {
		return nil, nil, err
	}
	out := []byte(s)
	var after types.Kustomization
	if err := yaml.UnmarshalStrict(out, &after); err != nil {
		return nil, nil, fmt.Errorf("the edited kustomization does not parse: %w", err)
	}
	for _, n := range names {
		c := 0
		for _, im := range after.Images {
			if im.Name != n {
				continue
			}
			c++
			target := im.NewName
			if target == "" {
				target = im.Name
			}
			if im.Digest != ref.Digest || im.NewTag != "" || im.TagSuffix != "" || !sameRepository(target, ref.Repository) {
				return nil, nil, fmt.Errorf("the edited kustomization sets %+v, not %s", im, ref)
			}
		}
		if c != 1 {
			return nil, nil, fmt.Errorf("the edited kustomization has %d entries for %s", c, n)
		}
	}
	return out, names, nil
}

// ImageOf returns the reference the kustomization sets for imageName
// (newName@digest or name:newTag), or "".
func ImageOf(data []byte, imageName string) string {
	var k types.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return ""
	}
	for _, im := range k.Images {
		if im.Name != imageName {
			continue
		}
		n := im.Name
		if im.NewName != "" {
			n = im.NewName
		}
		switch {
		case im.Digest != "":
			return n + "@" + im.Digest
		case im.NewTag != "":
			return n + ":" + im.NewTag
		}
		return n
	}
	return ""
}

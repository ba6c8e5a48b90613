package deploy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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

// SetImage does to the kustomization in data what `kustomize edit set image
// NAME=REPO@DIGEST` does: the images entry called name (added if missing) gets
// newName REPO and digest DIGEST, and loses any newTag. Comments and the other
// fields are kept. The result is checked by decoding it into kustomize's own
// types.Kustomization.
func SetImage(data []byte, imageName string, ref oci.Ref) ([]byte, error) {
	if imageName == "" {
		return nil, errkind.Input(errors.New("set image: empty image name"))
	}
	if len(data) > MaxKustomizationBytes {
		return nil, errkind.Input(fmt.Errorf("kustomization is larger than %d bytes", MaxKustomizationBytes))
	}
	var before types.Kustomization
	if err := yaml.UnmarshalStrict(data, &before); err != nil {
		return nil, errkind.Input(fmt.Errorf("parsing the kustomization: %w", err))
	}
	node, err := kyaml.Parse(string(data))
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("parsing the kustomization: %w", err))
	}
	images, err := node.Pipe(kyaml.LookupCreate(kyaml.SequenceNode, "images"))
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("kustomization images: %w", err))
	}
	elems, err := images.Elements()
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("kustomization images: %w", err))
	}
	var entry *kyaml.RNode
	for _, e := range elems {
		if n := e.Field("name"); n != nil && kyaml.GetValue(n.Value) == imageName {
			if entry != nil {
				return nil, errkind.Input(fmt.Errorf("kustomization lists image %q twice", imageName))
			}
			entry = e
		}
	}
	if entry == nil {
		entry = kyaml.NewMapRNode(nil)
		if err := entry.PipeE(kyaml.SetField("name", kyaml.NewScalarRNode(imageName))); err != nil {
			return nil, err
		}
		if err := images.PipeE(kyaml.Append(entry.YNode())); err != nil {
			return nil, err
		}
	}
	if _, err := entry.Pipe(kyaml.Clear("newTag")); err != nil {
		return nil, err
	}
	if _, err := entry.Pipe(kyaml.Clear("tagSuffix")); err != nil {
		return nil, err
	}
	if ref.Repository != imageName {
		if err := entry.PipeE(kyaml.SetField("newName", kyaml.NewScalarRNode(ref.Repository))); err != nil {
			return nil, err
		}
	} else if _, err := entry.Pipe(kyaml.Clear("newName")); err != nil {
		return nil, err
	}
	if err := entry.PipeE(kyaml.SetField("digest", kyaml.NewScalarRNode(ref.Digest))); err != nil {
		return nil, err
	}
	s, err := node.String()
	if err != nil {
		return nil, err
	}
	out := []byte(s)
	var after types.Kustomization
	if err := yaml.UnmarshalStrict(out, &after); err != nil {
		return nil, fmt.Errorf("the edited kustomization does not parse: %w", err)
	}
	n := 0
	for _, im := range after.Images {
		if im.Name == imageName {
			n++
			if im.Digest != ref.Digest || im.NewTag != "" || (im.NewName != "" && im.NewName != ref.Repository) {
				return nil, fmt.Errorf("the edited kustomization sets %+v, not %s", im, ref)
			}
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("the edited kustomization has %d entries for %s", n, imageName)
	}
	return out, nil
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

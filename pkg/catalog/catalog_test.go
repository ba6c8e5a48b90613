package catalog_test

import (
	"context"
	"debug/buildinfo"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// fixture is the SBOM test image, built once per test binary.
var fixture struct {
	once   sync.Once
	rootfs string
	layer  string
}

func fixtureLayer(t *testing.T) (rootfs, layer string) {
	t.Helper()
	fixture.once.Do(func() {
		dir, err := os.MkdirTemp("", "catalog-fixture-")
		if err != nil {
			t.Fatal(err)
		}
		// the fixture outlives the test that built it; TestMain removes it
		fixtureDirs = append(fixtureDirs, dir)
		src := testinfra.SBOMRootfs(t)
		if err := os.CopyFS(filepath.Join(dir, "rootfs"), os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		fixture.rootfs = filepath.Join(dir, "rootfs")
		l := testinfra.LayerFromDir(t, fixture.rootfs)
		data, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		fixture.layer = filepath.Join(dir, "layer.tar")
		if err := os.WriteFile(fixture.layer, data, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if fixture.layer == "" {
		t.Fatal("building the fixture failed in an earlier test")
	}
	return fixture.rootfs, fixture.layer
}

var fixtureDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range fixtureDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// pkgSet lists the catalog's packages as "type name version", sorted.
func pkgSet(s *sbom.SBOM) []string {
	var out []string
	for p := range s.Artifacts.Packages.Enumerate() {
		out = append(out, string(p.Type)+" "+p.Name+" "+p.Version)
	}
	slices.Sort(out)
	return out
}

// wantPackages is the fixture's package set: the planted packages, plus the Go
// binary's main module (syft names a "(devel)" build UNKNOWN) and standard library.
func wantPackages(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, p := range testinfra.SBOMFixturePackages {
		out = append(out, p.Type+" "+p.Name+" "+p.Version)
	}
	out = append(out, "go-module "+testinfra.SBOMFixtureModule+" UNKNOWN", "go-module stdlib "+goVersion(t))
	slices.Sort(out)
	return out
}

func goVersion(t *testing.T) string {
	t.Helper()
	bi, err := buildinfo.ReadFile(testinfra.FixtureGoBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	return bi.GoVersion
}

func TestImageFromRegistryResolvesTagOnce(t *testing.T) {
	t.Parallel()
	_, layer := fixtureLayer(t)
	reg := testinfra.StartRegistry(t)
	img := testinfra.ImageFromLayers(t, layer)
	ref := reg.Host + "/test/app:v1"
	digest := testinfra.PushImage(t, ref, img)

	src, err := catalog.ParseImageSource(ref)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	res, err := catalog.Image(context.Background(), src, catalog.Options{TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref.Digest != digest || res.Ref.Repository != reg.Host+"/test/app" || res.Ref.Tag != "v1" {
		t.Errorf("Ref = %+v, want %s/test/app@%s from tag v1", res.Ref, reg.Host, digest)
	}
	if got, want := pkgSet(res.SBOM), wantPackages(t); !slices.Equal(got, want) {
		t.Errorf("packages:\n got %q\nwant %q", got, want)
	}
	if res.Packages != len(wantPackages(t)) {
		t.Errorf("Packages = %d, want %d", res.Packages, len(wantPackages(t)))
	}
	m, ok := res.SBOM.Source.Metadata.(source.ImageMetadata)
	if !ok {
		t.Fatalf("source metadata is %T, want image metadata", res.SBOM.Source.Metadata)
	}
	if m.ManifestDigest != digest || res.SBOM.Source.Version != digest || res.SBOM.Source.Name != reg.Host+"/test/app" {
		t.Errorf("SBOM source = %s %s (manifest %s), want the image named by digest %s", res.SBOM.Source.Name, res.SBOM.Source.Version, m.ManifestDigest, digest)
	}
	if !slices.Equal(m.RepoDigests, []string{reg.Host + "/test/app@" + digest}) {
		t.Errorf("RepoDigests = %q", m.RepoDigests)
	}
	assertEmptyDir(t, tmp)

	// Moving the tag afterwards changes nothing for a digest reference.
	byDigest, err := catalog.ParseImageSource(res.Ref.String())
	if err != nil {
		t.Fatal(err)
	}
	testinfra.PushImage(t, ref, empty.Image)
	res2, err := catalog.Image(context.Background(), byDigest, catalog.Options{TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Ref.Digest != digest || !slices.Equal(pkgSet(res2.SBOM), pkgSet(res.SBOM)) {
		t.Errorf("catalog by digest after the tag moved: %+v %q", res2.Ref, pkgSet(res2.SBOM))
	}
}

func TestLocalImageSources(t *testing.T) {
	t.Parallel()
	_, layer := fixtureLayer(t)
	img := testinfra.ImageFromLayers(t, layer)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	layoutDir := testinfra.OCILayout(t, img, "example.com/team/app:v1")
	tag, _ := name.NewTag("example.com/team/app:v2")
	archive := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		input    string
		wantRepo string
	}{
		{"oci-dir:" + layoutDir, "example.com/team/app"},
		{"docker-archive:" + archive, "example.com/team/app"},
	} {
		t.Run(strings.SplitN(tc.input, ":", 2)[0], func(t *testing.T) {
			src, err := catalog.ParseImageSource(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			res, err := catalog.Image(context.Background(), src, catalog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ref.Digest != digest.String() || res.Ref.Repository != tc.wantRepo {
				t.Errorf("Ref = %+v, want %s@%s", res.Ref, tc.wantRepo, digest)
			}
			if got, want := pkgSet(res.SBOM), wantPackages(t); !slices.Equal(got, want) {
				t.Errorf("packages:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestDirectory(t *testing.T) {
	t.Parallel()
	rootfs, _ := fixtureLayer(t)
	res, err := catalog.Directory(context.Background(), rootfs, catalog.Options{Name: "widgets"})
	if err != nil {
		t.Fatal(err)
	}
	// A directory is catalogued with syft's directory catalogers: declared
	// dependencies (lock files) rather than installed node_modules, which only an
	// image's catalogers read.
	want := slices.DeleteFunc(wantPackages(t), func(p string) bool { return strings.HasPrefix(p, "npm ") })
	if got := pkgSet(res.SBOM); !slices.Equal(got, want) {
		t.Errorf("packages:\n got %q\nwant %q", got, want)
	}
	if res.SBOM.Source.Name != "widgets" || res.Ref != (catalog.Result{}).Ref {
		t.Errorf("source name %q, Ref %+v", res.SBOM.Source.Name, res.Ref)
	}
}

// A symlink pointing out of the scanned directory is never followed: the
// package it points at (outside) is not catalogued, whether the link is absolute
// or climbs with "..".
func TestSymlinksStayInsideRoot(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	testinfra.WriteFile(t, filepath.Join(outside, "leaked", "requirements.txt"), "leaked-secret-pkg==6.6.6\n", 0o644)
	root := filepath.Join(base, "root")
	testinfra.WriteFile(t, filepath.Join(root, "app", "requirements.txt"), "inside-pkg==1.0.0\n", 0o644)
	for link, target := range map[string]string{
		"abs":                      filepath.Join(outside, "leaked"),
		"app/rel":                  "../../outside/leaked",
		"app/requirements-dev.txt": filepath.Join(outside, "leaked", "requirements.txt"),
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := catalog.Directory(context.Background(), root, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for p := range res.SBOM.Artifacts.Packages.Enumerate() {
		names = append(names, p.Name)
	}
	if !slices.Contains(names, "inside-pkg") || slices.Contains(names, "leaked-secret-pkg") {
		t.Errorf("packages %q: want inside-pkg and not the package outside the root", names)
	}
}

func TestParseImageSource(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    catalog.ImageSource
		wantErr bool
	}{
		{"127.0.0.1:5000/app:v1", catalog.ImageSource{Kind: catalog.SourceRegistry, Ref: "127.0.0.1:5000/app:v1"}, false},
		{"registry:ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64), catalog.ImageSource{Kind: catalog.SourceRegistry, Ref: "ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64)}, false},
		{"oci-dir:/tmp/layout", catalog.ImageSource{Kind: catalog.SourceOCIDir, Path: "/tmp/layout"}, false},
		{"docker-archive:img.tar", catalog.ImageSource{Kind: catalog.SourceDockerArchive, Path: "img.tar"}, false},
		{"", catalog.ImageSource{}, true},
		{"oci-dir:", catalog.ImageSource{}, true},
		{"UPPER/Case:tag", catalog.ImageSource{}, true},
		{"ghcr.io/acme/app@sha256:short", catalog.ImageSource{}, true},
	} {
		got, err := catalog.ParseImageSource(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseImageSource(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err != nil {
			if errkind.Of(err) != errkind.KindInput {
				t.Errorf("ParseImageSource(%q): kind %v, want input", tc.in, errkind.Of(err))
			}
			continue
		}
		if got != tc.want {
			t.Errorf("ParseImageSource(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if got.String() != strings.TrimPrefix(tc.in, "registry:") {
			t.Errorf("String() = %q", got.String())
		}
	}
}

func TestBadSources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notImage := filepath.Join(dir, "x.tar")
	testinfra.WriteFile(t, notImage, "not a tarball", 0o644)
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"missing directory", func() error {
			_, err := catalog.Directory(context.Background(), filepath.Join(dir, "nope"), catalog.Options{})
			return err
		}},
		{"file as directory", func() error {
			_, err := catalog.Directory(context.Background(), notImage, catalog.Options{})
			return err
		}},
		{"missing layout", func() error {
			_, err := catalog.Image(context.Background(), catalog.ImageSource{Kind: catalog.SourceOCIDir, Path: filepath.Join(dir, "nope")}, catalog.Options{})
			return err
		}},
		{"not an archive", func() error {
			_, err := catalog.Image(context.Background(), catalog.ImageSource{Kind: catalog.SourceDockerArchive, Path: notImage}, catalog.Options{})
			return err
		}},
	} {
		err := tc.run()
		if err == nil || errkind.Of(err) != errkind.KindInput {
			t.Errorf("%s: error %v (kind %v), want an input error", tc.name, err, errkind.Of(err))
		}
		if errors.Is(err, catalog.ErrLimit) {
			t.Errorf("%s: reported as a limit", tc.name)
		}
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("temporary directory %s not cleaned up: %v", dir, ents)
	}
}

// Cataloguing a tree runs no program from PATH: a go command planted first on
// PATH (as a hostile runner image or a toolchain line in an untrusted go.mod
// could arrange) is never run, and the modules still come from go.mod.
func TestDirectoryRunsNoTools(t *testing.T) {
	tree := t.TempDir()
	gomod := "module example.com/untrusted\n\ngo 1.26\n\ntoolchain go1.99.0\n\nrequire golang.org/x/text v0.3.7\n"
	if err := os.WriteFile(filepath.Join(tree, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	marker := filepath.Join(t.TempDir(), "ran")
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\necho \"$@\" >> "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	res, err := catalog.Directory(context.Background(), tree, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(marker); err == nil {
		t.Errorf("cataloguing ran the go command: go %s", data)
	}
	if got := pkgSet(res.SBOM); !slices.Contains(got, "go-module golang.org/x/text v0.3.7") {
		t.Errorf("packages %q lack golang.org/x/text v0.3.7 from go.mod", got)
	}
}

package sbomdoc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/CycloneDX/cyclonedx-go"
	"github.com/anchore/syft/syft/format/syftjson"
	"github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/spdx/tools-golang/tagvalue"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/internal/testinfra/golden"
	"github.com/secure-gates/secure-gates/pkg/catalog"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/sbomdoc"
)

const digest = "sha256:3ba5c9ea086ec3b11831956de3d95f4591e9296c0087c70172aaf27d99cbdee4"

// handmade is a small deterministic catalog of an image.
func handmade() *sbom.SBOM {
	c := pkg.NewCollection()
	for _, p := range []pkg.Package{
		{Name: "lodash", Version: "4.17.20", Type: pkg.NpmPkg, Language: pkg.JavaScript, PURL: "pkg:npm/lodash@4.17.20"},
		{Name: "libssl3", Version: "3.0.11-1~deb12u2", Type: pkg.DebPkg, PURL: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"},
	} {
		p.SetID()
		c.Add(p)
	}
	return &sbom.SBOM{
		Artifacts: sbom.Artifacts{Packages: c},
		Source: source.Description{
			ID: "d9b2a1f0c3e4", Name: "127.0.0.1:5000/test/app", Version: digest,
			Metadata: source.ImageMetadata{UserInput: "127.0.0.1:5000/test/app@" + digest, ManifestDigest: digest, ID: "sha256:0a1b2c3d", Architecture: "amd64", OS: "linux"},
		},
		Descriptor: sbom.Descriptor{Name: "syft", Version: "v1.54.1"},
	}
}

var subject = oci.Ref{Repository: "127.0.0.1:5000/test/app", Digest: digest}

// volatile fields: random serial numbers and namespaces, timestamps.
var volatile = regexp.MustCompile(`("(serialNumber|timestamp|created|documentNamespace)": ?)"[^"]*"`)

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, f := range []sbomdoc.Format{sbomdoc.CycloneDXJSON, sbomdoc.SPDXJSON} {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := sbomdoc.Encode(&buf, handmade(), f, sbomdoc.Options{Subject: subject, Arch: "amd64"}); err != nil {
				t.Fatal(err)
			}
			got := volatile.ReplaceAll(buf.Bytes(), []byte(`$1"X"`))
			golden.Check(t, filepath.Join("testdata", f.FileName("golden")), got)
		})
	}
}

func TestImagePURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ref  oci.Ref
		arch string
		want string
	}{
		{subject, "amd64", "pkg:oci/app@" + digest + "?arch=amd64&repository_url=127.0.0.1:5000%2Ftest%2Fapp"},
		{oci.Ref{Repository: "ghcr.io/Acme/Widgets", Digest: digest}, "", "pkg:oci/widgets@" + digest + "?repository_url=ghcr.io%2FAcme%2FWidgets"},
		{oci.Ref{Repository: "app", Digest: digest}, "", "pkg:oci/app@" + digest},
	} {
		if got := sbomdoc.ImagePURL(tc.ref, tc.arch); got != tc.want {
			t.Errorf("ImagePURL(%+v) = %s, want %s", tc.ref, got, tc.want)
		}
	}
}

func TestParseFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      []string
		want    []sbomdoc.Format
		wantErr bool
	}{
		{nil, sbomdoc.DefaultFormats, false},
		{[]string{"spdx-json", "CycloneDX-JSON", "spdx-json"}, []sbomdoc.Format{sbomdoc.SPDXJSON, sbomdoc.CycloneDXJSON}, false},
		{[]string{"syft-json", "cyclonedx-xml", "spdx-tag-value"}, []sbomdoc.Format{sbomdoc.SyftJSON, sbomdoc.CycloneDXXML, sbomdoc.SPDXTagValue}, false},
		{[]string{"cyclonedx"}, nil, true},
		{[]string{"table"}, nil, true},
	} {
		got, err := sbomdoc.ParseFormats(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("ParseFormats(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && errkind.Of(err) != errkind.KindInput {
			t.Errorf("ParseFormats(%q): error kind %v, want input", tc.in, errkind.Of(err))
		}
	}
	names := map[string]bool{}
	for _, f := range sbomdoc.Formats {
		names[f.FileName("sbom")] = true
	}
	if len(names) != len(sbomdoc.Formats) {
		t.Errorf("file names collide: %v", names)
	}
}

// The fixture image catalogued once and written in every format: the JSON
// documents validate against the official schemas, every format holds the same
// package set, and each names the image by its digest.
func TestAllFormatsFromOneCatalog(t *testing.T) {
	t.Parallel()
	img := testinfra.ImageFromLayers(t, testinfra.LayerFromDir(t, testinfra.SBOMRootfs(t)))
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	dir := testinfra.OCILayout(t, img, "registry.example/team/app:v1")
	res, err := catalog.Image(context.Background(), catalog.ImageSource{Kind: catalog.SourceOCIDir, Path: dir}, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref.Digest != d.String() {
		t.Fatalf("catalogued digest %s, want %s", res.Ref.Digest, d)
	}
	out := filepath.Join(t.TempDir(), "sbom")
	paths, err := sbomdoc.WriteAll(out, res.SBOM, sbomdoc.Formats, sbomdoc.Options{Subject: res.Ref, Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(out)
	var files []string
	for _, e := range ents {
		files = append(files, e.Name())
	}
	if want := []string{"sbom.cdx.json", "sbom.cdx.xml", "sbom.spdx", "sbom.spdx.json", "sbom.syft.json"}; !slices.Equal(files, want) {
		t.Errorf("files %q, want %q (no temporary files left)", files, want)
	}
	read := func(f sbomdoc.Format) []byte {
		b, err := os.ReadFile(paths[f])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	wantPURL := "pkg:oci/app@" + d.String() + "?arch=amd64&repository_url=registry.example%2Fteam%2Fapp"
	want := expected(t)

	cdx := read(sbomdoc.CycloneDXJSON)
	if err := testinfra.ValidateCycloneDX16(t, cdx); err != nil {
		t.Errorf("CycloneDX JSON does not validate against the 1.6 schema: %v", err)
	}
	// the validator is not a rubber stamp
	if err := testinfra.ValidateCycloneDX16(t, bytes.Replace(cdx, []byte(`"type": "library"`), []byte(`"type": "gadget"`), 1)); err == nil {
		t.Error("a CycloneDX document with an unknown component type validated")
	}
	var bom cyclonedx.BOM
	if err := json.Unmarshal(cdx, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != cyclonedx.SpecVersion1_6 {
		t.Errorf("specVersion %v, want 1.6", bom.SpecVersion)
	}
	if got := cdxPackages(bom); !slices.Equal(got, want) {
		t.Errorf("CycloneDX JSON packages:\n got %q\nwant %q", got, want)
	}
	if c := bom.Metadata.Component; c == nil || c.PackageURL != wantPURL || c.Version != d.String() || c.Hashes == nil || (*c.Hashes)[0].Value != strings.TrimPrefix(d.String(), "sha256:") {
		t.Errorf("CycloneDX subject %+v, want purl %s and the digest", bom.Metadata.Component, wantPURL)
	}

	var xbom cyclonedx.BOM
	if err := cyclonedx.NewBOMDecoder(bytes.NewReader(read(sbomdoc.CycloneDXXML)), cyclonedx.BOMFileFormatXML).Decode(&xbom); err != nil {
		t.Fatal(err)
	}
	if got := cdxPackages(xbom); !slices.Equal(got, want) || xbom.Metadata.Component.PackageURL != wantPURL {
		t.Errorf("CycloneDX XML packages %q, subject %s", got, xbom.Metadata.Component.PackageURL)
	}

	spdxJSON := read(sbomdoc.SPDXJSON)
	if err := testinfra.ValidateSPDX23(t, spdxJSON); err != nil {
		t.Errorf("SPDX JSON does not validate against the 2.3 schema: %v", err)
	}
	if err := testinfra.ValidateSPDX23(t, bytes.Replace(spdxJSON, []byte(`"spdxVersion"`), []byte(`"spdxVersionX"`), 1)); err == nil {
		t.Error("an SPDX document without spdxVersion validated")
	}
	sdoc := testinfra.ReadSPDX(t, spdxJSON)
	if sdoc.Version != "SPDX-2.3" {
		t.Errorf("spdxVersion %s", sdoc.Version)
	}
	if !slices.Equal(sdoc.Packages, want) {
		t.Errorf("SPDX JSON packages:\n got %q\nwant %q", sdoc.Packages, want)
	}
	if sdoc.RootPURL != wantPURL {
		t.Errorf("SPDX root purl %q, want %q", sdoc.RootPURL, wantPURL)
	}

	tv, err := tagvalue.Read(bytes.NewReader(read(sbomdoc.SPDXTagValue)))
	if err != nil {
		t.Fatal(err)
	}
	if len(tv.Packages) != len(want)+1 {
		t.Errorf("SPDX tag-value has %d packages, want %d and the image", len(tv.Packages), len(want))
	}
	if !bytes.Contains(read(sbomdoc.SPDXTagValue), []byte("ExternalRef: PACKAGE-MANAGER purl "+wantPURL)) {
		t.Errorf("SPDX tag-value does not name the image by %s", wantPURL)
	}

	sj, _, _, err := syftjson.NewFormatDecoder().Decode(bytes.NewReader(read(sbomdoc.SyftJSON)))
	if err != nil {
		t.Fatal(err)
	}
	var sjp []string
	for p := range sj.Artifacts.Packages.Enumerate() {
		sjp = append(sjp, p.Name+" "+p.Version)
	}
	slices.Sort(sjp)
	if !slices.Equal(sjp, want) {
		t.Errorf("syft JSON packages %q", sjp)
	}
}

// expected is the fixture's package set as "name version".
func expected(t *testing.T) []string {
	var out []string
	for _, p := range testinfra.SBOMFixturePackages {
		out = append(out, p.Name+" "+p.Version)
	}
	out = append(out, testinfra.SBOMFixtureModule+" UNKNOWN", "stdlib "+testinfra.FixtureGoVersion(t))
	slices.Sort(out)
	return out
}

func cdxPackages(b cyclonedx.BOM) []string {
	var out []string
	if b.Components == nil {
		return nil
	}
	for _, c := range *b.Components {
		if c.Type == cyclonedx.ComponentTypeLibrary || c.Type == cyclonedx.ComponentTypeApplication || c.Type == cyclonedx.ComponentTypeFramework {
			out = append(out, c.Name+" "+c.Version)
		}
	}
	slices.Sort(out)
	return out
}

func TestWriteAllRefusesBadOutput(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := sbomdoc.WriteAll(filepath.Join(file, "sub"), handmade(), sbomdoc.DefaultFormats, sbomdoc.Options{})
	if err == nil || errkind.Of(err) != errkind.KindInput {
		t.Errorf("writing under a file: %v, want an input error", err)
	}
	if err := sbomdoc.Encode(&bytes.Buffer{}, nil, sbomdoc.CycloneDXJSON, sbomdoc.Options{}); err == nil {
		t.Error("encoding no SBOM succeeded")
	}
}

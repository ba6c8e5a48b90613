package testinfra

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// SBOMPackage is a package the SBOM test rootfs holds, as syft names it.
type SBOMPackage struct {
	Type, Name, Version string
}

// SBOMFixturePackages are the packages planted in SBOMRootfs (besides the Go
// binary's own main module and its standard library), each known-vulnerable in
// the four-advisory test DB: the Debian 12 openssl build, lodash, log4j-core and
// golang.org/x/text.
var SBOMFixturePackages = []SBOMPackage{
	{"deb", "libssl3", "3.0.11-1~deb12u2"},
	{"npm", "lodash", "4.17.20"},
	{"java-archive", "log4j-core", "2.14.1"},
	{"go-module", "golang.org/x/text", "v0.3.7"},
}

// SBOMFixtureModule is the main module of the Go binary in SBOMRootfs.
const SBOMFixtureModule = "example.com/sbomfixture"

// DebianDpkgStatus is a Debian 12 dpkg status file holding one package, the
// openssl build libssl3 3.0.11-1~deb12u2 (known-vulnerable in the test DB).
const DebianDpkgStatus = `Package: libssl3
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 6130
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.11-1~deb12u2
Depends: libc6 (>= 2.34)
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation of the SSL
 and TLS cryptographic protocols for secure communication over the
 Internet.

`

// DebianOSRelease is Debian 12's /etc/os-release.
const DebianOSRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`

// SBOMRootfs writes a root filesystem syft catalogs into SBOMFixturePackages: a
// Debian 12 os-release and dpkg status file, node_modules/lodash, a log4j-core jar
// holding only its pom.properties, and a Go binary built here that links
// golang.org/x/text v0.3.7 (fetched through the module proxy the first time).
func SBOMRootfs(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"etc/os-release":                       DebianOSRelease,
		"etc/debian_version":                   "12.2\n",
		"var/lib/dpkg/status":                  DebianDpkgStatus,
		"app/node_modules/lodash/package.json": `{"name":"lodash","version":"4.17.20","license":"MIT","description":"Lodash modular utilities."}` + "\n",
		"app/node_modules/lodash/lodash.js":    "module.exports = {};\n",
		"app/README.md":                        "sbom test fixture\n",
		"usr/share/doc/libssl3/copyright":      "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: Apache-2.0\n",
	}
	WriteTree(t, root, files)
	WriteFile(t, filepath.Join(root, "app/lib/log4j-core-2.14.1.jar"), log4jJar(t), 0o644)
	bin, err := os.ReadFile(FixtureGoBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, filepath.Join(root, "app/bin/app"), bin, 0o755)
	return root
}

func log4jJar(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{
		{"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n"},
		{"META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
			"version=2.14.1\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\n"},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2021, 3, 6, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const fixtureMain = `package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() { fmt.Println(language.Make("en-GB")) }
`

// FixtureGoBinary builds (once per machine, into the tools cache) a static
// linux Go program whose build info requires golang.org/x/text v0.3.7.
func FixtureGoBinary(t testing.TB) string {
	t.Helper()
	bin, err := BuildOnce(filepath.Join(ToolsDir(t), "sbomfixture@xtext-v0.3.7"), "app", func(tmp string) error {
		src := t.TempDir()
		WriteTree(t, src, map[string]string{
			"go.mod":  "module " + SBOMFixtureModule + "\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.7\n",
			"main.go": fixtureMain,
		})
		cmd := exec.Command("go", "build", "-trimpath", "-o", tmp, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building the Go fixture binary (needs the Go module proxy for golang.org/x/text v0.3.7): %v\n%s", err, out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// LayerFromDir writes dir as a reproducible uncompressed layer tar (sorted names,
// root-owned, fixed times) and returns its path.
func LayerFromDir(t testing.TB, dir string) string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return WriteTar(t, filepath.Join(t.TempDir(), "layer.tar"), func(tw *tar.Writer) {
		for _, p := range paths {
			fi, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			link := ""
			if fi.Mode()&os.ModeSymlink != 0 {
				if link, err = os.Readlink(p); err != nil {
					t.Fatal(err)
				}
			}
			hdr, err := tar.FileInfoHeader(fi, link)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, p)
			hdr.Name = filepath.ToSlash(rel)
			if fi.IsDir() {
				hdr.Name += "/"
			}
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
			hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = mtime, time.Time{}, time.Time{}
			hdr.Format = tar.FormatPAX
			if err := tw.WriteHeader(hdr); err != nil {
				t.Fatal(err)
			}
			if fi.Mode().IsRegular() {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tw.Write(data); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// ImageFromLayers builds a linux/amd64 image (no Docker) from uncompressed layer
// tars, gzip-compressed as a registry holds them.
func ImageFromLayers(t testing.TB, layerTars ...string) v1.Image {
	t.Helper()
	img := empty.Image
	for _, p := range layerTars {
		l, err := tarball.LayerFromFile(p, tarball.WithCompressedCaching)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// OCILayout writes an OCI image layout holding img, its index entry annotated
// with the reference refName (org.opencontainers.image.ref.name) unless that is
// "", and returns its folder.
func OCILayout(t testing.TB, img v1.Image, refName string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName}))
	}
	if err := lp.AppendImage(img, opts...); err != nil {
		t.Fatal(err)
	}
	return dir
}

// PushImage pushes img to ref (repo:tag on a loopback registry) and returns its
// manifest digest.
func PushImage(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithContext(context.Background())); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// PushRandomImage pushes a random single-layer image to ref (repo:tag on a
// loopback registry) and returns its manifest digest.
func PushRandomImage(t testing.TB, ref string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return PushImage(t, ref, img)
}

// SBOMImage builds the SBOM fixture image from SBOMRootfs and pushes it to reg as
// test/app:v1. It returns the tag reference and the manifest digest.
func SBOMImage(t testing.TB, reg *Registry) (ref, digest string) {
	t.Helper()
	img := ImageFromLayers(t, LayerFromDir(t, SBOMRootfs(t)))
	ref = reg.Host + "/test/app:v1"
	return ref, PushImage(t, ref, img)
}

// FixtureGoVersion is the Go version recorded in FixtureGoBinary's build info
// (syft names the stdlib package's version the same way).
func FixtureGoVersion(t testing.TB) string {
	t.Helper()
	bi, err := buildinfo.ReadFile(FixtureGoBinary(t))
	if err != nil {
		t.Fatalf("reading the fixture binary's build info: %v", err)
	}
	return bi.GoVersion
}

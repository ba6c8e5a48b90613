package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/anchore/syft/syft"
	syftpkg "github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/sbom"
)

// fixtureFiles is a small source tree holding one known-vulnerable package per
// ecosystem the test DB has an advisory for. The jar is added by writeFixture.
var fixtureFiles = map[string]string{
	"go.mod": "module example.com/app\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.7\n",
	"package-lock.json": `{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "app", "version": "1.0.0", "dependencies": {"lodash": "4.17.20"}},
    "node_modules/lodash": {
      "version": "4.17.20",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz",
      "integrity": "sha512-PlhdFcillOINfeV7Ni6oF1TAEayyZBoZ8bcshTHqOYJYlrqzRK5hagpagky5o4HfCzzd1TRkXPMFq6cKk9rGmA=="
    }
  }
}
`,
	"etc/os-release": `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`,
	"etc/debian_version": "12.2\n",
	"var/lib/dpkg/status": `Package: libssl3
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 6144
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

`,
}

// writeFixture writes the fixture tree into dir, with lib/log4j-core-2.14.1.jar
// holding only a bare manifest and
// META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties.
func writeFixture(dir string) error {
	for name, body := range fixtureFiles {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// syft 1.54.1 reads a jar's pom.properties only when the jar has a manifest
	// (every real jar does): without one it catalogs nothing.
	mf, err := zw.Create("META-INF/MANIFEST.MF")
	if err != nil {
		return err
	}
	fmt.Fprint(mf, "Manifest-Version: 1.0\r\n\r\n")
	w, err := zw.Create("META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties")
	if err != nil {
		return err
	}
	fmt.Fprint(w, "groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n")
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "lib", "log4j-core-2.14.1.jar"), buf.Bytes(), 0o644)
}

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureSBOM *sbom.SBOM
	fixtureErr  error
)

// catalogFixture catalogs the fixture tree once per test process with syft (the
// license scanner, built by CreateSBOM, is built once with it).
func catalogFixture(t testing.TB) (string, *sbom.SBOM) {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vulndb-fixture-")
		if err != nil {
			fixtureErr = err
			return
		}
		fixtureDir = filepath.Join(dir, "repo")
		if err := writeFixture(filepath.Join(fixtureDir, "app")); err != nil {
			fixtureErr = err
			return
		}
		src, err := syft.GetSource(context.Background(), filepath.Join(fixtureDir, "app"), syft.DefaultGetSourceConfig().WithSources("dir"))
		if err != nil {
			fixtureErr = fmt.Errorf("syft source: %w", err)
			return
		}
		defer src.Close()
		fixtureSBOM, fixtureErr = syft.CreateSBOM(context.Background(), src, syft.DefaultCreateSBOMConfig())
	})
	if fixtureErr != nil {
		t.Fatalf("cataloging the fixture: %v", fixtureErr)
	}
	return fixtureDir, fixtureSBOM
}

// normalize replaces the machine-specific fixture path in output.
func normalize(b []byte, dir string) []byte {
	return bytes.ReplaceAll(b, []byte(dir), []byte("<fixture>"))
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func syftType(s string) syftpkg.Type { return syftpkg.Type(s) }

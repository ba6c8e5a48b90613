// Package sbomdoc encodes one syft catalog into the SBOM documents secure-gates
// writes — CycloneDX 1.6 (JSON and XML), SPDX 2.3 (JSON and tag-value) and syft
// JSON — with predictable file names, written atomically.
//
// An image SBOM names its subject by digest: the document's root component
// (CycloneDX metadata.component, the SPDX DocumentRoot package) carries the purl
// pkg:oci/<name>@sha256:…?repository_url=<repository> and the manifest's sha256
// hash, so the document can be matched to the attestation subject that names
// the same digest.
//
// The package reads no environment, prints nothing and never exits.
package sbomdoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/secure-gates/secure-gates/pkg/atomicfile"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/CycloneDX/cyclonedx-go"
	"github.com/anchore/syft/syft/format/common/cyclonedxhelpers"
	"github.com/anchore/syft/syft/format/common/spdxhelpers"
	"github.com/anchore/syft/syft/format/syftjson"
	"github.com/anchore/syft/syft/sbom"
	"github.com/package-url/packageurl-go"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/tagvalue"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// Format is an SBOM document format.
type Format string

// The formats, by the names the formats input uses (syft's names).
const (
	CycloneDXJSON Format = "cyclonedx-json"
	SPDXJSON      Format = "spdx-json"
	SyftJSON      Format = "syft-json"
	CycloneDXXML  Format = "cyclonedx-xml"
	SPDXTagValue  Format = "spdx-tag-value"
)

// Spec versions written.
const (
	CycloneDXVersion = "1.6"
	SPDXVersion      = "SPDX-2.3"
)

// Formats lists every format, in the order documents are written.
var Formats = []Format{CycloneDXJSON, SPDXJSON, SyftJSON, CycloneDXXML, SPDXTagValue}

// DefaultFormats are written when none are asked for.
var DefaultFormats = []Format{CycloneDXJSON, SPDXJSON}

var extensions = map[Format]string{
	CycloneDXJSON: ".cdx.json",
	SPDXJSON:      ".spdx.json",
	SyftJSON:      ".syft.json",
	CycloneDXXML:  ".cdx.xml",
	SPDXTagValue:  ".spdx",
}

// FileName is the document's file name for a base name: base + .cdx.json,
// .spdx.json, .syft.json, .cdx.xml or .spdx.
func (f Format) FileName(base string) string { return base + extensions[f] }

// ParseFormats parses format names (empty: DefaultFormats), refusing unknown
// names and dropping duplicates.
func ParseFormats(names []string) ([]Format, error) {
	if len(names) == 0 {
		return append([]Format(nil), DefaultFormats...), nil
	}
	var out []Format
	seen := map[Format]bool{}
	for _, n := range names {
		f := Format(strings.ToLower(strings.TrimSpace(n)))
		if _, ok := extensions[f]; !ok {
			return nil, errkind.Input(fmt.Errorf("unknown SBOM format %q: expected one of cyclonedx-json, spdx-json, syft-json, cyclonedx-xml, spdx-tag-value", n))
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// Options configure the documents.
type Options struct {
	// Subject is the image the SBOM describes, by digest; zero for a directory.
	Subject oci.Ref
	// Arch is the image's architecture, recorded as the purl's arch qualifier.
	Arch string
	// BaseName is the file name without extension (default "sbom").
	BaseName string
}

// ImagePURL is the package URL of an image by digest, as the purl spec's oci type
// writes it: pkg:oci/<last path segment>@sha256:…?arch=…&repository_url=<repository>.
func ImagePURL(ref oci.Ref, arch string) string {
	repo := ref.Repository
	nm := repo
	if i := strings.LastIndex(nm, "/"); i >= 0 {
		nm = nm[i+1:]
	}
	var q packageurl.Qualifiers
	if arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: arch})
	}
	if strings.Contains(repo, "/") {
		q = append(q, packageurl.Qualifier{Key: "repository_url", Value: repo})
	}
	return packageurl.NewPackageURL("oci", "", strings.ToLower(nm), ref.Digest, q, "").ToString()
}

// Encode writes s in format f to w.
func Encode(w io.Writer, s *sbom.SBOM, f Format, o Options) error {
	if s == nil {
		return errors.New("no SBOM to encode")
	}
	switch f {
	case CycloneDXJSON, CycloneDXXML:
		bom := cycloneDX(s, o)
		ff := cyclonedx.BOMFileFormatJSON
		if f == CycloneDXXML {
			ff = cyclonedx.BOMFileFormatXML
		}
		enc := cyclonedx.NewBOMEncoder(w, ff)
		enc.SetPretty(true)
		enc.SetEscapeHTML(false)
		if err := enc.EncodeVersion(bom, cyclonedx.SpecVersion1_6); err != nil {
			return fmt.Errorf("encoding CycloneDX: %w", err)
		}
		return nil
	case SPDXJSON, SPDXTagValue:
		doc := spdxDoc(s, o)
		if doc == nil {
			return errors.New("converting the catalog to SPDX failed")
		}
		if f == SPDXTagValue {
			if err := tagvalue.Write(doc, w); err != nil {
				return fmt.Errorf("encoding SPDX tag-value: %w", err)
			}
			return nil
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", " ")
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("encoding SPDX JSON: %w", err)
		}
		return nil
	case SyftJSON:
		enc, err := syftjson.NewFormatEncoderWithConfig(syftjson.EncoderConfig{Pretty: true})
		if err != nil {
			return err
		}
		if err := enc.Encode(w, *s); err != nil {
			return fmt.Errorf("encoding syft JSON: %w", err)
		}
		return nil
	default:
		return errkind.Input(fmt.Errorf("unknown SBOM format %q", f))
	}
}

func cycloneDX(s *sbom.SBOM, o Options) *cyclonedx.BOM {
	bom := cyclonedxhelpers.ToFormatModel(*s)
	if o.Subject.Digest == "" || bom.Metadata == nil || bom.Metadata.Component == nil {
		return bom
	}
	c := bom.Metadata.Component
	c.PackageURL = ImagePURL(o.Subject, o.Arch)
	if hex, ok := strings.CutPrefix(o.Subject.Digest, "sha256:"); ok {
		c.Hashes = &[]cyclonedx.Hash{{Algorithm: cyclonedx.HashAlgoSHA256, Value: hex}}
	}
	return bom
}

func spdxDoc(s *sbom.SBOM, o Options) *spdx.Document {
	doc := spdxhelpers.ToFormatModel(*s)
	if doc == nil || o.Subject.Digest == "" {
		return doc
	}
	purl := ImagePURL(o.Subject, o.Arch)
	for _, p := range doc.Packages {
		if p == nil || !strings.HasPrefix(string(p.PackageSPDXIdentifier), "DocumentRoot-") {
			continue
		}
		var refs []*spdx.PackageExternalReference
		for _, r := range p.PackageExternalReferences {
			if r != nil && r.RefType != common.TypePackageManagerPURL {
				refs = append(refs, r)
			}
		}
		p.PackageExternalReferences = append(refs, &spdx.PackageExternalReference{
			Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: purl,
		})
	}
	return doc
}

// WriteAll writes one document per format into dir (created if needed), each
// atomically (a temporary file renamed into place), and returns the path of each.
// On error, no document of this call is left half-written.
func WriteAll(dir string, s *sbom.SBOM, formats []Format, o Options) (map[Format]string, error) {
	if o.BaseName == "" {
		o.BaseName = "sbom"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errkind.Input(fmt.Errorf("creating output folder %s: %w", dir, err))
	}
	out := map[Format]string{}
	for _, f := range formats {
		p := filepath.Join(dir, f.FileName(o.BaseName))
		var buf bytes.Buffer
		if err := Encode(&buf, s, f, o); err != nil {
			return nil, fmt.Errorf("writing %s: %w", p, err)
		}
		if err := atomicfile.Write(p, buf.Bytes()); err != nil {
			return nil, errkind.Infra(fmt.Errorf("writing %s: %w", p, err))
		}
		out[f] = p
	}
	return out, nil
}

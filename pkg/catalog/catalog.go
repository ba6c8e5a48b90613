package catalog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/anchore/stereoscope/pkg/file"
	"github.com/anchore/stereoscope/pkg/image"
	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"
	"github.com/anchore/syft/syft/source/stereoscopesource"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/secure-gates/secure-gates/pkg/bounds"
	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/scancache"
)

// Defaults of Options' zero fields.
const (
	DefaultMaxBytes = int64(10 << 30) // 10 GiB
	DefaultMaxFiles = 1_000_000
	DefaultTimeout  = 20 * time.Minute
)

// ErrLimit is wrapped by every error that reports a crossed limit (bytes, files or
// time), so callers can tell "the content is too big" from other failures.
var ErrLimit = errors.New("cataloguing limit exceeded")

// Options bound and configure one catalog run. Zero fields take the defaults.
type Options struct {
	// MaxBytes bounds the content catalogued: the bytes of the uncompressed layer
	// streams, and separately the sizes their tar headers declare (a directory's
	// file sizes). Default DefaultMaxBytes.
	MaxBytes int64
	// MaxFiles bounds the number of entries (files, directories, links) catalogued,
	// over all layers. Default DefaultMaxFiles.
	MaxFiles int
	// Timeout bounds the whole run: reading the image and cataloguing it.
	// Default DefaultTimeout.
	Timeout time.Duration
	// Registry configures registry access (credentials, transport, retries).
	Registry oci.Options
	// TempDir is the parent of the private temporary directory (default the
	// system's temporary directory).
	TempDir string
	// Name overrides the name the SBOM gives its subject (default: the image
	// repository, or the directory's base name).
	Name string
	// Cache, for Directory, holds catalogs of earlier runs (pkg/scancache):
	// a tree none of whose changes syft's catalogers could see reuses the
	// earlier catalog (see the package doc); nil caches nothing.
	Cache scancache.Store
	// LazySBOM, with Cache, leaves Result.SBOM nil when the catalog comes
	// from the cache: Result.Load decodes it when something first needs it,
	// and Result.Digest identifies it without decoding, so that what was
	// derived from it before can be reused by its digest.
	LazySBOM bool
}

func (o Options) withDefaults() Options {
	o.MaxBytes = bounds.Or(o.MaxBytes, DefaultMaxBytes)
	o.MaxFiles = bounds.Or(o.MaxFiles, DefaultMaxFiles)
	o.Timeout = bounds.Or(o.Timeout, DefaultTimeout)
	return o
}

// Result is one catalog.
type Result struct {
	// SBOM is the syft catalog. It is complete: a run that could not catalogue
	// everything returns an error, never a partial SBOM. It is nil for a
	// catalog that Options.LazySBOM left undecoded: Load returns it in every
	// case.
	SBOM *sbom.SBOM
	// Ref names a catalogued image by digest. For a registry image it is the
	// resolved repo@sha256:…; for an OCI layout or docker archive Repository is the
	// name recorded in it (or the file's base name) and Digest the manifest digest.
	// It is zero for a directory.
	Ref oci.Ref
	// Packages is the number of packages catalogued.
	Packages int
	// Cached says the catalog of a directory came from Options.Cache: no
	// cataloger ran.
	Cached bool

	digest    scancache.Key // see Digest
	hasDigest bool
	lazy      *lazySBOM // see Load
}

// SourceKind is where an image comes from.
type SourceKind string

// The image source kinds, named by the prefix of their input form.
const (
	SourceRegistry      SourceKind = "registry"
	SourceOCIDir        SourceKind = "oci-dir"
	SourceDockerArchive SourceKind = "docker-archive"
)

// ImageSource names an image: a registry reference, or a local OCI layout or
// docker-archive tarball.
type ImageSource struct {
	Kind SourceKind
	// Ref is the registry reference (tag or digest) of a SourceRegistry image.
	Ref string
	// Path is the OCI layout directory or docker-archive file.
	Path string
}

// String returns the source in its input form.
func (s ImageSource) String() string {
	if s.Kind == SourceRegistry || s.Kind == "" {
		return s.Ref
	}
	return string(s.Kind) + ":" + s.Path
}

// ParseImageSource parses the image input: oci-dir:PATH, docker-archive:PATH,
// or a registry reference (optionally prefixed registry:).
func ParseImageSource(s string) (ImageSource, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return ImageSource{}, errkind.Input(errors.New("no image given: expected a registry reference, oci-dir:PATH or docker-archive:PATH"))
	}
	for _, k := range []SourceKind{SourceOCIDir, SourceDockerArchive} {
		if p, ok := strings.CutPrefix(s, string(k)+":"); ok {
			if p == "" {
				return ImageSource{}, errkind.Input(fmt.Errorf("image %q: expected a path after %s:", s, k))
			}
			return ImageSource{Kind: k, Path: p}, nil
		}
	}
	ref := strings.TrimPrefix(s, string(SourceRegistry)+":")
	if _, err := oci.ParseReference(ref); err != nil {
		return ImageSource{}, errkind.Input(fmt.Errorf("image %q: expected a registry reference (registry/repo:tag or @sha256:…), oci-dir:PATH or docker-archive:PATH: %w", s, err))
	}
	return ImageSource{Kind: SourceRegistry, Ref: ref}, nil
}

// Image catalogs an image. A registry reference is resolved to its digest once;
// only the digest is used afterwards and it is reported in Result.Ref.
func Image(ctx context.Context, src ImageSource, o Options) (*Result, error) {
	o = o.withDefaults()
	warmLicenseScanner()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	priv, err := os.MkdirTemp(o.TempDir, "secure-gates-catalog-")
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("creating the private temporary directory: %w", err))
	}
	defer os.RemoveAll(priv)

	img, ref, err := openImage(ctx, src, o)
	if err != nil {
		return nil, err
	}
	b := newBudget(o.MaxBytes, int64(o.MaxFiles))
	limited := &limitedImage{Image: img, b: b, blobs: src.Kind == SourceRegistry || src.Kind == "" || src.Kind == SourceOCIDir}

	manifest, err := img.RawManifest()
	if err != nil {
		return nil, classifyRead(ctx, src, b, o, fmt.Errorf("reading the manifest of %s: %w", src, err))
	}
	meta := []image.AdditionalMetadata{image.WithManifest(manifest), image.WithManifestDigest(ref.Digest)}
	if src.Kind == SourceRegistry {
		meta = append(meta, image.WithRepoDigests(ref.String()))
	}
	layers := filepath.Join(priv, "layers")
	if err := os.Mkdir(layers, 0o700); err != nil {
		return nil, errkind.Infra(fmt.Errorf("creating the private temporary directory: %w", err))
	}
	tmpGen := file.NewTempDirGenerator("secure-gates-stereoscope")
	defer tmpGen.Cleanup() //nolint:errcheck // best effort: priv holds the content
	simg := image.New(limited, tmpGen, layers, meta...)
	defer simg.Cleanup() //nolint:errcheck // priv is removed as well
	if err := simg.Read(ctx); err != nil {
		return nil, classifyRead(ctx, src, b, o, fmt.Errorf("reading the layers of %s: %w", src, err))
	}

	name := o.Name
	if name == "" {
		name = ref.Repository
	}
	userInput := ref.String()
	if ref.Repository == "" {
		userInput = ref.Digest
	}
	s := stereoscopesource.New(simg, stereoscopesource.ImageConfig{
		Reference: userInput,
		Alias:     source.Alias{Name: name, Version: ref.Digest},
	})
	doc, err := create(ctx, s, b, o)
	if err != nil {
		return nil, fmt.Errorf("cataloguing %s: %w", src, err)
	}
	return &Result{SBOM: doc, Ref: ref, Packages: doc.Artifacts.Packages.PackageCount()}, nil
}

// Directory catalogs a directory tree. Symlinks resolve inside dir (as if dir were
// the root of a filesystem): nothing outside it is read.
func Directory(ctx context.Context, dir string, o Options) (*Result, error) {
	o = o.withDefaults()
	warmLicenseScanner()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("path %q: %w", dir, err))
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("path %q: expected a directory to catalog: %w", dir, err))
	}
	if !fi.IsDir() {
		return nil, errkind.Input(fmt.Errorf("path %q is not a directory", dir))
	}
	b := newBudget(o.MaxBytes, int64(o.MaxFiles))
	var t *tree
	if o.Cache != nil {
		t = newTree()
	}
	if err := b.walkDir(ctx, abs, t); err != nil {
		if ctx.Err() != nil {
			return nil, timeoutError(o)
		}
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = filepath.Base(abs)
	}
	if o.Cache != nil {
		r, err := cachedDirectory(ctx, abs, name, t, b, o)
		if err != nil {
			return nil, fmt.Errorf("cataloguing %s: %w", dir, err)
		}
		return r, nil
	}
	src, err := directorysource.New(directorysource.Config{Path: abs, Base: abs, Alias: source.Alias{Name: name}})
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("path %q: %w", dir, err))
	}
	doc, err := create(ctx, src, b, o)
	if err != nil {
		return nil, fmt.Errorf("cataloguing %s: %w", dir, err)
	}
	return &Result{SBOM: doc, Packages: doc.Artifacts.Packages.PackageCount()}, nil
}

// createConfig is the syft configuration: package catalogers only (an SBOM needs
// packages, not per-file metadata and digests), and nothing that runs a program
// or reaches the network for the tree being catalogued: syft's Go cataloger
// would otherwise run the go tool (`go list -deps -test all` through
// go/packages) in every module of the tree — a tree a pull request controls,
// whose go.mod can name a toolchain for the go command to download and run.
// The go.mod and go.sum files and the build info of Go binaries name the
// modules without it.
func createConfig() *syft.CreateSBOMConfig {
	pc := syft.DefaultCreateSBOMConfig().Packages
	pc = pc.WithGolangConfig(pc.Golang.WithUsePackagesLib(false))
	return syft.DefaultCreateSBOMConfig().WithoutFiles().WithPackagesConfig(pc)
}

// create runs syft's catalogers within ctx's deadline.
func create(ctx context.Context, src source.Source, b *budget, o Options) (*sbom.SBOM, error) {
	lctx, err := withLicenseScanner(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, timeoutError(o)
		}
		return nil, errkind.Infra(err)
	}
	type out struct {
		s   *sbom.SBOM
		err error
	}
	done := make(chan out, 1)
	go func() {
		s, err := syft.CreateSBOM(lctx, src, createConfig())
		done <- out{s, err}
	}()
	select {
	case r := <-done:
		if err := b.failed(); err != nil {
			return nil, err
		}
		if r.err != nil {
			if ctx.Err() != nil {
				return nil, timeoutError(o)
			}
			return nil, errkind.Infra(r.err)
		}
		if r.s == nil {
			return nil, errkind.Infra(errors.New("syft returned no SBOM"))
		}
		return r.s, nil
	case <-ctx.Done():
		return nil, timeoutError(o)
	}
}

func timeoutError(o Options) error {
	return errkind.Infra(fmt.Errorf("%w: cataloguing took longer than the %s timeout", ErrLimit, o.Timeout))
}

// classifyRead turns a failure to read an image into its kind: a crossed limit or
// the timeout first (they explain whatever error the reader saw), then a registry
// error by its status, then a local file that is not a valid image (input).
func classifyRead(ctx context.Context, src ImageSource, b *budget, o Options, err error) error {
	if lerr := b.failed(); lerr != nil {
		return lerr
	}
	if ctx.Err() != nil {
		return timeoutError(o)
	}
	if src.Kind == SourceRegistry {
		return oci.Classify("reading image", err)
	}
	return errkind.Input(err)
}

// openImage opens src as a go-containerregistry image and names it by digest.
func openImage(ctx context.Context, src ImageSource, o Options) (v1.Image, oci.Ref, error) {
	switch src.Kind {
	case SourceRegistry, "":
		ref, err := oci.Resolve(ctx, src.Ref, o.Registry)
		if err != nil {
			return nil, oci.Ref{}, err
		}
		dn, err := ref.Name()
		if err != nil {
			return nil, oci.Ref{}, errkind.Input(err)
		}
		img, err := remote.Image(dn, o.Registry.RemoteOptions(ctx)...)
		if err != nil {
			return nil, oci.Ref{}, oci.Classify("fetching image "+ref.String(), err)
		}
		return img, ref, nil
	case SourceOCIDir:
		return openLayout(src.Path)
	case SourceDockerArchive:
		return openArchive(src.Path)
	default:
		return nil, oci.Ref{}, errkind.Input(fmt.Errorf("unknown image source kind %q", src.Kind))
	}
}

package release

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/gitcmd"
	"github.com/secure-gates/secure-gates/pkg/oci"
	"github.com/secure-gates/secure-gates/pkg/readfile"
)

// SLSAVerifierModule and SLSAVerifierVersion are the slsa-verifier the image
// carries (the Dockerfile pins the same): verify-and-deploy runs it as a binary
// because it cannot be linked beside cosign.
const (
	SLSAVerifierModule  = "github.com/slsa-framework/slsa-verifier/v2/cli/slsa-verifier"
	SLSAVerifierVersion = "v2.7.1"
)

// In-image paths. GitHub runs container actions as root with the workspace as
// the working directory, so the image sets neither USER nor WORKDIR.
const (
	BinaryPath       = "/usr/local/bin/secure-gates"
	SLSAVerifierPath = "/usr/local/bin/slsa-verifier"
	CACertsPath      = "/etc/ssl/certs/ca-certificates.crt"
)

// HostCACerts is the CA bundle a static image copies when no other is named.
const HostCACerts = "/etc/ssl/certs/ca-certificates.crt"

// ImageOptions says what `release image` builds.
type ImageOptions struct {
	// Root is the checkout to build (the folder holding go.mod).
	Root string
	// Version is stamped into the binary as main.version (default "dev").
	Version string
	// Arch is the GOARCH of the image (default amd64, GitHub's hosted runners).
	Arch string
	// Epoch is SOURCE_DATE_EPOCH: every timestamp in the image. Zero takes the
	// commit time of HEAD in Root.
	Epoch int64
	// Base, when set, is a base image by digest the layers are appended to (one
	// that carries git, for the history scans). Empty builds from scratch.
	Base string
	// Binary, when set, is a prebuilt secure-gates binary used instead of
	// building Root (tests and air-gapped rebuilds).
	Binary string
	// SLSAVerifier, when set, is a prebuilt slsa-verifier; empty builds
	// SLSAVerifierModule@SLSAVerifierVersion with the go command.
	SLSAVerifier string
	// CACerts is the PEM bundle copied to CACertsPath. Empty copies HostCACerts
	// for a scratch image and nothing on a base (which has its own).
	CACerts string
	// Go is the go command (default "go" on PATH).
	Go string
	// WorkDir holds the build outputs (default a temporary folder, removed).
	WorkDir string
	// Registry is how the base is pulled and the image pushed.
	Registry oci.Options
}

// ImageResult is a built image.
type ImageResult struct {
	// Image is the assembled image.
	Image v1.Image
	// Digest is its manifest digest.
	Digest v1.Hash
	// CompressedSize is the bytes a pull transfers: manifest, config and layers.
	CompressedSize int64
	// Epoch is the SOURCE_DATE_EPOCH used.
	Epoch int64
	// cleanup is the temporary folder the layers are read from.
	cleanup string
}

// Close removes the temporary build folder (when ImageOptions.WorkDir was
// empty); the image cannot be read after it.
func (r *ImageResult) Close() error {
	if r == nil || r.cleanup == "" {
		return nil
	}
	return os.RemoveAll(r.cleanup)
}

// BuildImage assembles the action image from the checkout: the secure-gates
// binary (CGO_ENABLED=0, -trimpath, no build ID), slsa-verifier, and — on
// scratch — a CA bundle, /etc/passwd and /etc/group and a /tmp, in layers whose
// entries are sorted, owned by 0:0, stamped with Epoch and given fixed modes,
// so that the same checkout, toolchain and base build the same digest.
func BuildImage(ctx context.Context, o ImageOptions) (_ *ImageResult, err error) {
	o = withImageDefaults(o)
	if strings.ContainsAny(o.Version, " \t\n'\"") {
		return nil, errkind.Input(fmt.Errorf("release image: --version %q: no spaces or quotes", o.Version))
	}
	work := o.WorkDir
	if work == "" {
		d, err := os.MkdirTemp("", "secure-gates-release-")
		if err != nil {
			return nil, errkind.Infra(fmt.Errorf("release image: %w", err))
		}
		work = d
		defer func() {
			if err != nil {
				os.RemoveAll(d)
			}
		}()
	}
	epoch, err := sourceDateEpoch(ctx, o)
	if err != nil {
		return nil, err
	}
	at := time.Unix(epoch, 0).UTC()
	base, baseRef, err := baseImage(ctx, o)
	if err != nil {
		return nil, err
	}
	bin, sv, err := buildBinaries(ctx, o, work)
	if err != nil {
		return nil, err
	}
	ca := o.CACerts
	if ca == "" && o.Base == "" {
		ca = HostCACerts
	}
	img, err := appendLayers(base, o, work, ca, bin, sv, at)
	if err != nil {
		return nil, err
	}
	if img, err = configure(ctx, img, o, ca, baseRef, at); err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("release image: %w", err))
	}
	size, err := compressedSize(img)
	if err != nil {
		return nil, err
	}
	res := &ImageResult{Image: img, Digest: d, CompressedSize: size, Epoch: epoch}
	if o.WorkDir == "" {
		res.cleanup = work
	}
	return res, nil
}

// withImageDefaults fills o's unset root, arch, version and go command.
func withImageDefaults(o ImageOptions) ImageOptions {
	o.Root = cmp.Or(o.Root, ".")
	o.Arch = cmp.Or(o.Arch, "amd64")
	o.Version = cmp.Or(o.Version, "dev")
	o.Go = cmp.Or(o.Go, "go")
	return o
}

// sourceDateEpoch is o.Epoch, or the commit time of HEAD in o.Root when it is
// zero; a negative one is an input error.
func sourceDateEpoch(ctx context.Context, o ImageOptions) (int64, error) {
	epoch := o.Epoch
	if epoch == 0 {
		var err error
		if epoch, err = commitTime(ctx, o.Root); err != nil {
			return 0, err
		}
	}
	if epoch < 0 {
		return 0, errkind.Input(fmt.Errorf("release image: SOURCE_DATE_EPOCH %d is negative", epoch))
	}
	return epoch, nil
}

// baseImage is the empty OCI image, or o.Base (by digest) pulled for o.Arch.
func baseImage(ctx context.Context, o ImageOptions) (v1.Image, oci.Ref, error) {
	var base v1.Image = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	var baseRef oci.Ref
	if o.Base == "" {
		return base, baseRef, nil
	}
	baseRef, err := oci.ParseDigestRef(o.Base)
	if err != nil {
		return nil, baseRef, fmt.Errorf("release image: --base must name a digest: %w", err)
	}
	d, _ := baseRef.Name()
	opts := append(o.Registry.RemoteOptions(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: o.Arch}))
	if base, err = remote.Image(d, opts...); err != nil {
		return nil, baseRef, oci.Classify("release image: pulling the base "+baseRef.String(), err)
	}
	return base, baseRef, nil
}

// buildBinaries returns the secure-gates and slsa-verifier binaries: o's
// prebuilt ones, or built into work.
func buildBinaries(ctx context.Context, o ImageOptions, work string) (bin, sv string, err error) {
	bin = o.Binary
	if bin == "" {
		bin = filepath.Join(work, "secure-gates")
		ldflags := "-s -w -buildid= -X main.version=" + o.Version
		if err := goCmd(ctx, o.Go, o.Arch, o.Root, "build", "-trimpath", "-ldflags="+ldflags, "-o", bin, "."); err != nil {
			return "", "", err
		}
	}
	sv = o.SLSAVerifier
	if sv == "" {
		sv = filepath.Join(work, "slsa-verifier")
		if err := BuildSLSAVerifier(ctx, o.Go, o.Arch, work, sv); err != nil {
			return "", "", err
		}
	}
	return bin, sv, nil
}

// appendLayers appends the two layers to base. Layer 1: the files a scratch
// image needs, the CA bundle ca (when set) and slsa-verifier sv (changes with
// its pin); layer 2: secure-gates bin (changes every release).
func appendLayers(base v1.Image, o ImageOptions, work, ca, bin, sv string, at time.Time) (v1.Image, error) {
	var runtimeFiles []layerFile
	if o.Base == "" {
		runtimeFiles = append(runtimeFiles,
			layerFile{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\n")},
			layerFile{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\n")},
			layerFile{name: "tmp/", mode: 0o1777, dir: true},
			layerFile{name: "root/", mode: 0o700, dir: true},
		)
	}
	if ca != "" {
		pem, err := readfile.Bounded(ca, 4<<20)
		if err != nil {
			return nil, errkind.Input(fmt.Errorf("release image: the CA bundle: %w", err))
		}
		if !bytes.Contains(pem, []byte("-----BEGIN CERTIFICATE-----")) {
			return nil, errkind.Input(fmt.Errorf("release image: the CA bundle %s holds no PEM certificate", ca))
		}
		runtimeFiles = append(runtimeFiles, layerFile{name: strings.TrimPrefix(CACertsPath, "/"), mode: 0o644, path: ca})
	}
	runtimeFiles = append(runtimeFiles, layerFile{name: strings.TrimPrefix(SLSAVerifierPath, "/"), mode: 0o755, path: sv})
	l1, err := writeLayer(filepath.Join(work, "layer-runtime.tar"), runtimeFiles, at)
	if err != nil {
		return nil, err
	}
	l2, err := writeLayer(filepath.Join(work, "layer-secure-gates.tar"), []layerFile{
		{name: strings.TrimPrefix(BinaryPath, "/"), mode: 0o755, path: bin},
	}, at)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(base,
		mutate.Addendum{Layer: l1, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: at}, CreatedBy: "secure-gates release image: runtime files, slsa-verifier " + SLSAVerifierVersion}},
		mutate.Addendum{Layer: l2, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: at}, CreatedBy: "secure-gates release image: secure-gates " + o.Version}},
	)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("release image: assembling: %w", err))
	}
	return img, nil
}

// configure sets img's config: linux/o.Arch, created at, the entrypoint, no
// command, user or working directory, PATH (and SSL_CERT_FILE when the image
// carries a CA bundle), and the OCI labels.
func configure(ctx context.Context, img v1.Image, o ImageOptions, ca string, baseRef oci.Ref, at time.Time) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("release image: reading the config: %w", err))
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.Arch
	cf.Created = v1.Time{Time: at}
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Cmd = nil
	cf.Config.User = ""
	cf.Config.WorkingDir = ""
	cf.Config.Env = setEnv(cf.Config.Env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	if ca != "" {
		cf.Config.Env = setEnv(cf.Config.Env, "SSL_CERT_FILE", CACertsPath)
	}
	cf.Config.Labels = imageLabels(ctx, cf.Config.Labels, o, baseRef, at)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, errkind.Infra(fmt.Errorf("release image: writing the config: %w", err))
	}
	return img, nil
}

// imageLabels are the base's labels with the OCI title, version, created,
// revision (HEAD of o.Root, when it has one) and base image labels set.
func imageLabels(ctx context.Context, base map[string]string, o ImageOptions, baseRef oci.Ref, at time.Time) map[string]string {
	labels := map[string]string{}
	for k, v := range base {
		labels[k] = v
	}
	labels["org.opencontainers.image.title"] = "secure-gates"
	labels["org.opencontainers.image.version"] = o.Version
	labels["org.opencontainers.image.created"] = at.Format(time.RFC3339)
	if rev, err := headCommit(ctx, o.Root); err == nil {
		labels["org.opencontainers.image.revision"] = rev
	}
	if baseRef.Digest != "" {
		labels["org.opencontainers.image.base.name"] = baseRef.Repository
		labels["org.opencontainers.image.base.digest"] = baseRef.Digest
	}
	return labels
}

// PushImage pushes img to ref (a tag) and returns it by digest.
func PushImage(ctx context.Context, img v1.Image, ref string, o oci.Options) (oci.Ref, error) {
	r, err := ParsePushRef(ref)
	if err != nil {
		return oci.Ref{}, err
	}
	if err := remote.Write(r, img, o.RemoteOptions(ctx)...); err != nil {
		return oci.Ref{}, oci.Classify("release image: pushing "+ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return oci.Ref{}, errkind.Infra(err)
	}
	return oci.Ref{Repository: r.Context().Name(), Digest: d.String(), Tag: r.Identifier()}, nil
}

// ParsePushRef parses the --push reference, which must name a tag: the digest is
// what the build computes, not something to choose.
func ParsePushRef(ref string) (name.Tag, error) {
	r, err := oci.ParseReference(ref)
	if err != nil {
		return name.Tag{}, fmt.Errorf("release image: --push: %w", err)
	}
	t, ok := r.(name.Tag)
	if last := ref[strings.LastIndex(ref, "/")+1:]; !ok || !strings.Contains(last, ":") {
		return name.Tag{}, errkind.Input(fmt.Errorf("release image: --push %q must name a tag, REGISTRY/REPO:TAG (the digest is computed, not chosen)", ref))
	}
	return t, nil
}

type layerFile struct {
	name string // slash path inside the image, no leading slash; dirs end in /
	mode int64
	dir  bool
	data []byte // content, or
	path string // a file to copy
}

// writeLayer writes a deterministic layer tar to p: parents made explicitly,
// entries sorted by name, owner 0:0, no user or group names, every time at.
func writeLayer(p string, files []layerFile, at time.Time) (v1.Layer, error) {
	all := map[string]layerFile{}
	for _, f := range files {
		name := strings.TrimSuffix(f.name, "/")
		all[name] = f
		for d := filepath.Dir(name); d != "." && d != "/"; d = filepath.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = layerFile{name: d + "/", mode: 0o755, dir: true}
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	out, err := os.Create(p)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("release image: %w", err))
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	for _, n := range names {
		f := all[n]
		h := &tar.Header{Name: n, Mode: f.mode, ModTime: at, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag, h.Name = tar.TypeDir, n+"/"
			if err := tw.WriteHeader(h); err != nil {
				return nil, errkind.Infra(fmt.Errorf("release image: writing the layer: %w", err))
			}
			continue
		}
		data := f.data
		if f.path != "" {
			if data, err = os.ReadFile(f.path); err != nil {
				return nil, errkind.Input(fmt.Errorf("release image: reading %s for %s: %w", f.path, n, err))
			}
		}
		h.Typeflag, h.Size = tar.TypeReg, int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			return nil, errkind.Infra(fmt.Errorf("release image: writing the layer: %w", err))
		}
		if _, err := tw.Write(data); err != nil {
			return nil, errkind.Infra(fmt.Errorf("release image: writing the layer: %w", err))
		}
	}
	if err := tw.Close(); err != nil {
		return nil, errkind.Infra(fmt.Errorf("release image: writing the layer: %w", err))
	}
	if err := out.Close(); err != nil {
		return nil, errkind.Infra(fmt.Errorf("release image: writing the layer: %w", err))
	}
	// The compressed bytes are kept: the digest is computed from them here and
	// the push sends them, so each layer is compressed once, not per read.
	l, err := tarball.LayerFromFile(p, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression),
		tarball.WithCompressedCaching)
	if err != nil {
		return nil, errkind.Infra(fmt.Errorf("release image: compressing the layer: %w", err))
	}
	return l, nil
}

func setEnv(env []string, k, v string) []string {
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if !strings.HasPrefix(e, k+"=") {
			out = append(out, e)
		}
	}
	return append(out, k+"="+v)
}

func compressedSize(img v1.Image) (int64, error) {
	m, err := img.RawManifest()
	if err != nil {
		return 0, errkind.Infra(err)
	}
	c, err := img.RawConfigFile()
	if err != nil {
		return 0, errkind.Infra(err)
	}
	total := int64(len(m) + len(c))
	ls, err := img.Layers()
	if err != nil {
		return 0, errkind.Infra(err)
	}
	for _, l := range ls {
		s, err := l.Size()
		if err != nil {
			return 0, errkind.Infra(err)
		}
		total += s
	}
	return total, nil
}

// BuildSLSAVerifier builds SLSAVerifierModule at SLSAVerifierVersion for
// linux/arch into out the way the image needs it: from the module's own go.mod
// and go.sum (downloaded, checksum-verified, into the module cache), static,
// -trimpath, stripped, without a build ID. scratch is a folder for go's output.
func BuildSLSAVerifier(ctx context.Context, goBin, arch, scratch, out string) error {
	if goBin == "" {
		goBin = "go"
	}
	mod := strings.TrimSuffix(SLSAVerifierModule, "/cli/slsa-verifier")
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", mod+"@"+SLSAVerifierVersion)
	cmd.Dir = scratch
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	msg, err := cmd.Output()
	if err != nil {
		return errkind.Infra(fmt.Errorf("release image: downloading %s@%s: %w", mod, SLSAVerifierVersion, err))
	}
	var dl struct{ Dir, Error string }
	if err := json.Unmarshal(msg, &dl); err != nil || dl.Dir == "" {
		return errkind.Infra(fmt.Errorf("release image: downloading %s@%s: %s", mod, SLSAVerifierVersion, dl.Error))
	}
	return goCmd(ctx, goBin, arch, dl.Dir, "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, "./cli/slsa-verifier")
}

func goCmd(ctx context.Context, goBin, arch, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOWORK=off", "GOFLAGS=-mod=readonly")
	if msg, err := cmd.CombinedOutput(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return errkind.Input(fmt.Errorf("release image: go %s failed: %w\n%s", strings.Join(args, " "), err, tail(msg)))
		}
		return errkind.Infra(fmt.Errorf("release image: running go: %w", err))
	}
	return nil
}

func tail(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := gitcmd.Git{Dir: dir}.Output(ctx, args...)
	return strings.TrimSpace(string(out)), err
}

// commitTime is the committer time of HEAD in dir: the default SOURCE_DATE_EPOCH.
func commitTime(ctx context.Context, dir string) (int64, error) {
	out, err := git(ctx, dir, "log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return 0, errkind.Input(fmt.Errorf("release image: reading the commit time of HEAD in %s: %w (set SOURCE_DATE_EPOCH outside a git checkout)", dir, err))
	}
	n, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		return 0, errkind.Infra(fmt.Errorf("release image: commit time %q: %w", out, err))
	}
	return n, nil
}

func headCommit(ctx context.Context, dir string) (string, error) {
	out, err := git(ctx, dir, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil || !commitRE.MatchString(out) {
		return "", errors.New("no commit")
	}
	return out, nil
}

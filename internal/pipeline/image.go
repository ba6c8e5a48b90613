package pipeline

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// startRegistry serves go-containerregistry's in-process registry on a loopback
// port (plain HTTP, which the gates allow for loopback only) until stop.
func startRegistry() (host string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, errkind.Infra(fmt.Errorf("pipeline: starting the local registry: %w", err))
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return l.Addr().String(), func() { srv.Close() }, nil
}

// buildImage compiles the service (a static linux binary) and pushes an image of
// it — the binary as the entrypoint, a non-root user — to repo:tag. It returns
// the image by digest. The repository's Dockerfile is not used: its bases would
// have to be pulled, and there is no Docker engine to run it.
func buildImage(ctx context.Context, s *service, work, repo, tag string) (oci.Ref, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return oci.Ref{}, errkind.Input(fmt.Errorf("pipeline: building the image needs the go command on PATH: %w", err))
	}
	out := filepath.Join(work, "build", s.name)
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOWORK=off", "GOFLAGS=-mod=readonly")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return oci.Ref{}, errkind.Input(fmt.Errorf("pipeline: go build in %s failed: %w\n%s", s.dir, err, strings.TrimSpace(string(msg))))
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return oci.Ref{}, errkind.Infra(fmt.Errorf("pipeline: reading the built binary: %w", err))
	}
	layerTar, err := tarFiles([]tarFile{
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: s.name, mode: 0o755, data: bin},
	})
	if err != nil {
		return oci.Ref{}, errkind.Infra(fmt.Errorf("pipeline: writing the image layer: %w", err))
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return oci.Ref{}, errkind.Infra(fmt.Errorf("pipeline: making the image layer: %w", err))
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return oci.Ref{}, errkind.Infra(fmt.Errorf("pipeline: assembling the image: %w", err))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return oci.Ref{}, errkind.Infra(fmt.Errorf("pipeline: reading the image config: %w", err))
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{"/" + s.name}
	cf.Config.User = "65532:65532"
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.source":   "https://github.com/" + s.repository,
		"org.opencontainers.image.revision": s.sha,
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return oci.Ref{}, errkind.Infra(fmt.Errorf("pipeline: writing the image config: %w", err))
	}
	return push(ctx, img, repo+":"+tag)
}

func push(ctx context.Context, img v1.Image, ref string) (oci.Ref, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return oci.Ref{}, errkind.Input(fmt.Errorf("pipeline: image reference %q: %w", ref, err))
	}
	if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
		return oci.Ref{}, errkind.Infra(fmt.Errorf("pipeline: pushing %s: %w", ref, err))
	}
	d, err := img.Digest()
	if err != nil {
		return oci.Ref{}, errkind.Infra(err)
	}
	return oci.Ref{Repository: r.Context().Name(), Digest: d.String(), Tag: r.Identifier()}, nil
}

type tarFile struct {
	name string
	mode int64
	data []byte
}

// tarFiles writes a layer tar of files (parents made), with fixed times and
// owners so that the same binary makes the same layer.
func tarFiles(files []tarFile) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	epoch := time.Unix(0, 0).UTC()
	dirs := map[string]bool{}
	for _, f := range files {
		for d := filepath.Dir(f.name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

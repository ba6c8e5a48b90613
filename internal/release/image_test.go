package release

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

// slsaVerifier builds the pinned slsa-verifier once per machine into the tools
// cache, the way release image does.
func slsaVerifier(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testinfra.ToolsDir(t), "slsa-verifier@"+SLSAVerifierVersion+"-release-amd64")
	bin, err := testinfra.BuildOnce(dir, "slsa-verifier", func(tmp string) error {
		t.Logf("building slsa-verifier %s into %s (once per machine)", SLSAVerifierVersion, dir)
		return BuildSLSAVerifier(context.Background(), "", "amd64", dir, tmp)
	})
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var (
	builtOnce sync.Once
	built     *ImageResult
	builtErr  error
)

// TestMain removes the shared image's work folder (its binary and layers, about
// 320 MB) when the tests end; left behind, every run of this package filled
// the disk's temporary folder by that much.
func TestMain(m *testing.M) {
	code := m.Run()
	if built != nil {
		built.Close()
	}
	os.Exit(code)
}

// releaseImage builds the action image from this checkout once per test binary.
func releaseImage(t *testing.T) *ImageResult {
	t.Helper()
	sv := slsaVerifier(t)
	builtOnce.Do(func() {
		built, builtErr = BuildImage(context.Background(), ImageOptions{Root: "../..", Version: "v0.0.0-test", SLSAVerifier: sv})
	})
	if builtErr != nil {
		t.Fatal(builtErr)
	}
	return built
}

// TestImageReproducible builds the image twice from this checkout — the second
// time into a fresh work folder, at the same time as the first — and pushes
// both to a loopback registry: the same digest, and the size a pull transfers
// within the 60 MB budget.
func TestImageReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the secure-gates binary")
	}
	t.Parallel()
	sv, work := slsaVerifier(t), t.TempDir()
	type build struct {
		res *ImageResult
		err error
	}
	done := make(chan build, 1)
	go func() {
		res, err := BuildImage(context.Background(), ImageOptions{Root: "../..", Version: "v0.0.0-test", SLSAVerifier: sv, WorkDir: work})
		done <- build{res, err}
	}()
	first := releaseImage(t)
	b := <-done
	second, err := b.res, b.err
	if err != nil {
		t.Fatal(err)
	}
	if first.Digest != second.Digest {
		t.Fatalf("two builds of one checkout: %s and %s", first.Digest, second.Digest)
	}
	host := startRegistry(t)
	for _, tag := range []string{"a", "b"} {
		img := first.Image
		if tag == "b" {
			img = second.Image
		}
		ref, err := PushImage(context.Background(), img, host+"/owner/secure-gates:"+tag, oci.Options{Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		if ref.Digest != first.Digest.String() {
			t.Errorf("pushed %s as %s, built %s", tag, ref.Digest, first.Digest)
		}
	}
	// release pin accepts what release image pushed.
	root := t.TempDir()
	testinfra.CopyTree(t, "testdata/pin/repo", root)
	if _, err := Pin(context.Background(), PinOptions{Root: root, Image: host + "/owner/secure-gates@" + first.Digest.String(), Registry: oci.Options{Retries: -1}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("image %s: %d bytes compressed (%.1f MB)", first.Digest, first.CompressedSize, float64(first.CompressedSize)/1e6)
	if first.CompressedSize > 60<<20 {
		t.Errorf("image is %d bytes compressed, over the 60 MiB budget", first.CompressedSize)
	}
}

func TestParsePushRef(t *testing.T) {
	t.Parallel()
	for ref, ok := range map[string]bool{
		"127.0.0.1:5000/owner/secure-gates:v1": true,
		"127.0.0.1:5000/owner/secure-gates":    false,
		"ghcr.io/owner/secure-gates@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef": false,
		"":          false,
		"UPPER:tag": false,
	} {
		if _, err := ParsePushRef(ref); (err == nil) != ok {
			t.Errorf("ParsePushRef(%q): %v", ref, err)
		}
	}
}

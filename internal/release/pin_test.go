package release

import (
	"context"
	"flag"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/oci"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// startRegistry serves go-containerregistry's in-process registry on loopback.
func startRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushEmpty pushes the (deterministic) empty image to host/owner/secure-gates:v1
// and returns it by digest.
func pushEmpty(t *testing.T, host string) string {
	t.Helper()
	tag, err := name.NewTag(host + "/owner/secure-gates:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, empty.Image); err != nil {
		t.Fatal(err)
	}
	d, err := empty.Image.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return host + "/owner/secure-gates@" + d.String()
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// snapshot reads every regular file under root, keyed by slash path.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, want, got map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: missing", k)
		} else if g != w {
			t.Errorf("%s:\n got %q\nwant %q", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected file", k)
		}
	}
}

const releaseCommit = "0123456789abcdef0123456789abcdef01234567"

func TestPinGolden(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	image := pushEmpty(t, host)
	root := t.TempDir()
	copyTree(t, "testdata/pin/repo", root)
	res, err := Pin(context.Background(), PinOptions{Root: root, Image: image, Commit: releaseCommit, Registry: oci.Options{Retries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	wantChanged := []string{"actions/scan/action.yml", "actions/sign/action.yml", "examples/.github/workflows/secure-gates.yml", "workflows-templates/reusable/secure-gates.yml"}
	if strings.Join(res.Changed, ",") != strings.Join(wantChanged, ",") {
		t.Errorf("changed %v, want %v", res.Changed, wantChanged)
	}
	got := snapshot(t, root)
	for k, v := range got {
		got[k] = strings.ReplaceAll(v, host, "REGISTRY")
	}
	if *update {
		os.RemoveAll("testdata/pin/golden")
		for k, v := range got {
			p := filepath.Join("testdata/pin/golden", k)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	sameTree(t, snapshot(t, "testdata/pin/golden"), got)

	// A second pin to the same image and commit changes nothing.
	before := snapshot(t, root)
	res, err = Pin(context.Background(), PinOptions{Root: root, Image: "docker://" + image, Commit: releaseCommit, Registry: oci.Options{Retries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 0 || len(res.Unchanged) != len(wantChanged) {
		t.Errorf("re-pin: changed %v unchanged %v", res.Changed, res.Unchanged)
	}
	sameTree(t, before, snapshot(t, root))
}

// TestPinRepositoryActions pins a copy of this repository's own action.yml files
// and templates: each action.yml differs from the original in its runs.image
// line only, each template only in the commits of its self-references.
func TestPinRepositoryActions(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	image := pushEmpty(t, host)
	root := t.TempDir()
	for _, dir := range []string{"actions", "workflows-templates", "examples"} {
		copyTree(t, filepath.Join("..", "..", dir), filepath.Join(root, dir))
	}
	before := snapshot(t, root)
	res, err := Pin(context.Background(), PinOptions{Root: root, Image: image, Commit: releaseCommit, Registry: oci.Options{Retries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, root)
	actions := 0
	for _, f := range res.Changed {
		old, nw := strings.Split(before[f], "\n"), strings.Split(after[f], "\n")
		if len(old) != len(nw) {
			t.Fatalf("%s: line count changed", f)
		}
		for i := range old {
			if old[i] == nw[i] {
				continue
			}
			if strings.HasPrefix(f, "actions/") {
				if old[i] != "  image: ../../Dockerfile" || nw[i] != "  image: docker://"+image {
					t.Errorf("%s:%d: %q -> %q", f, i+1, old[i], nw[i])
				}
			} else if strings.ReplaceAll(old[i], strings.Repeat("0", 40), releaseCommit) != nw[i] {
				t.Errorf("%s:%d: %q -> %q", f, i+1, old[i], nw[i])
			}
		}
		if strings.HasPrefix(f, "actions/") {
			actions++
		}
	}
	if want := len(mustGlob(t, filepath.Join(root, "actions", "*", "action.yml"))); actions != want || want < 6 {
		t.Errorf("pinned %d actions, want %d (at least 6)", actions, want)
	}
	for f := range before {
		if strings.HasSuffix(f, ".md") && before[f] != after[f] {
			t.Errorf("%s: documentation rewritten", f)
		}
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPinRefusals: every refusal names the problem, exits 2 or 3, and leaves the
// tree byte for byte as it was.
func TestPinRefusals(t *testing.T) {
	t.Parallel()
	host := startRegistry(t)
	image := pushEmpty(t, host)
	missing := host + "/owner/secure-gates@sha256:" + strings.Repeat("ab", 32)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	digest := image[strings.Index(image, "@")+1:]

	tests := []struct {
		name    string
		image   string
		commit  string
		prepare func(t *testing.T, root string)
		code    int
		msg     string
	}{
		{name: "tag", image: host + "/owner/secure-gates:v1", code: 2, msg: "names a tag"},
		{name: "empty", image: "", code: 2, msg: "--image is required"},
		{name: "malformed", image: host + "/Owner/secure-gates@sha256:xyz", code: 2, msg: "parsing image reference"},
		{name: "not sha256", image: host + "/owner/secure-gates@sha512:" + strings.Repeat("ab", 64), code: 2, msg: "image reference"},
		{name: "digest the registry does not have", image: missing, code: 2, msg: "not found in the registry"},
		{name: "repository the registry does not have", image: host + "/other/secure-gates@" + digest, code: 2, msg: "not found in the registry"},
		{name: "registry unreachable", image: dead + "/owner/secure-gates@" + digest, code: 3, msg: "unreachable"},
		{name: "short commit", image: image, commit: "0123456", code: 2, msg: "--commit"},
		{name: "node action", image: image, code: 2, msg: "runs.using is not docker", prepare: func(t *testing.T, root string) {
			write(t, filepath.Join(root, "actions", "zz", "action.yml"), "runs:\n  using: node20\n  main: index.js\n")
		}},
		{name: "no image", image: image, code: 2, msg: "no runs.image", prepare: func(t *testing.T, root string) {
			write(t, filepath.Join(root, "actions", "zz", "action.yml"), "runs:\n  using: docker\n")
		}},
		{name: "block scalar image", image: image, code: 2, msg: "block scalar", prepare: func(t *testing.T, root string) {
			write(t, filepath.Join(root, "actions", "zz", "action.yml"), "runs:\n  using: docker\n  image: >-\n    ../../Dockerfile\n")
		}},
		{name: "flow mapping", image: image, code: 2, msg: "one line", prepare: func(t *testing.T, root string) {
			write(t, filepath.Join(root, "actions", "zz", "action.yml"), "runs: {using: docker, image: ../../Dockerfile}\n")
		}},
		{name: "duplicate runs", image: image, code: 2, msg: "appears twice", prepare: func(t *testing.T, root string) {
			write(t, filepath.Join(root, "actions", "zz", "action.yml"), "runs:\n  using: docker\n  image: ../../Dockerfile\nruns:\n  using: docker\n  image: evil\n")
		}},
		{name: "duplicate runs.image", image: image, code: 2, msg: "appears twice", prepare: func(t *testing.T, root string) {
			write(t, filepath.Join(root, "actions", "zz", "action.yml"), "runs:\n  using: docker\n  image: ../../Dockerfile\n  image: evil\n")
		}},
		{name: "symlinked action folder", image: image, code: 2, msg: "not a plain folder", prepare: func(t *testing.T, root string) {
			outside := t.TempDir()
			write(t, filepath.Join(outside, "action.yml"), "runs:\n  using: docker\n  image: x\n")
			if err := os.Symlink(outside, filepath.Join(root, "actions", "zz")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "symlinked action.yml", image: image, code: 2, msg: "not a regular file", prepare: func(t *testing.T, root string) {
			outside := filepath.Join(t.TempDir(), "victim.yml")
			write(t, outside, "runs:\n  using: docker\n  image: x\n")
			os.MkdirAll(filepath.Join(root, "actions", "zz"), 0o755)
			if err := os.Symlink(outside, filepath.Join(root, "actions", "zz", "action.yml")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "not the repository root", image: image, code: 2, msg: "repository root", prepare: func(t *testing.T, root string) {
			os.RemoveAll(filepath.Join(root, "actions"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			copyTree(t, "testdata/pin/repo", root)
			if tc.prepare != nil {
				tc.prepare(t, root)
			}
			before := snapshot(t, root)
			_, err := Pin(context.Background(), PinOptions{Root: root, Image: tc.image, Commit: tc.commit, Registry: oci.Options{Retries: -1}})
			if err == nil {
				t.Fatal("pinned; want a refusal")
			}
			if got := errkind.ExitCode(err); got != tc.code {
				t.Errorf("exit %d, want %d: %v", got, tc.code, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			sameTree(t, before, snapshot(t, root))
		})
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

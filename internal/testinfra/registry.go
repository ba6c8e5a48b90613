package testinfra

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// RegistryBinary is Debian's docker-registry (distribution 2.8).
const RegistryBinary = "/usr/bin/docker-registry"

// Registry is a running OCI registry on loopback.
type Registry struct {
	// Host is 127.0.0.1:PORT, usable as an image reference prefix.
	Host string
	// Dir is the registry's storage root (blobs).
	Dir string
}

var listening = regexp.MustCompile(`listening on (127\.0\.0\.1:[0-9]+)`)

// StartRegistry starts go-containerregistry's registry (pkg/registry, the
// one the product's own tests of the OCI protocol trust) in this process, on
// a free port of 127.0.0.1, with blobs in a private folder; it is closed when
// t ends. It costs no process and no wait, and parallel tests each get their
// own. Child processes (the cosign CLI, the actions) reach it like any
// registry. Tests about how a real registry behaves use StartDistribution.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	dir := t.TempDir()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithBlobHandler(registry.NewDiskBlobHandler(dir)))
	srv := httptest.NewServer(BufferUploads(h))
	t.Cleanup(srv.Close)
	return &Registry{Host: strings.TrimPrefix(srv.URL, "http://"), Dir: dir}
}

// BufferUploads reads the body of each PATCH and PUT in full before h sees it.
// go-containerregistry's registry holds one lock over every upload while it
// copies a body in, so a layer that a client compresses as it sends (cosign,
// release image --push) would stall every other upload to the registry for as
// long — past the clients' response-header timeout on a loaded machine.
func BufferUploads(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch || r.Method == http.MethodPut {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "reading the upload: "+err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h.ServeHTTP(w, r)
	})
}

// StartDistribution starts Debian's docker-registry (distribution 2.8, a
// separate process) on 127.0.0.1 with a private storage folder and stops it
// when t ends: for the test that checks the chain against a real registry's
// behaviour (action-test's end-to-end pipeline).
func StartDistribution(t testing.TB) *Registry {
	t.Helper()
	if _, err := os.Stat(RegistryBinary); err != nil {
		t.Fatalf("the OCI registry test double is Debian's docker-registry: apt-get install docker-registry (scripts/test does): %v", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	data := filepath.Join(dir, "data")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: info\n  accesslog: {disabled: true}\nstorage:\n  filesystem: {rootdirectory: %s}\n  delete: {enabled: true}\nhttp:\n  addr: 127.0.0.1:0\n  secret: test-only\n", data)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(RegistryBinary, "serve", cfg)
	host := startReporting(t, cmd, "docker-registry", listening, stop)
	if err := waitHTTP(context.Background(), "http://"+host+"/v2/", 10*time.Second); err != nil {
		t.Fatalf("registry at %s: %v", host, err)
	}
	return &Registry{Host: host, Dir: data}
}

func waitHTTP(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
